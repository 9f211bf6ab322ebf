"""Where a training run reports: the console (CLI) or a Slack thread (/retrain)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


class ConsoleReporter:
    """Rich progress bars: training steps with the loss, then each gate side's answers."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def _task(self, name: str, total: int | None) -> Any:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total, info="")
        return self.tasks[name]

    def stage(self, text: str) -> None:
        self.progress.console.print(text)

    def step(self, data: dict[str, Any]) -> None:
        task = self._task("Training", data["total"])
        self.progress.update(task, completed=data["step"], total=data["total"], info=f"loss {data['loss']:.3f}")

    def answered(self, side: str, done: int, total: int) -> None:
        task = self._task(f"Answering: {side}", total)
        self.progress.update(task, completed=done, total=total, info="questions")


@contextmanager
def console_progress(console: Any) -> Iterator[ConsoleReporter]:
    """A ConsoleReporter on a live rich Progress for the length of the block."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} {task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        yield ConsoleReporter(progress)


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
