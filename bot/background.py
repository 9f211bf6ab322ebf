"""Where work goes after the ack: questions wait in Redis, a pool of our own threads answers them.

Bolt runs listeners on its listener executor; a question that held one of those threads for the
whole answer would starve the next request's ack, and Slack's 3 s deadline would be missed
(measured: 7 of 12 acks missed with the real model, see BENCHMARKS.md). Listeners therefore ack,
queue the question and return at once.

The queue is a Redis stream (``supportbot/question_queue.py``), not this process's memory: a bot
killed with questions pending answers them when it (or another replica) comes back, exactly once.
The backlog is bounded: past MAX_PENDING_QUESTIONS people are told to try again rather than wait.
When Redis cannot be reached, questions are spooled on disk (``supportbot/intake.py``) and queued
once it is back.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from supportbot.intake import STORE_DOWN, Intake
from supportbot.question_queue import Job, QuestionQueue, process_name

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
ORPHAN_CHECK_S = 10.0

Run = Callable[[dict[str, Any]], None]


class Background:
    def __init__(self, workers: int, max_pending: int) -> None:
        self.workers = workers
        self.max_pending = max_pending
        self.queue: QuestionQueue | None = None
        self.intake: Intake | None = None
        self._run: Run | None = None
        self._on_error: Run | None = None
        self._name = process_name()
        self._consumers = [f"{self._name}-{i}" for i in range(workers)]
        self._rescuer = f"{self._name}-rescue"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def bind(self, queue: QuestionQueue, intake: Intake, run: Run, on_error: Run) -> None:
        """What to answer with; called once by ``build_app``, which then calls :meth:`start`."""
        self.queue, self.intake, self._run, self._on_error = queue, intake, run, on_error
        intake.register("question", self._enqueue)

    def start(self) -> None:
        if self._threads:
            return
        assert self.intake is not None
        self.intake.start()
        targets: list[tuple[str, Callable[[], None]]] = [
            (consumer, functools.partial(self._work, consumer)) for consumer in self._consumers
        ]
        targets += [("answer-heartbeat", self._beat), ("answer-rescue", self._rescue)]
        with contextlib.suppress(*STORE_DOWN):
            self._heartbeat()  # before the first read, so no other replica takes us for dead
        for name, target in targets:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, job: dict[str, Any]) -> bool:
        """Queue a question (``job["id"]`` is its question id); False when the backlog is full."""
        assert self.queue is not None and self.intake is not None
        if self.intake.store_up:
            try:
                if self.queue.backlog() >= self.max_pending:
                    return False
            except STORE_DOWN:
                self.intake.mark_down()
        self.intake.write("question", job, entry_id=f"question-{job['id']}")
        return True

    def _enqueue(self, job: dict[str, Any]) -> None:
        assert self.queue is not None
        self.queue.add(job)

    def _work(self, consumer: str) -> None:
        assert self.queue is not None
        while not self._stop.is_set():
            try:
                job = self.queue.next(consumer, block_ms=1000)
            except STORE_DOWN:
                self._stop.wait(1.0)
                continue
            except Exception:
                log.exception("reading the question queue failed")
                self._stop.wait(1.0)
                continue
            if job is not None:
                self._answer(job)

    def _answer(self, job: Job) -> None:
        """Answer one question; it leaves the queue once answered or once the person was told."""
        assert self.queue is not None and self._run is not None and self._on_error is not None
        delay = 0.5
        while not self._stop.is_set():
            try:
                try:
                    self._run(job.data)
                except STORE_DOWN:
                    raise
                except Exception:
                    log.exception("answering question %s failed", job.id)
                    self._tell(job)
                self.queue.done(job)
                return
            except STORE_DOWN:
                # Redis is away: the question stays queued and is answered once it is back.
                log.warning("Redis unreachable while answering %s; retrying in %.1f s", job.id, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)

    def _tell(self, job: Job) -> None:
        assert self._on_error is not None
        try:
            self._on_error(job.data)
        except Exception:
            log.exception("could not tell the person that answering %s failed", job.id)

    def _heartbeat(self) -> None:
        assert self.queue is not None
        self.queue.heartbeat([*self._consumers, self._rescuer])

    def _beat(self) -> None:
        """Heartbeats for this process's answerers, so other replicas know they are alive."""
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self._heartbeat()
            except STORE_DOWN:
                pass
            except Exception:
                log.exception("answerer heartbeat failed")

    def _rescue(self) -> None:
        """Questions held by answerers whose process died are answered here."""
        assert self.queue is not None
        while not self._stop.is_set():
            try:
                for job in self.queue.orphans(self._rescuer):
                    self._answer(job)
            except STORE_DOWN:
                pass
            except Exception:
                log.exception("checking for unanswered questions failed")
            self._stop.wait(ORPHAN_CHECK_S)

    def shutdown(self) -> None:
        """Stop taking questions; one being answered finishes first (or is answered after restart)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if self.intake is not None:
            self.intake.stop()
