"""The prompts both sides use.

The prompted model gets a long prompt: system instructions, the team's knowledge and few-shot
examples, read from files the team edits (``PROMPT_DIR``; defaults ship in ``defaults/``). With
PROMPT_MODE=static that prompt is the same for every question; with PROMPT_MODE=retrieval
(``supportbot.retrieval``) the examples and knowledge are chosen for each question. Both are a
``PromptBuilder``. The fine-tuned model gets one short, fixed system prompt: it is trained with the
same one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from supportbot.errors import ConfigError

if TYPE_CHECKING:
    from supportbot.store import Store

FINETUNED_SYSTEM_PROMPT = "You are a customer support assistant. Answer the customer's message helpfully."

Message = dict[str, str]


class PromptBuilder(Protocol):
    @property
    def mode(self) -> str:
        """static or retrieval (PROMPT_MODE)."""
        ...

    def messages(self, question: str) -> list[Message]:
        """The whole conversation the prompted model is sent for ``question``."""
        ...


@dataclass(frozen=True)
class PromptSet:
    mode: ClassVar[str] = "static"
    system: str
    knowledge: str
    examples: tuple[tuple[str, str], ...]

    @classmethod
    def load(cls, directory: Path | None = None) -> PromptSet:
        """Read system.md, knowledge.md and examples.jsonl from ``directory`` or the defaults."""
        root = resources.files("supportbot") / "defaults" if directory is None else directory
        where = "the bundled defaults" if directory is None else f"PROMPT_DIR={directory}"
        try:
            system = (root / "system.md").read_text(encoding="utf-8").strip()
            knowledge = (root / "knowledge.md").read_text(encoding="utf-8").strip()
            lines = (root / "examples.jsonl").read_text(encoding="utf-8").splitlines()
        except FileNotFoundError as exc:
            raise ConfigError(f"{where} lacks a prompt file: {exc.filename}") from None
        examples = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                examples.append((str(row["question"]), str(row["answer"])))
            except (ValueError, KeyError, TypeError):
                raise ConfigError(
                    f'{where}: examples.jsonl line {number} must be a JSON object with "question" and "answer"'
                ) from None
        return cls(system, knowledge, tuple(examples))

    def long_messages(self, question: str) -> list[Message]:
        """System prompt with knowledge, then the few-shot examples as earlier turns."""
        messages: list[Message] = [{"role": "system", "content": f"{self.system}\n\n{self.knowledge}"}]
        for example_question, example_answer in self.examples:
            messages.append({"role": "user", "content": example_question})
            messages.append({"role": "assistant", "content": example_answer})
        messages.append({"role": "user", "content": question})
        return messages

    def messages(self, question: str) -> list[Message]:
        return self.long_messages(question)


def short_messages(question: str) -> list[Message]:
    """The fine-tuned side's prompt: the short system prompt it was trained with."""
    return [
        {"role": "system", "content": FINETUNED_SYSTEM_PROMPT},
        {"role": "user", "content": question},
    ]


def prompt_for_mode(
    settings: Any, prompts: PromptSet, store: Store | None = None, tokenizer: Any | None = None
) -> PromptBuilder:
    """The prompted side's prompt under PROMPT_MODE: ``prompts`` as they are (static), or retrieval
    over ``store``, counting tokens with the local ``tokenizer`` when there is one. Retrieval and
    its embedding model are imported only here, so static mode starts as before."""
    if settings.prompt_mode != "retrieval":
        return prompts
    from supportbot.retrieval import build_retrieval_prompt

    return build_retrieval_prompt(settings, prompts, store, tokenizer)
