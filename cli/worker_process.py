"""The embedded default's training worker: `supportbot worker` as a child of `supportbot serve`.

Training runs in its own process (at a lower CPU priority), so it never slows the bot's acks and
a crash or an out-of-memory kill in training never takes the bot down: the child is restarted.
With ``TRAINING_WORKER=external`` none is started and separate `supportbot worker` processes
(a GPU machine, say) consume the queue instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading

log = logging.getLogger(__name__)
NICENESS = 10
RESTART_DELAY_S = 5.0
PR_SET_PDEATHSIG = 1
WARM_STOP_S = 10.0  # RQ finishes the current job on the first SIGTERM; the second one kills it


class WorkerProcess:
    """Starts, watches and stops one child running `python -m cli worker`."""

    def __init__(self, env: dict[str, str], command: list[str] | None = None) -> None:
        self.env = env
        self.command = command or [sys.executable, "-m", "cli", "worker"]
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="training-worker", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()
        log.info("training worker started in a child process (pid %s); TRAINING_WORKER=external turns it off",
                 self.process.pid if self.process else "?")  # fmt: skip

    def _spawn(self) -> None:
        self.process = subprocess.Popen(self.command, env=self.env, preexec_fn=_lower_priority)  # noqa: PLW1509

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self.process
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            log.error("the training worker exited with status %s; restarting it in %.0f s", code, RESTART_DELAY_S)
            if self._stopping.wait(RESTART_DELAY_S):
                return
            self._spawn()

    def stop(self) -> None:
        """Ask the worker to stop; a job still running after WARM_STOP_S is cut short (RQ marks it
        failed, the training lock expires and the live adapter is untouched)."""
        self._stopping.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, WARM_STOP_S), (signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            try:
                process.send_signal(sig)
                process.wait(timeout=wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
        log.info("training worker stopped (status %s)", process.returncode)


def _lower_priority() -> None:
    """In the child, before it runs: a lower CPU priority than the bot, and (on Linux) a SIGTERM
    when the parent dies, however it dies, so no worker outlives its bot."""
    os.nice(NICENESS)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def exit_on_sigterm() -> None:
    """SIGTERM ends the process like Ctrl-C (cleanup runs), unless someone already handles it."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
