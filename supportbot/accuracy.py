"""Accuracy figures with their uncertainty: the 95% Wilson interval of one side, and the paired
test that compares two sides answering the same questions.

The gate and ``supportbot eval`` head their reports with the *strict* accuracy (the reference
nearest the answer is its own, or of its own reference's label: ``supportbot.judging``), which
checks that an answer is about the right thing; the *lenient* one (similarity ≥ JUDGE_THRESHOLD)
also accepts an answer that has only the references' style, and is kept as a secondary figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

MCNEMAR = "McNemar exact, one-sided"


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (better than the normal one near 0 or 1).

    At 0 or n successes the open end is exactly 0 or 1: the formula's rounding gave 1 - 2e-16,
    below the observed 100%, and a chart's error bar came out negative."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(0.0, min(p, centre - half))
    high = 1.0 if successes == n else min(1.0, max(p, centre + half))
    return (low, high)


@dataclass(frozen=True)
class PairedTest:
    """Candidate against a reference side on the same questions, judged per question."""

    name: str
    b: int  # questions only the candidate got right
    c: int  # questions only the reference side got right
    n: int  # questions in all
    p_value: float  # chance of a candidate this much better if both were equally good

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairedTest:
        return cls(str(data["name"]), int(data["b"]), int(data["c"]), int(data["n"]), float(data["p_value"]))

    def describe(self) -> str:
        return f"{self.name}: b={self.b}, c={self.c} of {self.n}, p={self.p_value:.3g}"


def mcnemar_exact(candidate: Sequence[bool], reference: Sequence[bool]) -> PairedTest:
    """McNemar's exact test that the candidate is better: only the discordant questions count,
    and under "equally good" each is the candidate's with probability 1/2 (a binomial test)."""
    from scipy.stats import binomtest

    if len(candidate) != len(reference):
        raise ValueError(f"paired verdicts differ in length: {len(candidate)} and {len(reference)}")
    b = sum(1 for mine, theirs in zip(candidate, reference, strict=True) if mine and not theirs)
    c = sum(1 for mine, theirs in zip(candidate, reference, strict=True) if theirs and not mine)
    p_value = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5, alternative="greater").pvalue)
    return PairedTest(MCNEMAR, b, c, len(candidate), p_value)


@dataclass(frozen=True)
class SideAccuracy:
    """The headline (strict) and lenient accuracy of one side of a gate or eval report."""

    headline: float
    ci95: tuple[float, float]
    lenient: float | None
    n: int


def side_accuracy(side: dict[str, Any]) -> SideAccuracy:
    """Read a side of any stored report: since issue 12 ``accuracy`` is the strict figure and
    ``lenient_accuracy`` sits beside it; before, ``accuracy`` was the lenient one and the strict
    one is recomputed from the per-question verdicts (or, without them, ``strict_accuracy``)."""
    n = int(side.get("n", 0))
    if "lenient_accuracy" in side:
        low, high = side["ci95"]
        return SideAccuracy(float(side["accuracy"]), (low, high), float(side["lenient_accuracy"]), n)
    examples = side.get("examples") or []
    if examples and all("strict" in e for e in examples):
        right = sum(1 for e in examples if e["strict"])
        return SideAccuracy(right / len(examples), wilson_interval(right, len(examples)), side.get("accuracy"), n)
    if "strict_accuracy" in side:
        strict = float(side["strict_accuracy"])
        return SideAccuracy(strict, wilson_interval(round(strict * n), n), side.get("accuracy"), n)
    low, high = side["ci95"]  # a report with one figure only: shown as it is
    return SideAccuracy(float(side["accuracy"]), (low, high), None, n)
