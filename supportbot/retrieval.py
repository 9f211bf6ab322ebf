"""PROMPT_MODE=retrieval: a prompt built for each question from the team's own best answers.

For every question the prompted side gets the RETRIEVAL_K most similar human-approved past answers
(seeds, approved corrections, answers endorsed by votes: ``supportbot.examples``; plus PROMPT_DIR's
hand-written examples) as few-shot turns, and the knowledge passages most relevant to it, within
PROMPT_TOKEN_BUDGET tokens. Similarity is cosine under MiniLM (``supportbot.embedding``).

Only the training split is retrieved: the questions held out to evaluate the fine-tuned side are
held out from the prompted side too, so the gate and ``supportbot eval`` never show the prompted
model its own reference answer, and both sides learn from the same data.

The index follows the data: at most every ``refresh_s`` seconds the eligible examples are read
again, and when they changed the index is rebuilt (only new questions are embedded).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import redis

from supportbot.embedding import CosineIndex, Embed, MiniLM, TokenCounter, token_counter
from supportbot.examples import eligible_examples
from supportbot.prompts import Message, PromptSet
from supportbot.splits import SplitStore, normalise
from supportbot.store import Store

log = logging.getLogger(__name__)

# Tokens a chat template adds around one message (ChatML: "<|im_start|>user\n" ... "<|im_end|>\n"
# is 5 with SmolLM2's tokenizer); counted with every example turn so the budget holds for the
# prompt as the model sees it.
TURN_TOKENS = 8
REFRESH_S = 30.0
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@dataclass(frozen=True)
class Shot:
    """One few-shot example: a question and the answer people approved for it."""

    question: str
    answer: str


@dataclass(frozen=True)
class Passage:
    heading: str  # the Markdown heading it sits under ("" before the first one)
    text: str
    position: int  # order in knowledge.md


def split_passages(knowledge: str) -> list[Passage]:
    """Knowledge.md as passages: each list item, or each paragraph, under its heading."""
    items: list[tuple[str, str]] = []
    heading = ""
    for block in re.split(r"\n\s*\n", knowledge):
        current: list[str] = []
        for line in block.strip().splitlines():
            if line.startswith("#"):
                if current:
                    items.append((heading, " ".join(current)))
                    current = []
                heading = line.strip()
            elif _ITEM.match(line) and current:
                items.append((heading, " ".join(current)))
                current = [line.strip()]
            elif line.strip():
                current.append(line.strip())
        if current:
            items.append((heading, " ".join(current)))
    return [Passage(heading, text, position) for position, (heading, text) in enumerate(items)]


def render_knowledge(passages: list[Passage]) -> str:
    """Passages in their document order, each heading once."""
    sections: list[str] = []
    heading: str | None = None
    for passage in sorted(passages, key=lambda p: p.position):
        if passage.heading != heading:
            heading = passage.heading
            sections.append(f"{heading}\n{passage.text}" if heading else passage.text)
        else:
            sections[-1] += f"\n{passage.text}"
    return "\n\n".join(sections)


class ExampleLibrary:
    """The approved examples and their index, rebuilt when they change (checked every refresh_s)."""

    def __init__(
        self,
        load: Callable[[], list[Shot]],
        embed: Embed,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.load = load
        self.embed = embed
        self.refresh_s = refresh_s
        self.clock = clock
        self.shots: list[Shot] = []
        self.index = CosineIndex(np.zeros((0, 0), dtype=np.float32))
        self.builds = 0
        self._vectors: dict[str, np.ndarray] = {}
        self._checked: float | None = None
        self._lock = threading.Lock()

    def refresh(self) -> None:
        with self._lock:
            now = self.clock()
            if self._checked is not None and now - self._checked < self.refresh_s:
                return
            self._checked = now
            try:
                shots = list(dict.fromkeys(self.load()))  # without duplicates, in a stable order
            except redis.RedisError as exc:
                if not self.builds:
                    raise
                log.warning("retrieval keeps its %d examples: reading new ones failed: %s", len(self.shots), exc)
                return
            if shots == self.shots and self.builds:
                return
            new = sorted({s.question for s in shots} - self._vectors.keys())
            self._vectors.update(zip(new, self.embed(new), strict=True))
            questions = {s.question for s in shots}
            self._vectors = {q: v for q, v in self._vectors.items() if q in questions}
            rows = [self._vectors[s.question] for s in shots]
            self.index = CosineIndex(np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32))
            self.shots = shots
            self.builds += 1

    def nearest(self, query: np.ndarray, k: int) -> list[Shot]:
        """The ``k`` examples whose questions are closest to ``query``, closest first."""
        self.refresh()
        with self._lock:
            return [self.shots[i] for i, _ in self.index.search(query, k)]


def approved_shots(store: Store, min_upvoters: int, eval_percent: int, extra: tuple[Shot, ...] = ()) -> list[Shot]:
    """PROMPT_DIR's examples, then every eligible example whose question is in the training split."""
    examples = eligible_examples(store, min_upvoters)
    keys = [normalise(e.question) for e in examples]
    splits = SplitStore(store.redis, store.keys).assign(keys, eval_percent)
    return [
        *extra,
        *(Shot(e.question, e.answer) for e, key in zip(examples, keys, strict=True) if splits[key] == "train"),
    ]


