"""bench/intent_judge.py on bundled data: trained on the demo sample (TF-IDF features, seconds on
a CPU), it must read the fixture answers' intents, and never train on the questions it judges."""

import importlib.util
import json
import sys

import pytest

from tests.support.paths import BITEXT, BITEXT_SUBSET, PROJECT


def load_bench():
    spec = importlib.util.spec_from_file_location("intent_judge", PROJECT / "bench" / "intent_judge.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["intent_judge"] = module
    spec.loader.exec_module(module)
    return module


intent_judge = load_bench()


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A Bitext-like folder: the demo sample as qa_dev.jsonl."""
    folder = tmp_path_factory.mktemp("bitext")
    (folder / "qa_dev.jsonl").write_text(BITEXT.read_text())
    return folder


@pytest.fixture(scope="module")
def fixtures():
    return rows(BITEXT_SUBSET.with_suffix(".jsonl"))


@pytest.fixture(scope="module")
def judge(data_dir, fixtures):
    return intent_judge.IntentJudge.train(
        data_dir, exclude_questions=[r["question"] for r in fixtures], features="tfidf", keep_test_rows_out=False
    )


def test_it_never_trains_on_the_questions_it_judges(data_dir, fixtures, judge):
    sample = rows(data_dir / "qa_dev.jsonl")
    judged = {r["question"] for r in fixtures}
    overlap = sum(1 for r in sample if r["question"] in judged)
    assert overlap > 0  # the fixture rows are in the sample, so the exclusion matters
    assert judge.trained_on == len(sample) - overlap


def test_it_reads_the_intent_of_reference_answers_it_never_saw(fixtures, judge):
    result = judge.score([r["answer"] for r in fixtures], [r["intent"] for r in fixtures])
    assert result.n == 54
    assert result.accuracy >= 0.9
    low, high = result.ci95
    assert low < result.accuracy <= high


def test_an_answer_of_another_intent_is_wrong(fixtures, judge):
    intents = sorted({r["intent"] for r in fixtures})
    shifted = {intent: intents[(i + 1) % len(intents)] for i, intent in enumerate(intents)}
    result = judge.score([r["answer"] for r in fixtures], [shifted[r["intent"]] for r in fixtures])
    assert result.accuracy <= 0.1
    assert [
        p == t for p, t in zip(result.predicted, [shifted[r["intent"]] for r in fixtures], strict=True)
    ] == result.correct


def test_unknown_intents_and_mismatched_lengths_are_refused(judge):
    with pytest.raises(ValueError, match="not trained on: no_such_intent"):
        judge.score(["an answer"], ["no_such_intent"])
    with pytest.raises(ValueError, match="1 answers but 2 intents"):
        judge.score(["an answer"], ["cancel_order", "get_refund"])


def test_the_judges_own_test_rows_are_a_stable_fifth_in_every_intent():
    sample = rows(BITEXT)
    test = [r for r in sample if intent_judge.is_test_row(r["question"])]
    assert 0.15 < len(test) / len(sample) < 0.25
    assert {r["intent"] for r in test} == {r["intent"] for r in sample}
    # by the question alone: case and spacing do not move a row across the cut
    assert all(intent_judge.is_test_row(" " + r["question"].upper().replace(" ", "  ")) for r in test)
