"""An independent judge: classify an answer by the intent it serves, and score answers by whether
that intent is their question's.

Unlike the project's judges it never compares an answer with one reference: a classifier
(MiniLM embeddings, or word and word-pair TF-IDF with --features tfidf, into a logistic regression)
is trained on Bitext's own answers to *other* questions, labelled with their intents, so an answer
counts as right when it reads like Bitext's answers to its question's intent, whatever its words.
Training rows never share a question with the questions being judged (nor with the judge's own
test rows), and the canonical knowledge-base answers are never trained on (they test style transfer).

Data: the Bitext dev folder (``qa_dev.jsonl``, ``support_kb.jsonl``; see its README), passed as
an argument; nothing here reads it unless asked.

    # How good is the judge itself: accuracy on held-out reference answers and on the KB answers
    .venv/bin/python bench/intent_judge.py --data ../shared/data/bitext_customer_support check

    # Score every side of an eval report (questions are looked up in the data for their intent)
    .venv/bin/python bench/intent_judge.py --data ../shared/data/bitext_customer_support \\
        score eval-report/eval.json

    # Score the fine-tuned answers of a learning-loop run, before and after, beside its headline
    .venv/bin/python bench/intent_judge.py --data ../shared/data/bitext_customer_support \\
        score-simulation simulation-report/simulation.json

From Python: ``IntentJudge.train(data_dir, exclude_questions=...)`` then
``judge.score(answers, intents)`` -> ``IntentScore`` (accuracy with its 95% Wilson interval).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supportbot.accuracy import wilson_interval

QA_FILE = "qa_dev.jsonl"
KB_FILE = "support_kb.jsonl"
TEST_PERCENT = 20  # the judge's own test rows: by a hash of the question, in every intent

# Answers that name no request, in the style of a 135M model's weakest answers in the learning
# loop (written for this check, after answers read in runs 19-20). Whatever intent the judge gives
# them, it passes such an answer to a question of that intent: where they land is its blind spot.
GENERIC_ANSWERS = (
    "I'm here to assist you with any questions or concerns you may have. If you have any issues or need "
    "further assistance, please don't hesitate to reach out to me.",
    "I understand that you are seeking assistance. I'm here to help you resolve any issues or provide "
    "guidance on how to proceed. Please provide me with the details, and I'll do my best to assist you.",
    "Thank you for reaching out. Our support team is available to assist you with any inquiries or "
    "concerns you may have.",
    "I'm sorry for any inconvenience you may have experienced. Please contact our customer support team "
    "and they will be happy to help you.",
    "Please follow these steps to get started:\n\n1. Log into your account on our website.\n2. Look for "
    "the relevant section.\n3. Follow the instructions on the page.",
    "I'm here to provide you with the most accurate and helpful information. Let me know how I can assist you today.",
)


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise SystemExit(f"{path} does not exist: pass --data the Bitext dev folder (qa_dev.jsonl, support_kb.jsonl)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def normalise(question: str) -> str:
    return " ".join(question.lower().split())


def is_test_row(question: str, percent: int = TEST_PERCENT) -> bool:
    """The judge's own test rows: a fixed share of questions, chosen by hash (not by the Bitext
    holdout rule's digits, so it is an independent cut of the dev rows)."""
    digest = hashlib.sha256(("intent-judge:" + normalise(question)).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 100 < percent


@dataclass(frozen=True)
class IntentScore:
    """Answers judged by intent: right when the classified intent is their question's."""

    predicted: list[str]
    correct: list[bool]

    @property
    def right(self) -> int:
        return sum(self.correct)

    @property
    def n(self) -> int:
        return len(self.correct)

    @property
    def accuracy(self) -> float:
        return self.right / self.n if self.n else 0.0

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson_interval(self.right, self.n)

    def describe(self) -> str:
        low, high = self.ci95
        return f"{self.accuracy:.1%} [{low:.0%}–{high:.0%}] ({self.right}/{self.n})"


class Featuriser:
    """Texts to feature rows: TF-IDF (fitted on the training answers) or MiniLM embeddings."""

    def __init__(self, kind: str) -> None:
        if kind not in {"tfidf", "minilm"}:
            raise ValueError(f"features must be tfidf or minilm, not {kind!r}")
        self.kind = kind
        self.vectoriser: Any = None

    def fit_transform(self, texts: list[str]) -> Any:
        if self.kind == "minilm":
            return self.transform(texts)
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectoriser = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        return self.vectoriser.fit_transform(texts)

    def transform(self, texts: list[str]) -> Any:
        if self.kind == "tfidf":
            return self.vectoriser.transform(texts)
        return embed_cached(texts)


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("supportbot")) / "intent-judge"


