"""bench/loop_recipes.py's own parts: a recipe names settings by their environment names, and the
settings it builds take them without leaving them in this process's environment."""

import os

import pytest

from tests.support.bench_scripts import load_bench

loop_recipes = load_bench("loop_recipes")


def test_a_recipe_is_a_name_and_settings():
    assert loop_recipes.recipe("default:") == ("default", {})
    assert loop_recipes.recipe("w10:CORRECTION_WEIGHT=10,LEARNING_RATE=5e-4") == (
        "w10",
        {"CORRECTION_WEIGHT": "10", "LEARNING_RATE": "5e-4"},
    )


def test_a_recipes_settings_apply_and_the_environment_is_restored(monkeypatch):
    monkeypatch.setenv("CORRECTION_WEIGHT", "3")
    monkeypatch.delenv("LEARNING_RATE", raising=False)
    settings = loop_recipes.settings_with({"CORRECTION_WEIGHT": "10", "LEARNING_RATE": "5e-4"})
    assert settings.correction_weight == 10
    assert settings.learning_rate == pytest.approx(5e-4)
    assert os.environ["CORRECTION_WEIGHT"] == "3"
    assert "LEARNING_RATE" not in os.environ


def test_a_bad_recipe_value_is_refused_and_the_environment_is_restored(monkeypatch):
    monkeypatch.delenv("CORRECTION_WEIGHT", raising=False)
    with pytest.raises(Exception, match="correction_weight|CORRECTION_WEIGHT"):
        loop_recipes.settings_with({"CORRECTION_WEIGHT": "99"})
    assert "CORRECTION_WEIGHT" not in os.environ
