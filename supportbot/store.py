"""The Redis store: records in, records out. Writes that belong together are one MULTI/EXEC."""

from __future__ import annotations

import json
from typing import Any

import redis

from supportbot.corrections import CorrectionStore
from supportbot.keys import Keys
from supportbot.records import Answer, Failure, Question
from supportbot.seeds import SeedStore
from supportbot.votes import VoteStore

EVENT_TTL_S = 24 * 3600  # Slack retries within minutes; a day is plenty.
PLACEHOLDER_TTL_S = 7 * 24 * 3600  # an answer fills its placeholder within minutes; a week is plenty


class Store:
    def __init__(self, client: redis.Redis, prefix: str = "sb:") -> None:
        # Clients are made with decode_responses=True, so every reply is str; redis-py's stubs
        # cannot express that, hence Any.
        self.redis: Any = client
        self.keys = Keys(prefix)
        self.votes = VoteStore(self.redis, self.keys)
        self.corrections = CorrectionStore(self.redis, self.keys)
        self.seeds = SeedStore(self.redis, self.keys)

    def write_question(self, pipe: Any, question: Question) -> None:
        """Queue the commands that store ``question`` on a MULTI pipeline."""
        pipe.set(self.keys.question(question.id), json.dumps(question.to_dict()))
        pipe.zadd(self.keys.questions, {question.id: question.created_at})
        if question.thread_ts:
            pipe.set(self.keys.thread(question.channel, question.thread_ts), question.id)

    def save_question(self, question: Question) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            self.write_question(pipe, question)
            pipe.execute()

    def question_for_thread(self, channel: str, thread_ts: str) -> Question | None:
        question_id = self.redis.get(self.keys.thread(channel, thread_ts))
        return None if question_id is None else self.get_question(question_id)

    def question_ids(self) -> list[str]:
        return list(self.redis.zrange(self.keys.questions, 0, -1))

    def answer_ids(self) -> list[str]:
        return list(self.redis.zrange(self.keys.answers, 0, -1))

    def get_question(self, question_id: str) -> Question | None:
        raw = self.redis.get(self.keys.question(question_id))
        return None if raw is None else Question.from_dict(json.loads(raw))

    def write_answer(self, pipe: Any, answer: Answer) -> None:
        """Queue the commands that store ``answer``, linked to its question and Slack message."""
        if not answer.question_id:
            raise ValueError("an answer must belong to a question")
        pipe.set(self.keys.answer(answer.id), json.dumps(answer.to_dict()))
        pipe.zadd(self.keys.answers, {answer.id: answer.created_at})
        pipe.rpush(self.keys.question_answers(answer.question_id), answer.id)
        if answer.channel and answer.ts:
            pipe.set(self.keys.message(answer.channel, answer.ts), answer.id)

    def save_answer(self, answer: Answer) -> None:
        """Store an answer, link it to its question and, once posted, to its Slack message."""
        with self.redis.pipeline(transaction=True) as pipe:
            self.write_answer(pipe, answer)
            pipe.execute()

    def mark_posted(self, answer: Answer) -> None:
        """Record where a stored answer was posted: its (channel, ts) now maps back to it. When it
        replaced a placeholder, the votes people reacted with on the placeholder are cast on it."""
        if not (answer.channel and answer.ts):
            raise ValueError("a posted answer needs its channel and ts")
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.answer(answer.id), json.dumps(answer.to_dict()))
            pipe.set(self.keys.message(answer.channel, answer.ts), answer.id)
            pipe.delete(self.keys.placeholder(answer.channel, answer.ts))
            pipe.execute()
        self.cast_pending_votes(answer)

    def mark_placeholder(self, channel: str, ts: str) -> None:
        """Record that Slack message (channel, ts) is a placeholder an answer will replace in place:
        a reaction on it before then is kept (``hold_vote``) rather than dropped."""
        self.redis.set(self.keys.placeholder(channel, ts), "1", ex=PLACEHOLDER_TTL_S)

    def hold_vote(self, channel: str, ts: str, user: str, vote: int, added: bool) -> bool:
        """Keep a reaction on a placeholder until its answer is shown; False when (channel, ts) is
        not a placeholder. A reaction removed before then withdraws the held vote."""
        if not self.redis.exists(self.keys.placeholder(channel, ts)):
            return False
        key = self.keys.pending_votes(channel, ts)
        if added:
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, user, vote)
                pipe.expire(key, PLACEHOLDER_TTL_S)
                pipe.execute()
        elif self.redis.hget(key, user) == str(vote):
            self.redis.hdel(key, user)
        return True

    def cast_pending_votes(self, answer: Answer) -> dict[str, int]:
        """Cast the votes held on ``answer``'s message while it was a placeholder (taken atomically,
        so they are cast once even when a reaction and the answer race); the votes cast."""
        assert answer.channel and answer.ts
        key = self.keys.pending_votes(answer.channel, answer.ts)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            held, _ = pipe.execute()
        cast = {user: int(vote) for user, vote in held.items()}
        for user, vote in cast.items():
            self.votes.set(answer.id, user, vote)
        return cast

    def get_answer(self, answer_id: str) -> Answer | None:
        raw = self.redis.get(self.keys.answer(answer_id))
        return None if raw is None else Answer.from_dict(json.loads(raw))

    def answers_for_question(self, question_id: str) -> list[Answer]:
        ids = self.redis.lrange(self.keys.question_answers(question_id), 0, -1)
        answers = [self.get_answer(answer_id) for answer_id in ids]
        return [answer for answer in answers if answer is not None]

    def answer_for_message(self, channel: str, ts: str) -> Answer | None:
        answer_id = self.redis.get(self.keys.message(channel, ts))
        return None if answer_id is None else self.get_answer(answer_id)

    def write_failure(self, pipe: Any, failure: Failure) -> None:
        pipe.zadd(self.keys.failures, {json.dumps(failure.to_dict()): failure.created_at})

    def save_failure(self, failure: Failure) -> None:
        self.write_failure(self.redis, failure)

    def failures(self, start: float | str = "-inf", end: float | str = "+inf") -> list[Failure]:
        """Failures recorded in [start, end), oldest first (all of them by default)."""
        raw = self.redis.zrangebyscore(self.keys.failures, start, _before(end))
        return [Failure.from_dict(json.loads(item)) for item in raw]

    def answers_between(self, start: float, end: float) -> list[Answer]:
        """Answers created in [start, end), oldest first, read in one round trip."""
        ids = self.redis.zrangebyscore(self.keys.answers, start, _before(end))
        if not ids:
            return []
        raw = self.redis.mget([self.keys.answer(answer_id) for answer_id in ids])
        return [Answer.from_dict(json.loads(item)) for item in raw if item is not None]

    def first_delivery(self, event_id: str) -> bool:
        """True the first time an event id is seen; False for Slack's redeliveries."""
        return bool(self.redis.set(self.keys.event(event_id), "1", nx=True, ex=EVENT_TTL_S))

    def question_count(self) -> int:
        return int(self.redis.zcard(self.keys.questions))


def _before(end: float | str) -> str:
    """A ZRANGEBYSCORE upper bound that excludes ``end`` itself."""
    return end if end == "+inf" else f"({end}"
