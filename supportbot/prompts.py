"""The prompts both sides use.

The prompted model gets a long prompt: system instructions, the team's knowledge and few-shot
examples, read from files the team edits (``PROMPT_DIR``; defaults ship in ``defaults/``). The
fine-tuned model gets one short, fixed system prompt: it is trained with the same one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from supportbot.errors import ConfigError

FINETUNED_SYSTEM_PROMPT = "You are a customer support assistant. Answer the customer's message helpfully."

Message = dict[str, str]


@dataclass(frozen=True)
class PromptSet:
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


def short_messages(question: str) -> list[Message]:
    """The fine-tuned side's prompt: the short system prompt it was trained with."""
    return [
        {"role": "system", "content": FINETUNED_SYSTEM_PROMPT},
        {"role": "user", "content": question},
    ]
