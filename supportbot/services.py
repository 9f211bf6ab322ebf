"""Build the services from settings: the store, the responders and the ask service.

Selects the implementations by configuration: an OpenAI-compatible endpoint when OPENAI_BASE_URL
is set, otherwise the local base model with the long prompt, so the product works offline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from supportbot.adapters import AdapterRegistry, Loaded, fetch
from supportbot.asking import AskService
from supportbot.base_model import resolve_base_model
from supportbot.corrections import CorrectionService
from supportbot.cost import PriceTable
from supportbot.feedback import FeedbackService
from supportbot.lora_server import loader_from_settings
from supportbot.prompts import PromptSet, prompt_for_mode
from supportbot.records import AdapterVersion, Variant
from supportbot.redaction import Redactor
from supportbot.redis_conn import connect
from supportbot.responders import Responder
from supportbot.responders.served import ServedResponder, build_served
from supportbot.settings import Settings
from supportbot.store import Store

if TYPE_CHECKING:
    from supportbot.responders.local_model import LocalModel
    from supportbot.responders.prompted import PromptedResponder

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: Store
    ask: AskService
    feedback: FeedbackService
    corrections: CorrectionService
    adapters: AdapterRegistry
    local_model: LocalModel | None = None

    def follow_adapter_switches(self) -> None:
        """Hot-swap the fine-tuned side's adapter whenever one is promoted or rolled back."""
        served = self.ask.responders.get("finetuned")
        if isinstance(served, ServedResponder):  # FINETUNED_BASE_URL: load there, then ask for the new name
            self.adapters.watch(served.switch, loaded=served.adapter_version)
            return
        from supportbot.responders.local import LocalResponder

        if not isinstance(served, LocalResponder):
            return
        side = served.side  # builds each new merged copy off to the side, then swaps it in
        cache = self.settings.data_dir / "adapter-cache"

        def switch(version: AdapterVersion) -> None:
            side.load_adapter(fetch(version.uri, cache), version.version)

        # What serves now: the registry's version, or (FINETUNED_ADAPTER pinned by hand) whatever is
        # active, so only a later promotion or rollback replaces the pinned adapter.
        pinned = self.settings.finetuned_adapter is not None
        self.adapters.watch(switch, loaded=Loaded.ACTIVE if pinned else side.adapter_version)


def build_prompted(
    settings: Settings, prompts: PromptSet, max_new_tokens: int, store: Store | None = None
) -> PromptedResponder:
    """The prompted side on OPENAI_BASE_URL; with PROMPT_MODE=retrieval its prompt is retrieved from
    ``store`` (connected from the settings when not given), tokens estimated at 4 characters each."""
    from supportbot.responders.prompted import PromptedResponder

    assert settings.openai_base_url is not None
    return PromptedResponder(
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
        model=settings.prompted_model,
        prompts=prompt_for_mode(settings, prompts, store),
        prices=PriceTable.load(settings.price_table),
        max_new_tokens=max_new_tokens,
        timeout_s=settings.prompted_timeout_s,
        max_retries=settings.prompted_max_retries,
        redact=Redactor(phone_region=settings.phone_region).redact if settings.redact_prompts else None,
    )


def build_responders(
    settings: Settings,
    adapters: AdapterRegistry | None = None,
    show_progress: bool = True,
    store: Store | None = None,
) -> tuple[dict[Variant, Responder], LocalModel | None]:
    from supportbot.responders.local import LocalPromptedResponder, LocalResponder
    from supportbot.responders.local_model import LocalModel
    from supportbot.responders.local_side import BatchOptions, FinetunedSide, LocalSide, threads_per_side

    prompts = PromptSet.load(settings.prompt_dir)
    if settings.finetuned_base_url and settings.openai_base_url:  # both sides on servers: no local model
        prompted_api = build_prompted(settings, prompts, settings.max_new_tokens, store)
        return {"prompted": prompted_api, "finetuned": build_served(settings, adapters)}, None
    model = LocalModel(
        resolve_base_model(settings, show_progress=show_progress),
        dtype=settings.local_dtype,
        bf16=settings.hardware_bf16,
    )
    # Each local side has its own model and batcher: the prompted side the base weights, the
    # fine-tuned side a copy with the adapter merged in (a copy of the base until one exists).
    local_sides = 2 - bool(settings.openai_base_url) - bool(settings.finetuned_base_url)
    threads = threads_per_side(local_sides) if model.device == "cpu" else None
    batch_s = settings.local_batch_window_ms / 1000
    options = BatchOptions(settings.local_batch_size, batch_s, threads)
    rate = settings.local_hourly_rate_usd
    prompted: Responder
    if settings.openai_base_url:
        prompted = build_prompted(settings, prompts, settings.max_new_tokens, store)
    else:
        log.info("OPENAI_BASE_URL is not set: the prompted side runs on the local base model")
        prompt = prompt_for_mode(settings, prompts, store, model.tokenizer)
        side = LocalSide(model, use_adapter=False, name="prompted-batcher", options=options)
        prompted = LocalPromptedResponder(side, prompt, settings.max_new_tokens, rate)
    finetuned: Responder
    if settings.finetuned_base_url:  # served elsewhere: the local model only answers the prompted side
        finetuned = build_served(settings, adapters)
    else:
        active = adapters.active() if adapters is not None else None
        if settings.finetuned_adapter is not None:
            start = model.merged_copy(settings.finetuned_adapter)
        elif active is not None:
            start = model.merged_copy(fetch(active.uri, settings.data_dir / "adapter-cache"), active.version)
        else:
            start = model if settings.openai_base_url else model.copy()
        finetuned_side = FinetunedSide(start, base=model, options=options)
        finetuned = LocalResponder(finetuned_side, settings.max_new_tokens, rate)
    return {"prompted": prompted, "finetuned": finetuned}, model


def build_services(
    settings: Settings,
    responders: dict[Variant, Responder] | None = None,
    show_progress: bool = True,
) -> Services:
    store = Store(connect(settings), settings.key_prefix)
    adapters = AdapterRegistry(store.redis, store.keys, prepare=loader_from_settings(settings))
    local_model = None
    if responders is None:
        responders, local_model = build_responders(settings, adapters, show_progress, store=store)
    ask = AskService(
        responders=responders,
        store=store,
        max_question_chars=settings.max_question_chars,
        responder_timeout_s=settings.responder_timeout_s,
        blind=settings.presentation == "blind",
        concurrent_questions=settings.answer_workers,
    )
    feedback = FeedbackService(store, settings.up_names, settings.down_names)
    trusted, reviewers = settings.trusted_ids, settings.reviewer_ids
    corrections = CorrectionService(
        store.corrections, is_trusted=trusted.__contains__, is_reviewer=reviewers.__contains__
    )
    return Services(settings, store, ask, feedback, corrections, adapters, local_model)
