"""Who asks what: the held-out intents, and the part every question plays.

From labelled question/answer pairs (an intent per row), K intents are held out of the seed data
entirely: the first adapter never sees them. Every question plays exactly one part:

- **seed**: imported before the first adapter is trained (other intents only);
- **taught**: asked in Slack once; a trusted person corrects a wrong fine-tuned answer with the
  reference answer, or people upvote a right one (held-out intents, and a few of the others);
- **measured**: asked before the loop and again after the new adapter is live, and never given
  feedback (held-out intents, and the others to check nothing else got worse).

Questions are deduplicated by their normalised text (the dataset's own rule), so no measured
question is a near-duplicate of one that was seeded or taught.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from supportbot.errors import SupportbotError
from supportbot.records import SeedExample
from supportbot.splits import normalise

# Reference answers per intent in the judge's pool: enough that a right answer meets its intent's
# variety, few enough to embed in seconds.
REFERENCES_PER_INTENT = 16


@dataclass(frozen=True)
class Item:
    question: str
    reference: str  # the dataset's answer: what a trusted person writes as the correction
    label: str


@dataclass(frozen=True)
class ScenarioSize:
    held_out: int = 5  # intents held out of the seed data (K)
    taught_per_held_out: int = 20  # held-out questions asked and corrected, per held-out intent
    measured_per_held_out: int = 6  # held-out questions asked before and after, per held-out intent
    measured_per_other: int = 3  # questions of every other intent asked before and after
    taught_per_other: int = 1  # questions of every other intent asked once for feedback
    seeds_per_other: int = 12  # seed pairs imported per other intent (0: all that are left)

    def __post_init__(self) -> None:
        if self.held_out < 1:
            raise SupportbotError("hold out at least one intent")
        if self.taught_per_held_out < 1 or self.measured_per_held_out < 1:
            raise SupportbotError("each held-out intent needs taught and measured questions")
        if min(self.measured_per_other, self.taught_per_other, self.seeds_per_other) < 0:
            raise SupportbotError("question counts cannot be negative")


@dataclass
class Scenario:
    held_out: list[str]
    others: list[str]
    seeds: list[SeedExample]
    taught: list[Item]
    measured: list[Item]
    # Labelled reference answers per intent, none of them a measured question's: the pool the
    # headline rule (supportbot.judging, as in the gate and `eval`) may find nearest an answer.
    references: dict[str, list[str]] = field(default_factory=dict)

    def is_held_out(self, item: Item) -> bool:
        return item.label in self.held_out


def _by_label(rows: list[SeedExample]) -> dict[str, list[SeedExample]]:
    seen: set[str] = set()
    groups: dict[str, list[SeedExample]] = defaultdict(list)
    for row in rows:
        key = normalise(row.question)
        if not row.label or not key or key in seen:
            continue
        seen.add(key)
        groups[row.label].append(row)
    return dict(groups)


def _item(row: SeedExample) -> Item:
    assert row.label is not None
    return Item(row.question, row.answer, row.label)


def build_scenario(
    rows: list[SeedExample], size: ScenarioSize, held_out: list[str] | None = None, seed: int = 0
) -> Scenario:
    """Split labelled rows into seeds, taught and measured questions (deterministic for ``seed``)."""
    groups = _by_label(rows)
    if not groups:
        raise SupportbotError("the data has no labelled rows: the simulation needs an intent (label) per row")
    labels = sorted(groups)
    rng = random.Random(seed)
    if held_out:
        unknown = sorted(set(held_out) - set(labels))
        if unknown:
            raise SupportbotError(f"no rows with the intent(s) {', '.join(unknown)}; the data has {', '.join(labels)}")
        chosen = sorted(set(held_out))
    else:
        if size.held_out > len(labels) - 2:
            raise SupportbotError(f"cannot hold out {size.held_out} of {len(labels)} intents: keep at least 2")
        chosen = sorted(rng.sample(labels, size.held_out))
    others = [label for label in labels if label not in chosen]
    for label in labels:
        rng.shuffle(groups[label])

    scenario = Scenario(held_out=chosen, others=others, seeds=[], taught=[], measured=[])
    for label in chosen:
        rows_of = groups[label]
        need = size.taught_per_held_out + size.measured_per_held_out
        if len(rows_of) < need:
            raise SupportbotError(f"held-out intent {label} has {len(rows_of)} distinct questions; {need} are needed")
        taught = rows_of[: size.taught_per_held_out]
        scenario.taught += [_item(r) for r in taught]
        scenario.measured += [_item(r) for r in rows_of[size.taught_per_held_out : need]]
        scenario.references[label] = _pool(rows_of[: size.taught_per_held_out] + rows_of[need:])
    for label in others:
        rows_of = groups[label]
        need = size.measured_per_other + size.taught_per_other + 1
        if len(rows_of) < need:
            raise SupportbotError(f"intent {label} has {len(rows_of)} distinct questions; at least {need} are needed")
        measured = rows_of[: size.measured_per_other]
        taught = rows_of[size.measured_per_other : size.measured_per_other + size.taught_per_other]
        rest = rows_of[size.measured_per_other + size.taught_per_other :]
        seeds = rest if size.seeds_per_other == 0 else rest[: size.seeds_per_other]
        scenario.measured += [_item(r) for r in measured]
        scenario.taught += [_item(r) for r in taught]
        scenario.seeds += seeds
        scenario.references[label] = _pool(taught + rest)
    return scenario


def _pool(rows: list[SeedExample]) -> list[str]:
    """Up to REFERENCES_PER_INTENT distinct answers of one intent, in the scenario's order."""
    return list(dict.fromkeys(row.answer for row in rows))[:REFERENCES_PER_INTENT]
