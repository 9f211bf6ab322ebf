"""Questions that were acked but not answered yet, kept in Redis so no process holds them alone.

A Redis stream read through a consumer group: each answering thread is a consumer, a question
is acknowledged and deleted from the stream only once its answers are posted. Every process keeps
a heartbeat key per consumer; a question held by a consumer whose heartbeat expired (its process
died) is claimed by a live one and answered. Answering is idempotent per question id (see
``bot/posting.py``), so a question claimed after a crash is answered exactly once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from supportbot.keys import Keys

log = logging.getLogger(__name__)

GROUP = "answerers"
HEARTBEAT_TTL_S = 15
QUEUED_TTL_S = 7 * 24 * 3600

# Add a question once per id, even when a spooled copy is replayed after it was already added.
_ADD_ONCE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  return redis.call('XADD', KEYS[1], '*', 'job', ARGV[1])
end
return false
"""


@dataclass(frozen=True)
class Job:
    entry_id: str
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])


def process_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class QuestionQueue:
    def __init__(self, client: Any, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self.stream = keys.pending_questions
        self._add_once = client.register_script(_ADD_ONCE)
        self._group_ready = False

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def add(self, job: dict[str, Any]) -> bool:
        """Queue a question (``job["id"]`` is its question id); False if that id was queued before."""
        self._ensure_group()
        key = self.keys.queued_question(str(job["id"]))
        return bool(self._add_once(keys=[self.stream, key], args=[json.dumps(job, sort_keys=True), QUEUED_TTL_S]))

    def backlog(self) -> int:
        """Questions queued or being answered."""
        return int(self.redis.xlen(self.stream))

    def _gone(self, exc: ResponseError) -> bool:
        """True when the stream or its group was deleted (a flushed database): made again on next use."""
        if any(sign in str(exc) for sign in ("NOGROUP", "no such key", "UNBLOCKED")):
            self._group_ready = False
            return True
        return False

    def next(self, consumer: str, block_ms: int = 1000) -> Job | None:
        """The next unanswered question for ``consumer``, waiting up to ``block_ms``."""
        self._ensure_group()
        try:
            reply = self.redis.xreadgroup(GROUP, consumer, {self.stream: ">"}, count=1, block=block_ms)
        except ResponseError as exc:
            if self._gone(exc):
                return None
            raise
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                return Job(entry_id, json.loads(fields["job"]))
        return None

    def done(self, job: Job) -> None:
        """The question is answered: it leaves the stream."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, job.entry_id)
            pipe.xdel(self.stream, job.entry_id)
            pipe.execute()

    def heartbeat(self, consumers: list[str]) -> None:
        with self.redis.pipeline(transaction=False) as pipe:
            for consumer in consumers:
                pipe.set(self.keys.answerer(consumer), "1", ex=HEARTBEAT_TTL_S)
            pipe.execute()

    def orphans(self, consumer: str) -> list[Job]:
        """Claim for ``consumer`` the questions held by consumers whose process is gone."""
        self._ensure_group()
        jobs: list[Job] = []
        try:
            consumers = self.redis.xinfo_consumers(self.stream, GROUP)
        except ResponseError as exc:
            if self._gone(exc):
                return []
            raise
        for info in consumers:
            name = info["name"]
            if name == consumer or self.redis.exists(self.keys.answerer(name)):
                continue
            if int(info.get("pending", 0)):
                held = self.redis.xpending_range(self.stream, GROUP, "-", "+", 1000, consumername=name)
                ids = [item["message_id"] for item in held]
                for entry_id, fields in self.redis.xclaim(self.stream, GROUP, consumer, 0, ids):
                    if fields:
                        jobs.append(Job(entry_id, json.loads(fields["job"])))
                    else:  # deleted meanwhile: nothing left to answer
                        self.redis.xack(self.stream, GROUP, entry_id)
                log.warning("claimed %d questions left unanswered by %s", len(ids), name)
            self.redis.xgroup_delconsumer(self.stream, GROUP, name)
        return jobs
