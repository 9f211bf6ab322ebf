"""The one protocol every responder follows."""

from __future__ import annotations

from typing import Protocol

from supportbot.records import Answer, Variant


class Responder(Protocol):
    variant: Variant

    @property
    def label(self) -> str:
        """How the answer is labelled when models are shown by name."""
        ...

    def answer(self, question: str) -> Answer:
        """Answer one question. Raises ResponderError (or ResponderTimeout) on failure."""
        ...
