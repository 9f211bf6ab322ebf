"""LoRA with transformers + peft, on CPU or any GPU.

The loss is on the answer tokens only: prompt tokens get label -100. This uses transformers'
``Trainer`` rather than trl's ``SFTTrainer``, because trl 1.15's SFTTrainer always installs a fused
LM head built on Triton kernels, which CPU builds of PyTorch do not ship (it fails with
``'NoneType' object has no attribute 'apply'``). The unsloth backend uses SFTTrainer on CUDA.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path
from typing import Any

from supportbot.errors import ConfigError
from trainer.backends.base import Progress, TrainResult, check_quantization
from trainer.config import TrainConfig
from trainer.dataset import hold_out


def tokenize(rows: list[dict[str, Any]], tokenizer: Any, max_length: int) -> list[dict[str, list[int]]]:
    """Chat rows to input ids, with labels only on the assistant's answer."""
    examples = []
    for row in rows:
        messages = row["messages"]
        prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True)
        full = tokenizer.apply_chat_template(messages, tokenize=True)
        prompt, full = _ids(prompt), _ids(full)
        if full[: len(prompt)] != prompt:
            raise ValueError("the chat template does not extend the prompt with the answer")
        ids = full[:max_length]
        labels = ([-100] * len(prompt) + full[len(prompt) :])[:max_length]
        if all(label == -100 for label in labels):
            continue  # the prompt alone fills max_length: nothing to learn from
        examples.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
    return examples


def _ids(encoded: Any) -> list[int]:
    return list(encoded["input_ids"] if isinstance(encoded, dict) or hasattr(encoded, "keys") else encoded)


def peak_memory_mb(device: str) -> float:
    if device == "cuda":
        import torch

        return float(torch.cuda.max_memory_allocated()) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def split_for_early_stopping(
    rows: list[dict[str, Any]], config: TrainConfig
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows to train on, rows to choose the epoch on): all rows and none without early stopping."""
    if not config.early_stopping:
        return list(rows), []
    return hold_out(rows, config.validation_percent, config.seed)


def selection_args(config: TrainConfig, validating: bool) -> dict[str, Any]:
    """Trainer arguments for early stopping: the validation loss after every epoch, the adapter
    saved whenever it is the lowest so far, and that one loaded back at the end."""
    if not validating:
        return {"eval_strategy": "no", "save_strategy": "no"}
    return {
        "eval_strategy": "epoch",
        "save_strategy": "best",
        "metric_for_best_model": "eval_loss",
        "greater_is_better": False,
        "load_best_model_at_end": True,
        "save_total_limit": 1,
        "save_only_model": True,  # the adapter alone: no optimizer state is written
        "per_device_eval_batch_size": config.accumulation[0],
    }


def selection_callbacks(config: TrainConfig, validating: bool) -> list[Any]:
    """transformers' EarlyStoppingCallback: stop after ``patience`` epochs without a lower loss."""
    if not validating:
        return []
    from transformers import EarlyStoppingCallback

    return [EarlyStoppingCallback(early_stopping_patience=config.patience)]


def progress_callback(
    progress: Progress | None, curve: list[dict[str, float]], eval_curve: list[dict[str, float]] | None = None
) -> Any:
    from transformers import TrainerCallback

    class Report(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            if progress:  # step 0: the clock of tokens/s and the ETA starts here, not at step 1
                progress("step", {"step": 0, "total": state.max_steps, "epoch": 0.0, "tokens": 0})

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **_: Any) -> None:
            if logs and "eval_loss" in logs:
                point = {"step": state.global_step, "epoch": float(state.epoch or 0), "eval_loss": logs["eval_loss"]}
                if eval_curve is not None:
                    eval_curve.append(point)
                if progress:
                    progress("eval", point)
            if logs and "loss" in logs:
                point = {"step": state.global_step, "epoch": float(state.epoch or 0), "loss": float(logs["loss"])}
                curve.append(point)
                if progress:
                    tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)
                    progress("step", {**point, "total": state.max_steps, "tokens": tokens})

    return Report()


def save_adapter(
    model: Any, tokenizer: Any, adapter_dir: Path, curve: list[dict[str, float]], eval_curve: list[dict[str, float]]
) -> None:
    model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    (adapter_dir / "loss_curve.json").write_text(json.dumps(curve, indent=1))
    if eval_curve:
        (adapter_dir / "eval_loss_curve.json").write_text(json.dumps(eval_curve, indent=1))


def best_epoch(state: Any, eval_curve: list[dict[str, float]]) -> float | None:
    """The epoch whose adapter was kept (the trainer's best checkpoint), or None without one."""
    step = getattr(state, "best_global_step", None)
    if not eval_curve or step is None:
        return None
    return next((point["epoch"] for point in eval_curve if point["step"] == step), None)


