"""An optional LLM judge (JUDGE=llm): any OpenAI-compatible model decides whether an answer gives
the customer the same help as the reference.

Position bias is cancelled by asking twice with the two texts in swapped order (reference first,
then answer first). An answer is correct only when both orders say YES; its score is the share of
YES (0, 0.5 or 1), so a 0.5 marks a verdict that depended on the order. Replies that are neither
YES nor NO count as NO and are counted in ``unparsed``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai

from supportbot.errors import ConfigError, ResponderError
from trainer.judge import Reference, Verdicts

log = logging.getLogger(__name__)

SYSTEM = "You grade customer-support answers. Reply with exactly one word: YES or NO."
TEMPLATE = (
    "Two replies to the same customer message follow.\n\n"
    "Reply 1:\n{first}\n\nReply 2:\n{second}\n\n"
    "Do both replies give the customer the same help (the same steps, resolution or information)? "
    "Answer YES or NO."
)


class LLMJudge:
    name = "llm"
    threshold = 1.0  # both orders must say YES

    def __init__(self, client: Any, model: str, workers: int = 4) -> None:
        self.client = client
        self.model = model
        self.workers = workers
        self.unparsed = 0
        self.calibration = f"LLM judge {model}, each pair asked in both orders; correct only if both say YES"

    @classmethod
    def from_settings(cls, settings: Any) -> LLMJudge:
        base_url = settings.judge_base_url or settings.openai_base_url
        if not base_url:
            raise ConfigError("JUDGE=llm needs JUDGE_BASE_URL (or OPENAI_BASE_URL): an OpenAI-compatible endpoint")
        key = settings.judge_api_key or settings.openai_api_key
        client = openai.OpenAI(
            base_url=base_url,
            api_key=key.get_secret_value() if key else "unused",
            timeout=settings.prompted_timeout_s,
            max_retries=settings.prompted_max_retries,
        )
        return cls(client, settings.judge_model or settings.prompted_model)

    def ask(self, first: str, second: str) -> bool:
        try:
            response: Any = self.client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": TEMPLATE.format(first=first, second=second)},
                ],
                max_tokens=3,
                temperature=0,
            )
        except openai.OpenAIError as exc:
            raise ResponderError(f"the LLM judge ({self.model}) failed: {exc}") from None
        reply = (response.choices[0].message.content or "").strip().upper()
        if reply.startswith("YES"):
            return True
        if not reply.startswith("NO"):
            self.unparsed += 1
            log.debug("LLM judge reply %r is neither YES nor NO", reply)
        return False

    def judge(
        self,
        answers: list[str],
        references: list[str],
        labels: Sequence[str | None] | None = None,
        pool: Sequence[Reference] = (),
    ) -> Verdicts:
        """Labels and the reference pool are not used: the model reads each answer beside its own
        reference, so its one verdict is both the headline and the lenient one."""
        if len(answers) != len(references):
            raise ValueError("one reference per answer")
        pairs = [(r, a) for a, r in zip(answers, references, strict=True)]
        with ThreadPoolExecutor(self.workers) as workers:
            reference_first = list(workers.map(lambda p: self.ask(p[0], p[1]), pairs))
            answer_first = list(workers.map(lambda p: self.ask(p[1], p[0]), pairs))
        scores = [(a + b) / 2 for a, b in zip(reference_first, answer_first, strict=True)]
        correct = [s >= self.threshold for s in scores]
        return Verdicts(scores, correct, list(correct))
