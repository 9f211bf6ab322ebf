"""Local sides on the tiny model: batches, the same greedy answers as alone, hot swaps, bad requests."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from supportbot.errors import ResponderError
from supportbot.prompts import PromptSet, short_messages
from supportbot.responders.local import LocalPromptedResponder, LocalResponder
from supportbot.responders.local_model import LocalModel
from supportbot.responders.local_side import BatchOptions, FinetunedSide, LocalSide
from tests.responders.test_local import adapter_dir  # noqa: F401 - a real random LoRA adapter

FOREVER = 600.0  # a window no test waits out: batches close because they are full
QUESTIONS = [
    "Where is my order?",
    "I want a refund for the broken blender I bought last week, how long does it take?",
    "cancel",
    "Can I change the delivery address of order 1234 to my office?",
]


@pytest.fixture(scope="module")
def varied_model(tiny_model, tmp_path_factory):
    """The tiny model with larger random weights: it answers every question differently (the tiny
    model itself answers everything with newlines, which would hide a mixed-up batch)."""
    import shutil

    import torch
    from transformers import AutoModelForCausalLM

    from tests.support.models import TOKENIZER_FILES

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" not in name:
                param.normal_(0, 0.5)
    path = tmp_path_factory.mktemp("models") / "varied-llama"
    model.save_pretrained(path)
    for name in TOKENIZER_FILES:
        if (tiny_model / name).exists():
            shutil.copy(tiny_model / name, path / name)
    return path


@pytest.fixture(scope="module")
def base(varied_model):
    return LocalModel(varied_model, dtype="float32")


def batched(max_batch: int) -> BatchOptions:
    return BatchOptions(max_batch=max_batch, window_s=FOREVER)


def ask_together(side: LocalSide, questions: list[str], max_new_tokens: int = 8) -> list[str]:
    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        futures = [pool.submit(side.generate, short_messages(q), max_new_tokens) for q in questions]
        return [f.result(timeout=300)[0].text for f in futures]


def test_concurrent_questions_are_generated_in_one_batch_with_the_answers_they_get_alone(base):
    alone = [base.generate(short_messages(q), 8).text for q in QUESTIONS]
    side = LocalSide(base, use_adapter=False, name="test", options=batched(len(QUESTIONS)))
    together = ask_together(side, QUESTIONS)
    assert list(side.batcher.batch_sizes) == [len(QUESTIONS)]
    assert together == alone  # left padding changes nothing in greedy answers
    assert len(set(together)) > 1  # different questions, different answers: no row was mixed up


def test_answers_of_different_lengths_share_a_batch(base):
    limits = [3, 8, 1, 5]
    alone = [base.generate_batch([short_messages(q)], n)[0] for q, n in zip(QUESTIONS, limits, strict=True)]
    together = base.generate_batch([short_messages(q) for q in QUESTIONS], limits)
    assert [g.text for g in together] == [g.text for g in alone]
    assert [g.completion_tokens for g in together] == [g.completion_tokens for g in alone]
    assert all(g.completion_tokens <= n for g, n in zip(together, limits, strict=True))
    assert {g.batch_size for g in together} == {4}


def test_the_two_sides_have_their_own_models_and_batchers(tiny_env, redis_client):
    from supportbot.services import build_services
    from supportbot.settings import load_settings

    services = build_services(load_settings(), show_progress=False)
    prompted, finetuned = services.ask.responders["prompted"], services.ask.responders["finetuned"]
    assert isinstance(prompted, LocalPromptedResponder) and isinstance(finetuned, LocalResponder)
    assert prompted.side.model is services.local_model
    assert finetuned.side.model is not prompted.side.model  # a copy: neither waits for the other's lock
    assert finetuned.side.batcher is not prompted.side.batcher
    assert finetuned.side.base is services.local_model  # merged copies are built from the base


def test_one_bad_request_fails_alone_and_its_batch_is_answered(base):
    side = FinetunedSide(base, options=batched(3))
    alone = base.generate(short_messages(QUESTIONS[0]), 6).text
    with ThreadPoolExecutor(max_workers=3) as pool:
        good = pool.submit(side.generate, short_messages(QUESTIONS[0]), 6)
        bad = pool.submit(side.generate, short_messages(QUESTIONS[1]), 0)  # no tokens: refused
        other = pool.submit(side.generate, short_messages(QUESTIONS[2]), 6)
        assert good.result(timeout=300)[0].text == alone
        assert other.result(timeout=300)[0].text == base.generate(short_messages(QUESTIONS[2]), 6).text
        with pytest.raises(ValueError, match="max_new_tokens >= 1"):
            bad.result(timeout=300)
    assert list(side.batcher.batch_sizes) == [3, 1, 1, 1]


def test_a_failed_generation_is_a_responder_error_naming_the_side(base):
    responder = LocalResponder(base, max_new_tokens=6, hourly_rate_usd=0.1)
    responder.max_new_tokens = 0
    with pytest.raises(ResponderError, match="the fine-tuned model failed"):
        responder.answer("Where is my order?")


class Held:
    """Holds a model's next batch until released, and says when it started."""

    def __init__(self, model: LocalModel) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.generate_batch = model.generate_batch

        def held(*args, **kwargs):
            self.started.set()
            assert self.release.wait(timeout=300)
            return self.generate_batch(*args, **kwargs)

        model.generate_batch = held  # type: ignore[method-assign]


