"""The embedded Redis: reused by a second process, stopped by its last user (also on SIGTERM/SIGINT), data kept;
it requires a generated password kept 0600 in the data dir."""

import contextlib
import json
import os
import select
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from supportbot.embedded_redis import EmbeddedRedis, _alive
from supportbot.errors import ConfigError
from supportbot.redis_conn import connect, redacted
from supportbot.settings import load_settings
from tests.support.redis_process import RedisProcess


def test_embedded_redis_is_reused_and_persists_across_restarts(tmp_path):
    directory = tmp_path / "redis"
    first = EmbeddedRedis(directory)
    url = first.start()
    redis.Redis.from_url(url).set("answer", "42")

    second = EmbeddedRedis(directory)
    assert second.start() == url  # a second process shares the running server
    assert second.process is None

    first.stop()
    assert first.process.poll() is not None

    third = EmbeddedRedis(directory)
    try:
        url = third.start()
        assert third.process is not None  # a fresh server...
        assert redis.Redis.from_url(url, decode_responses=True).get("answer") == "42"  # ...from the AOF
    finally:
        third.stop()


def test_connect_starts_the_embedded_default_when_redis_url_is_unset(tmp_path, monkeypatch):
    monkeypatch.delenv("REDIS_URL")
    client = connect(load_settings())
    try:
        assert client.config_get("dir")["dir"] == str((tmp_path / "data" / "redis").resolve())
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("bind")["bind"] == "127.0.0.1"
    finally:
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown()


def test_redis_url_password_is_redacted():
    assert redacted("redis://:hunter2@db:6379/0") == "redis://:***@db:6379/0"
    assert redacted("redis://user:hunter2@db:6379/0") == "redis://user:***@db:6379/0"
    assert redacted("redis://db:6379/0") == "redis://db:6379/0"


def test_unreachable_redis_is_a_clear_error_without_the_password(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
    with pytest.raises(ConfigError) as err:
        connect(load_settings())
    assert "cannot reach Redis at REDIS_URL=redis://:***@127.0.0.1:1/0" in str(err.value)
    assert "hunter2" not in str(err.value)


HELPER = Path(__file__).parent / "support" / "embedded_proc.py"


class User:
    """A process using the embedded Redis in ``directory`` (tests/support/embedded_proc.py)."""

    def __init__(self, directory: Path) -> None:
        command = [sys.executable, str(HELPER), str(directory)]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        hello = json.loads(self.line())
        self.url: str = hello["url"]
        self.started: bool = hello["started"]

    def line(self, timeout: float = 60.0) -> str:
        assert self.proc.stdout is not None
        readable, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert readable, "the process did not answer"
        line = self.proc.stdout.readline()
        assert line, f"the process ended (exit status {self.proc.poll()})"
        return line.decode().strip()

    def ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{command}\n".encode())
        return self.line()

    def signal(self, signum: int) -> int:
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=60)


def server_of(directory: Path) -> dict[str, int]:
    return json.loads((directory / "server.json").read_text())


def assert_stopped_cleanly(directory: Path, server: dict[str, int]) -> None:
    assert not _alive(server["pid"])  # the last user waited for it to end
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server["port"]), timeout=5).close()
    assert "ready to exit" in (directory / "redis.log").read_text()  # SHUTDOWN, not a kill
    assert not (directory / "server.json").exists()
    assert list((directory / "users").iterdir()) == []


def restarted(directory: Path, *keys: str) -> list[str | None]:
    """Start the server again in ``directory`` (a fresh one) and read ``keys`` from it."""
    embedded = EmbeddedRedis(directory)
    try:
        url = embedded.start()
        assert embedded.process is not None
        return redis.Redis.from_url(url, decode_responses=True).mget(keys)
    finally:
        embedded.stop()


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Path]:
    """The data directory; whatever server is left running there at the end is killed."""
    directory = tmp_path / "redis"
    yield directory
    with contextlib.suppress(OSError, ValueError, KeyError):
        pid = server_of(directory)["pid"]
        if b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def spawn(directory: Path) -> Iterator[Callable[[], User]]:
    """Start user processes of ``directory``; those still running at the end are killed."""
    users: list[User] = []

    def start() -> User:
        users.append(User(directory))
        return users[-1]

    yield start
    for user in users:
        if user.proc.poll() is None:
            user.proc.kill()
            user.proc.wait()


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, -signal.SIGINT)]
)
def test_a_signal_to_the_only_user_stops_the_server_cleanly_and_a_restart_reuses_the_data(
    directory, spawn, signum, status
):
    user = spawn()
    assert user.started
    assert user.ask("set answer 42") == "ok"
    server = server_of(directory)

    assert user.signal(signum) == status

    assert_stopped_cleanly(directory, server)
    assert restarted(directory, "answer") == ["42"]


