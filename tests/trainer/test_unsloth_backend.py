"""The unsloth backend's own checks that need no Unsloth (it is imported only inside ``train``)."""

import pytest
import torch
from transformers import AutoModelForCausalLM

from supportbot.errors import ConfigError
from tests.support.bitext import bitext_rows
from trainer.backends.unsloth_backend import four_bit_layers, prompt_completion, require_four_bit


def test_a_base_model_that_did_not_load_in_4_bits_stops_qlora(tiny_model):
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert four_bit_layers(model) == 0
    with pytest.raises(ConfigError, match="TRAIN_QUANTIZATION=4bit.*TRAIN_QUANTIZATION=none"):
        require_four_bit(model, "cpu")
    with pytest.raises(ConfigError, match="on this GPU"):
        require_four_bit(model, "cuda")


class Linear4bit(torch.nn.Linear):
    """Named as bitsandbytes' 4-bit layer (bitsandbytes itself is only in the Unsloth environment)."""


def test_4_bit_layers_are_counted_by_their_bitsandbytes_class():
    model = torch.nn.Sequential(Linear4bit(8, 8), torch.nn.Linear(8, 8), Linear4bit(8, 4))
    assert four_bit_layers(model) == 2
    assert require_four_bit(model, "cuda") == 2


def test_rows_become_prompt_completion_pairs_with_the_answer_as_completion():
    (row,) = bitext_rows(1)
    (pair,) = prompt_completion([row])
    assert pair["prompt"] == row["messages"][:-1]
    assert pair["completion"] == [row["messages"][-1]] and pair["completion"][0]["role"] == "assistant"