def run_and_save(
    trainer: Any,
    model: Any,
    tokenizer: Any,
    *,
    out_dir: Path,
    curve: list[dict[str, float]],
    progress: Progress | None,
    lengths: list[int],
    config: TrainConfig,
    device: str,
    backend: str,
    dtype: str,
    hardware: dict[str, Any],
    eval_curve: list[dict[str, float]] | None = None,
    validation_rows: int = 0,
) -> TrainResult:
    """Train, save the adapter (never a merged export; with early stopping, the best epoch's,
    which the trainer has loaded back) with its loss curves, and measure: the part both backends
    share."""
    started = time.perf_counter()
    output = trainer.train()
    duration = time.perf_counter() - started
    adapter_dir = out_dir / "adapter"
    eval_curve = eval_curve if eval_curve is not None else []
    save_adapter(model, tokenizer, adapter_dir, curve, eval_curve)
    if progress:
        progress("saved", {"path": str(adapter_dir)})
    steps = int(output.global_step)
    mean_length = sum(lengths) / max(len(lengths), 1)
    return TrainResult(
        adapter_dir=adapter_dir,
        steps=steps,
        train_loss=float(output.training_loss),
        loss_curve=curve,
        duration_s=duration,
        tokens=int(mean_length * min(steps * config.batch_size, len(lengths) * config.epochs)),
        epochs=float(trainer.state.epoch or 0.0),
        eval_curve=eval_curve,
        best_epoch=best_epoch(trainer.state, eval_curve),
        train_rows=len(lengths),
        validation_rows=validation_rows,
        peak_memory_mb=peak_memory_mb(device),
        device=device,
        backend=backend,
        dtype=dtype,
        hardware=hardware,
    )


def load_base(base_model: Path, config: TrainConfig, dtype: str) -> Any:
    """The frozen base model: fp32 weights (autocast gives bf16/fp16 compute), or with
    ``load_in_4bit`` (QLoRA, CUDA only) 4-bit NF4 through bitsandbytes, prepared for k-bit training."""
    import torch
    from transformers import AutoModelForCausalLM

    if not config.load_in_4bit:
        return AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32, local_files_only=True)
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "TRAIN_QUANTIZATION=4bit needs bitsandbytes: install the train extra (pip install 'supportbot[train]')"
        ) from exc
    from peft import prepare_model_for_kbit_training
    from transformers import BitsAndBytesConfig

    compute = torch.bfloat16 if dtype == "bfloat16" else torch.float16
    quantization = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute
    )
    base = AutoModelForCausalLM.from_pretrained(
        base_model, quantization_config=quantization, device_map={"": 0}, local_files_only=True
    )
    return prepare_model_for_kbit_training(base)


class PeftBackend:
    name = "peft"

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
        from peft import LoraConfig, get_peft_model
        from transformers import (
            AutoTokenizer,
            DataCollatorForSeq2Seq,
            PrinterCallback,
            Trainer,
            TrainingArguments,
            set_seed,
        )

        set_seed(config.seed)
        dtype, hardware = config.precision()
        device = hardware.device
        check_quantization(config, device)
        tokenizer = AutoTokenizer.from_pretrained(base_model, local_files_only=True)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        train_rows, validation_rows = split_for_early_stopping(rows, config)
        examples = tokenize(train_rows, tokenizer, config.max_length)
        validation = tokenize(validation_rows, tokenizer, config.max_length)
        if not examples:
            raise ValueError("no training example fits max_length")
        base = load_base(base_model, config, dtype)
        model = get_peft_model(
            base,
            LoraConfig(
                r=config.lora_r,
                lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout,
                target_modules=list(config.target_modules),
                task_type="CAUSAL_LM",
            ),
        )
        args = TrainingArguments(
            output_dir=str(out_dir / "checkpoints"),
            use_cpu=device == "cpu",
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
            dataloader_num_workers=0,
            disable_tqdm=True,
            remove_unused_columns=False,
            **selection_args(config, bool(validation)),
        )
        curve: list[dict[str, float]] = []
        eval_curve: list[dict[str, float]] = []
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(examples),
            eval_dataset=Dataset.from_list(validation) if validation else None,
            data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
            callbacks=[progress_callback(progress, curve, eval_curve), *selection_callbacks(config, bool(validation))],
        )
        trainer.remove_callback(PrinterCallback)  # progress goes through our callback, not print()
        lengths = [len(e["input_ids"]) for e in examples]
        return run_and_save(
            trainer,
            model,
            tokenizer,
            out_dir=out_dir,
            curve=curve,
            eval_curve=eval_curve,
            progress=progress,
            lengths=lengths,
            validation_rows=len(validation),
            config=config,
            device=device,
            backend=self.name,
            dtype=dtype,
            hardware=hardware.as_dict(),
        )
