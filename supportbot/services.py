"""Build the services from settings: the store, the responders and the ask service.

Selects the implementations by configuration: an OpenAI-compatible endpoint when OPENAI_BASE_URL
is set, otherwise the local base model with the long prompt, so the product works offline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from supportbot.asking import AskService
from supportbot.base_model import resolve_base_model
from supportbot.corrections import CorrectionService
from supportbot.cost import PriceTable
from supportbot.feedback import FeedbackService
from supportbot.prompts import PromptSet
from supportbot.records import Variant
from supportbot.redis_conn import connect
from supportbot.responders import Responder
from supportbot.settings import Settings
from supportbot.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: Store
    ask: AskService
    feedback: FeedbackService
    corrections: CorrectionService


def build_responders(settings: Settings, show_progress: bool = True) -> dict[Variant, Responder]:
    from supportbot.responders.local import LocalPromptedResponder, LocalResponder
    from supportbot.responders.local_model import LocalModel

    prompts = PromptSet.load(settings.prompt_dir)
    model = LocalModel(
        resolve_base_model(settings, show_progress=show_progress),
        dtype=settings.local_dtype,
        adapter_dir=settings.finetuned_adapter,
    )
    rate = settings.local_hourly_rate_usd
    prompted: Responder
    if settings.openai_base_url:
        from supportbot.responders.prompted import PromptedResponder

        prompted = PromptedResponder(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
            model=settings.prompted_model,
            prompts=prompts,
            prices=PriceTable.load(settings.price_table),
            max_new_tokens=settings.max_new_tokens,
            timeout_s=settings.prompted_timeout_s,
            max_retries=settings.prompted_max_retries,
        )
    else:
        log.info("OPENAI_BASE_URL is not set: the prompted side runs on the local base model")
        prompted = LocalPromptedResponder(model, prompts, settings.max_new_tokens, rate)
    return {
        "prompted": prompted,
        "finetuned": LocalResponder(model, settings.max_new_tokens, rate),
    }


def build_services(
    settings: Settings,
    responders: dict[Variant, Responder] | None = None,
    show_progress: bool = True,
) -> Services:
    store = Store(connect(settings), settings.key_prefix)
    ask = AskService(
        responders=responders if responders is not None else build_responders(settings, show_progress),
        store=store,
        max_question_chars=settings.max_question_chars,
        responder_timeout_s=settings.responder_timeout_s,
        blind=settings.presentation == "blind",
    )
    feedback = FeedbackService(store, settings.up_names, settings.down_names)
    trusted, reviewers = settings.trusted_ids, settings.reviewer_ids
    corrections = CorrectionService(
        store.corrections, is_trusted=trusted.__contains__, is_reviewer=reviewers.__contains__
    )
    return Services(settings, store, ask, feedback, corrections)
