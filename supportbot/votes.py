"""Votes: one current vote per (answer, person), from reactions and buttons.

An answer becomes training data only on the endorsement of other people (``endorsement``): its
👍 from distinct people other than the asker, minus every 👎. The asker's own 👍 never counts
(nobody vouches for the answer to their own question), but their 👎 does: the person who asked is
the best witness that an answer did not help, and doubt keeps data out.

Every write is idempotent (a Slack redelivery or a double click changes nothing) and atomic
(a Lua script or MULTI/EXEC), so concurrent votes from many people tally exactly.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from supportbot.keys import Keys

_SKIN_TONE = re.compile(r"::skin-tone-\d$")

# Cast a vote unless it is already the person's current one (so its time stays the first cast).
_SET_IF_DIFFERENT = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""

# Remove a person's vote only if it is still the one this reaction cast: removing 👍 after
# switching to 👎 must leave the 👎.
_REMOVE_IF_SAME = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
  return 1
end
return 0
"""


def reaction_vote(reaction: str, up: frozenset[str], down: frozenset[str]) -> int | None:
    """+1, -1 or None for a reaction name; skin-tone variants count as their base emoji."""
    name = _SKIN_TONE.sub("", reaction)
    if name in up:
        return 1
    if name in down:
        return -1
    return None


@dataclass(frozen=True)
class Tally:
    up: int
    down: int

    @property
    def net(self) -> int:
        return self.up - self.down


def endorsement(votes: dict[str, int], asker: str) -> int:
    """👍 from people other than ``asker`` minus all 👎 (the asker's included); one vote a person."""
    up = sum(1 for user, vote in votes.items() if vote == 1 and user != asker)
    down = sum(1 for vote in votes.values() if vote == -1)
    return up - down


class VoteStore:
    def __init__(self, client: Any, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._set_if_different = client.register_script(_SET_IF_DIFFERENT)
        self._remove_if_same = client.register_script(_REMOVE_IF_SAME)

    def set(self, answer_id: str, user: str, vote: int, at: float | None = None) -> bool:
        """Cast or change a vote; True if it changed. Casting the same vote again is a no-op."""
        if vote not in (1, -1):
            raise ValueError("a vote is 1 or -1")
        at = time.time() if at is None else at
        keys = [self.keys.votes(answer_id), self.keys.vote_times(answer_id), self.keys.voted]
        return bool(self._set_if_different(keys=keys, args=[user, vote, at, answer_id]))

    def remove(self, answer_id: str, user: str, vote: int) -> bool:
        """Withdraw ``vote`` if it is still the person's current vote; True if it was removed."""
        keys = [self.keys.votes(answer_id), self.keys.vote_times(answer_id), self.keys.voted]
        return bool(self._remove_if_same(keys=keys, args=[user, vote, time.time(), answer_id]))

    def of(self, answer_id: str) -> dict[str, int]:
        return {user: int(vote) for user, vote in self.redis.hgetall(self.keys.votes(answer_id)).items()}

    def times(self, answer_id: str) -> dict[str, float]:
        raw = self.redis.hgetall(self.keys.vote_times(answer_id))
        return {user: float(at) for user, at in raw.items()}

    def tally(self, answer_id: str) -> Tally:
        votes = list(self.of(answer_id).values())
        return Tally(up=votes.count(1), down=votes.count(-1))

    def tallies(self, answer_ids: list[str]) -> dict[str, Tally]:
        """Tallies of many answers in one round trip."""
        with self.redis.pipeline(transaction=False) as pipe:
            for answer_id in answer_ids:
                pipe.hvals(self.keys.votes(answer_id))
            replies = pipe.execute()
        counted = {}
        for answer_id, values in zip(answer_ids, replies, strict=True):
            votes = [int(v) for v in values]
            counted[answer_id] = Tally(up=votes.count(1), down=votes.count(-1))
        return counted

    def voted_answer_ids(self) -> list[str]:
        return list(self.redis.zrange(self.keys.voted, 0, -1))