def test_a_hot_swap_never_waits_for_answers_and_the_new_merged_copy_answers_after(
    varied_model,
    base,
    adapter_dir,  # noqa: F811
):
    question = short_messages("Can I change my delivery address?")
    fresh_merge = LocalModel(varied_model, dtype="float32", adapter_dir=adapter_dir, merge=True)
    expected_after = fresh_merge.generate(question, 8)
    expected_before = base.generate(question, 8)
    assert expected_after.text != expected_before.text  # the adapter changes this answer

    old = base.copy()
    side = FinetunedSide(old, base=base, options=BatchOptions(max_batch=1, window_s=0))
    held = Held(old)
    with ThreadPoolExecutor(max_workers=1) as pool:
        during = pool.submit(side.generate, question, 8)
        assert held.started.wait(timeout=300)  # a batch is running on the old weights
        side.load_adapter(adapter_dir, "v1")  # returns while that batch is still held
        assert side.adapter_version == "v1" and side.model is not old and side.model.merged
        held.release.set()
        before, _ = during.result(timeout=300)
    assert before.text == expected_before.text and before.adapter_version is None  # finished on the old copy

    after, _ = side.generate(question, 8)
    assert after.adapter_version == "v1"
    assert after.text == expected_after.text  # the swapped-in copy answers as a fresh merge does
    assert base.adapter_version is None and not base.merged  # the base weights were never touched
    assert base.generate(question, 8).text == expected_before.text


def test_answers_go_on_while_the_next_merged_copy_is_being_built(
    base,
    adapter_dir,  # noqa: F811
):
    question = short_messages("Where is my parcel?")
    side = FinetunedSide(base.copy(), base=base, options=BatchOptions(max_batch=1, window_s=0))
    building, finish = threading.Event(), threading.Event()
    merged_copy = base.merged_copy

    class SlowBase:  # the base as the side sees it: building a merged copy waits for `finish`
        def merged_copy(self, *args, **kwargs):
            merged = merged_copy(*args, **kwargs)
            building.set()
            assert finish.wait(timeout=300)
            return merged

    side.base = SlowBase()  # type: ignore[assignment]
    with ThreadPoolExecutor(max_workers=1) as pool:
        swap = pool.submit(side.load_adapter, adapter_dir, "v2")
        assert building.wait(timeout=300)
        during, _ = side.generate(question, 6)  # answered while the swap is under way
        assert during.adapter_version is None
        finish.set()
        swap.result(timeout=300)
    after, _ = side.generate(question, 6)
    assert after.adapter_version == "v2"


def test_the_prompted_side_answers_in_batches_with_the_shared_prompt(base):
    prompts = PromptSet.load()
    side = LocalSide(base, use_adapter=False, name="test", options=batched(3))
    responder = LocalPromptedResponder(side, prompts, 6, 0.1)
    alone = [LocalPromptedResponder(base, prompts, 6, 0.1).answer(q).text for q in QUESTIONS[:3]]
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(responder.answer, QUESTIONS[:3]))
    assert [a.text for a in answers] == alone and len(set(alone)) > 1
    assert list(side.batcher.batch_sizes) == [3]
    assert all(a.usage.prompt_tokens > 300 for a in answers)  # the long shared head, cached once
