"""The one protocol every training backend follows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from trainer.config import TrainConfig

# progress(event, data): "step" with {"step", "total", "loss", "epoch"}; "saved" with {"path"}.
Progress = Callable[[str, dict[str, Any]], None]


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
        standard peft adapter directory (adapter_config.json + weights) with loss_curve.json."""
        ...
