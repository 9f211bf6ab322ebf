"""Dynamic micro-batching: requests that arrive together are run together.

A worker thread takes the first waiting request, collects whatever else arrives within a short
window (or until the batch is full), runs them all in one call and hands each caller its own
result. Requests that queued up while a batch was running are taken at once, without waiting.
If a batch fails, each of its requests is retried alone, so one bad request fails only itself.
The worker exits when idle; the next request starts a new one, which inherits that request's
thread priority (Linux), so generation started from the bot's lowered responder threads
(``supportbot.priority``) yields the CPU to the threads that ack Slack.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
IDLE_EXIT_S = 30.0  # a worker with nothing to do for this long exits; the next request starts one
RECENT_BATCHES = 256  # batch sizes kept for metrics and tests


@dataclass
class _Request(Generic[T, R]):
    item: T
    future: Future[R] = field(default_factory=Future)
    arrived: float = field(default_factory=time.monotonic)


class MicroBatcher(Generic[T, R]):
    """Runs ``run(items) -> results`` (one result per item, in order) on batches of submitted items."""

    def __init__(
        self,
        run: Callable[[list[T]], Sequence[R]],
        *,
        max_batch: int,
        window_s: float,
        name: str = "batcher",
        prepare: Callable[[], None] | None = None,
        idle_exit_s: float = IDLE_EXIT_S,
    ) -> None:
        """``prepare`` runs first on each new worker thread (per-thread settings such as torch's threads)."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        if window_s < 0:
            raise ValueError(f"window_s must not be negative, not {window_s}")
        self.run = run
        self.max_batch = max_batch
        self.window_s = window_s
        self.name = name
        self.prepare = prepare
        self.idle_exit_s = idle_exit_s
        self.batch_sizes: deque[int] = deque(maxlen=RECENT_BATCHES)  # newest last
        self._queue: queue.Queue[_Request[T, R]] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def submit(self, item: T) -> Future[R]:
        """Queue one item; the future holds its result (or the exception its batch raised)."""
        request: _Request[T, R] = _Request(item)
        with self._lock:
            self._queue.put(request)
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name=self.name, daemon=True)
                self._worker.start()
        return request.future

    def __call__(self, item: T) -> R:
        """Submit one item and wait for its result."""
        return self.submit(item).result()

    def _work(self) -> None:
        if self.prepare is not None:
            self.prepare()
        while True:
            try:
                first = self._queue.get(timeout=self.idle_exit_s)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._worker = None
                        return
                continue
            self._run(self._collect(first))

    def _collect(self, first: _Request[T, R]) -> list[_Request[T, R]]:
        """The first request and those that arrive within the window after it, up to max_batch."""
        batch = [first]
        deadline = first.arrived + self.window_s
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _run(self, batch: list[_Request[T, R]]) -> None:
        live = [r for r in batch if r.future.set_running_or_notify_cancel()]
        if not live:
            return
        self.batch_sizes.append(len(live))
        try:
            results = self.run([r.item for r in live])
            if len(results) != len(live):
                raise RuntimeError(f"{self.name}: {len(results)} results for {len(live)} requests")
        except Exception as exc:
            if len(live) == 1:
                live[0].future.set_exception(exc)
                return
            log.warning("%s: a batch of %d failed (%s); running each request alone", self.name, len(live), exc)
            for request in live:
                self._run_alone(request)
            return
        for request, result in zip(live, results, strict=True):
            request.future.set_result(result)

    def _run_alone(self, request: _Request[T, R]) -> None:
        self.batch_sizes.append(1)
        try:
            request.future.set_result(self.run([request.item])[0])
        except Exception as exc:
            request.future.set_exception(exc)