def test_the_server_outlives_its_starter_while_another_process_uses_it(directory, spawn):
    starter, other = spawn(), spawn()
    assert starter.started and not other.started
    assert other.url == starter.url
    assert starter.ask("set first 1") == "ok"
    server = server_of(directory)

    assert starter.signal(signal.SIGTERM) == 128 + signal.SIGTERM
    assert _alive(server["pid"])  # still serving the other process
    assert other.ask("get first") == "1"
    assert other.ask("set second 2") == "ok"

    assert other.signal(signal.SIGTERM) == 128 + signal.SIGTERM  # the last user, not the server's parent
    assert_stopped_cleanly(directory, server)
    assert restarted(directory, "first", "second") == ["1", "2"]


def test_a_user_that_died_without_leaving_does_not_keep_the_server_running(directory, spawn):
    starter, killed = spawn(), spawn()
    assert killed.ask("set answer 42") == "ok"
    server = server_of(directory)
    killed.signal(signal.SIGKILL)  # no cleanup: its registration stays behind

    assert starter.signal(signal.SIGTERM) == 128 + signal.SIGTERM
    assert_stopped_cleanly(directory, server)
    assert restarted(directory, "answer") == ["42"]


def test_a_signal_handler_installed_before_is_kept(directory):
    def handler(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGTERM, handler)
    embedded = EmbeddedRedis(directory)
    try:
        embedded.start()
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        embedded.stop()
        signal.signal(signal.SIGTERM, previous)


def raw_ping(port: int) -> bytes:
    """PING on a bare socket, as any local process could send it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(100)


def test_the_embedded_redis_requires_a_generated_password_kept_0600_in_the_data_dir(directory, caplog):
    old_umask = os.umask(0)  # the file is 0600 whatever the umask
    try:
        with caplog.at_level("DEBUG"):
            embedded = EmbeddedRedis(directory)
            url = embedded.start()
    finally:
        os.umask(old_umask)
    try:
        password_file = directory / "password"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        assert len(password) >= 40
        assert url == f"redis://:{password}@127.0.0.1:{embedded.port}/0"
        assert raw_ping(embedded.port).startswith(b"-NOAUTH")  # no password: refused
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=embedded.port, password="guess").ping()
        redis.Redis.from_url(url).set("answer", "42")  # the URL carries it
        assert password.encode() not in Path(f"/proc/{embedded.process.pid}/cmdline").read_bytes()
    finally:
        with caplog.at_level("DEBUG"):
            embedded.stop()
    assert password not in caplog.text
    assert password not in (directory / "redis.log").read_text()

    again = EmbeddedRedis(directory)  # a restart reuses the file, and the data
    try:
        assert again.start() == url.replace(str(embedded.port), str(again.port))
        assert again.process is not None and password_file.read_text().strip() == password
        assert redis.Redis.from_url(again.url, decode_responses=True).get("answer") == "42"
    finally:
        again.stop()


def test_a_server_found_running_without_a_password_is_given_one(directory, monkeypatch):
    legacy = RedisProcess(directory).start()  # as an earlier version started it: no requirepass
    (directory / "server.json").write_text(json.dumps({"port": legacy.port, "pid": legacy.process.pid}))
    try:
        embedded = EmbeddedRedis(directory)
        url = embedded.start()
        assert embedded.process is None and embedded.port == legacy.port  # reused, not a second server
        assert raw_ping(legacy.port).startswith(b"-NOAUTH")
        assert redis.Redis.from_url(url).ping()
        embedded.stop()
        assert legacy.process.wait(timeout=30) == 0  # the last user shut it down, with the password
    finally:
        legacy.kill()


def test_a_server_that_refuses_the_saved_password_is_not_doubled(directory):
    first = EmbeddedRedis(directory)
    first.start()
    try:
        (directory / "password").write_text("replaced\n")
        with pytest.raises(ConfigError, match="refuses the password in .*password"):
            EmbeddedRedis(directory).start()
    finally:
        (directory / "password").write_text(first.password)
        first.stop()
