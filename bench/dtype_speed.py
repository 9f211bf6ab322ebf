"""fp32 against bf16 on this machine: generation and one LoRA training step, with the ratio.

    .venv/bin/python bench/dtype_speed.py                      # the real SmolLM2-135M
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python bench/dtype_speed.py
                                                               # as an AVX2-only CPU would run it

Prints the CPU (model, torch's kernel level, native bf16 or not) and, per dtype, generation
tokens/s (batch of 1 and of 8, 64 new tokens) and the tokens/s of a training step (batch 4 x 128
tokens, LoRA r=16 on all projections, forward + backward + optimizer). The baseline is fp32 in the
same run: a ratio above 1 means bf16 is faster here. `HARDWARE_BF16=auto` then picks bf16 only
where it is native.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supportbot.hardware import detect, pick_dtype, torch_dtype
from tests.support.models import smollm2_dir

QUESTIONS = [
    "How do I cancel my order?",
    "I was charged twice for the same purchase, what can I do?",
    "Where can I see the status of my refund?",
    "Can I change the delivery address after ordering?",
    "How do I reset my password?",
    "What payment methods do you accept?",
    "I want to talk to a human agent",
    "How long does shipping to Canada take?",
]


def generation_tok_s(model: object, tokenizer: object, batch: int, new_tokens: int) -> float:
    import torch

    prompts = [
        tokenizer.apply_chat_template(  # type: ignore[attr-defined]
            [{"role": "user", "content": q}], add_generation_prompt=True, tokenize=False
        )
        for q in QUESTIONS[:batch]
    ]
    encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)  # type: ignore[operator]
    with torch.inference_mode():
        started = time.perf_counter()
        out = model.generate(  # type: ignore[attr-defined]
            **encoded, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False
        )
        seconds = time.perf_counter() - started
    return (out.shape[1] - encoded["input_ids"].shape[1]) * batch / seconds


def train_step_tok_s(model_dir: Path, dtype: str, steps: int) -> float:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, local_files_only=True)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=targets, task_type="CAUSAL_LM"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(100, 40000, (4, 128))
    use_bf16 = dtype == "bfloat16"

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()  # warm-up
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return ids.numel() * steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--train-steps", type=int, default=3)
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM, AutoTokenizer

    hardware = detect()
    print(f"machine: {hardware.describe()} (auto picks {pick_dtype('auto', hardware)})")
    model_dir = smollm2_dir()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    results: dict[str, dict[str, float]] = {}
    for dtype in ("float32", "bfloat16"):
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch_dtype(dtype), local_files_only=True)
        model.eval()
        generation_tok_s(model, tokenizer, 1, 4)  # warm-up
        results[dtype] = {
            "generate, batch 1": generation_tok_s(model, tokenizer, 1, args.new_tokens),
            "generate, batch 8": generation_tok_s(model, tokenizer, 8, args.new_tokens),
            "train step, 4x128": train_step_tok_s(model_dir, dtype, args.train_steps),
        }
    print(f"{'measure':<20} {'fp32 tok/s':>11} {'bf16 tok/s':>11} {'bf16/fp32':>10}")
    for measure, fp32 in results["float32"].items():
        bf16 = results["bfloat16"][measure]
        print(f"{measure:<20} {fp32:>11.1f} {bf16:>11.1f} {bf16 / fp32:>9.2f}x")


if __name__ == "__main__":
    main()
