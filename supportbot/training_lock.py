"""At most one training at a time, across every worker: a Redis lock kept alive by a heartbeat.

A killed worker stops renewing it, so the lock frees itself within TTL_S instead of blocking
training for hours.
"""

from __future__ import annotations

import threading
import uuid
from types import TracebackType
from typing import Any

from supportbot.errors import SupportbotError
from supportbot.keys import Keys

TTL_S = 60
RENEW_S = 15

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class TrainingBusy(SupportbotError):
    """Another training is running."""


class TrainingLock:
    def __init__(self, client: Any, keys: Keys) -> None:
        self.redis = client
        self.key = keys.training_lock
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> TrainingLock:
        if not self.redis.set(self.key, self.token, nx=True, ex=TTL_S):
            raise TrainingBusy("A training is already running; try again when it has finished.")
        renew = self.redis.register_script(_RENEW)

        def heartbeat() -> None:
            while not self._stop.wait(RENEW_S):
                renew(keys=[self.key], args=[self.token, TTL_S])

        self._thread = threading.Thread(target=heartbeat, name="training-lock", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self.redis.register_script(_RELEASE)(keys=[self.key], args=[self.token])

    def held(self) -> bool:
        return bool(self.redis.exists(self.key))