class RetrievalPrompt:
    """The long prompt, per question: system text, relevant knowledge, similar approved answers."""

    mode: ClassVar[str] = "retrieval"

    def __init__(  # noqa: PLR0917 - the settings it is built from
        self,
        prompts: PromptSet,
        library: ExampleLibrary,
        embed: Embed,
        k: int,
        token_budget: int,
        count_tokens: TokenCounter,
    ) -> None:
        self.prompts = prompts
        self.library = library
        self.embed = embed
        self.k = k
        self.token_budget = token_budget
        self.count_tokens = count_tokens
        self.passages = split_passages(prompts.knowledge)
        self._passage_index: CosineIndex | None = None

    def shot_tokens(self, shot: Shot) -> int:
        return self.count_tokens(shot.question) + self.count_tokens(shot.answer) + 2 * TURN_TOKENS

    def knowledge_tokens(self, passages: list[Passage]) -> int:
        return self.count_tokens("\n\n" + render_knowledge(passages)) if passages else 0

    def _relevant_passages(self, query: np.ndarray) -> list[Passage]:
        if self._passage_index is None:
            texts = [f"{p.heading.lstrip('#').strip()}: {p.text}" for p in self.passages]
            self._passage_index = CosineIndex(self.embed(texts))
        return [self.passages[i] for i, _ in self._passage_index.search(query, len(self.passages))]

    def select(self, question: str) -> tuple[list[Shot], list[Passage]]:
        """Examples first (closest first, each if it fits), then knowledge by relevance."""
        query = self.embed([question])[0]
        left = self.token_budget
        shots: list[Shot] = []
        for shot in self.library.nearest(query, self.k):
            cost = self.shot_tokens(shot)
            if cost <= left:
                shots.append(shot)
                left -= cost
        chosen: list[Passage] = []
        used = 0
        for passage in self._relevant_passages(query):
            cost = self.count_tokens(f"{passage.heading}\n{passage.text}\n")
            if used + cost <= left:
                chosen.append(passage)
                used += cost
        # Tokens do not add up exactly across joins: drop the least relevant until it fits.
        while chosen and self.knowledge_tokens(chosen) > left:
            chosen.pop()
        return shots, chosen

    def messages(self, question: str) -> list[Message]:
        shots, passages = self.select(question)
        system = self.prompts.system
        if passages:
            system += "\n\n" + render_knowledge(passages)
        messages: list[Message] = [{"role": "system", "content": system}]
        for shot in reversed(shots):  # the most similar example right before the question
            messages.append({"role": "user", "content": shot.question})
            messages.append({"role": "assistant", "content": shot.answer})
        messages.append({"role": "user", "content": question})
        return messages


def build_retrieval_prompt(
    settings: Any, prompts: PromptSet, store: Store | None = None, tokenizer: Any | None = None
) -> RetrievalPrompt:
    """Retrieval over ``store`` (connected from the settings when not given) with RETRIEVAL_K,
    PROMPT_TOKEN_BUDGET, MIN_UPVOTERS and EVAL_PERCENT, counting with ``tokenizer`` if there is one."""
    if store is None:
        from supportbot.redis_conn import connect

        store = Store(connect(settings), settings.key_prefix)
    extra = tuple(Shot(q, a) for q, a in prompts.examples)
    embed = MiniLM()

    def load() -> list[Shot]:
        return approved_shots(store, settings.min_upvoters, settings.eval_percent, extra)

    library = ExampleLibrary(load, embed)
    return RetrievalPrompt(
        prompts, library, embed, settings.retrieval_k, settings.prompt_token_budget, token_counter(tokenizer)
    )