def read_cache() -> tuple[list[str], Any]:
    import numpy as np

    keys_path, vectors_path = cache_dir() / "minilm-keys.json", cache_dir() / "minilm-vectors.npy"
    try:
        keys, vectors = json.loads(keys_path.read_text()), np.load(vectors_path)
    except (OSError, ValueError):
        return [], np.zeros((0, 384), dtype=np.float32)
    return (keys, vectors) if len(keys) == len(vectors) else ([], np.zeros((0, 384), dtype=np.float32))


def write_cache(keys: list[str], vectors: Any) -> None:
    """Atomically (a rename per file, vectors first): a run reading meanwhile sees a whole cache."""
    import numpy as np

    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    suffix = f".{os.getpid()}.tmp"
    with open(folder / f"minilm-vectors.npy{suffix}", "wb") as handle:
        np.save(handle, vectors)
    (folder / f"minilm-keys.json{suffix}").write_text(json.dumps(keys))
    os.replace(folder / f"minilm-vectors.npy{suffix}", folder / "minilm-vectors.npy")
    os.replace(folder / f"minilm-keys.json{suffix}", folder / "minilm-keys.json")


def embed_cached(texts: list[str]) -> Any:
    """MiniLM embeddings, each text's kept on disk by its hash: embedding the 3,633 dev answers
    takes minutes on a small CPU, and every run of this script needs most of the same ones."""
    import numpy as np

    keys, vectors = read_cache()
    index = {key: i for i, key in enumerate(keys)}
    wanted = [hashlib.sha256(text.encode("utf-8")).hexdigest() for text in texts]
    found = {key: vectors[index[key]] for key in set(wanted) if key in index}
    missing = [key for key in dict.fromkeys(wanted) if key not in found]
    if missing:
        from supportbot.embedding import sentence_transformer

        by_key = dict(zip(wanted, texts, strict=True))
        fresh = sentence_transformer().encode(
            [by_key[key] for key in missing],
            normalize_embeddings=True,
            batch_size=32,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        found.update(zip(missing, fresh.astype(np.float32), strict=True))
        keys, vectors = read_cache()  # another run may have written meanwhile: add to what is there now
        known = set(keys)
        new = [key for key in missing if key not in known]
        if new:
            write_cache(keys + new, np.vstack([vectors, np.stack([found[key] for key in new])]))
    if not wanted:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([found[key] for key in wanted])


class IntentJudge:
    """A logistic regression from answer text to intent."""

    def __init__(self, featuriser: Featuriser, classifier: Any, trained_on: int) -> None:
        self.featuriser = featuriser
        self.classifier = classifier
        self.trained_on = trained_on

    @classmethod
    def fit(cls, answers: Sequence[str], intents: Sequence[str], features: str = "minilm") -> IntentJudge:
        from sklearn.linear_model import LogisticRegression

        if len(answers) != len(intents) or not answers:
            raise ValueError("one intent per answer, and at least one answer")
        if len(set(intents)) < 2:
            raise ValueError("the judge needs answers of at least two intents")
        featuriser = Featuriser(features)
        matrix = featuriser.fit_transform(list(answers))
        classifier = LogisticRegression(C=10.0, max_iter=2000)
        classifier.fit(matrix, list(intents))
        return cls(featuriser, classifier, len(answers))

    @classmethod
    def train(
        cls,
        data_dir: Path,
        exclude_questions: Iterable[str] = (),
        features: str = "minilm",
        keep_test_rows_out: bool = True,
    ) -> IntentJudge:
        """Trained on the dev answers whose questions are neither excluded nor the judge's test rows."""
        excluded = {normalise(q) for q in exclude_questions}
        rows = [
            row
            for row in load_jsonl(data_dir / QA_FILE)
            if normalise(row["question"]) not in excluded and not (keep_test_rows_out and is_test_row(row["question"]))
        ]
        return cls.fit([r["answer"] for r in rows], [r["intent"] for r in rows], features)

    @property
    def intents(self) -> list[str]:
        return [str(label) for label in self.classifier.classes_]

    def classify(self, answers: Sequence[str]) -> list[str]:
        if not answers:
            return []
        return [str(label) for label in self.classifier.predict(self.featuriser.transform(list(answers)))]

    def score(self, answers: Sequence[str], intents: Sequence[str]) -> IntentScore:
        """Accuracy (with its Wilson interval) of answers whose questions have these intents."""
        if len(answers) != len(intents):
            raise ValueError(f"{len(answers)} answers but {len(intents)} intents")
        unknown = sorted(set(intents) - set(self.intents))
        if unknown:
            raise ValueError(f"intents the judge was not trained on: {', '.join(unknown)}")
        predicted = self.classify(answers)
        return IntentScore(predicted, [p == t for p, t in zip(predicted, intents, strict=True)])


def intents_by_question(data_dir: Path) -> dict[str, str]:
    """Every dev question's intent (the main and the short-answer files)."""
    found: dict[str, str] = {}
    for name in ("qa_short_dev.jsonl", QA_FILE):
        path = data_dir / name
        if path.exists():
            found.update({normalise(r["question"]): r["intent"] for r in load_jsonl(path)})
    return found


def check(data_dir: Path, features: str) -> None:
    """The judge's own accuracy on reference answers it never trained on."""
    rows = load_jsonl(data_dir / QA_FILE)
    test = [r for r in rows if is_test_row(r["question"])]
    kb = load_jsonl(data_dir / KB_FILE)
    started = time.perf_counter()
    judge = IntentJudge.train(data_dir, features=features)
    trained = time.perf_counter() - started
    held_out = judge.score([r["answer"] for r in test], [r["intent"] for r in test])
    canonical = judge.score([r["answer"] for r in kb], [r["intent"] for r in kb])
    print(f"features {features}; trained on {judge.trained_on} dev answers in {trained:.1f} s")
    print(f"held-out reference answers (their questions never trained on): {held_out.describe()}")
    print(f"knowledge-base answers (a style never trained on):            {canonical.describe()}")
    wrong = [(r["intent"], p) for r, p in zip(kb, canonical.predicted, strict=True) if r["intent"] != p]
    for truth, predicted in wrong:
        print(f"  KB answer of {truth} read as {predicted}")
    readings = ", ".join(f"{intent} {count}" for intent, count in generic_readings(judge).most_common())
    print(f"generic answers that name no request ({len(GENERIC_ANSWERS)}), read as: {readings}")


def generic_readings(judge: IntentJudge) -> Counter[str]:
    """The intents the judge gives GENERIC_ANSWERS: a question of one of them gets such an answer passed."""
    return Counter(judge.classify(GENERIC_ANSWERS))


def score_report(data_dir: Path, report_path: Path, features: str) -> None:
    """Every side of a `supportbot eval` report, judged by intent; the questions' intents come
    from the data, and the judge never trains on those questions."""
    report = json.loads(report_path.read_text(encoding="utf-8"))
    lookup = intents_by_question(data_dir)
    sides = report["sides"]
    questions = [e["question"] for e in next(iter(sides.values()))["examples"]]
    missing = [q for q in questions if normalise(q) not in lookup]
    if missing:
        raise SystemExit(f"{len(missing)} questions are not in {data_dir} (first: {missing[0]!r})")
    judge = IntentJudge.train(data_dir, exclude_questions=questions, features=features, keep_test_rows_out=False)
    print(f"{report_path}: {len(questions)} questions; judge trained on {judge.trained_on} other dev answers")
    for key, side in sides.items():
        examples = side["examples"]
        intents = [lookup[normalise(e["question"])] for e in examples]
        result = judge.score([e["answer"] for e in examples], intents)
        print(
            f"  {side['name']} ({key}): intent judge {result.describe()}; "
            f"report's headline {side['accuracy']:.1%}, lenient {side.get('lenient_accuracy', float('nan')):.1%}"
        )


def score_simulation(data_dir: Path, report_path: Path, features: str) -> None:
    """The fine-tuned side's answers in a `supportbot simulate` report (simulation.json), before and
    after the loop, on the held-out intents and the others, judged by intent beside the report's
    own headline verdicts; the judge never trains on the measured questions."""
    report = json.loads(report_path.read_text(encoding="utf-8"))
    rows = report["questions"]
    judge = IntentJudge.train(
        data_dir, exclude_questions=[r["question"] for r in rows], features=features, keep_test_rows_out=False
    )
    print(f"{report_path}: {len(rows)} measured questions; judge trained on {judge.trained_on} other dev answers")
    for group, held_out in (("held-out intents", True), ("other intents", False)):
        chosen = [r for r in rows if r["held_out"] == held_out]
        for phase in ("before", "after"):
            result = judge.score([r[phase]["answer"] for r in chosen], [r["intent"] for r in chosen])
            headline = sum(r[phase]["strict"] for r in chosen) / len(chosen) if chosen else float("nan")
            print(f"  fine-tuned, {group}, {phase}: intent judge {result.describe()}; report's headline {headline:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="the Bitext dev folder (qa_dev.jsonl, support_kb.jsonl)"
    )
    parser.add_argument("--features", choices=["minilm", "tfidf"], default="minilm")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="the judge's own accuracy on held-out reference answers")
    scoring = commands.add_parser("score", help="score each side of a `supportbot eval` eval.json")
    scoring.add_argument("report", type=Path)
    simulated = commands.add_parser(
        "score-simulation", help="score the fine-tuned answers of a `supportbot simulate` simulation.json"
    )
    simulated.add_argument("report", type=Path)
    args = parser.parse_args()
    if args.command == "check":
        check(args.data, args.features)
    elif args.command == "score":
        score_report(args.data, args.report, args.features)
    else:
        score_simulation(args.data, args.report, args.features)


if __name__ == "__main__":
    main()
