"""Training backends: the peft backend on a tiny random model (seconds) and its guarantees."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.support.bitext import bitext_rows
from trainer.backends import get_backend
from trainer.backends.peft_backend import PeftBackend, tokenize
from trainer.config import TrainConfig


def test_loss_is_on_the_answer_tokens_only(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    (example,) = tokenize(bitext_rows(1), tokenizer, max_length=2048)
    labelled = [t for t, label in zip(example["input_ids"], example["labels"], strict=True) if label != -100]
    answer = tokenizer.decode(labelled)
    assert answer.startswith("I understand that you're seeking guidance on how to cancel your order")
    assert "help me to cancel order" not in answer  # the question is not trained on
    assert example["labels"][0] == -100


def test_lora_weights_change_and_base_weights_do_not(tiny_model, tmp_path):
    result = PeftBackend().train(
        bitext_rows(16),
        tiny_model,
        TrainConfig(max_steps=3, batch_size=4, max_length=128, learning_rate=1e-2),
        tmp_path,
    )
    adapter = result.adapter_dir
    assert (adapter / "adapter_config.json").exists()
    curve = json.loads((adapter / "loss_curve.json").read_text())
    assert [point["step"] for point in curve] == [1, 2, 3]
    assert result.steps == 3 and result.tokens > 0 and result.peak_memory_mb > 0

    lora = load_file(adapter / "adapter_model.safetensors")
    # peft starts every lora_B at zero: trained B matrices are not.
    b_norms = [float(t.abs().sum()) for name, t in lora.items() if "lora_B" in name]
    assert b_norms and all(norm > 0 for norm in b_norms)
    # The base model on disk is untouched, and the adapter applies on top of it.
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    fresh = AutoModelForCausalLM.from_pretrained(tiny_model)
    for (name, a), (_, b) in zip(base.state_dict().items(), fresh.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_training_is_deterministic_for_a_seed(tiny_model, tmp_path):
    config = TrainConfig(max_steps=2, batch_size=4, max_length=96, seed=7)
    first = PeftBackend().train(bitext_rows(8), tiny_model, config, tmp_path / "a")
    second = PeftBackend().train(bitext_rows(8), tiny_model, config, tmp_path / "b")
    assert first.loss_curve == second.loss_curve
    a = load_file(first.adapter_dir / "adapter_model.safetensors")
    b = load_file(second.adapter_dir / "adapter_model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_progress_reports_each_step(tiny_model, tmp_path):
    events = []
    PeftBackend().train(
        bitext_rows(8),
        tiny_model,
        TrainConfig(max_steps=2, batch_size=4, max_length=96),
        tmp_path,
        progress=lambda e, d: events.append((e, d)),
    )
    assert [e for e, _ in events] == ["step", "step", "step", "saved"]
    assert events[0][1] == {"step": 0, "total": 2, "epoch": 0.0, "tokens": 0}  # training started
    assert events[1][1]["total"] == 2 and "loss" in events[1][1]
    assert 0 < events[1][1]["tokens"] < events[2][1]["tokens"]  # tokens seen so far, for tokens/s


def test_auto_picks_peft_without_cuda():
    assert get_backend("auto").name == "peft"
    with pytest.raises(ValueError, match="unknown training backend"):
        get_backend("deepspeed")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("lora_r", 0, "lora_r"), ("learning_rate", 2.0, "learning_rate"), ("target_modules", (), "target_modules")],
)
def test_config_is_validated(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})
