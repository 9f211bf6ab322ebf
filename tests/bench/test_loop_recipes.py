"""bench/loop_recipes.py's own parts: a recipe names settings by their environment names, and the
settings it builds take them without leaving them in this process's environment."""

import argparse
import os
import subprocess
import sys

import pytest

from tests.support.bench_scripts import load_bench
from tests.support.paths import PROJECT

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
    with pytest.raises(argparse.ArgumentTypeError, match="CORRECTION_WEIGHT: Input should be less than or equal to 10"):
        loop_recipes.checked_recipe("w99:CORRECTION_WEIGHT=99")
    assert "CORRECTION_WEIGHT" not in os.environ


@pytest.mark.parametrize("text", ["w10:CORRECTION_WEIGHT", ":CORRECTION_WEIGHT=10"])
def test_a_malformed_recipe_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected NAME:SETTING=VALUE"):
        loop_recipes.recipe(text)


def test_the_script_refuses_a_bad_recipe_with_one_line_before_any_work(tmp_path):
    script = PROJECT / "bench" / "loop_recipes.py"
    command = [sys.executable, str(script), str(tmp_path), "--intents", "a", "--recipe", "w99:CORRECTION_WEIGHT=99"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "argument --recipe: 'w99:CORRECTION_WEIGHT=99': invalid configuration" in done.stderr
    assert "Traceback" not in done.stderr
