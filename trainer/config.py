"""Training configuration: one dataclass, fields with help text, validated on creation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from supportbot.hardware import Dtype, Hardware, detect, pick_dtype
from supportbot.settings import Settings

DTYPES = ("auto", "bfloat16", "float16", "float32")


@dataclass
class TrainConfig:
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (alpha / r scales the update)"})
    lora_dropout: float = field(default=0.0, metadata={"help": "dropout on the LoRA input"})
    target_modules: tuple[str, ...] = field(
        default=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
        metadata={"help": "module names that get LoRA weights"},
    )
    learning_rate: float = field(default=2e-4, metadata={"help": "peak learning rate (linear decay)"})
    epochs: float = field(default=1.0, metadata={"help": "passes over the training examples"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many steps (-1: run all epochs)"})
    max_length: int = field(default=320, metadata={"help": "longest example in tokens; longer ones are cut"})
    batch_size: int = field(default=8, metadata={"help": "examples per optimisation step"})
    micro_batch_size: int = field(
        default=4,
        metadata={"help": "examples per forward pass; batch_size / micro_batch_size passes are accumulated"},
    )
    seed: int = field(default=42, metadata={"help": "seed for data order and LoRA initialisation"})
    dtype: str = field(
        default="auto",
        metadata={"help": "precision: auto (bf16 where the hardware has it, fp16 on older GPUs, else fp32) or a dtype"},
    )
    hardware_bf16: str = field(default="auto", metadata={"help": "auto, or yes/no to override bf16 detection"})
    group_by_length: bool = field(
        default=True, metadata={"help": "batch examples of similar length together (less padding)"}
    )

    def __post_init__(self) -> None:
        self.target_modules = tuple(self.target_modules)
        checks = [
            (self.lora_r >= 1, "lora_r must be at least 1"),
            (self.lora_alpha >= 1, "lora_alpha must be at least 1"),
            (0 <= self.lora_dropout < 1, "lora_dropout must be in [0, 1)"),
            (len(self.target_modules) > 0, "target_modules must name at least one module"),
            (0 < self.learning_rate < 1, "learning_rate must be in (0, 1)"),
            (self.epochs > 0, "epochs must be positive"),
            (self.max_steps == -1 or self.max_steps >= 1, "max_steps must be -1 or at least 1"),
            (16 <= self.max_length <= 8192, "max_length must be in [16, 8192]"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.micro_batch_size >= 1, "micro_batch_size must be at least 1"),
            (
                self.batch_size % self.micro_batch_size == 0 or self.micro_batch_size > self.batch_size,
                "batch_size must be a multiple of micro_batch_size",
            ),
            (self.dtype in DTYPES, f"dtype must be one of {', '.join(DTYPES)}"),
            (self.hardware_bf16 in ("auto", "yes", "no"), "hardware_bf16 must be auto, yes or no"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TrainConfig:
        """The configuration the settings ask for (TRAIN_EPOCHS, TRAIN_DTYPE, HARDWARE_BF16)."""
        values: dict[str, Any] = {
            "epochs": settings.train_epochs,
            "dtype": settings.train_dtype,
            "hardware_bf16": settings.hardware_bf16,
        }
        return cls(**{**values, **overrides})

    def precision(self) -> tuple[Dtype, Hardware]:
        """The dtype this run trains in on this machine, and the machine."""
        hardware = detect(self.hardware_bf16)  # type: ignore[arg-type]
        return pick_dtype(self.dtype, hardware), hardware  # type: ignore[arg-type]

    @property
    def accumulation(self) -> tuple[int, int]:
        """(examples per forward pass, passes per step): the same step as one batch, in less memory
        (fp32 training of SmolLM2 at 8 x 320 tokens peaked at 8.8 GB; 4 x 2 halves the activations)."""
        micro = min(self.micro_batch_size, self.batch_size)
        return micro, self.batch_size // micro

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        return data
