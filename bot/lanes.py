"""Lanes: threads on which a request acked early is handled to its end, one after another.

The HTTP guard (``bot/http.py``) acks some requests itself and hands each to Bolt on a lane, all
requests about one message on the same lane, so that they are handled in the order they arrived.
Bolt, though, runs a listener on its own executor and returns from ``dispatch`` once the listener
has acked: two reactions on one lane would still be applied side by side. Bolt's executor is
therefore ``ListenerExecutor``: on a lane it runs the listener right there, to its end (the ack
was already sent, so nothing waits on it); anywhere else it hands it to its thread pool, as
Bolt's own executor does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_here = threading.local()


def _mark_lane() -> None:
    _here.lane = True


def on_a_lane() -> bool:
    return getattr(_here, "lane", False)


def lane(name: str) -> ThreadPoolExecutor:
    """One lane: a single thread, marked so that Bolt's listeners run on it to their end."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name, initializer=_mark_lane)


class ListenerExecutor(Executor):
    """Bolt's listener executor: inline on a lane, on a pool of ``threads`` anywhere else."""

    def __init__(self, threads: int, thread_name_prefix: str = "listener") -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=thread_name_prefix)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        if not on_a_lane():
            return self.pool.submit(fn, *args, **kwargs)
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # as a pool's future would carry it
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, **kwargs: Any) -> None:
        self.pool.shutdown(wait=wait, **kwargs)
