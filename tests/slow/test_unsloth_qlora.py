"""QLoRA through the unsloth backend with every LoRA setting changed from its default: Unsloth's
CPU fallback loads SmolLM2 in 4-bit NF4 (bitsandbytes' CPU kernel) in a subprocess, and the
adapter it writes is a plain peft adapter that loads on the full-precision base in this process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.slow.test_training import unsloth_python
from tests.support.models import smollm2_dir
from tests.support.paths import PROJECT

pytestmark = pytest.mark.slow


def test_unsloth_qlora_writes_a_peft_adapter_with_the_settings_asked_for(tmp_path):
    completed = subprocess.run(
        [
            unsloth_python(),
            str(PROJECT / "tests" / "trainer" / "unsloth_check.py"),
            str(smollm2_dir()),
            str(tmp_path),
            "1",
            "--4bit",
            "--rank",
            "8",
            "--alpha",
            "24",
            "--dropout",
            "0.05",
            "--target-modules",
            "q_proj,v_proj",
            "--learning-rate",
            "1e-3",
            "--batch-size",
            "2",
            "--max-length",
            "128",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert "4-bit = True" in output  # Unsloth's CPU loader quantized the base model
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    metrics = json.loads(line.removeprefix("RESULT "))
    assert metrics["backend"] == "unsloth" and metrics["steps"] == 1
    assert metrics["dtype"].endswith("base in nf4")
    assert 0 < metrics["train_loss"] < 10 and metrics["tokens"] > 0

    adapter = Path(metrics["adapter_dir"])
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA"
    assert (config["r"], config["lora_alpha"], config["lora_dropout"]) == (8, 24, 0.05)
    assert set(config["target_modules"]) == {"q_proj", "v_proj"}

    # The adapter trained on the 4-bit base applies to the full-precision base with peft.
    base_dir = smollm2_dir()
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    inputs = tokenizer("How do I cancel my order?", return_tensors="pt")
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    with torch.no_grad():
        before = base(**inputs).logits
    model = PeftModel.from_pretrained(base, adapter)
    lora = {name for name, _ in model.named_parameters() if "lora_" in name}
    assert lora and all(".q_proj." in name or ".v_proj." in name for name in lora)
    with torch.no_grad():
        after = model(**inputs).logits
    assert not torch.allclose(before, after)  # the trained lora_B weights change the output
    assert "unsloth" not in sys.modules  # this process stayed unpatched
