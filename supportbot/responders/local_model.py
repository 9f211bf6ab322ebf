"""A local causal LM (transformers) with an optional LoRA adapter (peft), safe across threads.

The bot serves each side from its own instance (see ``local_side``): the prompted side from the base
weights, the fine-tuned side from a copy with the adapter merged in (``merged_copy``). One instance
can still serve both (the trainer's evaluation does): with the adapter, or with it disabled.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from supportbot.errors import ModelNotFound
from supportbot.hardware import Bf16Override, DtypeChoice, detect, pick_dtype, torch_dtype
from supportbot.prompts import Message
from supportbot.responders.attention import use_grouped_attention
from supportbot.responders.packed_linear import pack_linears, unpack_linears

log = logging.getLogger(__name__)
# A shared head shorter than this is cheaper to recompute than to copy from a cache.
PREFIX_CACHE_MIN_TOKENS = 256


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    compute_s: float  # this answer's share of its batch's time on the model (what it cost)
    adapter_version: str | None = None  # the adapter that wrote it (None: the base model)
    batch_size: int = 1  # how many answers were generated together with it
    cached: bool = False  # found in the gate's answer cache (generated at an earlier gate)


class LocalModel:
    def __init__(
        self,
        model_dir: Path,
        dtype: DtypeChoice = "auto",
        adapter_dir: Path | None = None,
        bf16: Bf16Override = "auto",
        merge: bool = False,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.hardware = detect(bf16)
        self.dtype = pick_dtype(dtype, self.hardware)

        if not (model_dir / "config.json").exists():
            raise ModelNotFound(f"{model_dir} is not a model directory (no config.json)")
        self.model_dir = model_dir
        self.name = model_dir.name
        self.tokenizer: Any = AutoTokenizer.from_pretrained(
            model_dir, local_files_only=True, clean_up_tokenization_spaces=False
        )
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token  # batched generation pads
        self.model: Any = cast(
            Any,
            AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch_dtype(self.dtype), local_files_only=True),
        )
        self.device = self.hardware.device
        self.model = self.model.to(self.device)
        self.model.eval()
        use_grouped_attention(self.model, self.device)
        self.packed = pack_linears(self.model, self.device)  # bf16 on the CPU: oneDNN's layout, once
        self.adapter_version: str | None = None
        self.merged = False
        self._prefixes: dict[tuple[str | None, tuple[int, ...]], Any] = {}
        self._lock = threading.Lock()
        if adapter_dir is not None:
            self.load_adapter(adapter_dir, merge=merge)

    def load_adapter(self, adapter_dir: Path, version: str | None = None, merge: bool = False) -> None:
        """Attach a peft adapter. The switch happens under the lock: no answer sees half of it.

        ``merge=True`` folds the LoRA weights into the model (faster answers, but the adapter can
        no longer be switched off: for a model that only ever answers with it, as at the gate)."""
        from peft import PeftModel

        _check_adapter_dir(adapter_dir)
        with self._lock:
            if self.merged:
                raise ModelNotFound("this model has an adapter merged in; load a new LocalModel instead")
            base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
            if hasattr(self.model, "unload"):
                base = self.model.unload()
            unpack_linears(base)  # merging changes the weights: pack them again after
            self.model = PeftModel.from_pretrained(base, adapter_dir, is_trainable=False)
            if merge:
                self.model = self.model.merge_and_unload()
                self.merged = True
            self.model.eval()
            self.packed = pack_linears(self.model, self.device)
            self.adapter_version = version or adapter_dir.name
            self._prefixes.clear()
        log.info("loaded adapter %s from %s%s", self.adapter_version, adapter_dir, " (merged)" if merge else "")

    def merged_copy(self, adapter_dir: Path, version: str | None = None) -> LocalModel:
        """A new model: a copy of these base weights with the adapter merged in (``merge_and_unload``).

        This model is only read, so it answers on while the copy is built; a merged model answers
        as fast as the base (an unmerged LoRA adds its own matrix products to every step)."""
        from peft import PeftModel

        _check_adapter_dir(adapter_dir)
        if self.merged:
            raise ModelNotFound("this model has an adapter merged in; merge into a copy of the base model instead")
        weights = self._copy_weights()
        unpack_linears(weights)  # the merge changes them; ``_with`` packs the merged weights
        merged = PeftModel.from_pretrained(weights, adapter_dir, is_trainable=False).merge_and_unload()
        clone = self._with(merged.eval())
        clone.adapter_version = version or adapter_dir.name
        clone.merged = True
        log.info("merged adapter %s from %s into a copy of %s", clone.adapter_version, adapter_dir, self.name)
        return clone

    def copy(self) -> LocalModel:
        """A new model with a copy of the base weights (without any adapter this one carries), so
        two sides can answer at the same time without waiting for each other's turn."""
        return self._with(self._copy_weights())

    def _copy_weights(self) -> Any:
        from peft import PeftModel

        weights = copy.deepcopy(self.model)
        if isinstance(weights, PeftModel):
            weights = weights.unload()  # the base weights, without the adapter
        return weights

    def _with(self, weights: Any) -> LocalModel:
        clone = copy.copy(self)  # the tokenizer and the hardware are shared, never changed
        clone.model = weights
        clone.packed = pack_linears(weights, self.device)
        clone.adapter_version = None
        clone.merged = False
        clone._prefixes = {}
        clone._lock = threading.Lock()
        return clone

    @property
    def has_adapter(self) -> bool:
        return self.adapter_version is not None

    def _encode(self, conversation: list[Message]) -> tuple[list[int], int]:
        """The prompt's token ids, and how many of them are the conversation before its last
        message (the part a long prompt shares between questions)."""
        text = self.tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        if len(conversation) < 2:
            return ids, 0
        head = self.tokenizer.apply_chat_template(conversation[:-1], tokenize=False)
        if not text.startswith(head):
            return ids, 0
        head_ids = list(self.tokenizer(head, add_special_tokens=False)["input_ids"])
        return ids, len(head_ids) if ids[: len(head_ids)] == head_ids else 0

    def forget_prefix_cache(self) -> None:
        """Drop the cached prompt prefix, so the next batch computes its own (benches and tests that
        switch the attention implementation between batches)."""
        with self._lock:
            self._prefixes.clear()

    def _prefix_cache(self, prefix: list[int], use_adapter: bool) -> Any:
        """The key/value cache of a shared prompt prefix, computed once and reused by every batch
        that starts with it (prefix caching, as inference servers do). Call under the lock."""
        import torch
        from transformers import DynamicCache

        key = (self.adapter_version if use_adapter else None, tuple(prefix))
        cache = self._prefixes.get(key)
        if cache is None:
            ids = torch.tensor([prefix], device=self.device)
            cache = self.model(input_ids=ids, past_key_values=DynamicCache(config=self.model.config)).past_key_values
            self._prefixes.clear()  # one long prompt at a time; a new prompt file replaces it
            self._prefixes[key] = cache
        return cache

    def generate_batch(
        self, conversations: list[list[Message]], max_new_tokens: int | Sequence[int], use_adapter: bool = True
    ) -> list[Generation]:
        """Answer several conversations in one batch (left-padded): ~6x the throughput on CPU.

        ``max_new_tokens`` is one limit for all, or one per conversation (the batch runs to the
        largest; greedy decoding makes each shorter answer a prefix of what it would get alone).
        When they share a long head (the prompted side's system prompt, knowledge and examples),
        it is computed once and cached; only each question's own tokens are processed."""
        import torch

        if self.merged and not use_adapter:
            raise ValueError("the adapter is merged into this model: it cannot answer without it")
        if not conversations:
            return []
        limits = [max_new_tokens] * len(conversations) if isinstance(max_new_tokens, int) else list(max_new_tokens)
        if len(limits) != len(conversations) or min(limits) < 1:
            raise ValueError(f"need one max_new_tokens >= 1 per conversation, got {limits}")
        encoded = [self._encode(c) for c in conversations]
        shared = {tuple(ids[:head]) for ids, head in encoded}
        head = encoded[0][1] if len(shared) == 1 else 0
        head = head if head >= PREFIX_CACHE_MIN_TOKENS and all(len(ids) > head for ids, _ in encoded) else 0
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        tails = [ids[head:] for ids, _ in encoded]
        width = max(len(t) for t in tails)
        rows = [encoded[0][0][:head] + [pad_id] * (width - len(t)) + t for t in tails]
        masks = [[1] * head + [0] * (width - len(t)) + [1] * len(t) for t in tails]
        input_ids = torch.tensor(rows, device=self.device)
        attention_mask = torch.tensor(masks, device=self.device)
        with self._lock, torch.inference_mode():
            started = time.perf_counter()
            kwargs: dict[str, Any] = {
                "input_ids": input_ids,
                "attention_mask": attention_mask,
                "max_new_tokens": max(limits),
                "do_sample": False,
                "pad_token_id": pad_id,
            }
            with contextlib.ExitStack() as stack:
                if self.has_adapter and not use_adapter:
                    stack.enter_context(self.model.disable_adapter())
                if head:
                    past = copy.deepcopy(self._prefix_cache(rows[0][:head], use_adapter))
                    past.batch_repeat_interleave(len(rows))
                    kwargs["past_key_values"] = past
                output = self.model.generate(**kwargs)
            compute_s = time.perf_counter() - started
        results = []
        eos = self.tokenizer.eos_token_id
        version = self.adapter_version if use_adapter else None
        share = compute_s / len(conversations)
        for row, mask, limit in zip(output, masks, limits, strict=True):
            new = row[head + width :]
            length = int((new != pad_id).sum()) if pad_id != eos else _until_eos(new.tolist(), eos)
            length = min(length, limit)
            text = self.tokenizer.decode(new[:length], skip_special_tokens=True, clean_up_tokenization_spaces=False)
            results.append(Generation(text.strip(), sum(mask), length, share, version, len(conversations)))
        return results

    def generate(self, messages: list[Message], max_new_tokens: int, use_adapter: bool = True) -> Generation:
        """Answer one conversation (a batch of one: no padding, the same greedy output)."""
        return self.generate_batch([messages], max_new_tokens, use_adapter=use_adapter)[0]


def _check_adapter_dir(adapter_dir: Path) -> None:
    if not (adapter_dir / "adapter_config.json").exists():
        raise ModelNotFound(f"{adapter_dir} is not a peft adapter directory (no adapter_config.json)")


def _until_eos(tokens: list[int], eos: int) -> int:
    """Generated tokens up to and including the first end-of-sequence token."""
    return tokens.index(eos) + 1 if eos in tokens else len(tokens)
