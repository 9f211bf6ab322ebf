"""Scoring the answers people saw, with the project's judge and its headline rule.

The headline verdict is the one the gate, ``supportbot eval`` and the digest show
(``supportbot.judging``): an answer is right when the reference nearest it, among its own and a
pool of labelled references of every intent (``Scenario.references``, none of them a measured
question's), is its own or shares its intent. Several questions of one intent therefore never
compete with each other, and an answer that only restates the question in the references' style
loses to the references of the intent its body is really about. The lenient verdict (similarity
to its own reference at the judge's threshold) is kept beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from simulation.scenario import Scenario
from simulation.workspace import Asked
from supportbot.judging import Reference

# judge(answers, references, labels, pool) -> (strict, lenient), one verdict per answer: the
# project's judge (trainer.judge.Judge.judge) with its verdicts unpacked
JudgeFn = Callable[[list[str], list[str], list[str | None], Sequence[Reference]], tuple[list[bool], list[bool]]]


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


def reference_pool(references: dict[str, list[str]]) -> list[Reference]:
    """The labelled references the headline rule may find nearest an answer, in a stable order."""
    return [Reference(text, label) for label, texts in sorted(references.items()) for text in texts]


def score(asked: list[Asked], variant: str, references: dict[str, list[str]], judge: JudgeFn) -> list[Verdict]:
    """One verdict per question for ``variant``'s answer, in order. A side that failed is wrong."""
    if not asked:
        return []
    pool = reference_pool(references)
    answers = [one.answers[variant].text for one in asked]
    strict, lenient = judge(answers, [one.item.reference for one in asked], [one.item.label for one in asked], pool)
    return [
        Verdict(right and not one.answers[variant].failed, close and not one.answers[variant].failed)
        for one, right, close in zip(asked, strict, lenient, strict=True)
    ]


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
