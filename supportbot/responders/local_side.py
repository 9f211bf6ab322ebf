"""One side of the local answering: its own model behind its own micro-batcher.

Questions that reach a side together are generated in one batch (``supportbot.batching``). Each
side has its own model and its own batcher, so the prompted and the fine-tuned side never wait on
each other. The fine-tuned side answers from a copy of the base weights with the adapter merged
in; a promotion or rollback builds the next merged copy off to the side and then swaps it in, so
answers go on during the swap and each batch runs wholly on one version.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from supportbot.batching import MicroBatcher
from supportbot.hardware import threads_set_by_operator, usable_cores
from supportbot.prompts import Message
from supportbot.responders.local_model import Generation, LocalModel

log = logging.getLogger(__name__)
DEFAULT_MAX_BATCH = 16
DEFAULT_WINDOW_S = 0.02


@dataclass(frozen=True)
class BatchOptions:
    """How a side batches: at most ``max_batch`` questions, collected for ``window_s`` after the
    first; ``threads`` caps torch's threads (see ``threads_per_side``)."""

    max_batch: int = DEFAULT_MAX_BATCH
    window_s: float = DEFAULT_WINDOW_S
    threads: int | None = None  # torch threads for this side's generation; None: torch's default


@dataclass(frozen=True)
class _Request:
    messages: list[Message]
    max_new_tokens: int


class LocalSide:
    """A local model answering one side's questions in batches (``use_adapter=False``: the base
    model alone, even if an adapter is attached)."""

    def __init__(self, model: LocalModel, *, use_adapter: bool, name: str, options: BatchOptions | None = None) -> None:
        options = options or BatchOptions()
        self.options = options
        self._model = model
        self.use_adapter = use_adapter
        threads = options.threads
        self.batcher: MicroBatcher[_Request, Generation] = MicroBatcher(
            self._run,
            max_batch=options.max_batch,
            window_s=options.window_s,
            name=name,
            prepare=None if threads is None else lambda: _set_torch_threads(threads),
        )

    @property
    def model(self) -> LocalModel:
        """The model answering now (a swap replaces it; batches already running keep theirs)."""
        return self._model

    @property
    def adapter_version(self) -> str | None:
        return self._model.adapter_version if self.use_adapter else None

    def generate(self, messages: list[Message], max_new_tokens: int) -> tuple[Generation, float]:
        """One answer, generated together with the questions that arrive with it, and the seconds
        it took from the request (the wait for a running batch included)."""
        started = time.perf_counter()
        generation = self.batcher(_Request(messages, max_new_tokens))
        return generation, time.perf_counter() - started

    def _run(self, requests: list[_Request]) -> list[Generation]:
        model = self._model  # read once: a swap during this batch affects only the next one
        return model.generate_batch(
            [r.messages for r in requests], [r.max_new_tokens for r in requests], use_adapter=self.use_adapter
        )


class FinetunedSide(LocalSide):
    """The fine-tuned side: ``model`` (the base, or a copy with an adapter merged) answers now;
    ``load_adapter`` merges another version into a copy of ``base`` and swaps it in."""

    def __init__(
        self, model: LocalModel, *, base: LocalModel | None = None, options: BatchOptions | None = None
    ) -> None:
        super().__init__(model, use_adapter=True, name="finetuned-batcher", options=options)
        self.base = base or model
        self._swap_lock = threading.Lock()  # one swap at a time; answers never take it

    def load_adapter(self, adapter_dir: Path, version: str | None = None) -> None:
        """Build a merged copy with this adapter, then swap it in (atomically: one reference)."""
        with self._swap_lock:
            started = time.perf_counter()
            fresh = self.base.merged_copy(adapter_dir, version)
            previous, self._model = self._model.adapter_version, fresh
        log.info(
            "loaded adapter %s from %s (merged into a copy of the base in %.1f s, then swapped in for %s)",
            fresh.adapter_version,
            adapter_dir,
            time.perf_counter() - started,
            previous or "the base model",
        )


def threads_per_side(sides: int) -> int | None:
    """An equal share of the CPU cores for each of ``sides`` local sides generating at once.

    Two sides generating together with every core each oversubscribe the CPU, and torch's OpenMP
    threads then wait on each other: measured on 2 busy cores, a batch of 8 ran at 3 tok/s with 2
    threads and 52 tok/s with 1. None (torch's default) for one side, or when OMP_NUM_THREADS is set."""
    if sides < 2 or threads_set_by_operator():
        return None
    return max(1, usable_cores() // sides)


def _set_torch_threads(threads: int) -> None:
    """torch's intra-op threads for the calling thread (OpenMP's setting is per thread; threads that
    already ran torch keep theirs)."""
    import torch

    torch.set_num_threads(threads)
