"""LoRA with Unsloth (FastLanguageModel + trl's SFTTrainer): the production path on CUDA GPUs.

Unsloth patches transformers and trl when imported, so it is imported here, inside ``train``,
and nowhere else. Without a GPU it falls back to a (slow) CPU backend, which is how its code
path is tested on CPU machines, in a subprocess. PyPI's torchvision must be absent on CPU
machines (it fails with ``operator torchvision::nms does not exist``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from supportbot.hardware import torch_dtype
from trainer.backends.base import Progress, TrainResult
from trainer.backends.peft_backend import progress_callback, run_and_save
from trainer.config import TrainConfig


def prompt_completion(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """trl's conversational prompt-completion format: the loss is on the completion only."""
    return [{"prompt": row["messages"][:-1], "completion": row["messages"][-1:]} for row in rows]


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
        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=str(base_model),
            max_seq_length=config.max_length,
            dtype=torch_dtype(dtype) if device == "cuda" else None,
            load_in_4bit=False,
            local_files_only=True,
        )
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
        args = SFTConfig(
            output_dir=str(out_dir / "checkpoints"),
            per_device_train_batch_size=config.accumulation[0],
            gradient_accumulation_steps=config.accumulation[1],
            num_train_epochs=config.epochs,
            max_steps=config.max_steps,
            learning_rate=config.learning_rate,
            lr_scheduler_type="linear",
            logging_steps=1,
            save_strategy="no",
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
        )
        curve: list[dict[str, float]] = []
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(prompt_completion(rows)),
            processing_class=tokenizer,
            callbacks=[progress_callback(progress, curve)],
        )
        trainer.remove_callback(PrinterCallback)
        dataset: Any = trainer.train_dataset
        lengths = [len(ids) for ids in dataset["input_ids"]]
        return run_and_save(
            trainer,
            model,
            tokenizer,
            out_dir=out_dir,
            curve=curve,
            progress=progress,
            lengths=lengths,
            config=config,
            device=device,
            backend=self.name,
            dtype=dtype,
            hardware=hardware.as_dict(),
        )
