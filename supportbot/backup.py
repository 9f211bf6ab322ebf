"""Export every record to JSONL, and restore a store from it exactly. This is the backup story.

    supportbot export --out backup.jsonl          # written with mode 0600
    supportbot import --restore backup.jsonl

Each line is ``{"type": ..., "data": {...}}``. The adapter registry comes along: every version
(``adapter``) and one ``adapter_registry`` line with the version counter and the active pointer, so
a restored store serves the same adapter and trains v(N+1) next, never a version that already has
a folder under ADAPTER_STORE. A restore validates the whole file first, refuses a store that
already holds records, and writes everything in one MULTI/EXEC transaction.

An export can be redacted (``redact``): every free-text field goes through it, ids do not. A
redacted export is for sharing, not a backup: it restores, but the redacted text is gone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from supportbot.errors import InvalidImport
from supportbot.records import AdapterVersion, Answer, Correction, Failure, Question, SeedExample
from supportbot.splits import SplitStore
from supportbot.store import Store

TYPES = (
    "question",
    "answer",
    "vote",
    "correction",
    "seed",
    "failure",
    "split",
    "dataset",
    "adapter",
    "adapter_registry",
)
# The free-text fields of each record type: what a redacted export passes through the redactor.
FREE_TEXT = {
    "question": ("text",),
    "answer": ("text",),
    "correction": ("text",),
    "seed": ("question", "answer"),
    "failure": ("reason",),
    "split": ("key",),  # the normalised question
}
# The eval gate's report keeps the questions, references and answers it judged.
REPORT_TEXT = ("question", "reference", "answer")
VERSION = re.compile(r"v[1-9][0-9]*")


def export_records(store: Store, redact: Callable[[str], str] | None = None) -> Iterator[dict[str, Any]]:
    """Every record, in a stable order; with ``redact``, every free-text field redacted."""
    records = _records(store)
    if redact is None:
        yield from records
        return
    for record in records:
        yield redacted(record, redact)


def redacted(record: dict[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    """A copy of one export record with its free-text fields redacted (ids and numbers kept)."""
    kind, data = record["type"], dict(record["data"])
    for name in FREE_TEXT.get(kind, ()):
        if isinstance(data.get(name), str):
            data[name] = redact(data[name])
    if kind == "adapter":
        report = dict(data.get("report") or {})
        for side, scored in report.items():
            if isinstance(scored, dict) and isinstance(scored.get("examples"), list):
                examples = [
                    {k: redact(v) if k in REPORT_TEXT and isinstance(v, str) else v for k, v in example.items()}
                    for example in scored["examples"]
                ]
                report[side] = {**scored, "examples": examples}
        data["report"] = report
    return {"type": kind, "data": data}


def _records(store: Store) -> Iterator[dict[str, Any]]:
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
    yield from _adapter_records(store)


def _adapter_records(store: Store) -> Iterator[dict[str, Any]]:
    keys = store.keys
    for version in store.redis.zrange(keys.adapters, 0, -1):
        raw = store.redis.get(keys.adapter(version))
        if raw is not None:
            yield {"type": "adapter", "data": json.loads(raw)}
    counter, active = store.redis.get(keys.adapter_counter), store.redis.get(keys.active_adapter)
    if counter is not None or active is not None:
        yield {"type": "adapter_registry", "data": {"counter": int(counter or 0), "active": active}}


def _parse(lines: Iterable[str]) -> list[tuple[str, Any]]:
    parsed: list[tuple[str, Any]] = []
    builders = {
        "question": Question.from_dict,
        "answer": Answer.from_dict,
        "correction": Correction.from_dict,
        "seed": SeedExample.from_dict,
        "failure": Failure.from_dict,
        "adapter": _adapter,
        "adapter_registry": _registry,
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
    versions = {record.version for kind, record in parsed if kind == "adapter"}
    for kind, record in parsed:
        if kind == "adapter_registry" and record["active"] is not None and record["active"] not in versions:
            raise InvalidImport(f"the active adapter {record['active']} is not among the exported versions")
    return parsed


def _adapter(data: dict[str, Any]) -> AdapterVersion:
    version = AdapterVersion.from_dict(data)
    if not VERSION.fullmatch(version.version):
        raise ValueError(f"an adapter version is v1, v2, ... not {version.version!r}")
    return version


def _registry(data: dict[str, Any]) -> dict[str, Any]:
    counter, active = data["counter"], data.get("active")
    if isinstance(counter, bool) or not isinstance(counter, int) or counter < 0:
        raise ValueError("the adapter counter is a whole number, 0 or more")
    if active is not None and not isinstance(active, str):
        raise ValueError("the active adapter is a version name such as v2")
    return {"counter": counter, "active": active}


def restore(store: Store, lines: Iterable[str]) -> dict[str, int]:
    """Rebuild an empty store from an export. Returns the number of records of each type."""
    records = _parse(lines)
    existing = next(store.redis.scan_iter(match=f"{store.keys.prefix}*", count=1000), None)
    if existing is not None:
        raise InvalidImport(
            "the store already holds records: restore only into an empty store "
            "(a new REDIS_URL database or SUPPORTBOT_KEY_PREFIX)"
        )
    keys = store.keys
    counts: dict[str, int] = dict.fromkeys(TYPES, 0)
    # The counter never falls behind a restored version, so the next training gets a fresh number.
    highest = max((int(r.version[1:]) for kind, r in records if kind == "adapter"), default=0)
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
            elif kind == "adapter":  # as AdapterRegistry.save writes it, inside this transaction
                pipe.set(keys.adapter(record.version), json.dumps(record.to_dict()))
                pipe.zadd(keys.adapters, {record.version: int(record.version[1:])})
            elif kind == "adapter_registry":
                highest = max(highest, record["counter"])
                if record["active"] is not None:
                    pipe.set(keys.active_adapter, record["active"])
        if highest:
            pipe.set(keys.adapter_counter, highest)
        pipe.execute()
    return counts
