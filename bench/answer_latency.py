"""Answer latency and throughput per responder, on real Bitext questions with the real SmolLM2.

Both responders share the in-process SmolLM2-135M-Instruct: the fine-tuned side with its short
prompt, the locally prompted side with the long prompt (knowledge + examples). The ratio shows
what the long prompt costs in time; the fine-tuned side is the baseline.

    .venv/bin/python bench/answer_latency.py --questions 8 --max-new-tokens 64
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supportbot.prompts import PromptSet
from supportbot.responders.local import LocalPromptedResponder, LocalResponder
from supportbot.responders.local_model import LocalModel
from tests.support.models import smollm2_dir
from tests.support.paths import BITEXT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float32"])
    parser.add_argument("--data", type=Path, default=BITEXT, help="Bitext-style JSONL (default: the bundled sample)")
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.data.read_text().splitlines()]
    questions = [row["question"] for row in rows[:: len(rows) // args.questions]][: args.questions]
    model = LocalModel(smollm2_dir(), dtype=args.dtype)
    responders = {
        "fine-tuned (short prompt)": LocalResponder(model, args.max_new_tokens, 0.1),
        "prompted (long prompt)": LocalPromptedResponder(model, PromptSet.load(), args.max_new_tokens, 0.1),
    }
    responders["fine-tuned (short prompt)"].answer("warm up")
    results = {}
    for name, responder in responders.items():
        answers = [responder.answer(q) for q in questions]
        latencies = [a.latency_s for a in answers]
        tokens_out = sum(a.usage.completion_tokens for a in answers)
        results[name] = statistics.median(latencies)
        print(
            f"{name:<27} p50 {statistics.median(latencies):5.2f} s  max {max(latencies):5.2f} s  "
            f"in {statistics.mean(a.usage.prompt_tokens for a in answers):6.0f} tok  "
            f"out {tokens_out / len(answers):5.1f} tok  {tokens_out / sum(latencies):5.1f} tok/s"
        )
    baseline = results["fine-tuned (short prompt)"]
    print(f"ratio prompted/fine-tuned p50 latency: {results['prompted (long prompt)'] / baseline:.2f}x")


if __name__ == "__main__":
    main()
