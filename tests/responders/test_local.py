"""LocalResponder on a tiny random model (fast): tokens, cost, adapters, concurrency."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from supportbot.prompts import PromptSet
from supportbot.responders.local import LocalPromptedResponder, LocalResponder
from supportbot.responders.local_model import LocalModel


@pytest.fixture(scope="module")
def model(tiny_model):
    return LocalModel(tiny_model, dtype="float32")


@pytest.fixture(scope="module")
def adapter_dir(tiny_model, tmp_path_factory):
    """A real peft LoRA adapter for the tiny model, with non-zero B so it changes the output."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 2.0)
    path = tmp_path_factory.mktemp("adapters") / "v1"
    peft_model.save_pretrained(path)
    return path


def test_answer_carries_tokens_latency_and_cost(model):
    answer = LocalResponder(model, max_new_tokens=6, hourly_rate_usd=3600.0).answer("Where is my order?")
    assert answer.variant == "finetuned"
    assert answer.model == "tiny-llama"
    assert answer.adapter_version is None
    assert answer.usage.prompt_tokens > 10
    assert 1 <= answer.usage.completion_tokens <= 6
    assert answer.latency_s > 0
    # $3600/h = $1/s of the model's compute time; the latency adds the wait for a running batch.
    assert 0 < answer.cost_usd <= answer.latency_s


def test_label_says_base_model_until_an_adapter_exists(model):
    assert LocalResponder(model, 4, 0.1).label == "Fine-tuned (base model, no adapter yet)"


def test_greedy_answers_are_deterministic(model):
    responder = LocalResponder(model, max_new_tokens=8, hourly_rate_usd=0.1)
    assert responder.answer("Refund please").text == responder.answer("Refund please").text


def test_concurrent_questions_get_the_same_answers_as_sequential(model):
    responder = LocalResponder(model, max_new_tokens=8, hourly_rate_usd=0.1)
    questions = [f"question number {i}" for i in range(6)]
    sequential = [responder.answer(q).text for q in questions]
    with ThreadPoolExecutor(max_workers=6) as pool:
        concurrent = [a.text for a in pool.map(responder.answer, questions)]
    assert concurrent == sequential


def test_adapter_changes_the_fine_tuned_side_only(tiny_model, adapter_dir):
    plain = LocalModel(tiny_model, dtype="float32")
    adapted = LocalModel(tiny_model, dtype="float32", adapter_dir=adapter_dir)
    prompts = PromptSet.load()
    question = "Can I change my delivery address?"

    finetuned = LocalResponder(adapted, max_new_tokens=8, hourly_rate_usd=0.1)
    assert finetuned.label == "Fine-tuned v1"
    answer = finetuned.answer(question)
    assert answer.adapter_version == "v1"
    assert answer.text != LocalResponder(plain, 8, 0.1).answer(question).text

    # The locally prompted side shares the model but answers with the adapter disabled.
    prompted_on_adapted = LocalPromptedResponder(adapted, prompts, 8, 0.1).answer(question)
    prompted_on_plain = LocalPromptedResponder(plain, prompts, 8, 0.1).answer(question)
    assert prompted_on_adapted.text == prompted_on_plain.text
    assert prompted_on_adapted.adapter_version is None


def test_missing_adapter_directory_is_a_clear_error(tiny_model, tmp_path):
    from supportbot.errors import ModelNotFound

    with pytest.raises(ModelNotFound, match="not a peft adapter directory"):
        LocalModel(tiny_model, adapter_dir=tmp_path)
