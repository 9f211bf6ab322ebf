"""The eval gate's arithmetic: promotion decisions on synthetic scores, and the 95% interval."""

import pytest

from trainer.evaluate import decide, wilson_interval


@pytest.mark.parametrize(
    ("candidate", "live", "margin", "promote"),
    [
        (0.60, 0.50, 0.02, True),
        (0.515, 0.50, 0.02, False),  # better, but not by the margin
        (0.52, 0.50, 0.02, True),
        (0.50, 0.50, 0.0, False),  # a tie never promotes
        (0.51, 0.50, 0.0, True),
        (0.40, 0.50, 0.02, False),
    ],
)
def test_promotion_needs_the_margin(candidate, live, margin, promote):
    decision = decide(candidate, live, margin, "live v3")
    assert decision.promote is promote
    assert "live v3" in decision.reason


def test_wilson_interval_known_values():
    low, high = wilson_interval(45, 50)
    assert (round(low, 3), round(high, 3)) == (0.786, 0.957)
    assert wilson_interval(0, 0) == (0.0, 0.0)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and 0.15 < high < 0.17
