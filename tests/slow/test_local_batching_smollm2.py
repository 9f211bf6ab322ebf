"""The real SmolLM2 answers concurrent questions in one batch, as it answers each alone (greedy, fp32)."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from supportbot.prompts import short_messages
from supportbot.responders.local_model import LocalModel
from supportbot.responders.local_side import BatchOptions, FinetunedSide
from tests.support.models import smollm2_dir

QUESTIONS = [
    "How do I cancel my order?",
    "I need a refund for a damaged item, what should I do?",
    "Can I change the shipping address of order 4421?",
    "where is my invoice",
]


@pytest.mark.slow
def test_smollm2_answers_a_batch_as_it_answers_each_question_alone():
    base = LocalModel(smollm2_dir(), dtype="float32")
    side = FinetunedSide(base.copy(), base=base, options=BatchOptions(max_batch=len(QUESTIONS), window_s=600))
    alone = [side.model.generate(short_messages(q), 24).text for q in QUESTIONS]
    with ThreadPoolExecutor(max_workers=len(QUESTIONS)) as pool:
        together = [g.text for g, _ in pool.map(lambda q: side.generate(short_messages(q), 24), QUESTIONS)]
    assert list(side.batcher.batch_sizes) == [len(QUESTIONS)]
    assert together == alone
    assert len(set(together)) == len(QUESTIONS) and all(together)
