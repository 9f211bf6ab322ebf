"""Attention implementations for local answering on this CPU, with the ratio against SDPA.

    .venv/bin/python bench/attention_speed.py [--batch 16] [--new-tokens 64] [--repeats 3]

Both sides as the bot runs them (``LocalModel.generate_batch``, one torch thread, the detected
dtype): the prompted side's long static prompt (the bundled system prompt, knowledge and examples;
its shared head computed once by the prefix cache) and the fine-tuned side's short prompt, on real
Bitext questions, a batch at a time. For each attention implementation (transformers' ``sdpa``
and ``eager``, and ``supportbot.responders.attention``'s grouped one) it prints tokens/s (the best
of ``--repeats`` runs, interleaved), the ratio against SDPA in the same run, and whether the greedy
answers are the same as eager attention's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supportbot.prompts import Message, PromptSet, short_messages
from supportbot.responders.attention import GROUPED
from supportbot.responders.local_model import LocalModel
from tests.support.models import smollm2_dir

SAMPLE = Path(__file__).resolve().parents[1] / "trainer" / "demo_data" / "bitext_sample.jsonl"
IMPLEMENTATIONS = ("sdpa", "eager", GROUPED)


def questions(count: int) -> list[str]:
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    step = max(1, len(rows) // count)
    return [row["question"] for row in rows[::step][:count]]


def sides(count: int) -> dict[str, list[list[Message]]]:
    """``count`` real questions as each local side asks them: the prompted side's long static
    prompt and the fine-tuned side's short one."""
    prompts = PromptSet.load()
    asked = questions(count)
    return {
        "prompted (long prompt)": [prompts.messages(q) for q in asked],
        "fine-tuned (short prompt)": [short_messages(q) for q in asked],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch

    model = LocalModel(smollm2_dir())  # on the CPU it registers and uses GROUPED
    # As each of the bot's two local sides runs. After the model: loading it detects the hardware,
    # which gives torch every core.
    torch.set_num_threads(1)
    print(f"machine: {model.hardware.describe(model.dtype)}; {torch.get_num_threads()} torch thread(s)")
    for side, conversations in sides(args.batch).items():
        prompt_tokens = len(model._encode(conversations[0])[0])
        print(f"\n{side}: {len(conversations)} questions, ~{prompt_tokens} prompt tokens, {args.new_tokens} new")
        best: dict[str, float] = {}
        texts: dict[str, list[str]] = {}
        for _ in range(args.repeats):
            for name in IMPLEMENTATIONS:
                model.model.set_attn_implementation(name)
                model.forget_prefix_cache()  # each implementation computes its own prefix cache
                model.generate_batch(conversations[:2], 2)  # warm up this implementation
                started = time.perf_counter()
                out = model.generate_batch(conversations, args.new_tokens)
                tok_s = sum(g.completion_tokens for g in out) / (time.perf_counter() - started)
                best[name] = max(best.get(name, 0.0), tok_s)
                texts[name] = [g.text for g in out]
        print(f"{'attention':<20} {'tok/s':>8} {'vs sdpa':>8} {'answers as eager':>17}")
        for name in IMPLEMENTATIONS:
            same = sum(a == b for a, b in zip(texts[name], texts["eager"], strict=True))
            print(f"{name:<20} {best[name]:>8.1f} {best[name] / best['sdpa']:>7.2f}x {same:>10}/{len(conversations)}")


if __name__ == "__main__":
    main()
