"""Progress of long work where people look: bars on a terminal, timed lines everywhere else.

Docker logs, CI and pipes get no terminal, so rich's live bars would show nothing until the end.
There :class:`LineReporter` prints a plain line on each change at most every ``every_s`` seconds,
and a heartbeat repeats the latest one so that a line appears at least every ``every_s`` seconds
however long a step takes: step/total, loss or questions done, tokens/s and an ETA.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

LINE_EVERY_S = 20.0


def eta(done: float, total: float, elapsed: float) -> str:
    if done <= 0 or total <= done:
        return "ETA 0s" if total and done >= total else "ETA ?"
    seconds = elapsed * (total - done) / done
    minutes, secs = divmod(int(seconds), 60)
    return f"ETA {minutes}m{secs:02d}s" if minutes else f"ETA {secs}s"


@dataclass
class Task:
    name: str
    total: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    tokens: int = 0
    detail: str = ""
    finished: float | None = None

    def line(self) -> str:
        elapsed = (self.finished or time.monotonic()) - self.started
        rate = f"{self.tokens / elapsed:.0f} tok/s" if elapsed >= 0.5 and self.tokens else "- tok/s"
        parts = [f"{self.name}: {self.done}/{self.total}", self.detail, rate, eta(self.done, self.total, elapsed)]
        return " · ".join(p for p in parts if p)


class LineReporter:
    """Plain lines for logs and pipes: the trainer's Reporter, or a heartbeat for ``working``."""

    def __init__(self, console: Console, every_s: float = LINE_EVERY_S) -> None:
        self.console = console
        self.every_s = every_s
        self.tasks: dict[str, Task] = {}
        self.current: Task | None = None
        self.status = "still working"
        self._started = time.monotonic()
        self._last_print = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="progress-lines", daemon=True)

    def __enter__(self) -> LineReporter:
        self._last_print = time.monotonic()
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._beat.join(timeout=1)

    def _print(self, text: str) -> None:
        with self._lock:
            self._last_print = time.monotonic()
            self.console.print(text, highlight=False, soft_wrap=True)

    def _heartbeat(self) -> None:
        while not self._stop.wait(1.0):
            if time.monotonic() - self._last_print >= self.every_s:
                task = self.current
                if task is not None and task.finished is None:
                    self._print(task.line())
                else:  # between counted tasks (loading a model, say): say that work goes on
                    elapsed = int(time.monotonic() - self._started)
                    after = f" after {task.name}" if task else ""
                    self._print(f"… {self.status}{after} ({elapsed // 60}m{elapsed % 60:02d}s in all)")

    def _update(self, name: str, total: int, done: int, tokens: int, detail: str = "") -> None:
        task = self.tasks.get(name)
        new = task is None
        if task is None:
            task = self.tasks[name] = Task(name, total)
        task.total, task.done, task.tokens, task.detail = total, done, tokens, detail
        if done >= total and task.finished is None:
            task.finished = time.monotonic()
        self.current = task
        if new or done >= total or time.monotonic() - self._last_print >= self.every_s:
            self._print(task.line())

    def stage(self, text: str) -> None:
        self._print(text)

    def step(self, data: dict[str, Any]) -> None:
        detail = f"loss {data['loss']:.3f}" if "loss" in data else "loss -"
        self._update("training step", int(data["total"]), int(data["step"]), int(data.get("tokens", 0)), detail)

    def answered(self, side: str, done: int, total: int, tokens: int) -> None:
        self._update(f"answering ({side})", total, done, tokens, "questions")


class BarReporter:
    """Rich progress bars on a terminal: training steps with the loss, then each side's answers."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.started: dict[str, float] = {}

    def _task(self, name: str, total: int) -> Any:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total, info="")
            self.started[name] = time.monotonic()
        return self.tasks[name]

    def _rate(self, name: str, tokens: int) -> str:
        elapsed = time.monotonic() - self.started[name]
        return f"{tokens / elapsed:.0f} tok/s" if tokens and elapsed > 0 else ""

    def stage(self, text: str) -> None:
        self.progress.console.print(text)

    def step(self, data: dict[str, Any]) -> None:
        task = self._task("Training", data["total"])
        loss = f"loss {data['loss']:.3f}" if "loss" in data else ""
        info = f"{loss} {self._rate('Training', int(data.get('tokens', 0)))}"
        self.progress.update(task, completed=data["step"], total=data["total"], info=info)

    def answered(self, side: str, done: int, total: int, tokens: int) -> None:
        name = f"Answering: {side}"
        task = self._task(name, total)
        self.progress.update(task, completed=done, total=total, info=f"questions {self._rate(name, tokens)}")


@contextmanager
def reporting(console: Console) -> Iterator[BarReporter | LineReporter]:
    """The reporter that fits ``console``: bars on a terminal, timed lines elsewhere."""
    if not console.is_terminal:
        with LineReporter(console) as lines:
            yield lines
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} {task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        yield BarReporter(progress)


@contextmanager
def working(console: Console, text: str) -> Iterator[None]:
    """One long step without a count: a spinner on a terminal; elsewhere ``text`` and then a line
    at least every ``LINE_EVERY_S`` saying it is still going."""
    if console.is_terminal:
        with console.status(text):
            yield
        return
    with LineReporter(console) as lines:
        lines.status = text
        lines.stage(text)
        yield
