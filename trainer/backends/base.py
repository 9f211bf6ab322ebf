"""The one protocol every training backend follows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from supportbot.errors import ConfigError
from trainer.config import TrainConfig

# progress(event, data): "step" with {"step", "total", "loss", "epoch", "tokens"}; "eval" with
# {"step", "epoch", "eval_loss"} after each epoch with early stopping; "saved" with {"path"}.
Progress = Callable[[str, dict[str, Any]], None]


def check_quantization(config: TrainConfig, device: str) -> None:
    """QLoRA (4-bit NF4 through bitsandbytes) runs on CUDA GPUs only: refuse it elsewhere before
    any model is loaded, saying what to change."""
    if config.load_in_4bit and device != "cuda":
        raise ConfigError(
            f"TRAIN_QUANTIZATION=4bit (QLoRA) needs a CUDA GPU, and this run trains on {device}: "
            "set TRAIN_QUANTIZATION=none here, or train on a GPU worker"
        )


@dataclass
class TrainResult:
    adapter_dir: Path
    steps: int
    train_loss: float
    loss_curve: list[dict[str, float]] = field(default_factory=list)
    duration_s: float = 0.0
    tokens: int = 0
    peak_memory_mb: float = 0.0
    device: str = "cpu"
    backend: str = ""
    dtype: str = "float32"
    hardware: dict[str, Any] = field(default_factory=dict)
    epochs: float = 0.0  # passes actually run
    # With early stopping: the validation loss after each epoch, and the epoch whose adapter was kept.
    eval_curve: list[dict[str, float]] = field(default_factory=list)
    best_epoch: float | None = None
    train_rows: int = 0
    validation_rows: int = 0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.duration_s if self.duration_s else 0.0

    def metrics(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "steps": self.steps,
            "train_loss": self.train_loss,
            "tokens": self.tokens,
            "tokens_per_s": round(self.tokens_per_s, 1),
            "peak_memory_mb": round(self.peak_memory_mb, 1),
            "duration_s": round(self.duration_s, 2),
            "dtype": self.dtype,
            "hardware": self.hardware,
            "epochs": round(self.epochs, 3),
            "best_epoch": self.best_epoch,
            "eval_curve": self.eval_curve,
            "train_rows": self.train_rows,
            "validation_rows": self.validation_rows,
        }


class TrainingBackend(Protocol):
    name: str

    def train(
        self,
        rows: list[dict[str, Any]],
        base_model: Path,
        config: TrainConfig,
        out_dir: Path,
        progress: Progress | None = None,
    ) -> TrainResult:
        """Train a LoRA adapter on chat rows ({"messages": [system, user, assistant]}) and save a
        standard peft adapter directory (adapter_config.json + weights) with loss_curve.json.
        With ``config.early_stopping``, hold out ``config.validation_percent`` of the rows
        (``trainer.dataset.hold_out``) and save the epoch with the lowest loss on them."""
        ...
