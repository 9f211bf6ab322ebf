"""Which data may be trained on: imported seeds, approved corrections, and answers endorsed by
people other than the asker. Nothing else, ever.

A bot answer is eligible when its endorsement (``supportbot.votes.endorsement``: 👍 from distinct
people other than the asker, minus every 👎, the asker's too) is at least ``min_upvoters``
(MIN_UPVOTERS, default 2). So with the default, two colleagues' 👍 make an answer training data;
the asker's own 👍 adds nothing; one 👎 cancels one 👍.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from supportbot.store import Store
from supportbot.votes import endorsement

DEFAULT_MIN_UPVOTERS = 2  # the MIN_UPVOTERS setting's default

Source = Literal["seed", "correction", "vote"]


@dataclass(frozen=True)
class Example:
    question: str
    answer: str
    source: Source
    ref: str  # id of the seed, correction or answer it came from
    created_at: float  # when it became eligible
    label: str | None = None


def eligible_examples(store: Store, min_upvoters: int = DEFAULT_MIN_UPVOTERS) -> list[Example]:
    if min_upvoters < 1:
        raise ValueError("min_upvoters is at least 1: an answer nobody endorsed is never training data")
    examples = [
        Example(seed.question, seed.answer, "seed", seed.id, seed.created_at, seed.label) for seed in store.seeds.all()
    ]
    for correction in store.corrections.with_status("approved"):
        question = store.get_question(correction.question_id)
        if question is not None:
            at = correction.reviewed_at or correction.created_at
            examples.append(Example(question.text, correction.text, "correction", correction.id, at))
    for answer_id in store.votes.voted_answer_ids():
        votes = store.votes.of(answer_id)
        if endorsement(votes, asker="") < min_upvoters:
            continue  # short of the mark even counting every 👍: no need to read the answer
        answer = store.get_answer(answer_id)
        question = store.get_question(answer.question_id) if answer else None
        if answer is None or question is None or endorsement(votes, asker=question.user) < min_upvoters:
            continue
        at = max(store.votes.times(answer_id).values(), default=answer.created_at)
        examples.append(Example(question.text, answer.text, "vote", answer.id, at))
    return examples


def count_since(examples: list[Example], since: float | None) -> int:
    """How many became eligible after ``since`` (all of them when there was no training yet)."""
    return sum(1 for e in examples if since is None or e.created_at > since)
