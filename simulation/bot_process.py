"""The bot as a process of its own: ``supportbot serve --http`` on a free local port.

It runs exactly as deployed (uvicorn, Bolt's ASGI adapter, the scheduler, the training worker in
its child process), configured only through its environment; its output goes to a log file the
simulation reads for what the bot says it did.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from simulation.slack_requests import SlackRequest
from supportbot.errors import SupportbotError


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BotProcess:
    def __init__(self, env: dict[str, str], log: Path, signing_secret: str) -> None:
        self.env = env
        self.log = log
        self.signing_secret = signing_secret
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self, timeout: float = 300.0) -> BotProcess:
        """Start it and wait until it listens (it loads the model first)."""
        command = [sys.executable, "-m", "cli", "serve", "--http", "--host", "127.0.0.1", "--port", str(self.port)]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise SupportbotError(f"the bot exited with status {self.process.returncode}:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise SupportbotError(
                        f"the bot did not listen within {timeout:.0f} s:\n{self.log_tail()}"
                    ) from None
                time.sleep(0.25)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM, as a deployment stops it (its training worker goes with it); SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def send(self, request: SlackRequest, timeout: float = 30.0) -> tuple[int, str]:
        """POST a signed request to the bot's /slack/events; the status and body it answered."""
        data = request.body.encode()
        http = urllib.request.Request(self.url, data=data, headers=request.headers(self.signing_secret), method="POST")
        try:
            with urllib.request.urlopen(http, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]


def child_env(base: dict[str, str] | None = None, **settings: str) -> dict[str, str]:
    """The environment for the bot: this process's, with ``settings`` (upper-case names) on top."""
    env = dict(os.environ if base is None else base)
    env.update(settings)
    return env
