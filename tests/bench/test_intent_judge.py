"""bench/intent_judge.py on bundled data: trained on the demo sample (TF-IDF features, seconds on
a CPU), it must read the fixture answers' intents, and never train on the questions it judges."""

import json

import pytest

from tests.support.bench_scripts import load_bench
from tests.support.paths import BITEXT, BITEXT_SUBSET

intent_judge = load_bench("intent_judge")


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


def test_a_simulation_report_is_scored_before_and_after_beside_its_headline(data_dir, fixtures, tmp_path, capsys):
    """score-simulation: the fine-tuned answers of simulation.json, per phase and intent group; an
    answer of the right intent counts, one of another intent does not."""
    intents = sorted({r["intent"] for r in fixtures})
    other = {intent: intents[(i + 1) % len(intents)] for i, intent in enumerate(intents)}
    by_intent = {r["intent"]: r["answer"] for r in fixtures}
    questions = []
    for i, r in enumerate(fixtures[:20]):
        wrong = by_intent[other[r["intent"]]]
        questions.append({
            "question": r["question"], "intent": r["intent"], "held_out": i < 10,
            "before": {"answer": wrong, "strict": False}, "after": {"answer": r["answer"], "strict": True},
        })  # fmt: skip
    report = tmp_path / "simulation.json"
    report.write_text(json.dumps({"questions": questions}))
    intent_judge.score_simulation(data_dir, report, "tfidf")
    out = capsys.readouterr().out
    assert "20 measured questions" in out
    lines = [line for line in out.splitlines() if line.strip().startswith("fine-tuned")]
    assert [line.split(":")[0].strip() for line in lines] == [
        "fine-tuned, held-out intents, before", "fine-tuned, held-out intents, after",
        "fine-tuned, other intents, before", "fine-tuned, other intents, after",
    ]  # fmt: skip
    right = [int(line.split("(")[1].split("/")[0]) for line in lines]  # "... (right/n); ..."
    assert all("/10)" in line for line in lines)
    assert right[0] <= 1 and right[2] <= 1  # before: every answer of another intent
    assert right[1] >= 9 and right[3] >= 9  # after: the reference answers themselves
    assert "report's headline 0.0%" in lines[0] and "report's headline 100.0%" in lines[1]


def test_generic_answers_are_read_as_some_intent_and_reported(judge):
    readings = intent_judge.generic_readings(judge)
    assert sum(readings.values()) == len(intent_judge.GENERIC_ANSWERS)
    assert set(readings) <= set(judge.intents)
