"""How good is the fine-tuned model the trainer makes: train on Bitext dev rows the way a team
would (``supportbot import`` then ``supportbot train``'s snapshot, row choice and backend), answer
held-out questions of every intent that were never trained on, and score the answers with the
project's judge (strict headline and lenient) and with an independent judge that classifies each
answer by intent: TF-IDF of words and word pairs into a logistic regression, trained here on
Bitext's answers to the dev questions that are neither imported nor held out (the same method as
bench/intent_judge.py, kept in this file so the figure does not move with that script). With
--eval-json it also writes the answers as a `supportbot eval` report, for
``bench/intent_judge.py score``.

With --baseline it also trains the previous defaults (TRAIN_MAX_EXAMPLES=300, TRAIN_EPOCHS=1) in
the same run, on the same rows, and prints the differences and the ratio of training times. It
uses its own Redis key prefix (cleared first) so it never touches a team's data.

    REDIS_URL=redis://127.0.0.1:6379/9 nice -n 5 .venv/bin/python bench/train_quality.py \\
        ../shared/data/bitext_customer_support --out /tmp/train-quality.json [--baseline] [--set LEARNING_RATE=4e-4 ...]

The data folder is Bitext's dev part (``qa_dev.jsonl``, see its README); it is read only here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from supportbot.accuracy import wilson_interval  # noqa: E402
from supportbot.base_model import resolve_base_model  # noqa: E402
from supportbot.prompts import FINETUNED_SYSTEM_PROMPT  # noqa: E402
from supportbot.redis_conn import connect  # noqa: E402
from supportbot.responders.local_model import LocalModel  # noqa: E402
from supportbot.settings import Settings, load_settings  # noqa: E402
from supportbot.splits import normalise  # noqa: E402
from supportbot.store import Store  # noqa: E402
from trainer.backends import get_backend  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.dataset import build_snapshot, load_snapshot  # noqa: E402
from trainer.evaluate import score, to_messages  # noqa: E402
from trainer.importer import Mapping, parse  # noqa: E402
from trainer.judge import make_judge  # noqa: E402
from trainer.pipeline import SHORT_BATCH, local_side, training_rows  # noqa: E402

PREFIX = "sbbench-train:"
BASELINE = {"train_max_examples": 300, "train_epochs": 1.0}  # the defaults before early stopping


def qa_file(data: Path) -> Path:
    for candidate in (data / "qa_dev.jsonl", data / "bitext_customer_support" / "qa_dev.jsonl"):
        if candidate.exists():
            return candidate
    raise SystemExit(f"no qa_dev.jsonl in {data} (pass the folder of the full Bitext dev data, qa_dev.jsonl)")


def select(rows: list[dict[str, Any]], per_intent: int, held_out: int) -> tuple[list[dict], list[dict]]:
    """Per intent, in a fixed hashed order: ``per_intent`` rows to import, then ``held_out``
    questions whose normalised text (lower case, digits as #, no punctuation) no imported row has."""
    by_intent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: hashlib.sha256(f"train-quality:{r['id']}".encode()).hexdigest()):
        by_intent[row["intent"]].append(row)
    imported, test = [], []
    for intent in sorted(by_intent):
        seen: set[str] = set()
        mine: list[dict[str, Any]] = []
        for row in by_intent[intent]:
            key = normalise(row["question"])
            if key not in seen and len(mine) < per_intent:
                seen.add(key)
                mine.append(row)
        imported += mine
    known = {normalise(r["question"]) for r in imported}
    for intent in sorted(by_intent):
        picked: list[dict[str, Any]] = []
        for row in by_intent[intent]:
            key = normalise(row["question"])
            if key not in known and len(picked) < held_out:
                known.add(key)
                picked.append(row)
        test += picked
    return imported, test


class IntentJudge:
    """Which intent an answer serves: TF-IDF (words and word pairs) into a logistic regression."""

    def __init__(self, answers: list[str], intents: list[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectoriser = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        self.classifier = LogisticRegression(C=10.0, max_iter=2000)
        self.classifier.fit(self.vectoriser.fit_transform(answers), intents)
        self.trained_on = len(answers)

    def score(self, answers: list[str], intents: list[str]) -> dict[str, Any]:
        predicted = [str(x) for x in self.classifier.predict(self.vectoriser.transform(answers))]
        right = sum(p == t for p, t in zip(predicted, intents, strict=True))
        return {
            "predicted": predicted,
            "right": right,
            "n": len(intents),
            "ci95": list(wilson_interval(right, len(intents))),
        }


def describe(result: dict[str, Any]) -> str:
    low, high = result["ci95"]
    return f"{result['right'] / result['n']:.1%} [{low:.0%}-{high:.0%}] ({result['right']}/{result['n']})"


def chat_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "system", "content": FINETUNED_SYSTEM_PROMPT},
                {"role": "user", "content": row["question"]},
                {"role": "assistant", "content": row["answer"]},
            ],
            "label": row["intent"],
        }
        for row in rows
    ]


