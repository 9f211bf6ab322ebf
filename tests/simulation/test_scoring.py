"""Scoring with the project's judge: every answer meets one reference per intent."""

import pytest

from supportbot.simulation.scenario import Item
from supportbot.simulation.scoring import accuracy, score
from supportbot.simulation.workspace import Asked, Shown
from tests.support.paths import BITEXT
from trainer.importer import Mapping, parse
from trainer.judge import EmbeddingJudge


@pytest.fixture(scope="module")
def judge():
    model = EmbeddingJudge(0.49)

    def verdicts(answers, references):
        found = model.judge(answers, references)
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
    references = {label: rows[0].answer for label, rows in by_intent.items()}
    news = [
        Item(row.question, row.answer, "newsletter_subscription") for row in by_intent["newsletter_subscription"][1:3]
    ]
    answers = [
        # Two questions of one intent, each answered with the other's reference: compared with each
        # other's references both would lose; compared with one reference per intent both win.
        asked(news[0], news[1].reference),
        asked(news[1], news[0].reference),
        asked(
            Item("Where is my parcel?", by_intent["track_order"][1].answer, "track_order"), references["cancel_order"]
        ),
    ]
    verdicts = score(answers, "finetuned", references, judge)
    assert [v.strict for v in verdicts] == [True, True, False]
    assert accuracy(verdicts).strict == 2 and accuracy(verdicts).n == 3


def test_a_side_that_failed_is_wrong(judge, by_intent):
    row = by_intent["review"][1]
    references = {label: rows[0].answer for label, rows in by_intent.items()}
    (verdict,) = score([asked(Item(row.question, row.answer, "review"), row.answer, failed=True)], "finetuned",
                       references, judge)  # fmt: skip
    assert not verdict.strict and not verdict.lenient
