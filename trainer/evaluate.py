"""Score models on the frozen eval split, and the gate that decides promotion."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from supportbot.prompts import Message
from supportbot.responders.local_model import Generation
from trainer.judge import Judge

# answer(conversations) -> generations; each side supplies its own (adapter, prompt, endpoint).
AnswerBatch = Callable[[list[str]], list[Generation]]
GATE_BATCH = 16  # questions generated together (trainer.pipeline sizes them per side)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (better than the normal one near 0 or 1)."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def score(  # noqa: PLR0917 - the progress callback is optional
    name: str,
    answer: AnswerBatch,
    rows: list[dict[str, Any]],
    judge: Judge,
    batch_size: int = GATE_BATCH,
    progress: Callable[[int, int, int], None] | None = None,
) -> dict[str, Any]:
    """Answer every eval question with one side and judge it: the per-side report.

    Questions are answered in batches of similar length (less padding), and reported in their
    own order. ``progress(done, total, tokens)`` is called after each batch. Each example's ``seconds`` is
    its share of its batch's wall time (answers in a batch are generated together)."""
    questions = [row["messages"][1]["content"] for row in rows]
    references = [row["messages"][2]["content"] for row in rows]
    order = sorted(range(len(questions)), key=lambda i: len(questions[i]))
    started = time.perf_counter()
    answered: dict[int, tuple[Generation, float]] = {}
    if progress is not None:
        progress(0, len(questions), 0)
    for i in range(0, len(order), batch_size):
        indices = order[i : i + batch_size]
        batch_started = time.perf_counter()
        batch = answer([questions[j] for j in indices])
        share = (time.perf_counter() - batch_started) / max(1, len(batch))
        answered.update({j: (generation, share) for j, generation in zip(indices, batch, strict=True)})
        if progress is not None:
            tokens = sum(generation.completion_tokens for generation, _ in answered.values())
            progress(len(answered), len(questions), tokens)
    seconds = time.perf_counter() - started
    generations = [answered[j][0] for j in range(len(questions))]
    shares = [answered[j][1] for j in range(len(questions))]
    verdicts = judge.judge([g.text for g in generations], references)
    n, correct = len(rows), sum(verdicts.correct)
    low, high = wilson_interval(correct, n)
    return {
        "name": name,
        "n": n,
        "accuracy": correct / n if n else 0.0,
        "ci95": [low, high],
        "strict_accuracy": sum(verdicts.strict) / n if n else 0.0,
        "mean_similarity": sum(verdicts.scores) / n if n else 0.0,
        "prompt_tokens_per_answer": sum(g.prompt_tokens for g in generations) / n if n else 0.0,
        "completion_tokens_per_answer": sum(g.completion_tokens for g in generations) / n if n else 0.0,
        "seconds_per_answer": seconds / n if n else 0.0,
        "examples": [
            {
                "question": q,
                "reference": r,
                "answer": g.text,
                "score": s,
                "correct": c,
                "strict": st,
                "prompt_tokens": g.prompt_tokens,
                "completion_tokens": g.completion_tokens,
                "seconds": sec,
            }
            for q, r, g, s, c, st, sec in zip(
                questions,
                references,
                generations,
                verdicts.scores,
                verdicts.correct,
                verdicts.strict,
                shares,
                strict=True,
            )
        ],
    }


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide(candidate: float, reference: float, margin: float, reference_name: str) -> Decision:
    """Promote only if the candidate beats the live adapter (or, for the first, the bare base) by
    at least ``margin``; with a zero margin it must still be strictly better."""
    gain = candidate - reference
    needed = f"{margin * 100:.1f} pts" if margin > 0 else "any gain"
    if (gain >= margin and gain > 0) if margin > 0 else gain > 0:
        return Decision(True, f"{candidate:.1%} vs {reference_name} {reference:.1%} (+{gain * 100:.1f} pts)")
    return Decision(
        False, f"{candidate:.1%} vs {reference_name} {reference:.1%} ({gain * 100:+.1f} pts; needs {needed})"
    )


def to_messages(system_prompt: str) -> Callable[[str], list[Message]]:
    def build(question: str) -> list[Message]:
        return [{"role": "system", "content": system_prompt}, {"role": "user", "content": question}]

    return build
