"""Replicas of the bot: scheduler replicas fired at the same moment, and real `serve --http`
processes with a real `supportbot worker` beside them."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support.processes import BotProcess


def fire_together(replicas: list[Any], now: datetime) -> list[str]:
    """Call ``fire(now)`` on every replica from its own thread at once; the results, sorted."""
    results: list[str] = []
    threads = [threading.Thread(target=lambda r=r: results.append(r.fire(now))) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)


class TrainingWorker:
    """``supportbot worker`` as a real process: the RQ worker that trains what the replicas enqueue."""

    def __init__(self, log: Path, env: dict[str, str]) -> None:
        self.log = log
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> TrainingWorker:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli", "worker"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_together(replicas: list[BotProcess]) -> list[BotProcess]:
    """Start every replica at once (each waits for its own port) and return them once all listen."""
    with ThreadPoolExecutor(len(replicas)) as pool:
        return list(pool.map(BotProcess.start, replicas))
