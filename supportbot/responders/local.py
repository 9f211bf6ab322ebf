"""Responders backed by the in-process local model."""

from __future__ import annotations

import logging

from supportbot.cost import compute_cost
from supportbot.errors import ResponderError
from supportbot.prompts import FINETUNED_SYSTEM_PROMPT, PromptSet, short_messages
from supportbot.records import Answer, Usage, Variant
from supportbot.responders.local_model import LocalModel

log = logging.getLogger(__name__)


class LocalResponder:
    """The fine-tuned side: the base model plus the active adapter (the base alone until one exists)."""

    variant: Variant = "finetuned"

    def __init__(self, model: LocalModel, max_new_tokens: int, hourly_rate_usd: float) -> None:
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.hourly_rate_usd = hourly_rate_usd
        self.system_prompt = FINETUNED_SYSTEM_PROMPT

    @property
    def label(self) -> str:
        version = self.model.adapter_version
        return f"Fine-tuned {version}" if version else "Fine-tuned (base model, no adapter yet)"

    def answer(self, question: str) -> Answer:
        try:
            out = self.model.generate(short_messages(question), self.max_new_tokens, use_adapter=True)
        except Exception as exc:  # torch raises many types; the person needs one clear line
            log.exception("local fine-tuned generation failed")
            raise ResponderError(f"the fine-tuned model failed: {exc}") from exc
        # The model is shared by both sides: its latency is its own compute time, not the wait for
        # the other side's turn, so the two models compare fairly.
        latency = out.compute_s
        return Answer(
            variant="finetuned",
            text=out.text,
            model=self.model.name,
            adapter_version=self.model.adapter_version,
            usage=Usage(out.prompt_tokens, out.completion_tokens),
            latency_s=latency,
            cost_usd=compute_cost(latency, self.hourly_rate_usd),
        )


class LocalPromptedResponder:
    """The prompted side when no OpenAI endpoint is configured: the local base model, long prompt."""

    variant: Variant = "prompted"

    def __init__(self, model: LocalModel, prompts: PromptSet, max_new_tokens: int, hourly_rate_usd: float) -> None:
        self.model = model
        self.prompts = prompts
        self.max_new_tokens = max_new_tokens
        self.hourly_rate_usd = hourly_rate_usd

    @property
    def label(self) -> str:
        return f"Prompted (local {self.model.name})"

    def answer(self, question: str) -> Answer:
        try:
            messages = self.prompts.long_messages(question)
            out = self.model.generate(messages, self.max_new_tokens, use_adapter=False)
        except Exception as exc:
            log.exception("local prompted generation failed")
            raise ResponderError(f"the prompted model failed: {exc}") from exc
        # The model is shared by both sides: its latency is its own compute time, not the wait for
        # the other side's turn, so the two models compare fairly.
        latency = out.compute_s
        return Answer(
            variant="prompted",
            text=out.text,
            model=f"{self.model.name} (local, prompted)",
            usage=Usage(out.prompt_tokens, out.completion_tokens),
            latency_s=latency,
            cost_usd=compute_cost(latency, self.hourly_rate_usd),
        )
