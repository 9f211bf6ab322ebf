"""Models for tests: the real SmolLM2 (converted once, cached) and a tiny random model.

The tiny model shares SmolLM2's tokenizer and chat template, so it exercises the same code paths
in milliseconds. Both live under tests/.cache (git-ignored) and are reused across runs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from supportbot.base_model import BUNDLED_NAME, is_model_dir, prepare_bundled
from tests.support.paths import CACHE

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")


def smollm2_dir() -> Path:
    return prepare_bundled(CACHE / BUNDLED_NAME, show_progress=False)


def tiny_model_dir() -> Path:
    target = CACHE / "tiny-llama"
    if is_model_dir(target):
        return target
    source = smollm2_dir()
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".tiny-llama.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_model_dir(target):
            return target
        import torch
        from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

        tokenizer = AutoTokenizer.from_pretrained(source)
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=4096,
            tie_word_embeddings=True,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
        tmp = target.with_name(".tiny-llama.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp)
        for name in TOKENIZER_FILES:
            if (source / name).exists():
                shutil.copy(source / name, tmp / name)
        os.replace(tmp, target)
    return target
