"""Score models on the frozen eval split, and the gate that decides promotion."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from supportbot.accuracy import PairedTest, mcnemar_exact, wilson_interval
from supportbot.prompts import Message
from supportbot.responders.local_model import Generation
from trainer.judge import Judge, Reference

# answer(conversations) -> generations; each side supplies its own (adapter, prompt, endpoint).
AnswerBatch = Callable[[list[str]], list[Generation]]
GATE_BATCH = 16  # questions generated together (trainer.pipeline sizes them per side)


def score(  # noqa: PLR0917 - the progress callback is optional
    name: str,
    answer: AnswerBatch,
    rows: list[dict[str, Any]],
    judge: Judge,
    batch_size: int = GATE_BATCH,
    progress: Callable[[int, int, int], None] | None = None,
    pool: Sequence[Reference] = (),
) -> dict[str, Any]:
    """Answer every eval question with one side and judge it: the per-side report.

    Questions are answered in batches of similar length (less padding), and reported in their
    own order. ``progress(done, total, tokens)`` is called after each batch. Each example's ``seconds`` is
    its share of its batch's wall time (answers in a batch are generated together). The headline
    verdict uses the rows' labels and ``pool``, more labelled references (see trainer.judge)."""
    questions = [row["messages"][1]["content"] for row in rows]
    references = [row["messages"][2]["content"] for row in rows]
    labels = [row.get("label") or None for row in rows]
    order = sorted(range(len(questions)), key=lambda i: len(questions[i]))
    answered: dict[int, tuple[Generation, float]] = {}
    if progress is not None:
        progress(0, len(questions), 0)
    for i in range(0, len(order), batch_size):
        indices = order[i : i + batch_size]
        batch_started = time.perf_counter()
        batch = answer([questions[j] for j in indices])
        share = (time.perf_counter() - batch_started) / max(1, sum(not g.cached for g in batch))
        answered.update(
            {  # an answer from the gate's cache cost what it cost when it was generated
                j: (generation, generation.compute_s if generation.cached else share)
                for j, generation in zip(indices, batch, strict=True)
            }
        )
        if progress is not None:
            tokens = sum(generation.completion_tokens for generation, _ in answered.values())
            progress(len(answered), len(questions), tokens)
    generations = [answered[j][0] for j in range(len(questions))]
    shares = [answered[j][1] for j in range(len(questions))]
    verdicts = judge.judge([g.text for g in generations], references, labels, pool)
    nearest = verdicts.nearest or [None] * len(rows)
    n, strict, lenient = len(rows), sum(verdicts.strict), sum(verdicts.correct)
    return {
        "name": name,
        "n": n,
        # The headline: the reference nearest the answer is its own, or of its label (right topic).
        "accuracy": strict / n if n else 0.0,
        "ci95": list(wilson_interval(strict, n)),
        # Secondary: similarity >= the judge's threshold, which a well-learned style alone passes.
        "lenient_accuracy": lenient / n if n else 0.0,
        "lenient_ci95": list(wilson_interval(lenient, n)),
        "mean_similarity": sum(verdicts.scores) / n if n else 0.0,
        "prompt_tokens_per_answer": sum(g.prompt_tokens for g in generations) / n if n else 0.0,
        "completion_tokens_per_answer": sum(g.completion_tokens for g in generations) / n if n else 0.0,
        "seconds_per_answer": sum(shares) / n if n else 0.0,
        "examples": [
            {
                "question": q,
                "reference": r,
                "answer": g.text,
                "score": s,
                "correct": c,
                "strict": st,
                "label": label,
                "nearest_label": near,
                "prompt_tokens": g.prompt_tokens,
                "completion_tokens": g.completion_tokens,
                "seconds": sec,
            }
            for q, r, g, s, c, st, label, near, sec in zip(
                questions,
                references,
                generations,
                verdicts.scores,
                verdicts.correct,
                verdicts.strict,
                labels,
                nearest,
                shares,
                strict=True,
            )
        ],
    }


def reference_pool(rows: list[dict[str, Any]]) -> list[Reference]:
    """The labelled answers of chat rows (e.g. the training split) as the headline's reference pool:
    with more answers per label, a right answer's nearest reference is more often of its label."""
    return [Reference(row["messages"][2]["content"], row["label"]) for row in rows if row.get("label")]


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    test: PairedTest | None = None


def decide(
    candidate: list[bool],
    reference: list[bool],
    margin: float,
    confidence: float,
    reference_name: str,
) -> Decision:
    """Promote only if, on the same questions (per-question strict verdicts), the candidate is
    better than the live adapter (or, for the first, the bare base) at ``confidence`` by McNemar's
    exact test, *and* its accuracy gains at least ``margin``: the test guards against noise, the
    margin is a floor on a gain worth a new version. A tie never promotes."""
    test = mcnemar_exact(candidate, reference)
    n = test.n
    mine = sum(candidate) / n if n else 0.0
    theirs = sum(reference) / n if n else 0.0
    gain = mine - theirs
    alpha = 1 - confidence
    figures = f"{mine:.1%} vs {reference_name} {theirs:.1%} ({gain * 100:+.1f} pts; {test.describe()}"
    significant = test.p_value < alpha
    enough = gain > 0 and gain >= margin - 1e-12  # 1e-12: 0.52 - 0.50 is 0.0199999… in floats
    if significant and enough:
        return Decision(True, f"{figures} < {alpha:.2g})", test)
    needs = []
    if not significant:
        needs.append(f"p < {alpha:.2g}")
    if not enough:
        needs.append(f"a gain of {margin * 100:.1f} pts" if margin > 0 else "a gain")
    return Decision(False, f"{figures}; needs {' and '.join(needs)})", test)


def to_messages(system_prompt: str) -> Callable[[str], list[Message]]:
    def build(question: str) -> list[Message]:
        return [{"role": "system", "content": system_prompt}, {"role": "user", "content": question}]

    return build
