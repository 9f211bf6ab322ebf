"""Responders backed by the local model: each side its own model and micro-batcher (local_side)."""

from __future__ import annotations

import logging

from supportbot.cost import compute_cost
from supportbot.errors import ResponderError
from supportbot.prompts import FINETUNED_SYSTEM_PROMPT, Message, PromptBuilder, short_messages
from supportbot.records import Answer, Usage, Variant
from supportbot.responders.local_model import LocalModel
from supportbot.responders.local_side import FinetunedSide, LocalSide

log = logging.getLogger(__name__)


def answer_locally(  # noqa: PLR0917 - one call site per side
    side: LocalSide,
    messages: list[Message],
    max_new_tokens: int,
    hourly_rate_usd: float,
    variant: Variant,
    model_name: str,
) -> Answer:
    """Generate on the side's model (batched with the questions that arrive with this one); the
    latency is the person's wait, the cost this answer's share of its batch's compute time."""
    try:
        out, latency_s = side.generate(messages, max_new_tokens)
    except Exception as exc:  # torch raises many types; the person needs one clear line
        log.exception("local %s generation failed", variant)
        name = "fine-tuned" if variant == "finetuned" else "prompted"
        raise ResponderError(f"the {name} model failed: {exc}") from exc
    return Answer(
        variant=variant,
        text=out.text,
        model=model_name,
        adapter_version=out.adapter_version,
        usage=Usage(out.prompt_tokens, out.completion_tokens),
        latency_s=latency_s,
        cost_usd=compute_cost(out.compute_s, hourly_rate_usd),
    )


class LocalResponder:
    """The fine-tuned side: the base model plus the active adapter (the base alone until one exists)."""

    variant: Variant = "finetuned"

    def __init__(self, model: LocalModel | FinetunedSide, max_new_tokens: int, hourly_rate_usd: float) -> None:
        self.side = model if isinstance(model, FinetunedSide) else FinetunedSide(model)
        self.max_new_tokens = max_new_tokens
        self.hourly_rate_usd = hourly_rate_usd
        self.system_prompt = FINETUNED_SYSTEM_PROMPT

    @property
    def model(self) -> LocalModel:
        return self.side.model

    @property
    def label(self) -> str:
        version = self.side.adapter_version
        return f"Fine-tuned {version}" if version else "Fine-tuned (base model, no adapter yet)"

    def answer(self, question: str) -> Answer:
        messages = short_messages(question)
        return answer_locally(
            self.side, messages, self.max_new_tokens, self.hourly_rate_usd, "finetuned", self.side.model.name
        )


class LocalPromptedResponder:
    """The prompted side when no OpenAI endpoint is configured: the local base model, long prompt
    (static, or retrieved for each question: then prompts differ and the prefix cache stays unused)."""

    variant: Variant = "prompted"

    def __init__(
        self, model: LocalModel | LocalSide, prompts: PromptBuilder, max_new_tokens: int, hourly_rate_usd: float
    ) -> None:
        self.side = (
            model if isinstance(model, LocalSide) else LocalSide(model, use_adapter=False, name="prompted-batcher")
        )
        self.model = self.side.model
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
        return answer_locally(self.side, messages, self.max_new_tokens, self.hourly_rate_usd, "prompted", name)
