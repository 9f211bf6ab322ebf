"""Imported seed examples. An import is stored in one MULTI/EXEC: all of it or none of it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from supportbot.keys import Keys
from supportbot.records import SeedExample


class SeedStore:
    def __init__(self, client: Any, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def write(self, pipe: Any, seed: SeedExample) -> None:
        pipe.set(self.keys.seed(seed.id), json.dumps(seed.to_dict()), nx=True)
        pipe.zadd(self.keys.seeds, {seed.id: seed.created_at}, nx=True)

    def add_all(self, seeds: Iterable[SeedExample]) -> int:
        """Store seeds atomically; ones already imported (same id) are kept as they were.
        Returns how many were new."""
        seeds = list(seeds)
        with self.redis.pipeline(transaction=True) as pipe:
            for seed in seeds:
                self.write(pipe, seed)
            results = pipe.execute()
        return sum(1 for added in results[1::2] if added)

    def get(self, seed_id: str) -> SeedExample | None:
        raw = self.redis.get(self.keys.seed(seed_id))
        return None if raw is None else SeedExample.from_dict(json.loads(raw))

    def all(self) -> list[SeedExample]:
        ids = self.redis.zrange(self.keys.seeds, 0, -1)
        raws = self.redis.mget([self.keys.seed(i) for i in ids]) if ids else []
        return [SeedExample.from_dict(json.loads(raw)) for raw in raws if raw is not None]

    def count(self) -> int:
        return int(self.redis.zcard(self.keys.seeds))
