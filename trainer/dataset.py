"""Build an immutable, content-addressed dataset snapshot from the store.

    supportbot dataset build

Steps: take the eligible examples (seeds, approved corrections, answers endorsed by at least
MIN_UPVOTERS people other than the asker: see ``supportbot.examples``), redact personal data and
secrets, merge near-duplicate questions (same normalised text), assign each to train or eval by the
frozen split, and write one JSONL file in chat format (system / user / assistant messages) named by
the hash of its content, plus a stats file. Rebuilding from the same store gives the same file
name, byte for byte.

Which answer a question keeps: in train, the newest eligible one. In eval, the newest written by a
person (a seed or an approved correction): an eval reference is what the gate grades models
against, and a bot's own upvoted answer would let it grade a model against itself. An eval question
with only bot answers is left out of the snapshot (counted as ``eval_without_reference``); it is
never moved into train, so the frozen split holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supportbot.examples import DEFAULT_MIN_UPVOTERS, Example, eligible_examples
from supportbot.prompts import FINETUNED_SYSTEM_PROMPT
from supportbot.splits import Split, SplitStore, normalise
from supportbot.store import Store
from trainer.redaction import Redactor


@dataclass(frozen=True)
class Snapshot:
    name: str  # content hash
    path: Path
    stats: dict[str, Any]
    created: bool  # False when an identical snapshot already existed


def chat_record(example: Example, split: str, question: str, answer: str) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": FINETUNED_SYSTEM_PROMPT},
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ],
        "split": split,
        "source": example.source,
        "ref": example.ref,
        "label": example.label,
    }


def _write_once(path: Path, data: bytes) -> None:
    """Write a read-only file atomically; an existing one is left as it is."""
    if path.exists():
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o444)
    os.replace(tmp, path)


Candidate = tuple[Example, str, str]  # the example, its redacted question and answer


def _kept(candidates: list[Candidate], split: Split) -> Candidate | None:
    """The newest candidate; in eval, the newest written by a person (None if there is none)."""
    if split == "eval":
        candidates = [c for c in candidates if c[0].source != "vote"]
    return candidates[-1] if candidates else None


def build_snapshot(
    store: Store, out_dir: Path, eval_percent: int = 10, min_upvoters: int = DEFAULT_MIN_UPVOTERS
) -> Snapshot:
    examples = eligible_examples(store, min_upvoters)
    redactor = Redactor()
    by_question: dict[str, list[Candidate]] = {}
    for example in sorted(examples, key=lambda e: (e.created_at, e.source, e.ref)):  # oldest first
        question, answer = redactor.redact(example.question), redactor.redact(example.answer)
        by_question.setdefault(normalise(question), []).append((example, question, answer))
    splits = SplitStore(store.redis, store.keys).assign(list(by_question), eval_percent)

    kept = {key: _kept(candidates, splits[key]) for key, candidates in sorted(by_question.items())}
    records = [chat_record(c[0], splits[key], c[1], c[2]) for key, c in kept.items() if c is not None]
    records.sort(key=lambda r: (r["split"], normalise(r["messages"][1]["content"])))
    content = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records).encode()
    name = hashlib.sha256(content).hexdigest()[:16]
    stats = {
        "snapshot": name,
        "examples": len(records),
        "by_split": dict(sorted(Counter(r["split"] for r in records).items())),
        "by_source": dict(sorted(Counter(r["source"] for r in records).items())),
        "by_label": dict(sorted(Counter(r["label"] for r in records if r["label"]).items())),
        "eligible": len(examples),
        "merged_duplicates": len(examples) - len(by_question),
        "eval_without_reference": sum(1 for c in kept.values() if c is None),
        "redactions": dict(sorted(redactor.counts.items())),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.jsonl"
    created = not path.exists()
    _write_once(path, content)
    _write_once(out_dir / f"{name}.stats.json", json.dumps(stats, indent=2, sort_keys=True).encode())
    with store.redis.pipeline(transaction=True) as pipe:
        pipe.zadd(store.keys.datasets, {name: time.time()}, nx=True)
        pipe.set(store.keys.dataset(name), json.dumps(stats), nx=True)
        pipe.execute()
    return Snapshot(name, path, stats, created)


def load_snapshot(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [row for row in rows if split is None or row["split"] == split]


def hold_out(
    rows: list[dict[str, Any]], percent: int, seed: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training rows, validation rows): ``percent`` of the rows (at least one when there are two
    or more) held out to measure the loss on during training, for early stopping.

    The validation rows are seeds, taken in turn from each label (a stable hash of the question
    and ``seed`` orders each label's rows), so every intent is measured and the team's own
    corrections and voted answers are always trained on; only without seeds are those held out.
    The eval split is never used: it stays the gate's, untouched by training decisions."""
    if len(rows) < 2:
        return list(rows), []
    count = min(max(1, round(len(rows) * percent / 100)), len(rows) - 1)
    seeds = [i for i, row in enumerate(rows) if row.get("source", "seed") == "seed"]
    pool = seeds or list(range(len(rows)))

    def order(i: int) -> str:
        question = rows[i]["messages"][1]["content"]
        return hashlib.sha256(f"{seed}:{question}".encode()).hexdigest()

    by_label: dict[str, list[int]] = {}
    for i in sorted(pool, key=order):
        by_label.setdefault(rows[i].get("label") or "", []).append(i)
    queues = [by_label[label] for label in sorted(by_label, key=lambda label: order(by_label[label][0]))]
    picked: list[int] = []
    while len(picked) < min(count, len(pool)):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    held = set(picked)
    return [row for i, row in enumerate(rows) if i not in held], [rows[i] for i in picked]
