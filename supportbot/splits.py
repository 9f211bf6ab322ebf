"""Train/eval assignment: a stable hash of the normalised question, frozen once made.

The eval split never leaks into training: near-duplicate questions normalise to the same key
and so land on the same side, and a key's side is stored the first time it is seen, so changing
EVAL_PERCENT later never moves an existing question.
"""

from __future__ import annotations

import hashlib
import re
import string
from typing import Any, Literal

from supportbot.keys import Keys

Split = Literal["train", "eval"]
_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")


def normalise(question: str) -> str:
    """Lower case, every digit run as '#', no punctuation, single spaces."""
    text = re.sub(r"\d+", "#", question.lower())
    text = _PUNCTUATION.sub(" ", text).replace("#", " # ")
    return " ".join(text.split())


def hashed_split(key: str, eval_percent: int) -> Split:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return "eval" if int(digest[:8], 16) % 100 < eval_percent else "train"


class SplitStore:
    def __init__(self, client: Any, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def assign(self, normalised_keys: list[str], eval_percent: int) -> dict[str, Split]:
        """The split of each key: the frozen one if known, else a new stable one, frozen now."""
        unique = sorted(set(normalised_keys))
        if not unique:
            return {}
        known = dict(zip(unique, self.redis.hmget(self.keys.splits, unique), strict=True))
        new = {key: hashed_split(key, eval_percent) for key, side in known.items() if side is None}
        if new:
            with self.redis.pipeline(transaction=True) as pipe:
                for key, side in new.items():
                    pipe.hsetnx(self.keys.splits, key, side)
                pipe.execute()
            # Another build may have frozen some first: read back what is stored.
            known = dict(zip(unique, self.redis.hmget(self.keys.splits, unique), strict=True))
        return known

    def all(self) -> dict[str, Split]:
        return dict(self.redis.hgetall(self.keys.splits))
