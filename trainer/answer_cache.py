"""Answers the gate has already generated, reused when exactly the same request comes again.

Every retraining's gate has three sides answer the whole eval split: the candidate, the live
adapter and the prompted model. From one gate to the next most of that is the same work: the
prompted model is sent the same prompts (a static prompt does not change; a retrieved one changes
when the data it retrieves from does), and the live adapter is the previous gate's candidate. With
greedy decoding the same request gives the same answer, so the gate looks each one up first.

A key is the SHA-256 of (who answers, the exact messages sent, the token limit). "Who answers" is
the model directory and dtype for a local model, plus the SHA-256 of the adapter's files for an
adapter, or the endpoint URL and model name for an OpenAI-compatible server: a new adapter, a new
prompt, another model or another limit is a new key, never a stale answer. Entries expire after
GATE_CACHE_DAYS (a served model can change behind its name); 0 turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from redis import Redis

from supportbot.keys import Keys
from supportbot.prompts import Message
from supportbot.responders.local_model import Generation, LocalModel

AnswerBatch = Callable[[list[str]], list[Generation]]
Build = Callable[[str], list[Message]]


def adapter_digest(adapter_dir: Path) -> str:
    """SHA-256 over an adapter directory's files (names and bytes): the same weights, the same digest."""
    digest = hashlib.sha256()
    for path in sorted(p for p in adapter_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(adapter_dir).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def local_identity(model: LocalModel, adapter_dir: Path | None = None) -> str:
    """Who answers, for a local model: its directory and dtype, and the adapter's digest if any."""
    who = f"local {model.model_dir.resolve()} {model.dtype}"
    return who if adapter_dir is None else f"{who} adapter {adapter_digest(adapter_dir)}"


class AnswerCache:
    def __init__(self, redis: Redis, keys: Keys, days: float) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl_s = int(days * 86400)
        self.hits = 0
        self.misses = 0

    def key(self, identity: str, messages: list[Message], max_new_tokens: int) -> str:
        payload = json.dumps([identity, messages, max_new_tokens], sort_keys=True, ensure_ascii=False)
        return self.keys.gate_answer(hashlib.sha256(payload.encode()).hexdigest())

    def wrap(self, answer: AnswerBatch, identity: str, build: Build, max_new_tokens: int) -> AnswerBatch:
        """``answer`` that looks each question up first and generates only the ones not found,
        together, in one call; what it generates is stored. Off (``days`` 0): ``answer`` itself."""
        if self.ttl_s <= 0:
            return answer

        def cached(questions: list[str]) -> list[Generation]:
            keys = [self.key(identity, build(q), max_new_tokens) for q in questions]
            found: list[Generation | None] = [_load(raw) for raw in self.redis.mget(keys)]
            missing = [i for i, generation in enumerate(found) if generation is None]
            self.hits += len(questions) - len(missing)
            self.misses += len(missing)
            if missing:
                fresh = answer([questions[i] for i in missing])
                with self.redis.pipeline(transaction=False) as pipe:
                    for i, generation in zip(missing, fresh, strict=True):
                        found[i] = generation
                        pipe.set(keys[i], json.dumps(asdict(generation)), ex=self.ttl_s)
                    pipe.execute()
            return [g for g in found if g is not None]

        return cached

    def summary(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses}


def _load(raw: Any) -> Generation | None:
    if raw is None:
        return None
    try:
        return replace(Generation(**json.loads(raw)), cached=True)
    except (TypeError, ValueError):
        return None  # written by another version: generate it again
