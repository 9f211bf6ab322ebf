"""Scoring the answers people saw, with the project's judge.

The headline verdict is the judge's strict one: an answer is right when it is closer to its own
reference than to any other reference it is compared with. Here every answer is compared with
exactly one reference per intent (its own, and one of every other intent), so the bar is the
same for every question, before and after, whatever else was asked: several questions of one
intent never compete with each other, and chance is 1 in the number of intents. The lenient
verdict (similarity to its own reference at the judge's threshold) is kept beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from supportbot.simulation.scenario import Scenario
from supportbot.simulation.workspace import Asked

# judge(answers, references) -> (strict, lenient), one verdict per answer, like the project's judge
JudgeFn = Callable[[list[str], list[str]], tuple[list[bool], list[bool]]]


@dataclass(frozen=True)
class Verdict:
    strict: bool
    lenient: bool


@dataclass(frozen=True)
class Accuracy:
    n: int
    strict: int
    lenient: int

    @property
    def strict_rate(self) -> float:
        return self.strict / self.n if self.n else 0.0

    @property
    def lenient_rate(self) -> float:
        return self.lenient / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "strict": self.strict,
            "lenient": self.lenient,
            "strict_rate": round(self.strict_rate, 4),
            "lenient_rate": round(self.lenient_rate, 4),
        }


def accuracy(verdicts: list[Verdict]) -> Accuracy:
    return Accuracy(len(verdicts), sum(v.strict for v in verdicts), sum(v.lenient for v in verdicts))


def score(asked: list[Asked], variant: str, references: dict[str, str], judge: JudgeFn) -> list[Verdict]:
    """One verdict per question for ``variant``'s answer, in order. A side that failed is wrong.

    The questions are judged in rounds holding at most one question per intent; each round is
    completed with the reference of every intent it lacks (answered by nothing), so every answer
    meets one reference per intent."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, one in enumerate(asked):
        by_label[one.item.label].append(index)
    labels = sorted(set(references) | set(by_label))
    verdicts: dict[int, Verdict] = {}
    round_number = 0
    while len(verdicts) < len(asked):
        present = {label: ids[round_number] for label, ids in by_label.items() if round_number < len(ids)}
        round_number += 1
        indices = list(present.values())
        answers = [asked[i].answers[variant].text for i in indices]
        refs = [asked[i].item.reference for i in indices]
        fillers = [references[label] for label in labels if label not in present and label in references]
        strict, lenient = judge(answers + [""] * len(fillers), refs + fillers)
        for position, i in enumerate(indices):
            failed = asked[i].answers[variant].failed
            verdicts[i] = Verdict(strict[position] and not failed, lenient[position] and not failed)
    return [verdicts[i] for i in range(len(asked))]


@dataclass
class Phase:
    """What one asking round saw: per side, the verdicts on the held-out and the other intents."""

    asked: list[Asked]
    verdicts: dict[str, list[Verdict]]

    def accuracy(self, variant: str, held_out: bool, scenario: Scenario) -> Accuracy:
        pairs = zip(self.asked, self.verdicts[variant], strict=True)
        return accuracy([v for a, v in pairs if scenario.is_held_out(a.item) == held_out])

    def versions(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for one in self.asked:
            version = one.answers["finetuned"].version or "none"
            counts[version] = counts.get(version, 0) + 1
        return counts
