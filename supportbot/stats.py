"""Counts for `/supportbot stats`: questions, votes per model, corrections, new examples."""

from __future__ import annotations

from dataclasses import dataclass, field

from supportbot.examples import DEFAULT_MIN_UPVOTERS, count_since, eligible_examples
from supportbot.records import VARIANTS
from supportbot.store import Store
from supportbot.votes import Tally


@dataclass
class Stats:
    questions: int
    answers: int
    votes: dict[str, Tally] = field(default_factory=dict)
    corrections: dict[str, int] = field(default_factory=dict)
    eligible: int = 0
    new_since_training: int = 0
    last_training_at: float | None = None


def collect_stats(
    store: Store, last_training_at: float | None = None, min_upvoters: int = DEFAULT_MIN_UPVOTERS
) -> Stats:
    up = dict.fromkeys(VARIANTS, 0)
    down = dict.fromkeys(VARIANTS, 0)
    for answer_id in store.votes.voted_answer_ids():
        answer = store.get_answer(answer_id)
        if answer is None:
            continue
        tally = store.votes.tally(answer_id)
        up[answer.variant] += tally.up
        down[answer.variant] += tally.down
    examples = eligible_examples(store, min_upvoters)
    return Stats(
        questions=store.question_count(),
        answers=len(store.answer_ids()),
        votes={variant: Tally(up[variant], down[variant]) for variant in VARIANTS},
        corrections={s: store.corrections.count(s) for s in ("pending", "approved", "rejected")},
        eligible=len(examples),
        new_since_training=count_since(examples, last_training_at),
        last_training_at=last_training_at,
    )
