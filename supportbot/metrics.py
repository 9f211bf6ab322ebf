"""What the store says about each model, week by week: the numbers behind the digest.

A "week" is the seven days ending at a moment (the digest's ``now``), so Monday's digest covers
the week just ended and an on-demand one the last seven days. Per model variant:

- answers: answers posted in the window (failures are counted apart);
- 👍 / 👎 rate: share of answers whose votes are net positive / net negative;
- correction rate: share of answers with a correction that was not rejected (a correction made on
  one answer counts for that answer; one made in the thread counts for every answer of the question);
- accepted rate: net 👍 and no correction, the live proxy for "correct";
- latency p50/p95, input tokens per answer, cost per answer and in total. Answers whose price is
  unknown are counted in ``unknown_cost`` and left out of the cost figures, never counted as $0.

Plus the latest eval-set accuracy of the live adapter and of the prompted model, from the live
adapter's gate report: the strict figure (the answer is about the right question) with its 95%
interval, the lenient one (similarity alone) beside it, and the paired test that promoted it.

How often the judge agrees with people's net 👍/👎 is computed apart (``supportbot.vote_agreement``:
each voted answer judged against its question's approved correction or nearest imported seed) and
shown beside these figures in the digest.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from supportbot.accuracy import PairedTest, side_accuracy
from supportbot.adapters import AdapterRegistry
from supportbot.records import VARIANTS, Answer, Correction
from supportbot.store import Store

WEEK_S = 7 * 24 * 3600.0


@dataclass
class VariantWeek:
    variant: str
    answers: int = 0
    failures: int = 0
    up_rate: float | None = None
    down_rate: float | None = None
    correction_rate: float | None = None
    accepted_rate: float | None = None
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    input_tokens_per_answer: float | None = None
    output_tokens_per_answer: float | None = None
    cost_per_answer_usd: float | None = None
    cost_total_usd: float | None = None
    unknown_cost: int = 0
    training_cost_usd: float | None = None
    models: list[str] = field(default_factory=list)

    RATES = ("up_rate", "down_rate", "correction_rate", "accepted_rate")
    NUMBERS = (
        "answers",
        *RATES,
        "latency_p50_s",
        "latency_p95_s",
        "input_tokens_per_answer",
        "cost_per_answer_usd",
        "cost_total_usd",
    )


@dataclass
class Week:
    start: float
    end: float
    variants: dict[str, VariantWeek]

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "variants": {k: asdict(v) for k, v in self.variants.items()}}


@dataclass(frozen=True)
class EvalAccuracy:
    name: str
    accuracy: float  # strict: the headline
    ci95: tuple[float, float]
    n: int
    lenient: float | None = None  # similarity >= the judge's threshold; None in reports without it


@dataclass(frozen=True)
class GateResult:
    """How the live adapter passed its gate: against which side, and the paired test's figures."""

    version: str
    against: str
    test: PairedTest | None  # None for versions gated before the paired test
    confidence: float | None
    promoted: bool  # False: the gate rejected it and a rollback made it live

    def describe(self) -> str:
        passed = "passed its gate against" if self.promoted else "failed its gate (live by rollback) against"
        if self.test is None:
            return f"{self.version} {passed} {self.against}, before the gate had a paired test"
        needed = "" if self.confidence is None else f" (needs < {1 - self.confidence:.2g})"
        return (
            f"{self.version} {passed} {self.against}: {self.test.name}, {self.test.b} questions only "
            f"{self.version} got right, {self.test.c} only {self.against}, p={self.test.p_value:.3g}{needed}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "test": None if self.test is None else self.test.to_dict()}


@dataclass
class Metrics:
    """This week, the weeks before it (oldest first, this week last) and the latest eval accuracy."""

    weeks: list[Week]
    eval: dict[str, EvalAccuracy]
    live_version: str | None
    gate: GateResult | None = None

    @property
    def this_week(self) -> Week:
        return self.weeks[-1]

    @property
    def last_week(self) -> Week | None:
        return self.weeks[-2] if len(self.weeks) > 1 else None

    def delta(self, variant: str, name: str) -> float | None:
        """This week's value minus last week's, or None when either is missing."""
        if self.last_week is None:
            return None
        now = getattr(self.this_week.variants[variant], name)
        before = getattr(self.last_week.variants[variant], name)
        if now is None or before is None or (name != "answers" and self.last_week.variants[variant].answers == 0):
            return None
        return float(now - before)

    def to_dict(self) -> dict[str, Any]:
        return {
            "weeks": [week.to_dict() for week in self.weeks],
            "eval": {k: asdict(v) for k, v in self.eval.items()},
            "live_version": self.live_version,
            "gate": None if self.gate is None else self.gate.to_dict(),
            "deltas": {
                variant: {name: self.delta(variant, name) for name in VariantWeek.NUMBERS} for variant in VARIANTS
            },
        }


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class MetricsReader:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.registry = AdapterRegistry(store.redis, store.keys)

    def corrected_answers(self, answers: list[Answer], corrections: list[Correction]) -> set[str]:
        by_question: dict[str, list[str]] = {}
        for answer in answers:
            by_question.setdefault(answer.question_id, []).append(answer.id)
        corrected: set[str] = set()
        for correction in corrections:
            if correction.status == "rejected":
                continue
            if correction.answer_id:
                corrected.add(correction.answer_id)
            else:
                corrected.update(by_question.get(correction.question_id, []))
        return corrected

    def week(self, start: float, end: float, corrections: list[Correction]) -> Week:
        answers = self.store.answers_between(start, end)
        failures = self.store.failures(start, end)
        corrected = self.corrected_answers(answers, corrections)
        trained = [v for v in self.registry.all() if start <= v.created_at < end]
        variants: dict[str, VariantWeek] = {}
        for variant in VARIANTS:
            mine = [a for a in answers if a.variant == variant]
            row = variant_week(variant, mine, corrected, self.store)
            row.failures = sum(1 for f in failures if f.variant == variant)
            if variant == "finetuned" and trained:
                costs = [v.cost_usd for v in trained]
                row.training_cost_usd = None if None in costs else sum(c for c in costs if c is not None)
            variants[variant] = row
        return Week(start, end, variants)

    def eval_accuracy(self) -> tuple[dict[str, EvalAccuracy], str | None, GateResult | None]:
        live = self.registry.active()
        if live is None:
            return {}, None, None
        found = {}
        for variant, key in (("finetuned", "candidate"), ("prompted", "prompted")):
            side = live.report.get(key)
            if side:
                name = f"fine-tuned {live.version}" if variant == "finetuned" else side["name"]
                figures = side_accuracy(side)
                found[variant] = EvalAccuracy(name, figures.headline, figures.ci95, figures.n, figures.lenient)
        return found, live.version, gate_result(live.version, live.report)

    def collect(self, now: float, weeks: int = 8) -> Metrics:
        """The ``weeks`` seven-day windows ending at ``now``, oldest first."""
        corrections = self.store.corrections.all()
        windows = [(now - WEEK_S * (i + 1), now - WEEK_S * i) for i in reversed(range(weeks))]
        evals, live, gate = self.eval_accuracy()
        return Metrics([self.week(start, end, corrections) for start, end in windows], evals, live, gate)


def gate_result(version: str, report: dict[str, Any]) -> GateResult | None:
    decision, live = report.get("decision"), report.get("live")
    if not decision or not live:
        return None
    test = decision.get("test")
    return GateResult(
        version,
        str(live.get("name", "the live adapter")),
        None if not test else PairedTest.from_dict(test),
        decision.get("confidence"),
        bool(decision.get("promote")),
    )


def variant_week(variant: str, answers: list[Answer], corrected: set[str], store: Store) -> VariantWeek:
    row = VariantWeek(variant, answers=len(answers))
    if not answers:
        return row
    n = len(answers)
    up = down = accepted = corrections = 0
    tallies = store.votes.tallies([answer.id for answer in answers])
    for answer in answers:
        net = tallies[answer.id].net
        was_corrected = answer.id in corrected
        up += net > 0
        down += net < 0
        corrections += was_corrected
        accepted += net > 0 and not was_corrected
    known = [a.cost_usd for a in answers if a.cost_usd is not None]
    row.up_rate, row.down_rate = up / n, down / n
    row.correction_rate, row.accepted_rate = corrections / n, accepted / n
    latencies = [a.latency_s for a in answers]
    row.latency_p50_s, row.latency_p95_s = percentile(latencies, 50), percentile(latencies, 95)
    row.input_tokens_per_answer = sum(a.usage.prompt_tokens for a in answers) / n
    row.output_tokens_per_answer = sum(a.usage.completion_tokens for a in answers) / n
    row.unknown_cost = n - len(known)
    if known:
        row.cost_total_usd = sum(known)
        row.cost_per_answer_usd = row.cost_total_usd / len(known)
    row.models = sorted({f"{a.model} {a.adapter_version}" if a.adapter_version else a.model for a in answers})
    return row
