"""Where a training run reports: the console (CLI) or a Slack thread (/retrain)."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Reporter(Protocol):
    def stage(self, text: str) -> None:
        """A new stage: started, training, evaluating, the outcome."""
        ...

    def step(self, data: dict[str, Any]) -> None:
        """A training step with its loss."""
        ...


class LogReporter:
    """Reports through logging (the worker's log; the CLI adds a progress bar of its own)."""

    def stage(self, text: str) -> None:
        log.info("%s", text)

    def step(self, data: dict[str, Any]) -> None:
        log.debug("step %s/%s loss %.4f", data.get("step"), data.get("total"), data.get("loss", 0.0))


class SlackThreadReporter:
    """Posts each stage in the thread that asked, and keeps one progress message up to date."""

    def __init__(self, client: Any, channel: str, thread_ts: str, min_interval_s: float = 10.0) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.min_interval_s = min_interval_s
        self._progress_ts: str | None = None
        self._last = 0.0

    def stage(self, text: str) -> None:
        try:
            self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, text=text)
        except Exception:
            log.exception("could not report to Slack")

    def step(self, data: dict[str, Any]) -> None:
        now = time.monotonic()
        last_step = data.get("step") == data.get("total")
        if now - self._last < self.min_interval_s and not last_step:
            return
        self._last = now
        text = (
            f":hourglass_flowing_sand: step {data.get('step')}/{data.get('total')} · "
            f"epoch {data.get('epoch', 0):.2f} · loss {data.get('loss', 0.0):.3f}"
        )
        try:
            if self._progress_ts is None:
                posted = self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, text=text)
                self._progress_ts = posted["ts"]
            else:
                self.client.chat_update(channel=self.channel, ts=self._progress_ts, text=text)
        except Exception:
            log.exception("could not report progress to Slack")
