import contextlib

import pytest
import redis

from supportbot.embedded_redis import EmbeddedRedis
from supportbot.errors import ConfigError
from supportbot.redis_conn import connect, redacted
from supportbot.settings import load_settings


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
