"""Grouped-query attention: the same numbers as transformers' eager attention, without its copies."""

from types import SimpleNamespace

import pytest
import torch
from transformers.models.llama.modeling_llama import eager_attention_forward

from supportbot.prompts import short_messages
from supportbot.responders.attention import GROUPED, grouped_attention, use_grouped_attention
from supportbot.responders.local_model import PREFIX_CACHE_MIN_TOKENS, LocalModel
from tests.responders.test_local import adapter_dir  # noqa: F401 - a real random LoRA adapter
from tests.responders.test_local_batching import varied_model  # noqa: F401 - the tiny model, varied weights


def padded_causal_mask(lengths: list[int], q_len: int, kv_len: int) -> torch.Tensor:
    """An additive mask as transformers builds it: left padding, then causal over the last q_len."""
    mask = torch.full((len(lengths), 1, q_len, kv_len), torch.finfo(torch.float32).min)
    for row, length in enumerate(lengths):
        for i in range(q_len):
            last = kv_len - q_len + i  # the key position of query i
            mask[row, 0, i, kv_len - length : last + 1] = 0.0
    return mask


@pytest.mark.parametrize(("heads", "kv_heads", "q_len"), [(9, 3, 1), (9, 3, 5), (4, 4, 3), (6, 1, 2)])
def test_it_computes_what_eager_attention_computes(heads, kv_heads, q_len):
    torch.manual_seed(0)
    batch, dim, kv_len = 3, 8, 11
    query = torch.randn(batch, heads, q_len, dim)
    key, value = torch.randn(batch, kv_heads, kv_len, dim), torch.randn(batch, kv_heads, kv_len, dim)
    mask = padded_causal_mask([11, 7, 9], q_len, kv_len)
    module = SimpleNamespace(num_key_value_groups=heads // kv_heads, training=False)

    ours, weights = grouped_attention(module, query, key, value, mask, scaling=dim**-0.5)
    theirs, _ = eager_attention_forward(module, query, key, value, mask, scaling=dim**-0.5)

    assert weights is None
    assert ours.shape == (batch, q_len, heads, dim)
    torch.testing.assert_close(ours, theirs)


def test_it_refuses_what_it_does_not_compute():
    query, key = torch.randn(1, 2, 1, 4), torch.randn(1, 1, 3, 4)
    module = SimpleNamespace(training=False)
    with pytest.raises(ValueError, match="soft-capping"):
        grouped_attention(module, query, key, key, None, 0.5, softcap=30.0)


def long_conversations(questions: list[str]) -> list[list[dict[str, str]]]:
    """A head longer than PREFIX_CACHE_MIN_TOKENS, as the prompted side's: the prefix-cache path."""
    system = "You answer customer support questions politely and precisely. " * 40
    return [[{"role": "system", "content": system}, {"role": "user", "content": q}] for q in questions]


QUESTIONS = ["Where is my order?", "I want a refund for the blender I bought last week", "cancel", "change address"]


def test_a_local_model_on_the_cpu_answers_with_it_as_eager_attention_would(varied_model):  # noqa: F811
    model = LocalModel(varied_model, dtype="float32")
    assert model.model.config._attn_implementation == GROUPED
    _, head = model._encode(long_conversations(QUESTIONS)[0])
    assert head >= PREFIX_CACHE_MIN_TOKENS  # the long prompts below go through the prefix cache

    for conversations in ([short_messages(q) for q in QUESTIONS], long_conversations(QUESTIONS)):
        grouped = model.generate_batch(conversations, 12)
        model.model.set_attn_implementation("eager")
        model.forget_prefix_cache()
        eager = model.generate_batch(conversations, 12)
        model.model.set_attn_implementation(GROUPED)
        model.forget_prefix_cache()
        assert [g.text for g in grouped] == [g.text for g in eager]
        assert len({g.text for g in grouped}) == len(QUESTIONS)  # a mixed-up batch would show


def test_the_merged_copy_of_the_fine_tuned_side_keeps_it(varied_model, adapter_dir):  # noqa: F811
    merged = LocalModel(varied_model, dtype="float32").merged_copy(adapter_dir)
    assert merged.model.config._attn_implementation == GROUPED


def test_other_model_families_and_gpus_keep_their_attention():
    switched: list[str] = []
    gemma = SimpleNamespace(config=SimpleNamespace(model_type="gemma2"), set_attn_implementation=switched.append)
    llama = SimpleNamespace(config=SimpleNamespace(model_type="llama"), set_attn_implementation=switched.append)

    assert not use_grouped_attention(gemma, "cpu")  # soft-capped attention: not this function's
    assert not use_grouped_attention(llama, "cuda")  # SDPA's GPU kernels handle grouped heads
    assert use_grouped_attention(llama, "cpu")
    assert switched == [GROUPED]


def test_a_forgotten_prefix_cache_is_computed_again_with_the_same_answers(varied_model):  # noqa: F811
    model = LocalModel(varied_model, dtype="float32")
    conversations = long_conversations(QUESTIONS)
    _, head = model._encode(conversations[0])
    forward = model.model.forward
    prefix_passes = []

    def counting(*args, **kwargs):
        ids = kwargs.get("input_ids")
        if ids is not None and tuple(ids.shape) == (1, head):
            prefix_passes.append(head)
        return forward(*args, **kwargs)

    model.model.forward = counting
    first = model.generate_batch(conversations, 8)
    model.generate_batch(conversations, 8)
    assert len(prefix_passes) == 1  # computed once, then reused
    model.forget_prefix_cache()
    again = model.generate_batch(conversations, 8)
    assert len(prefix_passes) == 2  # forgotten: computed again
    assert [a.text for a in again] == [f.text for f in first]
