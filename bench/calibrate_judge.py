"""Calibrate the offline judge on Bitext data, and measure each of its rules against an independent
judge (default data: the bundled sample; --data the full dev file). Written down in docs/judges.md.

1. Threshold: pairs each sampled answer with another answer of the same intent (should be
   accepted) and one of a different intent (should be rejected); the cosine threshold with the best
   balanced accuracy, against the one in use (JUDGE_THRESHOLD's default) as the baseline.
2. Rules: per intent, ``--pool`` questions stand for the training split (the headline's labelled
   reference pool) and ``--held-out`` for the eval questions. Each eval question gets five kinds of
   answer, and every rule's pass rate is printed beside the intent judge's (bench/intent_judge.py,
   trained on the other rows' answers; never on these questions or answers):
   A. another question's reference answer of the right intent (right, in the references' style);
   B. the knowledge base's canonical answer of the right intent (right, in another style);
   C. a reference answer of a random other intent (wrong);
   D. a reference answer of the most similar other intent (wrong, in the references' style);
   E. an answer that names no request (intent_judge.GENERIC_ANSWERS in turn: wrong, in a weak
      model's style).
   Rules: lenient (cosine ≥ threshold), own-reference (closer to its own reference than to any
   other eval reference: the headline until now) and the headline (the nearest reference, eval
   questions' and pool's, is its own or of its own label).

    .venv/bin/python bench/calibrate_judge.py                      # the bundled sample, 4 held out per intent
    .venv/bin/python bench/calibrate_judge.py --data ../shared/data/bitext_customer_support/qa_dev.jsonl

3. ``--answers eval.json``: instead, every rule and the intent judge on the answers the models
   generated (the sides of a `supportbot eval` report, or of bench/train_quality.py's), with the
   pool drawn from the data's other questions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from intent_judge import GENERIC_ANSWERS, IntentJudge, embed_cached

from supportbot.settings import Settings
from tests.support.paths import BITEXT, PROJECT
from trainer.judge import EmbeddingJudge, Reference

KNOWLEDGE = PROJECT / "trainer" / "demo_data" / "knowledge.md"  # one canonical answer per intent
SETS = {
    "A": "right intent, another question's reference",
    "B": "right intent, the KB's canonical answer",
    "C": "wrong intent, a random other intent's reference",
    "D": "wrong intent, the most similar intent's reference",
    "E": "no request named, a generic answer",
}


def balanced_accuracy(same: list[float], different: list[float], threshold: float) -> float:
    tpr = sum(s >= threshold for s in same) / len(same)
    tnr = sum(d < threshold for d in different) / len(different)
    return (tpr + tnr) / 2


def knowledge_answers(data: Path) -> dict[str, str]:
    """intent -> canonical answer: support_kb.jsonl beside --data, else the bundled knowledge.md."""
    beside = data.parent / "support_kb.jsonl"
    if beside.exists():
        return {r["intent"]: r["answer"] for r in map(json.loads, beside.read_text().splitlines()) if r}
    return dict(re.findall(r"^## (\w+) \(\w+\)\n\n(.+?)\n", KNOWLEDGE.read_text(), re.MULTILINE))


def threshold_section(rows: list[dict[str, Any]], judge: EmbeddingJudge, samples: int, seed: int) -> None:
    by_intent: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_intent[row["intent"]].append(row["answer"])
    rng = random.Random(seed)
    anchors, same_refs, other_refs = [], [], []
    for row in rng.sample(rows, min(samples, len(rows))):
        anchors.append(row["answer"])
        same_refs.append(rng.choice([a for a in by_intent[row["intent"]] if a != row["answer"]]))
        other_intent = rng.choice([i for i in by_intent if i != row["intent"]])
        other_refs.append(rng.choice(by_intent[other_intent]))
    same = judge.judge(anchors, same_refs).scores
    different = judge.judge(anchors, other_refs).scores
    best = max((t / 100 for t in range(5, 96)), key=lambda t: balanced_accuracy(same, different, t))
    base, tuned = balanced_accuracy(same, different, judge.threshold), balanced_accuracy(same, different, best)
    print(f"## Threshold: {len(same)} same-intent and {len(different)} different-intent pairs")
    print(f"threshold in use {judge.threshold:.2f}: balanced accuracy {base:.3f}")
    print(f"best threshold   {best:.2f}: balanced accuracy {tuned:.3f} (ratio best/in-use {tuned / base:.3f}x)")


def order(question: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{question}".encode()).hexdigest()


def most_similar_intents(rest: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Each intent's nearest other intent, by the centroid of its answers."""
    intents = sorted(rest)
    centroids = np.stack([embed_cached([r["answer"] for r in rest[i]]).mean(axis=0) for i in intents])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    similarity = centroids @ centroids.T
    np.fill_diagonal(similarity, -1.0)
    return {intent: intents[int(similarity[i].argmax())] for i, intent in enumerate(intents)}


