"""`supportbot demo --quick` as the README runs it, with the real SmolLM2 and the MiniLM judge."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.models import smollm2_dir

pytestmark = pytest.mark.slow


def test_quick_demo_with_the_real_model(tmp_path, redis_client):
    env = {**os.environ, "BASE_MODEL": str(smollm2_dir())}
    supportbot = str(Path(sys.executable).parent / "supportbot")
    completed = subprocess.run(
        [supportbot, "demo", "--quick", "--out", str(tmp_path / "out")],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # Piped, as in docker logs: the machine it trains on, then timed lines, never bars.
    out = completed.stdout
    assert "training on cpu: " in out and ("bf16 native" in out or "no native bf16" in out)
    assert "training step: 4/4 · loss " in out and " tok/s · ETA 0s" in out
    assert "answering (candidate): 8/8 · questions" in out
    assert "━" not in out.split("Held-out questions")[0]  # no progress bar before the final table
    summary = json.loads((tmp_path / "out" / "demo.json").read_text())
    print(json.dumps(summary, indent=1))
    assert summary["train"]["steps"] == 4 and 0 < summary["train"]["train_loss"] < 10
    report = json.loads((tmp_path / "out" / "eval.json").read_text())
    prompted, finetuned = report["sides"]["prompted"], report["sides"]["finetuned"]
    assert prompted["prompt_tokens_per_answer"] > 1000  # system, Bitext's KB and three examples
    assert all(example["answer"].strip() for example in finetuned["examples"])  # the real model answers
    assert redis_client.zcard("sbdemo:answers") == 16
    digest = (tmp_path / "out" / "digest.md").read_text()
    assert "| answers | 8 (+8) | 8 (+8) |" in digest
