"""Training for real: the peft backend on SmolLM2, and the unsloth backend's CPU fallback in a
subprocess (Unsloth patches transformers and trl when imported, so it never runs in this process).

The unsloth environment is made by `UNSLOTH=1 bash scripts/install.sh` (CI does); its Python is
found through SUPPORTBOT_UNSLOTH_PYTHON or at .venv-unsloth/bin/python.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.bitext import bitext_rows
from tests.support.models import smollm2_dir
from tests.support.paths import PROJECT
from trainer.backends.peft_backend import PeftBackend
from trainer.config import TrainConfig

pytestmark = pytest.mark.slow


def unsloth_python() -> str:
    configured = os.environ.get("SUPPORTBOT_UNSLOTH_PYTHON") or str(PROJECT / ".venv-unsloth" / "bin" / "python")
    if not Path(configured).exists():
        raise AssertionError(
            f"no Unsloth environment at {configured}: run `UNSLOTH=1 bash scripts/install.sh` "
            "or set SUPPORTBOT_UNSLOTH_PYTHON"
        )
    return configured


def test_peft_trains_smollm2_on_a_bitext_slice(tmp_path):
    result = PeftBackend().train(
        bitext_rows(32), smollm2_dir(), TrainConfig(max_steps=4, batch_size=8, max_length=320), tmp_path
    )
    curve = [point["loss"] for point in result.loss_curve]
    assert len(curve) == 4 and all(0 < loss < 10 for loss in curve)
    assert (result.adapter_dir / "adapter_model.safetensors").exists()
    print("peft", json.dumps(result.metrics()))


def test_unsloth_cpu_fallback_trains_in_a_subprocess(tmp_path):
    completed = subprocess.run(
        [
            unsloth_python(),
            str(PROJECT / "tests" / "trainer" / "unsloth_check.py"),
            str(smollm2_dir()),
            str(tmp_path),
            "4",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Unsloth" in completed.stdout + completed.stderr  # it really ran through Unsloth
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    metrics = json.loads(line.removeprefix("RESULT "))
    assert metrics["backend"] == "unsloth" and metrics["steps"] == 4
    assert 0 < metrics["train_loss"] < 10
    assert (Path(metrics["adapter_dir"]) / "adapter_config.json").exists()
    assert "unsloth" not in sys.modules  # this process stayed unpatched
    print("unsloth", json.dumps(metrics))


def test_peft_early_stopping_on_smollm2_keeps_the_best_epoch(tmp_path):
    config = TrainConfig(epochs=2, early_stopping=True, validation_percent=25, batch_size=8, max_length=320)
    result = PeftBackend().train(bitext_rows(32), smollm2_dir(), config, tmp_path)
    assert result.validation_rows == 8 and result.train_rows == 24
    losses = [point["eval_loss"] for point in result.eval_curve]
    assert len(losses) == result.epochs == 2 and all(0 < loss < 10 for loss in losses)
    assert result.best_epoch == 1 + losses.index(min(losses))
    assert (result.adapter_dir / "eval_loss_curve.json").exists()
    print("peft early stopping", json.dumps(result.metrics()))