def import_rows(settings: Settings, rows: list[dict[str, Any]]) -> tuple[Store, list[dict[str, Any]]]:
    """``supportbot import`` of the rows under the bench's own prefix, then the training split of
    a fresh snapshot: what ``supportbot train`` trains on (the eval split is held out as usual)."""
    store = Store(connect(settings), settings.key_prefix)
    keys = list(store.redis.scan_iter(match=f"{settings.key_prefix}*", count=1000))
    if keys:
        store.redis.delete(*keys)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        store.seeds.add_all(parse(path, Mapping(), settings.max_question_chars).seeds)
    snapshot = build_snapshot(store, settings.datasets_dir, settings.eval_percent, settings.min_upvoters)
    return store, load_snapshot(snapshot.path, "train")


def train_and_score(  # noqa: PLR0917
    name: str,
    settings: Settings,
    snapshot_train: list[dict[str, Any]],
    test: list[dict[str, Any]],
    base_dir: Path,
    intent_judge: IntentJudge,
) -> dict[str, Any]:
    config = TrainConfig.from_settings(settings)
    rows = training_rows(snapshot_train, settings.train_max_examples)
    backend = get_backend(settings.trainer_backend)
    print(f"[{name}] training on {len(rows)} rows with {backend.name}: {json.dumps(config.to_dict())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="train-quality-") as work:
        started = time.perf_counter()
        result = backend.train(rows, base_dir, config, Path(work), progress=report(name, started))
        train_s = time.perf_counter() - started
        print(
            f"[{name}] trained in {train_s / 60:.1f} min: {result.steps} steps, {result.epochs:g} epochs, "
            f"best epoch {result.best_epoch}, eval curve {result.eval_curve}",
            flush=True,
        )
        scored = answer_and_judge(name, settings, result.adapter_dir, test, base_dir, intent_judge)
    return {
        **scored,
        "config": config.to_dict(),
        "train_rows": len(rows),
        "train": result.metrics(),
        "train_minutes": round(train_s / 60, 2),
    }


def answer_and_judge(  # noqa: PLR0917
    name: str,
    settings: Settings,
    adapter_dir: Path,
    test: list[dict[str, Any]],
    base_dir: Path,
    intent_judge: IntentJudge,
) -> dict[str, Any]:
    """The adapter answers the held-out questions as at the gate (merged, short prompt, 96 new
    tokens, batched); both judges score the answers."""
    model = LocalModel(base_dir, adapter_dir=adapter_dir, merge=True, dtype=settings.local_dtype)
    started = time.perf_counter()
    side = score(
        name,
        local_side(model, to_messages(FINETUNED_SYSTEM_PROMPT), use_adapter=True),
        chat_rows(test),
        make_judge(settings),
        SHORT_BATCH,
    )
    answer_s = time.perf_counter() - started
    intents = [row["intent"] for row in test]
    by_intent = intent_judge.score([e["answer"] for e in side["examples"]], intents)
    print(f"[{name}] intent judge {describe(by_intent)}, strict {side['accuracy']:.1%}", flush=True)
    return {
        "name": name,
        "answer_minutes": round(answer_s / 60, 2),
        "strict": side["accuracy"],
        "strict_ci95": side["ci95"],
        "lenient": side["lenient_accuracy"],
        "intent_judge": by_intent["right"] / by_intent["n"],
        "intent_judge_ci95": by_intent["ci95"],
        "intent_judge_right": by_intent["right"],
        "n": by_intent["n"],
        "side": side,
        "answers": [
            {"question": e["question"], "intent": t, "judged_intent": p, "strict": e["strict"], "answer": e["answer"]}
            for e, t, p in zip(side["examples"], intents, by_intent["predicted"], strict=True)
        ],
    }


def trained_adapter(adapter_dir: Path) -> dict[str, Any]:
    """An adapter trained elsewhere (--adapter: a run's adapter or a Trainer checkpoint): what its
    trainer_state.json says about its training, if it has one."""
    state_path = adapter_dir / "trainer_state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    evals = [e for e in state.get("log_history", []) if "eval_loss" in e]
    train = {"epochs": state.get("epoch"), "steps": state.get("global_step"), "best_epoch": None}
    train |= {"eval_curve": evals, "train_rows": None, "validation_rows": None}
    return {"config": {}, "train_rows": None, "train": train, "train_minutes": None, "adapter": str(adapter_dir)}


def report(name: str, started: float) -> Any:
    def progress(event: str, data: dict[str, Any]) -> None:
        minutes = (time.perf_counter() - started) / 60
        if event == "eval":
            print(
                f"[{name}] {minutes:.1f} min: epoch {data['epoch']:g} validation loss {data['eval_loss']:.4f}",
                flush=True,
            )
        elif event == "step" and data.get("step") and data["step"] % 10 == 0:
            print(
                f"[{name}] {minutes:.1f} min: step {data['step']}/{data['total']} loss {data['loss']:.4f}", flush=True
            )

    return progress


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def overrides(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set takes KEY=VALUE, not {pair!r}")
        values[key.strip().lower()] = value.strip()
    return values


def line(result: dict[str, Any]) -> str:
    low, high = result["intent_judge_ci95"]
    slow, shigh = result["strict_ci95"]
    train = result["train"]
    return (
        f"{result['name']:<10} intent judge {result['intent_judge']:.1%} [{low:.0%}-{high:.0%}] "
        f"({result['intent_judge_right']}/{result['n']}) | strict {result['strict']:.1%} [{slow:.0%}-{shigh:.0%}] "
        f"| lenient {result['lenient']:.1%} | {result['train_rows']} rows, {train['epochs']} epochs "
        f"(best {train['best_epoch']}), {train['steps']} steps, "
        f"train {result['train_minutes']} min, answer {result['answer_minutes']:.1f} min"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the folder of the full Bitext dev data (qa_dev.jsonl)")
    parser.add_argument("--per-intent", type=int, default=12, help="rows imported per intent (27 intents)")
    parser.add_argument("--held-out", type=int, default=4, help="held-out questions per intent, never trained on")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting for the candidate")
    parser.add_argument("--baseline", action="store_true", help="also train the previous defaults (300 rows, 1 epoch)")
    parser.add_argument("--out", type=Path, help="write every figure and answer as JSON here")
    parser.add_argument("--adapter", type=Path, help="score this adapter (or Trainer checkpoint) instead of training")
    parser.add_argument("--eval-json", type=Path, help="write the answers as a `supportbot eval` report here")
    args = parser.parse_args()

    data_dir = qa_file(args.data).parent
    rows = [json.loads(x) for x in (data_dir / "qa_dev.jsonl").read_text(encoding="utf-8").splitlines() if x]
    imported, test = select(rows, args.per_intent, args.held_out)
    load_before = os.getloadavg()
    started = time.perf_counter()
    base_settings = load_settings(key_prefix=PREFIX, min_new_examples=0)
    settings = load_settings(key_prefix=PREFIX, min_new_examples=0, **overrides(args.set))
    _, snapshot_train = import_rows(settings, imported)
    base_dir = resolve_base_model(settings, show_progress=False)
    used = {normalise(r["question"]) for r in imported + test}
    others = [r for r in rows if normalise(r["question"]) not in used]
    intent_judge = IntentJudge([r["answer"] for r in others], [r["intent"] for r in others])
    ceiling = intent_judge.score([r["answer"] for r in test], [r["intent"] for r in test])
    print(
        f"{len(imported)} rows imported ({len(snapshot_train)} in the training split), {len(test)} held-out questions; "
        f"the intent judge (trained on {intent_judge.trained_on} other dev answers) on their reference answers: "
        f"{describe(ceiling)}",
        flush=True,
    )
    if args.adapter:
        scored = answer_and_judge("adapter", settings, args.adapter, test, base_dir, intent_judge)
        results = [{**scored, **trained_adapter(args.adapter)}]
    else:
        results = [train_and_score("candidate", settings, snapshot_train, test, base_dir, intent_judge)]
    print(line(results[0]), flush=True)
    if args.baseline:
        baseline = base_settings.model_copy(update=BASELINE)
        results.append(train_and_score("baseline", baseline, snapshot_train, test, base_dir, intent_judge))
        print(line(results[1]), flush=True)
    load_after = os.getloadavg()
    hardware = results[0]["train"].get("hardware") or {}
    summary = {
        "cpu": cpu_name(),
        "hardware": hardware,
        "load_average_before_after": [load_before, load_after],
        "imported": len(imported),
        "snapshot_train": len(snapshot_train),
        "held_out": len(test),
        "intent_judge_on_references": {"accuracy": ceiling["right"] / ceiling["n"], "ci95": ceiling["ci95"]},
        "overrides": overrides(args.set),
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "results": results,
    }
    print(
        f"CPU: {summary['cpu']} ({hardware.get('capability')}, bf16 {hardware.get('bf16')}, "
        f"{hardware.get('threads')} threads); load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    if len(results) == 2:
        cand, base = results
        print(
            f"candidate vs baseline: intent judge {cand['intent_judge'] - base['intent_judge']:+.1%}, "
            f"strict {cand['strict'] - base['strict']:+.1%}, "
            f"training time x{cand['train_minutes'] / base['train_minutes']:.2f}"
        )
    low, high = wilson_interval(results[0]["intent_judge_right"], results[0]["n"])
    print(
        f"goal >= 92% by the intent judge: {'met' if results[0]['intent_judge'] >= 0.92 else 'not met'} "
        f"({results[0]['intent_judge']:.1%}, 95% CI {low:.0%}-{high:.0%})"
    )
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if args.eval_json:
        sides = {r["name"]: r["side"] for r in results}
        report = {"source": f"{len(test)} held-out Bitext dev questions", "n": len(test), "sides": sides}
        args.eval_json.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
