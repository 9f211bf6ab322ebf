"""Ask both models one question: validate it, run the responders concurrently, store the results.

Each side's outcome is handed on the moment it is ready (:meth:`Asking.as_ready`), so a fast side
is never held back by a slow one. Slack-free, so the bot and the CLI share it.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from supportbot.errors import InvalidQuestion, ResponderError
from supportbot.priority import lower_this_thread
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
    error: str | None = None  # what went wrong, in full: stored and logged, never posted
    error_id: str | None = None  # what people see instead, to quote to the team

    @property
    def public_error(self) -> str:
        """Why there is no answer, fit for a channel: a timeout is said, anything else is an id."""
        if self.error_id is None:
            return self.error or "unknown error"
        return f"an error occurred (error id `{self.error_id}`; the details are in the bot's log)"


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
        concurrent_questions: int = 4,
    ) -> None:
        self.responders = responders
        self.store = store
        self.max_question_chars = max_question_chars
        self.responder_timeout_s = responder_timeout_s
        self.blind = blind
        self.rng = rng or random.Random()
        # Responders generate on these threads (the local model in-process): at a lower CPU
        # priority, so a request's ack never queues behind generation for a core.
        # Two sides per question in flight, so a local side sees every question in flight and batches them.
        self.pool = ThreadPoolExecutor(
            max_workers=2 * max(concurrent_questions, 4), thread_name_prefix="responder", initializer=lower_this_thread
        )

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
        self,
        text: str,
        user: str,
        channel: str,
        *,
        thread_ts: str | None = None,
        source: str = "slack",
        question_id: str | None = None,
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
        if question_id is not None:
            question.id = question_id
        self.store.save_question(question)
        return question

    def label_for(self, question: Question, variant: Variant) -> str:
        if question.blind:
            return BLIND_LABELS[question.order.index(variant)]
        return self.responders[variant].label

    def start(self, question: Question, variants: list[Variant] | None = None) -> Asking:
        """Start the responders (all, or ``variants``) on ``question``; nothing waits here."""
        wanted = [v for v in question.order if variants is None or v in variants]
        futures = {variant: self.pool.submit(self.responders[variant].answer, question.text) for variant in wanted}
        return Asking(self, question, futures, time.monotonic() + self.responder_timeout_s)

    def answer(self, question: Question, variants: list[Variant] | None = None) -> list[Outcome]:
        """Both responders (or ``variants``) answer concurrently; outcomes in presentation order."""
        outcomes = {outcome.variant: outcome for outcome in self.start(question, variants).as_ready()}
        return [outcomes[variant] for variant in question.order if variant in outcomes]

    def outcome(self, question: Question, variant: Variant, future: Future[Answer]) -> Outcome:
        """What one side's finished (or abandoned) future amounts to; a failure is stored."""
        label = self.label_for(question, variant)
        outcome = Outcome(variant, label)
        if not future.done():
            future.cancel()
            outcome.error = f"no answer within {self.responder_timeout_s:g} s"
        elif (exc := future.exception()) is not None:
            outcome.error_id = uuid.uuid4().hex[:8]
            outcome.error = f"{exc} (error id {outcome.error_id})"
            if isinstance(exc, ResponderError):
                log.warning("responder %s failed, error id %s: %s", variant, outcome.error_id, exc)
            else:
                log.error("responder %s crashed, error id %s", variant, outcome.error_id, exc_info=exc)
        else:
            answer = future.result()
            answer.question_id = question.id
            answer.label = label
            outcome.answer = answer
        if outcome.error:
            self.store.save_failure(Failure(variant, outcome.error, question.id))
        return outcome

    def record(self, answer: Answer) -> None:
        """Store an answer before it is posted, so a failed post or a crash loses nothing."""
        self.store.save_answer(answer)

    def posted(self, answer: Answer, channel: str, ts: str) -> None:
        """Link a stored answer to the Slack message it was posted as (how reactions find it)."""
        answer.channel = channel
        answer.ts = ts
        self.store.mark_posted(answer)


class Asking:
    """The responders at work on one question: their outcomes, each as soon as it is ready."""

    def __init__(
        self, service: AskService, question: Question, futures: dict[Variant, Future[Answer]], deadline: float
    ) -> None:
        self.service = service
        self.question = question
        self.futures = futures
        self.deadline = deadline  # time.monotonic() past which a side has timed out

    def as_ready(self) -> Iterator[Outcome]:
        """Outcomes in the order the sides finish; sides still running at the deadline come last,
        as timeouts. A slow side never holds back a fast one."""
        variant_of = {future: variant for variant, future in self.futures.items()}
        left = set(self.futures)
        try:
            for future in as_completed(variant_of, timeout=max(0.0, self.deadline - time.monotonic())):
                left.discard(variant_of[future])
                yield self.service.outcome(self.question, variant_of[future], future)
        except TimeoutError:
            pass
        for variant in [v for v in self.question.order if v in left]:
            yield self.service.outcome(self.question, variant, self.futures[variant])
