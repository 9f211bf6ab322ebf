"""Test isolation: a clean environment, a private data directory and a flushed Redis database.

Tests use a real Redis: ``SUPPORTBOT_TEST_REDIS_URL`` (default redis://127.0.0.1:6379/13, a
database of its own), flushed before and after every test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from supportbot.settings import Settings, load_settings
from tests.support.models import tiny_model_dir
from tests.support.signing import BOT_TOKEN, SIGNING_SECRET
from tests.support.slack_stub import SlackStub

TEST_REDIS_URL = os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
SETTINGS_ENV = [
    info.validation_alias if isinstance(info.validation_alias, str) else name.upper()
    for name, info in Settings.model_fields.items()
]


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", TEST_REDIS_URL)
    monkeypatch.setenv("SUPPORTBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield
    client.flushdb()


@pytest.fixture(autouse=True)
def stop_answerers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every bot a test builds stops answering when the test ends: a live one would take the
    next test's questions from the shared Redis, as a real replica would."""
    from bot.background import Background

    started: list[Background] = []
    start = Background.start

    def tracked(self: Background) -> None:
        started.append(self)
        start(self)

    monkeypatch.setattr(Background, "start", tracked)
    yield
    for background in started:
        background.shutdown()


@pytest.fixture
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    return tiny_model_dir()


@pytest.fixture
def tiny_env(monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> None:
    """Settings for a fast offline run: the tiny model on both sides, short answers."""
    monkeypatch.setenv("BASE_MODEL", str(tiny_model))
    monkeypatch.setenv("MAX_NEW_TOKENS", "8")
    monkeypatch.setenv("LOCAL_DTYPE", "float32")


@pytest.fixture
def slack_stub() -> Iterator[SlackStub]:
    stub = SlackStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch, slack_stub: SlackStub) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", slack_stub.url)


@pytest.fixture
def settings(tiny_env: None, slack_env: None) -> Settings:
    return load_settings()
