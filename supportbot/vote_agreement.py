"""How often the judge agrees with people's 👍/👎, wherever people have voted.

An answer given in Slack has no reference of its own, so each voted answer (net 👍 or net 👎) is
judged against the best one the store holds: the approved correction of its question if there is
one, else the answer of the imported seed whose question is nearest its question (cosine ≥
``QUESTION_MATCH`` under MiniLM). The reference takes the label (intent) of that nearest seed, and
labelled seeds join the reference pool, so the judge's headline rule (``supportbot.judging``)
applies as at the gate. Net 👍 agrees with "right", net 👎 with "wrong"; answers with no
reference close enough are counted as ``unmatched`` and left out of the rate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from supportbot.accuracy import wilson_interval
from supportbot.judging import Embed, Reference, Verdicts
from supportbot.records import VARIANTS, Answer, SeedExample
from supportbot.store import Store

QUESTION_MATCH = 0.7  # cosine between two questions for one's seed to stand as the other's reference
POOL_PER_LABEL = 16  # labelled seeds per label in the headline's reference pool (a stable choice)

# (answers, references, labels, pool) -> verdicts: a judge's ``judge`` method, or the embedding rules
JudgeFn = Callable[[list[str], list[str], list[str | None], list[Reference]], Verdicts]


@dataclass(frozen=True)
class Agreement:
    """One model's voted answers, judged: how often the judge's headline verdict matches the votes."""

    right_up: int = 0  # judged right, net 👍: agree
    right_down: int = 0  # judged right, net 👎
    wrong_up: int = 0  # judged wrong, net 👍
    wrong_down: int = 0  # judged wrong, net 👎: agree
    unmatched: int = 0  # voted, but no reference close enough to judge against

    @property
    def n(self) -> int:
        return self.right_up + self.right_down + self.wrong_up + self.wrong_down

    @property
    def agree(self) -> int:
        return self.right_up + self.wrong_down

    @property
    def rate(self) -> float | None:
        return self.agree / self.n if self.n else None

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson_interval(self.agree, self.n)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "n": self.n, "agree": self.agree, "rate": self.rate, "ci95": list(self.ci95)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Agreement:
        return cls(*(int(data[name]) for name in ("right_up", "right_down", "wrong_up", "wrong_down", "unmatched")))

    def describe(self) -> str:
        if not self.n:
            return "no voted answer to judge" + (f" ({self.unmatched} without a reference)" if self.unmatched else "")
        low, high = self.ci95
        text = f"{self.rate:.0%} ({self.agree}/{self.n}, {low:.0%}–{high:.0%})"
        return text + (f", {self.unmatched} without a reference" if self.unmatched else "")


@dataclass(frozen=True)
class VotedCase:
    answer: Answer
    net: int
    reference: str
    label: str | None
    source: str  # correction | seed


def latest_approved_corrections(store: Store) -> dict[str, str]:
    """question id -> the text of its most recently approved correction."""
    found: dict[str, tuple[float, str]] = {}
    for correction in store.corrections.with_status("approved"):
        at = correction.reviewed_at or correction.created_at
        if correction.question_id not in found or at > found[correction.question_id][0]:
            found[correction.question_id] = (at, correction.text)
    return {question_id: text for question_id, (_, text) in found.items()}


def voted_cases(
    store: Store, embed: Embed, answers: Sequence[Answer], question_match: float = QUESTION_MATCH
) -> tuple[list[VotedCase], dict[str, int]]:
    """The voted answers among ``answers`` with a reference each, and per variant how many had none."""
    tallies = store.votes.tallies([answer.id for answer in answers])
    voted = [answer for answer in answers if tallies[answer.id].net != 0]
    unmatched: dict[str, int] = dict.fromkeys(VARIANTS, 0)
    if not voted:
        return [], unmatched
    corrections = latest_approved_corrections(store)
    seeds = store.seeds.all()
    texts = {answer.question_id: store.get_question(answer.question_id) for answer in voted}
    asked = [question.text if question else "" for question in (texts[answer.question_id] for answer in voted)]
    if seeds:
        similarity = embed(asked) @ embed([seed.question for seed in seeds]).T
        nearest = similarity.argmax(axis=1)
        matched: list[SeedExample | None] = [
            seeds[int(j)] if similarity[i, int(j)] >= question_match and asked[i] else None
            for i, j in enumerate(nearest)
        ]
    else:
        matched = [None] * len(voted)
    cases = []
    for answer, seed in zip(voted, matched, strict=True):
        label = seed.label if seed is not None else None
        if answer.question_id in corrections:
            cases.append(
                VotedCase(answer, tallies[answer.id].net, corrections[answer.question_id], label, "correction")
            )
        elif seed is not None:
            cases.append(VotedCase(answer, tallies[answer.id].net, seed.answer, label, "seed"))
        else:
            unmatched[answer.variant] += 1
    return cases, unmatched


def seed_pool(seeds: Sequence[SeedExample], per_label: int = POOL_PER_LABEL) -> list[Reference]:
    """Up to ``per_label`` labelled seeds of each label (in id order: the same ones every run)."""
    by_label: dict[str, list[SeedExample]] = {}
    for seed in sorted(seeds, key=lambda s: s.id):
        if seed.label:
            by_label.setdefault(seed.label, []).append(seed)
    return [Reference(seed.answer, label) for label in sorted(by_label) for seed in by_label[label][:per_label]]


def agreement(
    store: Store, embed: Embed, judge: JudgeFn, answers: Sequence[Answer], question_match: float = QUESTION_MATCH
) -> dict[str, Agreement]:
    """Per variant, the judge's headline verdict on each voted answer against its votes."""
    cases, unmatched = voted_cases(store, embed, answers, question_match)
    counts = {variant: dict.fromkeys(("right_up", "right_down", "wrong_up", "wrong_down"), 0) for variant in VARIANTS}
    if cases:
        verdicts = judge(
            [case.answer.text for case in cases],
            [case.reference for case in cases],
            [case.label for case in cases],
            seed_pool(store.seeds.all()),
        )
        for case, right in zip(cases, verdicts.strict, strict=True):
            key = f"{'right' if right else 'wrong'}_{'up' if case.net > 0 else 'down'}"
            counts[case.answer.variant][key] += 1
    found = {variant: Agreement(**counts[variant], unmatched=unmatched[variant]) for variant in VARIANTS}
    return {variant: result for variant, result in found.items() if result.n or result.unmatched}


def voted_answers(store: Store) -> list[Answer]:
    """Every answer anyone ever voted on (``supportbot eval`` counts every vote given)."""
    found = (store.get_answer(answer_id) for answer_id in store.votes.voted_answer_ids())
    return [answer for answer in found if answer is not None]
