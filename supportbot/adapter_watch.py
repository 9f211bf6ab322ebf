"""Follow the active adapter from a running bot: pub/sub for speed, the pointer for the truth.

The watcher subscribes to the registry's events on a connection of its own and, on every
(re)connect, every event and every periodic check, reads the active pointer and calls
``on_change`` when it names another version than the one loaded. So a publish missed while the
connection was down (Redis restarted, the connection killed, a network blip) is caught when it
comes back, and one missed on a connection that looks alive is caught by the periodic check.
A dropped connection is retried with exponential backoff for as long as the watcher runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import EqualJitterBackoff, NoBackoff
from redis.retry import Retry

from supportbot.records import AdapterVersion

if TYPE_CHECKING:
    from supportbot.adapters import AdapterRegistry

log = logging.getLogger(__name__)
CHECK_EVERY_S = 30.0
BACKOFF = EqualJitterBackoff(cap=30.0, base=0.25)  # 0.25-0.5 s, doubling up to 15-30 s
SUBSCRIBE_TIMEOUT_S = 10.0
POLL_S = 1.0  # how long one wait for a message lasts: the longest a stop() waits


class AdapterWatcher:
    """A daemon thread keeping ``on_change`` told of the active adapter version; ``stop()`` ends it."""

    def __init__(
        self,
        registry: AdapterRegistry,
        on_change: Callable[[AdapterVersion], None],
        loaded: str | None,
        check_every_s: float = CHECK_EVERY_S,
    ) -> None:
        self.registry = registry
        self.on_change = on_change
        self.loaded = loaded
        self.check_every_s = check_every_s
        self.connects = 0  # successful (re)subscriptions, for logs and tests
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="adapter-watch", daemon=True)

    def start(self) -> AdapterWatcher:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def _run(self) -> None:
        client = self._client()
        failures = 0
        while not self._stopping.is_set():
            connects = self.connects
            try:
                self._follow(client)  # returns only once stopped
            except Exception as exc:  # the thread must outlive any one failure
                failures = 1 if self.connects > connects else failures + 1
                delay = BACKOFF.compute(failures)
                if isinstance(exc, (redis.RedisError, OSError)):
                    log.warning("adapter events: connection lost (%s); reconnecting in %.1f s", exc, delay)
                else:
                    log.exception("adapter events: unexpected error; reconnecting in %.1f s", delay)
                self._stopping.wait(delay)

    def _follow(self, client: redis.Redis) -> None:
        """Subscribe, catch up with the pointer, then follow events and check periodically until stopped."""
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(self.registry.keys.adapter_events)
            self._wait_subscribed(pubsub)
            self.connects += 1
            if self.connects > 1:
                log.info("adapter events: reconnected")
            self.sync()  # anything published while there was no subscription
            next_check = time.monotonic() + self.check_every_s
            while not self._stopping.is_set():
                wait = max(0.0, min(POLL_S, next_check - time.monotonic()))
                message = pubsub.get_message(timeout=wait)
                if message is not None and message["type"] == "message":
                    self.sync()
                if time.monotonic() >= next_check:
                    self.sync()
                    next_check = time.monotonic() + self.check_every_s
        finally:
            pubsub.close()

    def _client(self) -> redis.Redis:
        """A client like the registry's on its own pool, whose errors reach this loop (no silent retries)."""
        pool = self.registry.redis.connection_pool
        kwargs: dict[str, Any] = {**pool.connection_kwargs, "retry": Retry(NoBackoff(), 0)}
        return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs))

    def _wait_subscribed(self, pubsub: Any) -> None:
        """Wait for the server's confirmation, so the pointer read next cannot precede the subscription."""
        deadline = time.monotonic() + SUBSCRIBE_TIMEOUT_S
        while time.monotonic() < deadline and not self._stopping.is_set():
            message = pubsub.get_message(timeout=min(POLL_S, max(0.0, deadline - time.monotonic())))
            if message is not None and message["type"] == "subscribe":
                return
        if not self._stopping.is_set():
            raise redis.ConnectionError("no subscription confirmation from Redis")

    def sync(self) -> None:
        """Switch to the active version if it is not the loaded one (a failed switch is retried next time)."""
        active = self.registry.active()
        if active is None or active.version == self.loaded:
            return
        try:
            self.on_change(active)
        except Exception:
            log.exception("could not switch to adapter %s; will retry", active.version)
            return
        self.loaded = active.version
