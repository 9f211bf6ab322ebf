"""Every write a person's click or message causes goes through here: to Redis, or, when Redis
cannot be reached (after redis-py's own retries), to the local spool, replayed in order once Redis
is back. Nothing acked is lost.

While writes are spooled, later writes are spooled too, so they reach Redis in the order people
made them (a 👍 then a 👎 stays a 👎). After a failure, the store counts as down for a few seconds
and writes go straight to the spool, so acks stay fast during an outage; a background thread
replays the spool as soon as Redis answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Final

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from supportbot.spool import Handler, Spool, drain

log = logging.getLogger(__name__)

STORE_DOWN: Final = (RedisConnectionError, RedisTimeoutError)


class _Spooled:
    def __repr__(self) -> str:
        return "SPOOLED"


SPOOLED: Final = _Spooled()


class Intake:
    def __init__(self, spool: Spool, handlers: dict[str, Handler] | None = None, retry_s: float = 2.0) -> None:
        self.spool = spool
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.retry_s = retry_s
        self._down_until = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    @property
    def store_up(self) -> bool:
        return time.monotonic() >= self._down_until

    def mark_down(self) -> None:
        if self.store_up:
            log.warning("Redis cannot be reached: writes go to the spool %s until it is back", self.spool.path)
        self._down_until = time.monotonic() + self.retry_s

    def write(self, kind: str, payload: dict[str, Any], entry_id: str | None = None) -> Any:
        """Apply the write now and return the handler's result, or spool it and return SPOOLED."""
        handler = self.handlers[kind]
        if self.store_up and not len(self.spool):
            try:
                return handler(payload)
            except STORE_DOWN:
                self.mark_down()
        self.spool.append(kind, payload, entry_id)
        self._wake.set()
        return SPOOLED

    def replay(self) -> int:
        """Apply what is spooled, in order; returns how many entries reached the store."""
        applied = drain(self.spool, self.handlers, STORE_DOWN)
        if len(self.spool):
            self.mark_down()
        if applied:
            log.info("replayed %d spooled writes (%d left)", applied, len(self.spool))
        return applied

    def start(self) -> Intake:
        """Replay in a daemon thread: at once, whenever something is spooled, and every few seconds."""
        self._thread = threading.Thread(target=self._loop, name="spool-replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if len(self.spool):
                wait = max(0.0, self._down_until - time.monotonic())
                if self._stop.wait(wait):
                    return
                try:
                    self.replay()
                except Exception:
                    log.exception("replaying the spool failed")
                    self.mark_down()
            self._wake.wait(self.retry_s)
            self._wake.clear()
