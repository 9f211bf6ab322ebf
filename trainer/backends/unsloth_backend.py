"""LoRA and QLoRA with Unsloth (FastLanguageModel + trl's SFTTrainer): the production path on CUDA GPUs.

Unsloth patches transformers and trl when imported, so it is imported here, inside ``train``,
and nowhere else. Without a GPU it falls back to a (slow) CPU backend, which is how its code
path is tested on CPU machines, in a subprocess. PyPI's torchvision must be absent on CPU
machines (it fails with ``operator torchvision::nms does not exist``).

QLoRA (``TrainConfig.load_in_4bit``, TRAIN_QUANTIZATION=4bit) loads the frozen base model in 4-bit
NF4 with bitsandbytes; the LoRA weights stay in 16 bits and are saved as the same peft adapter as
LoRA's, so an adapter trained on the 4-bit base loads on the full-precision one. On CUDA that is
Unsloth's own path. On a CPU, Unsloth's fallback quantizes with bitsandbytes' CPU kernel where
that kernel works (it checks with a real forward and backward) and silently loads 16-bit weights
where it does not; this backend counts the 4-bit layers after loading and stops with an error
rather than train in 16 bits while the run says 4-bit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from supportbot.errors import ConfigError
from supportbot.hardware import torch_dtype
from trainer.backends.base import Progress, TrainResult
from trainer.backends.peft_backend import (
    progress_callback,
    run_and_save,
    selection_args,
    selection_callbacks,
    split_for_early_stopping,
)
from trainer.config import TrainConfig


def prompt_completion(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """trl's conversational prompt-completion format: the loss is on the completion only."""
    return [{"prompt": row["messages"][:-1], "completion": row["messages"][-1:]} for row in rows]


def four_bit_layers(model: Any) -> int:
    """How many linear layers of ``model`` hold 4-bit weights (bitsandbytes' ``Linear4bit``)."""
    return sum(1 for module in model.modules() if type(module).__name__ == "Linear4bit")


def require_four_bit(model: Any, device: str) -> int:
    """The number of 4-bit layers; a clear error when the base model did not load in 4 bits."""
    count = four_bit_layers(model)
    if count == 0:
        where = "this GPU" if device == "cuda" else "this CPU (bitsandbytes' CPU 4-bit kernel did not run here)"
        raise ConfigError(
            f"TRAIN_QUANTIZATION=4bit: the base model did not load in 4 bits on {where}; "
            "QLoRA needs bitsandbytes with a CUDA GPU. Set TRAIN_QUANTIZATION=none to train LoRA in 16 bits."
        )
    return count


class UnslothBackend:
    name = "unsloth"

    def train(
        self,
        rows: list[dict[str, Any]],
        base_model: Path,
        config: TrainConfig,
        out_dir: Path,
        progress: Progress | None = None,
    ) -> TrainResult:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from datasets import Dataset
        from transformers import PrinterCallback
        from trl import SFTConfig, SFTTrainer
        from unsloth import FastLanguageModel  # patches transformers and trl: keep it here

        dtype, hardware = config.precision()
        device = hardware.device
        if device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()  # the peak of this run, loading included
        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=str(base_model),
            max_seq_length=config.max_length,
            dtype=torch_dtype(dtype) if device == "cuda" else None,
            load_in_4bit=config.load_in_4bit,
            local_files_only=True,
        )
        if config.load_in_4bit:
            require_four_bit(model, device)
        model = FastLanguageModel.get_peft_model(
            model,
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=list(config.target_modules),
            bias="none",
            use_gradient_checkpointing="unsloth",
            random_state=config.seed,
        )
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        train_rows, validation_rows = split_for_early_stopping(rows, config)
        args = SFTConfig(
            output_dir=str(out_dir / "checkpoints"),
            per_device_train_batch_size=config.accumulation[0],
            gradient_accumulation_steps=config.accumulation[1],
            num_train_epochs=config.epochs,
            max_steps=config.max_steps,
            learning_rate=config.learning_rate,
            lr_scheduler_type="linear",
            logging_steps=1,
            report_to=[],
            bf16=dtype == "bfloat16",
            fp16=dtype == "float16",
            train_sampling_strategy="group_by_length" if config.group_by_length else "random",
            include_num_input_tokens_seen=True,
            seed=config.seed,
            data_seed=config.seed,
            max_length=config.max_length,
            completion_only_loss=True,
            dataloader_num_workers=0,
            disable_tqdm=True,
            **selection_args(config, bool(validation_rows)),
        )
        curve: list[dict[str, float]] = []
        eval_curve: list[dict[str, float]] = []
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(prompt_completion(train_rows)),
            eval_dataset=Dataset.from_list(prompt_completion(validation_rows)) if validation_rows else None,
            processing_class=tokenizer,
            callbacks=[
                progress_callback(progress, curve, eval_curve),
                *selection_callbacks(config, bool(validation_rows)),
            ],
        )
        trainer.remove_callback(PrinterCallback)
        dataset: Any = trainer.train_dataset
        lengths = [len(ids) for ids in dataset["input_ids"]]
        result = run_and_save(
            trainer,
            model,
            tokenizer,
            out_dir=out_dir,
            curve=curve,
            eval_curve=eval_curve,
            progress=progress,
            lengths=lengths,
            validation_rows=len(validation_rows),
            config=config,
            device=device,
            backend=self.name,
            dtype=dtype,
            hardware=hardware.as_dict(),
        )
        result.dtype = f"{dtype}, base in nf4" if config.load_in_4bit else dtype
        return result
