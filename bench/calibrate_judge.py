"""Calibrate the offline judge's threshold on Bitext data (default: the bundled sample; --data).

Pairs each sampled answer with another answer of the same intent (should be accepted) and one of
a different intent (should be rejected), and reports the cosine threshold with the best balanced
accuracy, against the threshold in use (JUDGE_THRESHOLD's default) as the baseline.

    .venv/bin/python bench/calibrate_judge.py --samples 600
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supportbot.settings import Settings
from tests.support.paths import BITEXT
from trainer.judge import EmbeddingJudge


def balanced_accuracy(same: list[float], different: list[float], threshold: float) -> float:
    tpr = sum(s >= threshold for s in same) / len(same)
    tnr = sum(d < threshold for d in different) / len(different)
    return (tpr + tnr) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=BITEXT, help="Bitext-style JSONL (default: the bundled sample)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.read_text().splitlines()]
    by_intent: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_intent[row["intent"]].append(row["answer"])
    rng = random.Random(args.seed)
    sample = rng.sample(rows, args.samples)
    anchors, same_refs, other_refs = [], [], []
    for row in sample:
        anchors.append(row["answer"])
        same_refs.append(rng.choice([a for a in by_intent[row["intent"]] if a != row["answer"]]))
        other_intent = rng.choice([i for i in by_intent if i != row["intent"]])
        other_refs.append(rng.choice(by_intent[other_intent]))
    default = Settings.model_fields["judge_threshold"].default
    judge = EmbeddingJudge(default)
    same = judge.judge(anchors, same_refs).scores
    different = judge.judge(anchors, other_refs).scores
    best = max((t / 100 for t in range(5, 96)), key=lambda t: balanced_accuracy(same, different, t))
    base = balanced_accuracy(same, different, default)
    tuned = balanced_accuracy(same, different, best)
    print(f"pairs: {len(same)} same-intent, {len(different)} different-intent")
    print(f"threshold in use {default:.2f}: balanced accuracy {base:.3f}")
    print(f"best threshold   {best:.2f}: balanced accuracy {tuned:.3f}")
    print(f"ratio best/in-use: {tuned / base:.3f}x")


if __name__ == "__main__":
    main()
