"""Export every record to JSONL, and restore a store from it exactly. This is the backup story.

    supportbot export > backup.jsonl
    supportbot import --restore backup.jsonl

Each line is ``{"type": ..., "data": {...}}``. A restore validates the whole file first, refuses
a store that already holds records, and writes everything in one MULTI/EXEC transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from supportbot.errors import InvalidImport
from supportbot.records import Answer, Correction, Failure, Question, SeedExample
from supportbot.splits import SplitStore
from supportbot.store import Store

TYPES = ("question", "answer", "vote", "correction", "seed", "failure", "split", "dataset")


def export_records(store: Store) -> Iterator[dict[str, Any]]:
    question_ids = store.question_ids()
    for question_id in question_ids:
        question = store.get_question(question_id)
        if question is not None:
            yield {"type": "question", "data": question.to_dict()}
    for question_id in question_ids:  # each question's answers in posting order
        for answer in store.answers_for_question(question_id):
            yield {"type": "answer", "data": answer.to_dict()}
    for answer_id in store.votes.voted_answer_ids():
        times = store.votes.times(answer_id)
        for user, vote in sorted(store.votes.of(answer_id).items()):
            yield {
                "type": "vote",
                "data": {"answer_id": answer_id, "user": user, "vote": vote, "at": times.get(user)},
            }
    for correction in store.corrections.all():
        yield {"type": "correction", "data": correction.to_dict()}
    for seed in store.seeds.all():
        yield {"type": "seed", "data": seed.to_dict()}
    for failure in store.failures():
        yield {"type": "failure", "data": failure.to_dict()}
    for key, side in sorted(SplitStore(store.redis, store.keys).all().items()):
        yield {"type": "split", "data": {"key": key, "split": side}}
    for name, at in store.redis.zrange(store.keys.datasets, 0, -1, withscores=True):
        stats = json.loads(store.redis.get(store.keys.dataset(name)) or "{}")
        yield {"type": "dataset", "data": {"name": name, "at": at, "stats": stats}}


def _parse(lines: Iterable[str]) -> list[tuple[str, Any]]:
    parsed: list[tuple[str, Any]] = []
    builders = {
        "question": Question.from_dict,
        "answer": Answer.from_dict,
        "correction": Correction.from_dict,
        "seed": SeedExample.from_dict,
        "failure": Failure.from_dict,
    }
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            kind, data = row["type"], row["data"]
            if kind not in TYPES:
                raise ValueError(f"unknown record type {kind!r}")
            if kind == "vote" and data["vote"] not in (1, -1):
                raise ValueError("a vote is 1 or -1")
            if kind == "split" and data["split"] not in ("train", "eval"):
                raise ValueError("a split is train or eval")
            parsed.append((kind, builders[kind](data) if kind in builders else data))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidImport(f"line {number} is not a supportbot export record: {exc}") from None
    return parsed


def restore(store: Store, lines: Iterable[str]) -> dict[str, int]:
    """Rebuild an empty store from an export. Returns the number of records of each type."""
    records = _parse(lines)
    existing = store.redis.scan(0, match=f"{store.keys.prefix}*", count=1000)[1]
    if existing or store.question_count() or store.seeds.count():
        raise InvalidImport(
            "the store already holds records: restore only into an empty store "
            "(a new REDIS_URL database or SUPPORTBOT_KEY_PREFIX)"
        )
    keys = store.keys
    counts: dict[str, int] = dict.fromkeys(TYPES, 0)
    with store.redis.pipeline(transaction=True) as pipe:
        for kind, record in records:
            counts[kind] += 1
            if kind == "question":
                store.write_question(pipe, record)
            elif kind == "answer":
                store.write_answer(pipe, record)
            elif kind == "correction":
                store.corrections.write(pipe, record)
            elif kind == "seed":
                store.seeds.write(pipe, record)
            elif kind == "failure":
                store.write_failure(pipe, record)
            elif kind == "vote":
                pipe.hset(keys.votes(record["answer_id"]), record["user"], record["vote"])
                if record.get("at") is not None:
                    pipe.hset(keys.vote_times(record["answer_id"]), record["user"], record["at"])
                    pipe.zadd(keys.voted, {record["answer_id"]: record["at"]}, gt=True)
                else:
                    pipe.zadd(keys.voted, {record["answer_id"]: 0}, nx=True)
            elif kind == "split":
                pipe.hset(keys.splits, record["key"], record["split"])
            elif kind == "dataset":
                pipe.zadd(keys.datasets, {record["name"]: record["at"]})
                pipe.set(keys.dataset(record["name"]), json.dumps(record["stats"]))
        pipe.execute()
    return counts
