"""Held-out intents never reach the seeds, and every question plays exactly one part."""

import pytest

from simulation.scenario import REFERENCES_PER_INTENT, ScenarioSize, build_scenario
from supportbot.errors import SupportbotError
from supportbot.splits import normalise
from tests.support.paths import BITEXT
from trainer.importer import Mapping, parse

SIZE = ScenarioSize(held_out=5, taught_per_held_out=4, measured_per_held_out=3, measured_per_other=2,
                    taught_per_other=1, seeds_per_other=6)  # fmt: skip


@pytest.fixture(scope="module")
def rows():
    return parse(BITEXT, Mapping(), 2000).seeds


def test_held_out_intents_are_never_seeded_and_nothing_is_used_twice(rows):
    scenario = build_scenario(rows, SIZE, seed=3)
    assert len(scenario.held_out) == 5 and len(scenario.others) == 22
    assert not {seed.label for seed in scenario.seeds} & set(scenario.held_out)
    assert len(scenario.seeds) == 22 * 6
    assert len(scenario.taught) == 5 * 4 + 22 * 1
    assert len(scenario.measured) == 5 * 3 + 22 * 2
    parts = [s.question for s in scenario.seeds] + [i.question for i in scenario.taught + scenario.measured]
    assert len({normalise(q) for q in parts}) == len(parts)  # no question, or near-duplicate, twice
    measured = {i.reference for i in scenario.measured}
    assert set(scenario.references) == {r.label for r in rows}
    pooled = [text for texts in scenario.references.values() for text in texts]
    assert not set(pooled) & measured  # a measured answer is never a yardstick
    assert all(0 < len(texts) <= REFERENCES_PER_INTENT for texts in scenario.references.values())
    for item in scenario.taught:  # what people teach is among its intent's references
        assert item.reference in scenario.references[item.label] or len(scenario.references[item.label]) == 16


def test_the_choice_is_deterministic_and_can_be_named(rows):
    assert build_scenario(rows, SIZE, seed=3).held_out == build_scenario(rows, SIZE, seed=3).held_out
    named = build_scenario(rows, SIZE, held_out=["get_refund", "review"])
    assert named.held_out == ["get_refund", "review"]
    assert all(item.label in ("get_refund", "review") for item in named.taught[:8])


def test_bad_requests_say_what_is_wrong(rows):
    with pytest.raises(SupportbotError, match="no rows with the intent"):
        build_scenario(rows, SIZE, held_out=["no_such_intent"])
    with pytest.raises(SupportbotError, match=r"has \d+ distinct questions; 60 are needed"):
        build_scenario(rows, ScenarioSize(taught_per_held_out=50, measured_per_held_out=10))
    with pytest.raises(SupportbotError, match="cannot hold out 26 of 27 intents"):
        build_scenario(rows, ScenarioSize(held_out=26))
    unlabelled = [row.__class__(row.id, row.question, row.answer, row.source, None) for row in rows[:50]]
    with pytest.raises(SupportbotError, match="no labelled rows"):
        build_scenario(unlabelled, SIZE)
