"""Ask both models one question: validate it, run the responders concurrently, store the results.

Slack-free, so the bot and the CLI share it.
"""

from __future__ import annotations

import logging
import random
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from supportbot.errors import InvalidQuestion, ResponderError
from supportbot.records import VARIANTS, Answer, Failure, Question, Variant
from supportbot.responders import Responder
from supportbot.store import Store

log = logging.getLogger(__name__)
BLIND_LABELS = ("A", "B")


@dataclass
class Outcome:
    """One side's result for one question: an answer, or why there is none."""

    variant: Variant
    label: str
    answer: Answer | None = None
    error: str | None = None


class AskService:
    def __init__(
        self,
        *,
        responders: dict[Variant, Responder],
        store: Store,
        max_question_chars: int,
        responder_timeout_s: float,
        blind: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self.responders = responders
        self.store = store
        self.max_question_chars = max_question_chars
        self.responder_timeout_s = responder_timeout_s
        self.blind = blind
        self.rng = rng or random.Random()
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="responder")

    def validate(self, text: str | None) -> str:
        question = (text or "").strip()
        if not question:
            raise InvalidQuestion("Please include a question, for example `/ask How do I cancel my order?`")
        if len(question) > self.max_question_chars:
            raise InvalidQuestion(
                f"That question is {len(question):,} characters long; the limit is "
                f"{self.max_question_chars:,}. Please shorten it and ask again."
            )
        return question

    def new_question(
        self, text: str, user: str, channel: str, thread_ts: str | None = None, source: str = "slack"
    ) -> Question:
        """Validate and store a question, fixing its presentation order (random when blind)."""
        order = list(VARIANTS)
        if self.blind:
            self.rng.shuffle(order)
        question = Question(
            text=self.validate(text),
            user=user,
            channel=channel,
            thread_ts=thread_ts,
            source=source,
            order=order,
            blind=self.blind,
        )
        self.store.save_question(question)
        return question

    def label_for(self, question: Question, variant: Variant) -> str:
        if question.blind:
            return BLIND_LABELS[question.order.index(variant)]
        return self.responders[variant].label

    def answer(self, question: Question) -> list[Outcome]:
        """Both responders answer concurrently; returns outcomes in presentation order."""
        futures: dict[Variant, Future[Answer]] = {
            variant: self.pool.submit(self.responders[variant].answer, question.text) for variant in question.order
        }
        wait(futures.values(), timeout=self.responder_timeout_s)
        outcomes = []
        for variant in question.order:
            future = futures[variant]
            label = self.label_for(question, variant)
            outcome = Outcome(variant, label)
            if not future.done():
                future.cancel()
                outcome.error = f"no answer within {self.responder_timeout_s:g} s"
            elif (exc := future.exception()) is not None:
                outcome.error = str(exc) if isinstance(exc, ResponderError) else "an unexpected error"
                if not isinstance(exc, ResponderError):
                    log.error("responder %s crashed", variant, exc_info=exc)
            else:
                answer = future.result()
                answer.question_id = question.id
                answer.label = label
                outcome.answer = answer
            if outcome.error:
                self.store.save_failure(Failure(variant, outcome.error, question.id))
            outcomes.append(outcome)
        return outcomes

    def record(self, answer: Answer, channel: str | None = None, ts: str | None = None) -> None:
        """Store an answer, with the Slack message it was posted as when there is one."""
        answer.channel = channel
        answer.ts = ts
        self.store.save_answer(answer)
