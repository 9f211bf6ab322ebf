"""Import and snapshot speed on a Bitext file (--data), against plain JSON parsing as the baseline.

Uses its own Redis database (flushed) so it never touches real data.

    .venv/bin/python bench/import_and_snapshot.py --redis-url redis://127.0.0.1:6379/14
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supportbot.store import Store
from tests.support.paths import BITEXT
from trainer.dataset import build_snapshot
from trainer.importer import Mapping, parse


def timed(func):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = func()
    return value, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--data", type=Path, default=BITEXT, help="Bitext-style JSONL (default: the bundled sample)")
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis_url, decode_responses=True)
    client.flushdb()
    path = args.data
    lines = path.read_text().splitlines()
    _, baseline = timed(lambda: [json.loads(line) for line in lines])
    result, parse_s = timed(lambda: parse(path, Mapping(), 2000))
    store = Store(client)
    added, store_s = timed(lambda: store.seeds.add_all(result.seeds))
    with tempfile.TemporaryDirectory() as out:
        snapshot, build_s = timed(lambda: build_snapshot(store, Path(out)))
    client.flushdb()
    rows = len(lines)
    print(f"baseline json.loads:   {rows:,} rows in {baseline:.3f} s ({rows / baseline:,.0f} rows/s)")
    print(f"import parse+validate: {parse_s:.3f} s; store (one MULTI/EXEC): {store_s:.3f} s")
    print(
        f"import total:          {rows:,} rows in {parse_s + store_s:.3f} s ({rows / (parse_s + store_s):,.0f} rows/s)"
    )
    print(f"snapshot build:        {snapshot.stats['examples']:,} examples in {build_s:.2f} s")
    print(f"ratio import/baseline: {(parse_s + store_s) / baseline:.1f}x; snapshot/baseline: {build_s / baseline:.1f}x")
    assert added == rows


if __name__ == "__main__":
    main()