def rules_section(rows: list[dict[str, Any]], judge: EmbeddingJudge, args: argparse.Namespace) -> None:
    by_intent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_intent[row["intent"]].append(row)
    for intent_rows in by_intent.values():
        intent_rows.sort(key=lambda r: order(r["question"], args.seed))
    pool = [r for i in sorted(by_intent) for r in by_intent[i][: args.pool]]
    held = [r for i in sorted(by_intent) for r in by_intent[i][args.pool : args.pool + args.held_out]]
    rest = {i: by_intent[i][args.pool + args.held_out :] for i in by_intent}
    if any(len(r) < 2 for r in rest.values()):
        raise SystemExit("too few rows per intent for --pool and --held-out")
    kb = knowledge_answers(args.data)
    confusable = most_similar_intents(rest)
    rng = random.Random(args.seed)
    answers: dict[str, list[str]] = {key: [] for key in SETS}
    used = {r["question"] for r in held}
    for row in held:
        intent = row["intent"]
        picks = {
            "A": rng.choice(rest[intent]),
            "C": rng.choice(rest[rng.choice([i for i in by_intent if i != intent])]),
            "D": rng.choice(rest[confusable[intent]]),
        }
        for key, picked in picks.items():
            answers[key].append(picked["answer"])
            used.add(picked["question"])
        answers["B"].append(kb[intent])
        answers["E"].append(GENERIC_ANSWERS[len(answers["E"]) % len(GENERIC_ANSWERS)])
    started = time.perf_counter()
    training = [r for r in rows if r["question"] not in used]
    intent_judge = IntentJudge.fit([r["answer"] for r in training], [r["intent"] for r in training], args.features)
    references, labels = [r["answer"] for r in held], [r["intent"] for r in held]
    reference_pool = [Reference(r["answer"], r["intent"]) for r in pool]
    print(
        f"\n## Rules: {len(held)} eval questions ({args.held_out} per intent), a pool of {len(pool)} labelled "
        f"references ({args.pool} per intent); intent judge ({args.features}) trained on {len(training)} "
        f"other answers in {time.perf_counter() - started:.0f} s"
    )
    print("| answers | intent judge | lenient | own reference | headline |")
    print("| --- | --- | --- | --- | --- |")
    agree: dict[str, list[bool]] = defaultdict(list)
    for key, description in SETS.items():
        given = answers[key]
        truth = intent_judge.score(given, labels).correct
        lenient = judge.judge(given, references)
        headline = judge.judge(given, references, labels, reference_pool).strict
        rates = {"lenient": lenient.correct, "own reference": lenient.strict, "headline": headline}
        for name, verdicts in rates.items():
            agree[name] += [a == b for a, b in zip(verdicts, truth, strict=True)]
        cells = " | ".join(f"{sum(v) / len(v):.1%}" for v in rates.values())
        print(f"| {key}. {description} | {sum(truth) / len(truth):.1%} | {cells} |")
    cells = " | ".join(f"{sum(v) / len(v):.1%}" for v in agree.values())
    print(f"| agreement with the intent judge, all {len(agree['headline'])} answers | – | {cells} |")


def answers_section(rows: list[dict[str, Any]], judge: EmbeddingJudge, args: argparse.Namespace) -> None:
    """Generated answers (any eval.json-like file: sides, each with examples holding question,
    reference, answer and label), every rule against the intent judge."""
    report = json.loads(args.answers.read_text(encoding="utf-8"))
    sides = report["sides"]
    judged = {e["question"] for side in sides.values() for e in side["examples"]}
    training = [r for r in rows if r["question"] not in judged]
    intent_judge = IntentJudge.fit([r["answer"] for r in training], [r["intent"] for r in training], args.features)
    by_intent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(training, key=lambda r: order(r["question"], args.seed)):
        by_intent[row["intent"]].append(row)
    pool = [Reference(r["answer"], intent) for intent in sorted(by_intent) for r in by_intent[intent][: args.pool]]
    print(f"\n## Generated answers: {args.answers.name}; pool of {len(pool)} ({args.pool} per intent)")
    print("| side | n | intent judge | lenient | own reference | headline, eval refs only | headline with pool |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for side in sides.values():
        examples = side["examples"]
        answers, references = [e["answer"] for e in examples], [e["reference"] for e in examples]
        labels = [e["label"] for e in examples]
        truth = intent_judge.score(answers, labels)
        plain = judge.judge(answers, references)
        rules = {
            "lenient": plain.correct,
            "own": plain.strict,
            "eval": judge.judge(answers, references, labels).strict,
            "pool": judge.judge(answers, references, labels, pool).strict,
        }
        cells = " | ".join(
            f"{sum(v) / len(v):.1%} ({sum(a == b for a, b in zip(v, truth.correct, strict=True)) / len(v):.0%} agree)"
            for v in rules.values()
        )
        print(f"| {side['name']} | {len(examples)} | {truth.describe()} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=600, help="answer pairs for the threshold")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=BITEXT, help="Bitext-style JSONL (default: the bundled sample)")
    parser.add_argument("--pool", type=int, default=12, help="labelled pool references per intent")
    parser.add_argument("--held-out", type=int, default=4, help="eval questions per intent")
    parser.add_argument("--features", choices=["minilm", "tfidf"], default="minilm", help="the intent judge's")
    parser.add_argument("--answers", type=Path, help="only score the generated answers of an eval.json-like file")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    judge = EmbeddingJudge(Settings.model_fields["judge_threshold"].default)
    if args.answers:
        answers_section(rows, judge, args)
        return
    threshold_section(rows, judge, args.samples, args.seed)
    rules_section(rows, judge, args)


if __name__ == "__main__":
    main()
