"""Scoring with the project's judge and its headline rule: the reference nearest an answer,
among its own and a labelled pool of every intent, must be of the question's intent."""

import pytest

from simulation.scenario import Item
from simulation.scoring import accuracy, score
from simulation.workspace import Asked, Shown
from tests.support.paths import BITEXT
from trainer.importer import Mapping, parse
from trainer.judge import EmbeddingJudge


@pytest.fixture(scope="module")
def judge():
    model = EmbeddingJudge(0.49)

    def verdicts(answers, references, labels, pool):
        found = model.judge(answers, references, labels, pool)
        return found.strict, found.correct

    return verdicts


@pytest.fixture(scope="module")
def by_intent():
    groups = {}
    for row in parse(BITEXT, Mapping(), 2000).seeds:
        groups.setdefault(row.label, []).append(row)
    return groups


def asked(item: Item, text: str, failed: bool = False) -> Asked:
    answer = Shown("finetuned", "Fine-tuned v1", text, "2.1", None if failed else "a1")
    return Asked(item, "U0ASK", "C0SUPPORT", "1.1", {"finetuned": answer}, 1.0)


def test_right_intent_passes_wrong_intent_fails_and_siblings_never_compete(judge, by_intent):
    references = {label: [row.answer for row in rows[3:8]] for label, rows in by_intent.items()}
    cancel = references["cancel_order"][0]
    news = [
        Item(row.question, row.answer, "newsletter_subscription") for row in by_intent["newsletter_subscription"][1:3]
    ]
    answers = [
        # Two questions of one intent, each answered with the other's reference: compared with each
        # other's references only both would lose; a same-intent neighbour counts as right.
        asked(news[0], news[1].reference),
        asked(news[1], news[0].reference),
        asked(Item("Where is my parcel?", by_intent["track_order"][1].answer, "track_order"), cancel),
    ]
    verdicts = score(answers, "finetuned", references, judge)
    assert [v.strict for v in verdicts] == [True, True, False]
    assert accuracy(verdicts).strict == 2 and accuracy(verdicts).n == 3


def test_a_side_that_failed_is_wrong(judge, by_intent):
    row = by_intent["review"][1]
    references = {label: [rows[0].answer] for label, rows in by_intent.items()}
    (verdict,) = score([asked(Item(row.question, row.answer, "review"), row.answer, failed=True)], "finetuned",
                       references, judge)  # fmt: skip
    assert not verdict.strict and not verdict.lenient


def test_restating_the_question_in_the_house_style_is_not_enough(judge, by_intent):
    """An answer that names the question's request but gives another intent's steps is judged by
    what it is about: the pool holds that other intent's answers too."""
    references = {label: [row.answer for row in rows[3:8]] for label, rows in by_intent.items()}
    row = by_intent["track_refund"][1]
    body = by_intent["change_shipping_address"][2].answer
    restated = f"I understand you want to know where your refund is. {body}"
    (verdict,) = score([asked(Item(row.question, row.answer, "track_refund"), restated)], "finetuned",
                       references, judge)  # fmt: skip
    assert not verdict.strict
    (verdict,) = score([asked(Item(row.question, row.answer, "track_refund"), by_intent["track_refund"][2].answer)],
                       "finetuned", references, judge)  # fmt: skip
    assert verdict.strict


def test_nothing_asked_nothing_judged(judge):
    assert score([], "finetuned", {}, judge) == []
