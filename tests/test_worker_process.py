"""`supportbot serve`'s training worker child: lower priority, restarted if it dies, stopped with
the bot, and never outliving it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cli import worker_process
from cli.worker_process import NICENESS, WorkerProcess

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def wait(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_child_runs_at_lower_priority_is_restarted_and_stops(monkeypatch):
    monkeypatch.setattr(worker_process, "RESTART_DELAY_S", 0.1)
    worker = WorkerProcess(dict(os.environ), command=SLEEPER)
    worker.start()
    try:
        first = worker.process
        assert first is not None and alive(first.pid)
        niceness = int(Path(f"/proc/{first.pid}/stat").read_text().split(")")[1].split()[16])
        assert niceness == os.nice(0) + NICENESS
        first.kill()  # as the OOM killer would
        wait(lambda: worker.process is not first and worker.process is not None and alive(worker.process.pid))
    finally:
        worker.stop()
    assert worker.process is not None and not alive(worker.process.pid)
    time.sleep(0.3)
    assert not alive(worker.process.pid)  # not restarted after a stop


def test_the_child_dies_with_its_parent_however_the_parent_dies(tmp_path):
    code = (
        "import os, sys, time\n"
        "from cli.worker_process import WorkerProcess\n"
        f"w = WorkerProcess(dict(os.environ), command={SLEEPER!r})\n"
        "w.start()\n"
        "print(w.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert alive(child)
    parent.send_signal(signal.SIGKILL)  # no cleanup runs in the parent
    parent.wait(timeout=10)
    wait(lambda: not alive(child))
