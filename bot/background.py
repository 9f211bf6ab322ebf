"""Where slow work goes after the ack: a bounded pool of our own.

Bolt runs listeners (and lazy listeners) on its listener executor; a question that holds one of
those threads for the whole answer starves the next request's ack, and Slack's 3 s deadline is
missed (measured: 7 of 12 acks missed with the real model, see BENCHMARKS.md). Listeners therefore
ack, hand the answer to this pool and return at once. The backlog is bounded: past it, people are
told to try again rather than wait forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self, workers: int, max_pending: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="answer")
        self.max_pending = max_pending
        self.pending = 0
        self._lock = threading.Lock()

    def submit(self, func: Callable[..., None], *args: Any, on_error: Callable[[], object] | None = None) -> bool:
        """Queue ``func(*args)``; False when the backlog is full and nothing was queued."""
        with self._lock:
            if self.pending >= self.max_pending:
                return False
            self.pending += 1
        self.pool.submit(self._run, func, args, on_error)
        return True

    def _run(self, func: Callable[..., None], args: tuple[Any, ...], on_error: Callable[[], object] | None) -> None:
        try:
            func(*args)
        except Exception:
            log.exception("answering failed")
            if on_error is not None:
                try:
                    on_error()
                except Exception:
                    log.exception("could not tell the person that answering failed")
        finally:
            with self._lock:
                self.pending -= 1

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)
