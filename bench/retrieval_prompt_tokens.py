"""Prompt tokens per answer, PROMPT_MODE=static against retrieval, on the bundled Bitext sample.

Imports ``--seeds`` rows per intent as seeds into a scratch Redis prefix, holds out ``--questions``
other rows per intent as the questions, and builds each question's prompt both ways, as the
prompted side would send it: static = the default system prompt, the Bitext KB and the 3 shortest
training answers of different intents (as ``supportbot demo`` writes it); retrieval = RETRIEVAL_K
closest approved answers and knowledge within PROMPT_TOKEN_BUDGET. Tokens are counted with
SmolLM2's tokenizer and chat template. Also reports how often the closest retrieved example has
the question's intent (a cheap check of the retrieval, not of the answers). No generation.

    .venv/bin/python bench/retrieval_prompt_tokens.py --redis-url redis://127.0.0.1:6379/11
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis
from transformers import AutoTokenizer

from supportbot.prompts import PromptSet, prompt_for_mode
from supportbot.records import SeedExample
from supportbot.store import Store
from tests.support.models import smollm2_dir
from tests.support.paths import BITEXT

PREFIX = "bench-retrieval:"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--seeds", type=int, default=12, help="rows per intent imported as seeds")
    parser.add_argument("--questions", type=int, default=4, help="held-out rows per intent asked")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--budget", type=int, default=2000)
    args = parser.parse_args()

    by_intent: dict[str, list[dict]] = defaultdict(list)
    for line in BITEXT.read_text().splitlines():
        row = json.loads(line)
        by_intent[row["intent"]].append(row)
    seeds = [r for rows in by_intent.values() for r in rows[: args.seeds]]
    asked = [r for rows in by_intent.values() for r in rows[args.seeds : args.seeds + args.questions]]
    intent_of = {r["question"]: r["intent"] for r in seeds}

    client = redis.Redis.from_url(args.redis_url, decode_responses=True)
    store = Store(client, PREFIX)
    for key in client.scan_iter(match=f"{PREFIX}*"):
        client.delete(key)
    store.seeds.add_all(SeedExample(r["id"], r["question"], r["answer"], "bitext", r["intent"]) for r in seeds)

    defaults = PromptSet.load()
    knowledge = (BITEXT.parent / "knowledge.md").read_text().strip()
    shortest, labels = [], set()
    for row in sorted(seeds, key=lambda r: len(r["answer"])):
        if row["intent"] not in labels and len(shortest) < 3:
            labels.add(row["intent"])
            shortest.append((row["question"], row["answer"]))
    static = PromptSet(defaults.system, knowledge, tuple(shortest))
    settings = SimpleNamespace(
        prompt_mode="retrieval",
        retrieval_k=args.k,
        prompt_token_budget=args.budget,
        min_upvoters=2,
        eval_percent=10,
    )
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir())
    # Only the seeds compete (not the static prompt's 3), as with an empty examples.jsonl.
    retrieval = prompt_for_mode(settings, PromptSet(defaults.system, knowledge, ()), store, tokenizer)

    def tokens(messages: list[dict[str, str]]) -> int:
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    retrieval.messages("warm-up")  # loads MiniLM and builds the index
    static_tokens, retrieval_tokens, shots, hits, build_s = [], [], [], 0, []
    for row in asked:
        static_tokens.append(tokens(static.messages(row["question"])))
        started = time.perf_counter()
        messages = retrieval.messages(row["question"])
        build_s.append(time.perf_counter() - started)
        retrieval_tokens.append(tokens(messages))
        examples = [m["content"] for m in messages[1:-1:2]]
        shots.append(len(examples))
        hits += bool(examples) and intent_of.get(examples[-1]) == row["intent"]
    for key in client.scan_iter(match=f"{PREFIX}*"):
        client.delete(key)

    def line(name: str, values: list[int]) -> str:
        mean, median = statistics.mean(values), statistics.median(values)
        return f"{name:>9}: mean {mean:,.0f}, median {median:,.0f}, max {max(values):,}"

    print(f"{len(seeds)} seeds ({args.seeds}/intent), {len(asked)} held-out questions", end=", ")
    print(f"k={args.k}, budget={args.budget}")
    print("prompt tokens per answer (SmolLM2 tokenizer, chat template included)")
    print(line("static", static_tokens))
    print(line("retrieval", retrieval_tokens))
    print(f"examples per retrieval prompt: mean {statistics.mean(shots):.2f}")
    print(f"closest example of the question's intent: {hits}/{len(asked)} ({hits / len(asked):.0%})")
    print(f"building one retrieval prompt: median {statistics.median(build_s) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
