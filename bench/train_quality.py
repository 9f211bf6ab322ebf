"""How good is the fine-tuned model the trainer makes: train on Bitext dev rows the way a team
would (``supportbot import`` then ``supportbot train``'s snapshot, row choice and backend), answer
held-out questions of every intent that were never trained on, and score the answers with the
project's judge (strict headline and lenient) and with two independent judges that classify each
answer by intent, both logistic regressions trained on Bitext's answers to the dev questions that
are neither imported nor held out: one on TF-IDF of words and word pairs (kept in this file so the
figure does not move with bench/intent_judge.py), one on MiniLM embeddings (bench/intent_judge.py's
default). They disagree most on generic answers that restate the question ("I understand you want
to cancel order 123 ... please give me the details"): the words judge reads them by their generic
steps, the meaning judge by the restated request; both are printed. With
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

from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intent_judge import IntentJudge as MeaningJudge  # noqa: E402

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
from trainer.pipeline import EVAL_MAX_NEW_TOKENS, SHORT_BATCH, local_side, training_rows  # noqa: E402

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


class Judges:
    """The two independent judges: by words (TF-IDF) and by meaning (MiniLM embeddings)."""

    def __init__(self, answers: list[str], intents: list[str]) -> None:
        self.words = IntentJudge(answers, intents)
        self.meaning = MeaningJudge.fit(answers, intents, features="minilm")
        self.trained_on = len(answers)

    def score(self, answers: list[str], intents: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        by_meaning = self.meaning.score(answers, intents)
        meaning = {
            "predicted": by_meaning.predicted,
            "right": by_meaning.right,
            "n": by_meaning.n,
            "ci95": list(by_meaning.ci95),
        }
        return self.words.score(answers, intents), meaning


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
    intent_judge: Judges,
    max_new_tokens: int,
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
        scored = answer_and_judge(name, settings, result.adapter_dir, test, base_dir, intent_judge, max_new_tokens)
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
    intent_judge: Judges,
    max_new_tokens: int,
) -> dict[str, Any]:
    """The adapter answers the held-out questions as the bot does (merged, short prompt, batched,
    up to ``max_new_tokens``); both judges score the answers, and the intent judge also scores
    their first 96 tokens, the length the gate generates."""
    model = LocalModel(base_dir, adapter_dir=adapter_dir, merge=True, dtype=settings.local_dtype)
    started = time.perf_counter()
    side = score(
        name,
        local_side(model, to_messages(FINETUNED_SYSTEM_PROMPT), use_adapter=True, max_new_tokens=max_new_tokens),
        chat_rows(test),
        make_judge(settings),
        SHORT_BATCH,
    )
    answer_s = time.perf_counter() - started
    intents = [row["intent"] for row in test]
    answers = [e["answer"] for e in side["examples"]]
    by_intent, by_meaning = intent_judge.score(answers, intents)
    cut = [first_tokens(model.tokenizer, a, EVAL_MAX_NEW_TOKENS) for a in answers]
    at_gate = intent_judge.words.score(cut, intents)
    print(
        f"[{name}] intent judge (words) {describe(by_intent)} (first {EVAL_MAX_NEW_TOKENS} tokens: "
        f"{describe(at_gate)}), intent judge (meaning) {describe(by_meaning)}, strict {side['accuracy']:.1%}",
        flush=True,
    )
    return {
        "name": name,
        "answer_minutes": round(answer_s / 60, 2),
        "strict": side["accuracy"],
        "strict_ci95": side["ci95"],
        "lenient": side["lenient_accuracy"],
        "intent_judge": by_intent["right"] / by_intent["n"],
        "intent_judge_ci95": by_intent["ci95"],
        "intent_judge_right": by_intent["right"],
        "max_new_tokens": max_new_tokens,
        "intent_judge_first_96_tokens": at_gate["right"] / at_gate["n"],
        "intent_judge_first_96_tokens_ci95": at_gate["ci95"],
        "intent_judge_meaning": by_meaning["right"] / by_meaning["n"],
        "intent_judge_meaning_ci95": by_meaning["ci95"],
        "intent_judge_meaning_right": by_meaning["right"],
        "n": by_intent["n"],
        "side": side,
        "answers": [
            {
                "question": e["question"],
                "intent": t,
                "judged_intent": p,
                "judged_intent_meaning": m,
                "strict": e["strict"],
                "answer": e["answer"],
            }
            for e, t, p, m in zip(
                side["examples"], intents, by_intent["predicted"], by_meaning["predicted"], strict=True
            )
        ],
    }


def first_tokens(tokenizer: Any, text: str, limit: int) -> str:
    return str(tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"][:limit]))


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
    mlow, mhigh = result["intent_judge_meaning_ci95"]
    slow, shigh = result["strict_ci95"]
    train = result["train"]
    return (
        f"{result['name']:<10} intent judge: words {result['intent_judge']:.1%} [{low:.0%}-{high:.0%}] "
        f"({result['intent_judge_right']}/{result['n']}; "
        f"first 96 tokens {result['intent_judge_first_96_tokens']:.1%}), "
        f"meaning {result['intent_judge_meaning']:.1%} [{mlow:.0%}-{mhigh:.0%}] "
        f"| strict {result['strict']:.1%} [{slow:.0%}-{shigh:.0%}] "
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
    parser.add_argument(
        "--max-new-tokens", type=int, help="longest answer (default: MAX_NEW_TOKENS, what the bot answers with)"
    )
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
    intent_judge = Judges([r["answer"] for r in others], [r["intent"] for r in others])
    ceiling, ceiling_meaning = intent_judge.score([r["answer"] for r in test], [r["intent"] for r in test])
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    cut = [first_tokens(tokenizer, r["answer"], EVAL_MAX_NEW_TOKENS) for r in test]
    ceiling_cut = intent_judge.words.score(cut, [r["intent"] for r in test])
    max_new_tokens = args.max_new_tokens or settings.max_new_tokens
    print(
        f"{len(imported)} rows imported ({len(snapshot_train)} in the training split), {len(test)} held-out questions; "
        f"the intent judges (trained on {intent_judge.trained_on} other dev answers) on their reference answers: "
        f"words {describe(ceiling)} (first {EVAL_MAX_NEW_TOKENS} tokens: {describe(ceiling_cut)}), "
        f"meaning {describe(ceiling_meaning)}",
        flush=True,
    )
    if args.adapter:
        scored = answer_and_judge("adapter", settings, args.adapter, test, base_dir, intent_judge, max_new_tokens)
        results = [{**scored, **trained_adapter(args.adapter)}]
    else:
        results = [train_and_score("candidate", settings, snapshot_train, test, base_dir, intent_judge, max_new_tokens)]
    print(line(results[0]), flush=True)
    if args.baseline:
        baseline = base_settings.model_copy(update=BASELINE)
        results.append(
            train_and_score("baseline", baseline, snapshot_train, test, base_dir, intent_judge, max_new_tokens)
        )
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
        "intent_judge_meaning_on_references": {
            "accuracy": ceiling_meaning["right"] / ceiling_meaning["n"],
            "ci95": ceiling_meaning["ci95"],
        },
        "intent_judge_on_references_first_96_tokens": {
            "accuracy": ceiling_cut["right"] / ceiling_cut["n"],
            "ci95": ceiling_cut["ci95"],
        },
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
            f"candidate vs baseline: intent judge (words) {cand['intent_judge'] - base['intent_judge']:+.1%}, "
            f"(meaning) {cand['intent_judge_meaning'] - base['intent_judge_meaning']:+.1%}, "
            f"strict {cand['strict'] - base['strict']:+.1%}, "
            f"training time x{cand['train_minutes'] / base['train_minutes']:.2f}"
        )
    for judge, key in (("words", "intent_judge"), ("meaning", "intent_judge_meaning")):
        low, high = wilson_interval(results[0][f"{key}_right"], results[0]["n"])
        print(
            f"goal >= 92% by the intent judge ({judge}): {'met' if results[0][key] >= 0.92 else 'not met'} "
            f"({results[0][key]:.1%}, 95% CI {low:.0%}-{high:.0%})"
        )
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if args.eval_json:
        sides = {r["name"]: r["side"] for r in results}
        report = {"source": f"{len(test)} held-out Bitext dev questions", "n": len(test), "sides": sides}
        args.eval_json.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
