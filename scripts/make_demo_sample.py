"""Regenerate trainer/demo_data/bitext_sample.jsonl: a stratified sample of the Bitext dev data.

    python scripts/make_demo_sample.py ../shared/data/bitext_customer_support

Per intent, the rows with the smallest sha256 of their question (deterministic, no RNG), the same
number for every intent, as many as fit in 1 MB. The knowledge file is Bitext's support KB.
"""

import hashlib
import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path

LIMIT_BYTES = 1_000_000
FIELDS = ("id", "question", "answer", "intent", "category")


def main(source: Path, out: Path) -> None:
    by_intent = defaultdict(list)
    for line in (source / "qa_dev.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        by_intent[row["intent"]].append({k: row[k] for k in FIELDS})
    for rows in by_intent.values():
        rows.sort(key=lambda r: hashlib.sha256(r["question"].encode()).hexdigest())
    per_intent, lines = 1, []
    while True:
        picked = [row for intent in sorted(by_intent) for row in by_intent[intent][: per_intent + 1]]
        candidate = [json.dumps(row, ensure_ascii=False) + "\n" for row in picked]
        if sum(len(line.encode()) for line in candidate) > LIMIT_BYTES:
            break
        per_intent, lines = per_intent + 1, candidate
    (out / "bitext_sample.jsonl").write_text("".join(lines), encoding="utf-8")
    shutil.copyfile(source / "LICENSE.txt", out / "LICENSE.txt")
    kb = (source / "support_kb.md").read_text(encoding="utf-8")
    (out / "knowledge.md").write_text(kb, encoding="utf-8")
    print(f"{len(lines)} rows, {per_intent} per intent, {sum(len(x.encode()) for x in lines):,} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).resolve().parent.parent / "trainer" / "demo_data")
