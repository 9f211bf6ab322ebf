"""Grouped-query attention on the CPU without copying the key/value cache.

transformers' eager and SDPA attention (5.x) first expand every key/value head to the query heads
sharing it (``repeat_kv``; SDPA does so whenever there is a padding mask, so in every batch): each
step copies the whole cache, ``num_key_value_groups`` times over. With the prompted side's long
prompt (~730 tokens, a batch of 16, SmolLM2's 9 query heads on 3 key/value heads) that copy and
the CPU's SDPA kernel with one query per step took 72% of a step. Here the query heads are grouped
onto their key/value head instead: the same products, read from the cache as it is.

Measured on a 2-core AMD EPYC (bf16, 2 threads, 16 questions x 64 new tokens; bench/attention_speed.py):
the prompted side's long prompt 3.70x SDPA's tokens/s (eager: 2.04x), the fine-tuned side's short
prompt 1.40x (eager: 1.27x); greedy answers identical to eager attention's.

Used for the model families whose attention is plain scaled dot-product with an additive mask
(``GROUPED_MODEL_TYPES``); others keep transformers' own implementation.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)

GROUPED = "supportbot_grouped"
# Decoder families whose attention call carries nothing this function ignores (no soft-capping,
# no attention sinks); a sliding window arrives through the mask, which transformers builds.
GROUPED_MODEL_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3"})


def grouped_attention(  # noqa: PLR0917 - transformers' attention-function signature
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    scaling: float,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[Any, None]:
    """Softmax(q k^T * scaling + mask) v for ``query`` (batch, heads, q_len, dim) against ``key`` and
    ``value`` (batch, kv_heads, kv_len, dim): the heads that share a key/value head are stacked as
    extra query rows of it, so the cache is read where it lies. Returns (batch, q_len, heads, dim)."""
    import torch

    if kwargs.get("softcap") is not None or kwargs.get("s_aux") is not None:
        raise ValueError("grouped attention supports neither soft-capping nor attention sinks")
    if module.training and dropout:
        raise ValueError("grouped attention is for inference (no dropout)")
    batch, heads, q_len, dim = query.shape
    kv_heads, kv_len = key.shape[1], key.shape[2]
    groups = heads // kv_heads
    # Query head h uses key/value head h // groups (repeat_kv's order): heads j*groups .. j*groups +
    # groups - 1 become groups * q_len rows of key/value head j.
    weights = torch.matmul(query.reshape(batch, kv_heads, groups * q_len, dim), key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        mask = attention_mask[:, :, None, :, :kv_len]  # (batch, 1, 1, q_len, kv_len): every group alike
        weights = (weights.view(batch, kv_heads, groups, q_len, kv_len) + mask).view(
            batch, kv_heads, groups * q_len, kv_len
        )
    weights = torch.softmax(weights, dim=-1, dtype=torch.float32).to(query.dtype)
    output = torch.matmul(weights, value).view(batch, heads, q_len, dim)
    return output.transpose(1, 2).contiguous(), None


@functools.cache
def register() -> None:
    """Make ``GROUPED`` an attention implementation transformers knows (once per process), with
    eager attention's additive mask."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    AttentionInterface.register(GROUPED, grouped_attention)
    AttentionMaskInterface.register(GROUPED, eager_mask)


def use_grouped_attention(model: Any, device: str) -> bool:
    """Switch a loaded model to grouped attention when it runs on the CPU and is of a supported
    family; True if it was switched. On a GPU, SDPA's own kernels are kept."""
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if device != "cpu" or model_type not in GROUPED_MODEL_TYPES:
        return False
    register()
    model.set_attn_implementation(GROUPED)
    log.debug("grouped-query attention for %s", model_type)
    return True
