from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot.app import build_app
from bot.background import Background
from supportbot.services import Services, build_services
from supportbot.settings import Settings, load_settings
from tests.support.signing import signed_headers, slash_command_body
from tests.support.slack_stub import SlackStub


@dataclass
class Bolt:
    app: App
    services: Services
    stub: SlackStub

    def dispatch(self, body: str, headers: dict[str, str] | None = None) -> BoltResponse:
        all_headers = {**signed_headers(body), **(headers or {})}
        if body.startswith("{"):
            all_headers["Content-Type"] = "application/json"
        else:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.app.dispatch(BoltRequest(body=body, headers=all_headers))

    def posts(self):
        return self.stub.calls_to("chat.postMessage")


@pytest.fixture
def bolt(settings: Settings, slack_stub: SlackStub) -> Iterator[Bolt]:
    services = build_services(settings, show_progress=False)
    background = Background(settings.answer_workers, settings.max_pending_questions)
    yield Bolt(build_app(services, background), services, slack_stub)
    background.shutdown()
    services.ask.pool.shutdown(wait=True)


@pytest.fixture
def admin_bolt(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, slack_stub: SlackStub
) -> Iterator[tuple[Bolt, Settings]]:
    """A Bolt app where U0ADMIN is an admin, with a small training configuration."""
    monkeypatch.setenv("ADMIN_USERS", "U0ADMIN")
    monkeypatch.setenv("TRAIN_MAX_EXAMPLES", "8")
    monkeypatch.setenv("EVAL_LIMIT", "4")
    monkeypatch.setenv("MIN_NEW_EXAMPLES", "1")
    settings = load_settings()
    services = build_services(settings, show_progress=False)
    background = Background(1, 10)
    yield Bolt(build_app(services, background), services, slack_stub), settings
    background.shutdown()


def command(bolt: Bolt, name: str, text: str, user: str) -> BoltResponse:
    body = slash_command_body(text, bolt.stub.response_url, command=name).replace("U0ASKER", user)
    return bolt.dispatch(body)
