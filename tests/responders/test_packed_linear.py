"""Pre-packed bf16 linear layers: the same numbers as ``nn.Linear``, never stale after a merge."""

import pytest
import torch

from supportbot.prompts import short_messages
from supportbot.responders.local_model import LocalModel
from supportbot.responders.packed_linear import is_packed, pack_linears, supported, unpack_linears
from tests.responders.test_local import adapter_dir  # noqa: F401 - a real random LoRA adapter
from tests.responders.test_local_batching import varied_model  # noqa: F401 - the tiny model, varied weights

HERE = supported(torch.bfloat16, "cpu")  # oneDNN's native bf16 on this CPU: what CI's machines have
QUESTIONS = ["Where is my order?", "I want a refund for the blender I bought last week", "cancel", "change address"]


def layer(bias: bool) -> torch.nn.Linear:
    torch.manual_seed(0)
    return torch.nn.Linear(64, 96, bias=bias).to(torch.bfloat16).eval()


def assert_packed(model: LocalModel) -> None:
    """Every bf16 linear layer is packed where oneDNN does bf16, none elsewhere."""
    layers = [m for m in model.model.modules() if type(m) is torch.nn.Linear]
    assert layers
    assert sum(is_packed(m) for m in layers) == model.packed == (len(layers) if HERE else 0)


def texts(model: LocalModel) -> list[str]:
    return [g.text for g in model.generate_batch([short_messages(q) for q in QUESTIONS], 12)]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 64), (8, 64), (8, 1, 64), (3, 7, 64), (400, 64)])
def test_a_packed_layer_computes_what_the_plain_one_computes(shape, bias):
    linear = layer(bias)
    x = torch.randn(*shape).to(torch.bfloat16)
    plain = linear(x)

    packed = pack_linears(torch.nn.Sequential(linear), "cpu")

    assert packed == (1 if HERE else 0)
    assert is_packed(linear) == HERE
    with torch.inference_mode():
        assert torch.equal(linear(x), plain)  # bit for bit: the same oneDNN product, weight reordered once


def test_autograd_and_other_dtypes_take_the_plain_product():
    linear = layer(bias=True)
    pack_linears(torch.nn.Sequential(linear), "cpu")
    x = torch.randn(4, 64, dtype=torch.bfloat16, requires_grad=True)
    linear(x).float().sum().backward()  # the packed op has no gradient: it must not be used here
    assert x.grad is not None and x.grad.abs().sum() > 0
    linear(x.detach()).float().sum().backward()  # the weight's gradient, with grad mode on
    assert linear.weight.grad is not None and linear.weight.grad.abs().sum() > 0
    unpack_linears(torch.nn.Sequential(linear))
    assert not is_packed(linear)


def test_fp32_models_and_gpus_are_left_alone():
    assert not supported(torch.float32, "cpu")  # MKL's packed sgemm measured no faster
    assert not supported(torch.bfloat16, "cuda")
    linear = torch.nn.Linear(8, 8)  # fp32
    assert pack_linears(torch.nn.Sequential(linear), "cpu") == 0
    assert not is_packed(linear)


def test_a_bf16_local_model_answers_as_it_would_unpacked(varied_model):  # noqa: F811
    model = LocalModel(varied_model, dtype="bfloat16")
    assert_packed(model)
    packed = texts(model)
    unpack_linears(model.model)
    assert texts(model) == packed
    assert len(set(packed)) == len(QUESTIONS)  # a mixed-up batch would show


def test_merging_an_adapter_repacks_the_changed_weights(varied_model, adapter_dir):  # noqa: F811
    """A packed copy taken before the merge would answer with the base weights: the merged copy,
    and an in-place merge, must answer as an unpacked merge does."""
    base = LocalModel(varied_model, dtype="bfloat16")
    reference = LocalModel(varied_model, dtype="bfloat16")
    unpack_linears(reference.model)
    from peft import PeftModel

    reference.model = PeftModel.from_pretrained(reference.model, adapter_dir).merge_and_unload().eval()
    expected = texts(reference)
    assert expected != texts(base)  # the adapter changes the answers

    merged = base.merged_copy(adapter_dir)
    assert_packed(merged)
    assert texts(merged) == expected
    assert texts(base.copy()) == texts(base)  # the base it was copied from is untouched

    base.load_adapter(adapter_dir, merge=True)
    assert_packed(base)
    assert texts(base) == expected
