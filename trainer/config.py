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
    epochs: float = field(
        default=1.0, metadata={"help": "passes over the training examples; with early_stopping, the most passes"}
    )
    early_stopping: bool = field(
        default=False,
        metadata={
            "help": "hold out validation_percent of the rows, measure their loss after each epoch, keep the "
            "epoch with the lowest and stop after `patience` epochs without a lower one"
        },
    )
    validation_percent: int = field(
        default=10, metadata={"help": "share of the rows held out with early_stopping (stratified by label), in %"}
    )
    patience: int = field(default=1, metadata={"help": "epochs without a lower validation loss before stopping"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many steps (-1: run all epochs)"})
    max_length: int = field(default=320, metadata={"help": "longest example in tokens; longer ones are cut"})
    batch_size: int = field(default=8, metadata={"help": "examples per optimisation step"})
    micro_batch_size: int = field(
        default=4,
        metadata={
            "help": "most examples per forward pass (the largest divisor of batch_size up to this); "
            "the passes of one step are accumulated"
        },
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
    load_in_4bit: bool = field(
        default=False,
        metadata={"help": "QLoRA: the frozen base model in 4-bit NF4 (bitsandbytes), on CUDA GPUs only"},
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
            (1 <= self.validation_percent <= 50, "validation_percent must be in [1, 50]"),
            (self.patience >= 1, "patience must be at least 1"),
            (self.max_steps == -1 or self.max_steps >= 1, "max_steps must be -1 or at least 1"),
            (16 <= self.max_length <= 8192, "max_length must be in [16, 8192]"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.micro_batch_size >= 1, "micro_batch_size must be at least 1"),
            (self.dtype in DTYPES, f"dtype must be one of {', '.join(DTYPES)}"),
            (self.hardware_bf16 in ("auto", "yes", "no"), "hardware_bf16 must be auto, yes or no"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TrainConfig:
        """The configuration the settings ask for: TRAIN_EPOCHS (auto: early stopping up to
        TRAIN_MAX_EPOCHS on TRAIN_VALIDATION_PERCENT of the rows), the LORA_* settings,
        LEARNING_RATE, TRAIN_BATCH_SIZE, TRAIN_MAX_LENGTH, TRAIN_QUANTIZATION, TRAIN_DTYPE and
        HARDWARE_BF16. ``overrides`` win over all of them."""
        auto = settings.train_epochs == "auto"
        values: dict[str, Any] = {
            "epochs": float(settings.train_max_epochs if auto else settings.train_epochs),
            "early_stopping": auto,
            "validation_percent": settings.train_validation_percent,
            "lora_r": settings.lora_rank,
            "lora_alpha": settings.lora_alpha,
            "lora_dropout": settings.lora_dropout,
            "target_modules": module_names(settings.lora_target_modules),
            "learning_rate": settings.learning_rate,
            "batch_size": settings.train_batch_size,
            "max_length": settings.train_max_length,
            "load_in_4bit": settings.train_quantization == "4bit",
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
        micro = max(d for d in range(1, min(self.micro_batch_size, self.batch_size) + 1) if self.batch_size % d == 0)
        return micro, self.batch_size // micro

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        return data


def module_names(value: str) -> tuple[str, ...]:
    """``"q_proj, v_proj"`` -> ``("q_proj", "v_proj")``: LORA_TARGET_MODULES as a tuple."""
    return tuple(name.strip() for name in value.split(",") if name.strip())
