"""A training run's progress in the Slack thread that asked for it (/retrain).

It follows the trainer's Reporter protocol (``trainer.progress``) by shape: the bot never imports
the trainer; the entry point hands this reporter to the worker for jobs that carry a thread.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_sdk import WebClient

from supportbot.settings import Settings

log = logging.getLogger(__name__)


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
        if "loss" not in data:  # the start of training: its stage message says so already
            return
        text = (
            f":hourglass_flowing_sand: step {data.get('step')}/{data.get('total')} · "
            f"epoch {data.get('epoch', 0):.2f} · loss {data.get('loss', 0.0):.3f}"
        )
        self._progress(text, final=data.get("step") == data.get("total"))

    def answered(self, side: str, done: int, total: int, tokens: int) -> None:
        self._progress(f":hourglass_flowing_sand: evaluating: {side} answered {done}/{total}", final=done == total)

    def _progress(self, text: str, final: bool) -> None:
        """One message per run, edited in place, at most every ``min_interval_s`` (and the last)."""
        now = time.monotonic()
        if now - self._last < self.min_interval_s and not final:
            return
        self._last = now
        try:
            if self._progress_ts is None:
                posted = self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, text=text)
                self._progress_ts = posted["ts"]
            else:
                self.client.chat_update(channel=self.channel, ts=self._progress_ts, text=text)
        except Exception:
            log.exception("could not report progress to Slack")


def thread_reporter(settings: Settings, notify: dict[str, str]) -> SlackThreadReporter:
    """The reporter for a job that asked to be followed in ``notify``'s thread."""
    assert settings.slack_bot_token is not None
    client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    return SlackThreadReporter(client, notify["channel"], notify["thread_ts"])
