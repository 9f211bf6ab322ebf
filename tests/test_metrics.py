"""Metrics per model and per week, over a store seeded with known votes and corrections."""

import pytest

from supportbot.corrections import CorrectionService
from supportbot.metrics import MetricsReader, percentile
from supportbot.records import Answer, Usage
from supportbot.store import Store
from tests.support.traffic import NOW, Planned, live_adapter, seed_traffic

THIS_WEEK = [
    Planned("prompted", 1, votes=(1, 1), latency=1.0, cost=0.002),
    Planned("prompted", 2, votes=(1, -1), latency=2.0),
    Planned("prompted", 3, votes=(-1,), latency=3.0, corrected="answer"),
    Planned("prompted", 4, votes=(1,), latency=4.0, cost=None, corrected="thread"),
    Planned("finetuned", 1, votes=(1,), latency=0.5, cost=0.0001, prompt_tokens=40),
    Planned("finetuned", 2, votes=(1,), latency=0.7, cost=0.0001, prompt_tokens=40, corrected="rejected"),
]
LAST_WEEK = [
    Planned("prompted", 8, votes=(1,)),
    Planned("prompted", 9),
    Planned("finetuned", 10, votes=(-1,)),
]


@pytest.fixture
def metrics(redis_client):
    store = Store(redis_client)
    seed_traffic(store, [*THIS_WEEK, *LAST_WEEK, Planned("prompted", 30, votes=(1,))])
    live_adapter(store, finetuned=0.9, prompted=0.5)
    return MetricsReader(store).collect(NOW, weeks=3)


def test_rates_latency_tokens_and_cost_of_this_week(metrics):
    prompted = metrics.this_week.variants["prompted"]
    assert prompted.answers == 4
    assert (prompted.up_rate, prompted.down_rate) == (0.5, 0.25)
    assert prompted.correction_rate == 0.5  # one on the answer, one in the thread
    assert prompted.accepted_rate == 0.25  # net 👍 and no correction: only the first
    assert prompted.latency_p50_s == pytest.approx(2.5)
    assert prompted.latency_p95_s == pytest.approx(3.85)
    assert prompted.input_tokens_per_answer == 100
    assert prompted.unknown_cost == 1  # never counted as $0
    assert prompted.cost_total_usd == pytest.approx(0.004)
    assert prompted.cost_per_answer_usd == pytest.approx(0.004 / 3)
    assert prompted.models == ["gpt-4o-mini"]

    finetuned = metrics.this_week.variants["finetuned"]
    assert finetuned.answers == 2
    assert finetuned.correction_rate == 0.0  # a rejected correction does not count
    assert finetuned.accepted_rate == 1.0
    assert finetuned.input_tokens_per_answer == 40
    assert finetuned.training_cost_usd == pytest.approx(0.02)  # v1 was trained this week
    assert finetuned.models == ["SmolLM2-135M-Instruct v1"]


def test_week_over_week_deltas_and_empty_weeks(metrics):
    assert len(metrics.weeks) == 3
    last = metrics.last_week.variants
    assert (last["prompted"].answers, last["prompted"].up_rate) == (2, 0.5)
    assert last["finetuned"].down_rate == 1.0
    assert metrics.delta("prompted", "answers") == 2
    assert metrics.delta("prompted", "up_rate") == 0.0
    assert metrics.delta("finetuned", "accepted_rate") == 1.0
    oldest = metrics.weeks[0].variants["prompted"]
    assert oldest.answers == 0 and oldest.up_rate is None  # 30 days ago is outside three weeks


def test_eval_accuracy_comes_from_the_live_adapters_gate_report(metrics):
    assert metrics.live_version == "v1"
    assert metrics.eval["finetuned"].name == "fine-tuned v1"
    assert metrics.eval["finetuned"].accuracy == 0.9
    assert metrics.eval["finetuned"].ci95 == pytest.approx((0.8, 1.0))
    assert metrics.eval["prompted"].name == "prompted (gpt-4o-mini)"
    data = metrics.to_dict()
    assert data["deltas"]["prompted"]["answers"] == 2
    assert data["eval"]["finetuned"]["n"] == 40


def test_a_thread_correction_counts_against_every_answer_of_its_question(redis_client):
    store = Store(redis_client)
    (first,) = seed_traffic(store, [Planned("prompted", 1, votes=(1,))])
    second = Answer("finetuned", "other", "m", Usage(1, 1), 1.0, 0.0, question_id=first.question_id)
    second.created_at = first.created_at
    store.save_answer(second)
    service = CorrectionService(store.corrections, is_trusted=lambda _: True, is_reviewer=bool)
    service.submit(first.question_id, "The right answer.", "U0LEAD")
    week = MetricsReader(store).collect(NOW, weeks=2).this_week
    assert week.variants["prompted"].correction_rate == 1.0
    assert week.variants["finetuned"].correction_rate == 1.0
    assert metrics_without_adapter(store) == ({}, None)


def metrics_without_adapter(store):
    metrics = MetricsReader(store).collect(NOW, weeks=2)
    return metrics.eval, metrics.live_version


def test_percentile_matches_numpy():
    import numpy

    values = [0.3, 5.0, 1.2, 9.9, 2.2, 2.2, 7.1]
    for q in (0, 50, 95, 100):
        assert percentile(values, q) == pytest.approx(float(numpy.percentile(values, q)))
    assert percentile([], 50) is None


def test_eval_accuracy_is_strict_with_lenient_beside_it_and_the_gates_paired_test(redis_client):
    from tests.support.gate_reports import promoted_adapter

    store = Store(redis_client)
    promoted_adapter(store)
    metrics = MetricsReader(store).collect(NOW, weeks=2)
    finetuned = metrics.eval["finetuned"]
    assert (finetuned.accuracy, finetuned.lenient, finetuned.n) == (0.725, 0.95, 40)
    assert metrics.eval["prompted"].accuracy == 0.3
    assert metrics.gate is not None and metrics.gate.test is not None
    assert (metrics.gate.against, metrics.gate.test.b, metrics.gate.test.c) == ("live v1", 12, 1)
    assert metrics.gate.describe() == (
        "v2 passed its gate against live v1: McNemar exact, one-sided, 12 questions only v2 got right, "
        "1 only live v1, p=0.00171 (needs < 0.05)"
    )
    assert metrics.to_dict()["gate"]["test"]["p_value"] == pytest.approx(14 / 2**13)


def test_an_old_gate_report_is_read_with_its_strict_figure(redis_client):
    from supportbot.adapters import AdapterRegistry
    from supportbot.records import AdapterVersion

    store = Store(redis_client)
    registry = AdapterRegistry(store.redis, store.keys)
    examples = [{"strict": i < 10} for i in range(40)]
    old = {"name": "candidate", "accuracy": 0.9, "ci95": [0.8, 0.95], "strict_accuracy": 0.25, "n": 40}
    report = {"candidate": {**old, "examples": examples}, "live": {**old, "name": "bare base"}}
    report["decision"] = {"promote": True, "reason": "0.9 vs 0.5"}
    registry.save(AdapterVersion(version="v1", base_model="b", snapshot="s", uri="/x", trigger="cli", report=report))
    registry.activate("v1")
    metrics = MetricsReader(store).collect(NOW, weeks=2)
    assert (metrics.eval["finetuned"].accuracy, metrics.eval["finetuned"].lenient) == (0.25, 0.9)
    assert metrics.gate is not None and metrics.gate.test is None
    assert "before the gate had a paired test" in metrics.gate.describe()
