"""A real responder held at a gate: it answers only once the test opens it (or fails, if told to).

Lets a test make one side slow without a clock: "the fast side is shown while the slow one is
still held" is then a fact, not a race.
"""

from __future__ import annotations

import threading

from supportbot.errors import ResponderError
from supportbot.records import Answer, Variant
from supportbot.responders import Responder


class GatedResponder:
    def __init__(self, inner: Responder, fail_with: str | None = None) -> None:
        self.inner = inner
        self.variant: Variant = inner.variant
        self.gate = threading.Event()
        self.entered = threading.Event()  # set once a question reached the gate
        self.fail_with = fail_with

    @property
    def label(self) -> str:
        return self.inner.label

    def open(self) -> None:
        self.gate.set()

    def answer(self, question: str) -> Answer:
        self.entered.set()
        if not self.gate.wait(timeout=120):
            raise ResponderError("the test never opened the gate")
        if self.fail_with is not None:
            raise ResponderError(self.fail_with)
        return self.inner.answer(question)
