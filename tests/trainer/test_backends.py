"""Training backends: the peft backend on a tiny random model (seconds) and its guarantees."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from supportbot.errors import ConfigError
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


WORDS_TRAINED = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
WORDS_HELD_OUT = ["zebra", "yak", "walrus", "vulture", "umbrella", "tiger", "snake", "rabbit", "quail", "parrot"]


def chat(question: str, answer: str, source: str) -> dict:
    messages = [
        {"role": "system", "content": "You are a support assistant."},
        {"role": "user", "content": question},
        {"role": "assistant", "content": answer},
    ]
    return {"messages": messages, "source": source, "label": None}


def validation_loss(model_dir, adapter_dir, rows) -> float:
    """The mean answer-token loss of ``rows`` under the saved adapter, computed here, apart from the trainer."""
    from peft import PeftModel

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    examples = tokenize(rows, tokenizer, max_length=64)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_dir), adapter_dir).eval()
    width = max(len(e["input_ids"]) for e in examples)
    pad = tokenizer.eos_token_id

    def padded(key: str, fill: int) -> torch.Tensor:
        return torch.tensor([e[key] + [fill] * (width - len(e[key])) for e in examples])

    with torch.no_grad():
        out = model(
            input_ids=padded("input_ids", pad),
            attention_mask=padded("attention_mask", 0),
            labels=padded("labels", -100),
        )
    return float(out.loss)


def test_early_stopping_keeps_the_epoch_with_the_lowest_validation_loss(tiny_model, tmp_path):
    # The team's corrections teach one vocabulary; the only seeds (the rows early stopping may
    # hold out) use another, so their loss rises as training goes on.
    corrections = [
        chat(f"question {i}", " ".join(WORDS_TRAINED[i % 3 :] + WORDS_TRAINED[: i % 3]), "correction")
        for i in range(18)
    ]
    seeds = [chat(f"other question {i}", " ".join(WORDS_HELD_OUT), "seed") for i in range(2)]
    config = TrainConfig(
        epochs=6,
        early_stopping=True,
        validation_percent=10,
        batch_size=4,
        max_length=64,
        learning_rate=1e-1,
        dtype="float32",  # the evaluation below is in fp32 too: the same numbers
    )
    events = []
    result = PeftBackend().train(
        corrections + seeds, tiny_model, config, tmp_path, progress=lambda e, d: events.append((e, d))
    )

    assert result.validation_rows == 2 and result.train_rows == 18  # the seeds held out, every correction trained on
    losses = [point["eval_loss"] for point in result.eval_curve]
    best = min(range(len(losses)), key=losses.__getitem__)
    assert losses[-1] > losses[best] and best == len(losses) - 2  # it rose once after the lowest: patience 1 stops
    assert result.epochs == len(losses) < config.epochs  # stopped early, one evaluation per epoch
    assert result.best_epoch == result.eval_curve[best]["epoch"] == best + 1
    assert [d["eval_loss"] for e, d in events if e == "eval"] == losses
    saved = json.loads((result.adapter_dir / "eval_loss_curve.json").read_text())
    assert [p["eval_loss"] for p in saved] == losses
    # The saved adapter is the best epoch's: its loss on the held-out seeds, computed apart, is the lowest.
    kept = validation_loss(tiny_model, result.adapter_dir, seeds)
    assert kept == pytest.approx(losses[best], abs=1e-4)
    assert abs(kept - losses[-1]) > 5e-3


def test_without_early_stopping_every_row_is_trained_on(tiny_model, tmp_path):
    result = PeftBackend().train(
        bitext_rows(12), tiny_model, TrainConfig(epochs=1, batch_size=4, max_length=128), tmp_path
    )
    assert result.train_rows == 12 and result.validation_rows == 0
    assert result.eval_curve == [] and result.best_epoch is None and result.epochs == 1.0
    assert not (result.adapter_dir / "eval_loss_curve.json").exists()


def test_qlora_is_refused_on_cpu_before_any_training(tiny_model, tmp_path):
    with pytest.raises(
        ConfigError, match=r"TRAIN_QUANTIZATION=4bit \(QLoRA\) needs a CUDA GPU.*TRAIN_QUANTIZATION=none"
    ):
        PeftBackend().train(bitext_rows(8), tiny_model, TrainConfig(max_steps=1, load_in_4bit=True), tmp_path)
    assert not (tmp_path / "adapter").exists()
