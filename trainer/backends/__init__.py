"""Training backends behind one protocol; ``auto`` picks unsloth on CUDA, else peft."""

from __future__ import annotations

import importlib.util

from trainer.backends.base import TrainingBackend, TrainResult

__all__ = ["TrainResult", "TrainingBackend", "get_backend"]


def get_backend(name: str) -> TrainingBackend:
    if name == "auto":
        import torch

        on_cuda = torch.cuda.is_available()
        name = "unsloth" if on_cuda and importlib.util.find_spec("unsloth") is not None else "peft"
    if name == "unsloth":
        from trainer.backends.unsloth_backend import UnslothBackend

        return UnslothBackend()
    if name == "peft":
        from trainer.backends.peft_backend import PeftBackend

        return PeftBackend()
    raise ValueError(f"unknown training backend {name!r}: use auto, peft or unsloth")
