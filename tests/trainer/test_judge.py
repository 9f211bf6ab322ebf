"""The offline judge's headline rule: the nearest reference is the answer's own, or of its label.

Real MiniLM embeddings on constructed references: two refund questions, one shipping question."""

import numpy as np
import pytest

from trainer.judge import EmbeddingJudge, Reference, nearest_is_own

REFUND_A = "Your refund is sent to your original payment method within 5 to 7 business days."
REFUND_B = "Refunds reach the card you paid with, usually 5 to 7 business days after we approve them."
SHIPPING = "We ship to over 40 countries; shipping costs are shown at checkout before you pay."
REFERENCES = [REFUND_A, REFUND_B, SHIPPING]
LABELS = ["get_refund", "get_refund", "delivery_options"]


@pytest.fixture(scope="module")
def judge():
    return EmbeddingJudge(threshold=0.49)


def test_a_right_answer_nearest_another_question_of_its_intent_is_right_only_with_labels(judge):
    # An answer to question 0 worded like question 1's reference (same intent).
    answer = "Refunds go back to the card you paid with, usually 5 to 7 business days after approval."
    answers = [answer, REFUND_B, SHIPPING]
    without = judge.judge(answers, REFERENCES)
    with_labels = judge.judge(answers, REFERENCES, LABELS)
    assert without.strict == [False, True, True]  # closer to question 1's reference than to its own
    assert with_labels.strict == [True, True, True]
    assert with_labels.nearest == ["get_refund", "get_refund", "delivery_options"]
    assert with_labels.scores == pytest.approx(without.scores)  # the lenient side is unchanged


def test_an_answer_about_another_intent_is_wrong_however_it_is_worded(judge):
    answers = [SHIPPING, REFUND_B, REFUND_A]  # questions 0 and 2 get each other's topic
    verdicts = judge.judge(answers, REFERENCES, LABELS)
    assert verdicts.strict == [False, True, False]
    assert verdicts.nearest == ["delivery_options", "get_refund", "get_refund"]


def test_the_pool_adds_labelled_references_and_ignores_unlabelled_ones(judge):
    answer = "Orders are delivered to 40 countries, and the shipping fee appears at checkout."
    pool_right = [
        Reference("Delivery reaches more than 40 countries; see the shipping fee at checkout.", "delivery_options")
    ]
    pool_wrong = [Reference("Delivery reaches more than 40 countries; see the shipping fee at checkout.", "get_refund")]
    unlabelled = [Reference("Delivery reaches more than 40 countries; see the shipping fee at checkout.")]
    answers = [REFUND_A, REFUND_B, answer]
    assert judge.judge(answers, REFERENCES, LABELS, pool_right).strict == [True, True, True]
    assert judge.judge(answers, REFERENCES, LABELS, pool_wrong).strict == [True, True, False]
    assert judge.judge(answers, REFERENCES, LABELS, unlabelled).strict == [True, True, True]
    # A question without a label is judged among the answers' own references: the pool is left out.
    assert judge.judge(answers, REFERENCES, ["get_refund", "get_refund", None], pool_wrong).strict == [True] * 3


def test_an_unlabelled_question_falls_back_to_its_own_reference():
    # answers x references [own0, own1, other]; answer 0 is nearest reference 1
    similarity = np.array([[0.5, 0.9, 0.1], [0.2, 0.8, 0.3]])
    texts = ["a", "b", "c"]
    assert nearest_is_own(similarity, [0, 1], texts, [None, None, None]) == [False, True]
    assert nearest_is_own(similarity, [0, 1], texts, ["x", "x", None]) == [True, True]
    assert nearest_is_own(similarity, [0, 1], texts, [None, "x", None]) == [False, True]  # own label unknown
    assert nearest_is_own(similarity, [0, 1], ["a", "a", "c"], [None, None, None]) == [True, True]  # same text
    # a pool column (index 2) nearest answer 1: counted only when answer 1's own reference has a label
    pooled = np.array([[0.9, 0.5, 0.1], [0.2, 0.6, 0.8]])
    assert nearest_is_own(pooled, [0, 1], texts, [None, None, "x"], answers_own=2) == [True, True]
    assert nearest_is_own(pooled, [0, 1], texts, [None, "y", "x"], answers_own=2) == [True, False]
    assert nearest_is_own(pooled, [0, 1], texts, [None, "x", "x"], answers_own=2) == [True, True]


def test_labels_must_match_the_references(judge):
    with pytest.raises(ValueError, match="3 references but 2 labels"):
        judge.judge(REFERENCES, REFERENCES, LABELS[:2])
    with pytest.raises(ValueError, match="one reference per answer"):
        judge.judge(REFERENCES[:2], REFERENCES)
