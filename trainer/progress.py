"""How a training run reports: one protocol, implemented where it is shown.

The trainer only talks to a :class:`Reporter`. The entry point (``cli``) wires it to the console
(bars on a terminal, plain timed lines in logs and pipes) or, for a /retrain from Slack, to the
thread that asked (``bot.training_progress``); the worker's default is the log.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Reporter(Protocol):
    def stage(self, text: str) -> None:
        """A new stage: started, training, evaluating, the outcome."""
        ...

    def step(self, data: dict[str, Any]) -> None:
        """A training step: {"step", "total", "loss", "epoch", "tokens"} (tokens seen so far); step 0,
        without a loss, when training starts."""
        ...

    def answered(self, side: str, done: int, total: int, tokens: int) -> None:
        """A side of the gate answered ``done`` of ``total`` questions (``tokens`` generated)."""
        ...


class LogReporter:
    """Reports through logging: the worker's log."""

    def stage(self, text: str) -> None:
        log.info("%s", text)

    def step(self, data: dict[str, Any]) -> None:
        if "loss" in data:
            log.info("step %s/%s loss %.4f", data.get("step"), data.get("total"), data["loss"])

    def answered(self, side: str, done: int, total: int, tokens: int) -> None:
        log.info("%s answered %s/%s questions (%s tokens)", side, done, total, tokens)
