"""Local answering with bf16 linear weights packed once for oneDNN, against plain ``nn.Linear``.

    .venv/bin/python bench/packed_weights.py [--batch 8] [--new-tokens 64] [--repeats 3]

Both sides as the bot runs them (``LocalModel.generate_batch``, one torch thread, the detected
dtype, grouped attention): the prompted side's long static prompt and the fine-tuned side's short
prompt, on real Bitext questions, one batch at a time. For each it prints tokens/s packed and
plain (the best of ``--repeats`` runs, interleaved), the ratio, and how many greedy answers are
the same. On a CPU without native bf16 the model is fp32 and nothing is packed (it says so).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.attention_speed import sides
from supportbot.responders.local_model import LocalModel
from supportbot.responders.packed_linear import pack_linears, unpack_linears
from tests.support.models import smollm2_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch

    model = LocalModel(smollm2_dir())
    # As each of the bot's two local sides runs. After the model: loading it detects the hardware,
    # which gives torch every core.
    torch.set_num_threads(1)
    print(
        f"machine: {model.hardware.describe(model.dtype)}; {torch.get_num_threads()} torch thread(s); "
        f"{model.packed} linear layers packed"
    )
    if not model.packed:
        print("nothing to compare: this model is not packed here (fp32, or no native bf16 in oneDNN)")
        return
    print(f"{'side':<28} {'plain tok/s':>12} {'packed tok/s':>13} {'ratio':>7} {'same answers':>13}")
    for side, conversations in sides(args.batch).items():
        best: dict[str, float] = {}
        texts: dict[str, list[str]] = {}
        for _ in range(args.repeats):
            for mode in ("plain", "packed"):
                if mode == "plain":
                    unpack_linears(model.model)
                else:
                    pack_linears(model.model, model.device)
                model.forget_prefix_cache()
                model.generate_batch(conversations[:2], 2)  # warm up
                started = time.perf_counter()
                out = model.generate_batch(conversations, args.new_tokens)
                tok_s = sum(g.completion_tokens for g in out) / (time.perf_counter() - started)
                best[mode] = max(best.get(mode, 0.0), tok_s)
                texts[mode] = [g.text for g in out]
        same = sum(a == b for a, b in zip(texts["plain"], texts["packed"], strict=True))
        ratio = best["packed"] / best["plain"]
        n = len(conversations)
        print(f"{side:<28} {best['plain']:>12.1f} {best['packed']:>13.1f} {ratio:>6.2f}x {same:>8}/{n}")


if __name__ == "__main__":
    main()
