"""The eval gate's arithmetic: paired promotion decisions on synthetic verdicts, and the 95% interval."""

import pytest

from supportbot.accuracy import MCNEMAR, mcnemar_exact, side_accuracy, wilson_interval
from trainer.evaluate import decide


def paired(b: int, c: int, both: int, neither: int) -> tuple[list[bool], list[bool]]:
    """Per-question verdicts: b only the candidate right, c only the live one, then ties."""
    candidate = [True] * b + [False] * c + [True] * both + [False] * neither
    live = [False] * b + [True] * c + [True] * both + [False] * neither
    return candidate, live


def test_a_candidate_that_wins_a_few_questions_by_chance_is_not_promoted():
    candidate, live = paired(b=3, c=1, both=20, neither=16)  # +5 pts on 40: above the 2-pt margin
    decision = decide(candidate, live, 0.02, 0.95, "live v3")
    assert decision.promote is False
    assert decision.test is not None and (decision.test.b, decision.test.c, decision.test.n) == (3, 1, 40)
    assert decision.test.p_value == pytest.approx(5 / 16)  # P(X >= 3 | 4 fair coins)
    assert "live v3" in decision.reason and "needs p < 0.05" in decision.reason


def test_a_candidate_that_wins_clearly_is_promoted():
    candidate, live = paired(b=12, c=1, both=15, neither=12)
    decision = decide(candidate, live, 0.02, 0.95, "bare base")
    assert decision.promote is True
    assert decision.test is not None and decision.test.name == MCNEMAR
    assert decision.test.p_value == pytest.approx(14 / 2**13)  # P(X >= 12 | 13 fair coins)
    assert "b=12, c=1" in decision.reason and "bare base" in decision.reason


def test_the_confidence_is_configurable():
    candidate, live = paired(b=6, c=1, both=20, neither=13)  # p = 8/128 = 0.0625
    assert decide(candidate, live, 0.0, 0.90, "live v1").promote is True
    assert decide(candidate, live, 0.0, 0.95, "live v1").promote is False


def test_the_margin_is_a_floor_on_the_gain_as_well():
    candidate, live = paired(b=60, c=40, both=300, neither=600)  # p ~ 0.03, but only +2.0 pts of 1,000
    assert decide(candidate, live, 0.02, 0.95, "live v1").promote is True
    decision = decide(candidate, live, 0.03, 0.95, "live v1")
    assert decision.promote is False and "a gain of 3.0 pts" in decision.reason


@pytest.mark.parametrize(("b", "c"), [(0, 0), (2, 2), (1, 5)])
def test_a_tie_or_a_worse_candidate_never_promotes(b, c):
    candidate, live = paired(b=b, c=c, both=10, neither=10)
    assert decide(candidate, live, 0.0, 0.5001, "live v1").promote is False


def test_paired_verdicts_must_be_the_same_questions():
    with pytest.raises(ValueError, match="differ in length"):
        mcnemar_exact([True, False], [True])


def test_wilson_interval_known_values():
    low, high = wilson_interval(45, 50)
    assert (round(low, 3), round(high, 3)) == (0.786, 0.957)
    assert wilson_interval(0, 0) == (0.0, 0.0)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and 0.15 < high < 0.17


@pytest.mark.parametrize("n", range(1, 300))
def test_wilson_interval_contains_0_and_100_percent_exactly(n):
    """Rounding put the upper end of 6/6 at 1 - 2e-16, below the observed 100%."""
    assert wilson_interval(n, n)[1] == 1.0
    assert wilson_interval(0, n)[0] == 0.0
    for k in range(n + 1):
        low, high = wilson_interval(k, n)
        assert low <= k / n <= high


def test_old_gate_reports_are_read_with_the_strict_headline():
    examples = [{"strict": True}, {"strict": False}, {"strict": False}, {"strict": False}]
    old = {"accuracy": 1.0, "ci95": [0.5, 1.0], "strict_accuracy": 0.25, "n": 4, "examples": examples}
    figures = side_accuracy(old)
    assert (figures.headline, figures.lenient, figures.n) == (0.25, 1.0, 4)
    assert figures.ci95 == wilson_interval(1, 4)
    new = {"accuracy": 0.25, "ci95": [0.1, 0.7], "lenient_accuracy": 1.0, "n": 4}
    assert side_accuracy(new).ci95 == (0.1, 0.7)


def test_the_gate_evaluates_the_whole_eval_split_by_default(monkeypatch, tiny_env, redis_client):
    from supportbot.adapters import AdapterRegistry
    from supportbot.settings import load_settings
    from supportbot.store import Store
    from tests.support.paths import BITEXT
    from tests.trainer.test_pipeline import Recorder
    from trainer import pipeline
    from trainer.config import TrainConfig
    from trainer.dataset import load_snapshot
    from trainer.importer import Mapping, parse

    monkeypatch.setenv("TRAIN_MAX_EXAMPLES", "16")
    monkeypatch.delenv("EVAL_LIMIT", raising=False)  # the default: 0, every eval question
    store = Store(redis_client)
    store.seeds.add_all(parse(BITEXT, Mapping(), 2000).seeds[:150])
    settings = load_settings()
    assert settings.eval_limit == 0
    pipeline.retrain(
        settings,
        store,
        trigger="test",
        reporter=Recorder(),
        config=TrainConfig(max_steps=1, batch_size=4, max_length=96),
    )
    (version,) = AdapterRegistry(store.redis, store.keys).all()
    whole = len(load_snapshot(settings.datasets_dir / f"{version.snapshot}.jsonl", "eval"))
    assert whole > 6
    assert version.report["candidate"]["n"] == whole == len(version.report["candidate"]["examples"])
    assert version.report["decision"]["test"]["n"] == whole
