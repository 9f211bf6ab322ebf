"""Responders backed by the in-process local model."""

from __future__ import annotations

import logging

from supportbot.cost import compute_cost
from supportbot.errors import ResponderError
from supportbot.prompts import FINETUNED_SYSTEM_PROMPT, Message, PromptBuilder, short_messages
from supportbot.records import Answer, Usage, Variant
from supportbot.responders.local_model import LocalModel

log = logging.getLogger(__name__)


def answer_locally(  # noqa: PLR0917 - one call site per side
    model: LocalModel,
    messages: list[Message],
    max_new_tokens: int,
    hourly_rate_usd: float,
    variant: Variant,
    model_name: str,
) -> Answer:
    """Generate on the shared local model and price the answer by its own compute time."""
    use_adapter = variant == "finetuned"
    try:
        out = model.generate(messages, max_new_tokens, use_adapter=use_adapter)
    except Exception as exc:  # torch raises many types; the person needs one clear line
        log.exception("local %s generation failed", variant)
        side = "fine-tuned" if use_adapter else "prompted"
        raise ResponderError(f"the {side} model failed: {exc}") from exc
    # The model is shared by both sides: its latency is its own compute time, not the wait for
    # the other side's turn, so the two models compare fairly.
    return Answer(
        variant=variant,
        text=out.text,
        model=model_name,
        adapter_version=model.adapter_version if use_adapter else None,
        usage=Usage(out.prompt_tokens, out.completion_tokens),
        latency_s=out.compute_s,
        cost_usd=compute_cost(out.compute_s, hourly_rate_usd),
    )


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
        messages = short_messages(question)
        return answer_locally(
            self.model, messages, self.max_new_tokens, self.hourly_rate_usd, "finetuned", self.model.name
        )


class LocalPromptedResponder:
    """The prompted side when no OpenAI endpoint is configured: the local base model, long prompt
    (static, or retrieved for each question: then prompts differ and the prefix cache stays unused)."""

    variant: Variant = "prompted"

    def __init__(self, model: LocalModel, prompts: PromptBuilder, max_new_tokens: int, hourly_rate_usd: float) -> None:
        self.model = model
        self.prompts = prompts
        self.max_new_tokens = max_new_tokens
        self.hourly_rate_usd = hourly_rate_usd

    @property
    def label(self) -> str:
        mode = ", retrieval" if self.prompts.mode == "retrieval" else ""
        return f"Prompted (local {self.model.name}{mode})"

    def answer(self, question: str) -> Answer:
        messages = self.prompts.messages(question)
        mode = ", retrieval" if self.prompts.mode == "retrieval" else ""
        name = f"{self.model.name} (local, prompted{mode})"
        return answer_locally(self.model, messages, self.max_new_tokens, self.hourly_rate_usd, "prompted", name)
