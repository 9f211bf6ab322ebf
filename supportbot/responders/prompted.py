"""The prompted side: any OpenAI-compatible endpoint through the ``openai`` SDK.

The prompt comes from a ``PromptBuilder``: PROMPT_DIR's static prompt, or one retrieved for each
question (PROMPT_MODE=retrieval). With ``redact`` (REDACT_PROMPTS), the question is redacted before
it leaves for the endpoint, and so are the few-shot examples (past questions and answers, which
may hold other customers' data), so an external model API never sees the cards, IBANs, SSNs, phone
numbers or emails in them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import openai

from supportbot.cost import PriceTable
from supportbot.errors import ResponderError, ResponderTimeout
from supportbot.prompts import Message, PromptBuilder
from supportbot.records import Answer, Usage, Variant

log = logging.getLogger(__name__)


class PromptedResponder:
    variant: Variant = "prompted"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        model: str,
        prompts: PromptBuilder,
        prices: PriceTable,
        max_new_tokens: int,
        timeout_s: float,
        max_retries: int,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        # Local servers (vLLM, llama.cpp, Ollama) accept any key; the SDK insists on one.
        self.client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=max_retries
        )
        self.model = model
        self.prompts = prompts
        self.prices = prices
        self.max_new_tokens = max_new_tokens
        self.redact = redact

    @property
    def label(self) -> str:
        mode = ", retrieval" if self.prompts.mode == "retrieval" else ""
        return f"Prompted ({self.model}{mode})"

    def messages(self, question: str) -> list[Message]:
        """What the endpoint is sent: every turn but the team's own system prompt redacted."""
        if self.redact is None:
            return self.prompts.messages(question)
        sent = self.prompts.messages(self.redact(question))
        return [sent[0], *({**m, "content": self.redact(m["content"])} for m in sent[1:-1]), sent[-1]]

    def answer(self, question: str) -> Answer:
        started = time.perf_counter()
        messages = self.messages(question)
        try:
            response: Any = self.client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=self.max_new_tokens,
                temperature=0,
            )
        except openai.APITimeoutError:
            raise ResponderTimeout(f"the prompted model ({self.model}) timed out") from None
        except openai.APIStatusError as exc:
            raise ResponderError(
                f"the prompted model ({self.model}) answered HTTP {exc.status_code}: {exc.message}"
            ) from None
        except openai.APIError as exc:
            raise ResponderError(f"the prompted model ({self.model}) failed: {exc.message}") from None
        latency = time.perf_counter() - started
        if not response.choices:
            raise ResponderError(f"the prompted model ({self.model}) returned no answer")
        text = (response.choices[0].message.content or "").strip()
        usage = Usage(
            getattr(response.usage, "prompt_tokens", 0) or 0,
            getattr(response.usage, "completion_tokens", 0) or 0,
        )
        model_id = response.model or self.model
        return Answer(
            variant="prompted",
            text=text,
            model=model_id,
            usage=usage,
            latency_s=latency,
            cost_usd=self.prices.api_cost(model_id, usage),
        )
