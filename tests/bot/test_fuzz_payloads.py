"""Fuzzing every Slack payload the bot parses: junk never gives a 500, a traceback, or a message in
a channel. Bodies are signed, so they pass verification and reach the listeners."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import build_app
from bot.background import Background
from bot.blocks import CORRECTION_CALLBACK
from bot.http import GuardedHandler
from bot.listeners.commands.ask import early_acks
from supportbot.services import build_services
from tests.bot.conftest import Bolt
from tests.support.signing import SIGNING_SECRET, signed_headers, trigger_id

EXAMPLES = 60
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
ids = st.sampled_from(["U0ASKER", "C0SUPPORT", "D0DM", "1.1", "", "<@U0BOTUSER>"]) | st.text(max_size=12)
maybe = lambda strategy: st.one_of(strategy, junk)  # noqa: E731  (a field with a sane value, or anything)


@pytest.fixture(scope="module")
def logged() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR or record.exc_info:
                records.append(record)

    handler = Keep()
    logging.getLogger().addHandler(handler)
    yield records
    logging.getLogger().removeHandler(handler)


@pytest.fixture
def fuzz_bolt(settings_, slack_stub) -> Iterator[Bolt]:
    services = build_services(settings_, show_progress=False)
    background = Background(workers=1, max_pending=0)  # questions are refused: no answer is ever posted
    app = build_app(services, background)
    # One listener thread, so waiting for a no-op task waits for every listener started before it.
    app.listener_runner.listener_executor = ThreadPoolExecutor(max_workers=1)
    yield Bolt(app, services, slack_stub)
    background.shutdown()


@pytest.fixture
def settings_(settings):
    return settings


async def _post(bolt: Bolt, body: str) -> int:
    """Through the ASGI app `serve --http` runs, as Slack's HTTP request would go."""
    headers = signed_headers(body)
    headers["Content-Type"] = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
    guard = GuardedHandler(bolt.app, SIGNING_SECRET, empty_ack_commands=early_acks(bolt.services))
    transport = httpx.ASGITransport(app=guard)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        response = await client.post("/slack/events", content=body.encode(), headers=headers)
    assert await asyncio.to_thread(guard.wait_idle)  # what it acked early, Bolt has handled
    return response.status_code


def check(bolt: Bolt, body: str, logged: list[logging.LogRecord]) -> None:
    logged.clear()
    status = asyncio.run(_post(bolt, body))
    bolt.app.listener_runner.listener_executor.submit(lambda: None).result()  # listeners have finished
    assert status in (200, 400, 404), (status, body)
    posts = bolt.stub.calls_to("chat.postMessage") + bolt.stub.calls_to("chat.update")
    assert posts == [], (body, posts)
    errors = [f"{r.name}: {r.getMessage()}" for r in logged]
    assert errors == [], (body, errors)


@FUZZ
@given(
    command=st.sampled_from(["/ask", "/retrain", "/supportbot"]),
    text=st.text(max_size=60) | st.sampled_from(["review", "review approve x", "rollback", "digest", "stats"]),
    user=ids,
    channel=ids,
    extra=st.dictionaries(
        st.sampled_from(["user_id", "channel_id", "response_url", "trigger_id"]), st.text(), max_size=2
    ),
)
def test_commands(fuzz_bolt, logged, command, text, user, channel, extra):
    fields = {"command": command, "text": text, "user_id": user, "channel_id": channel, "trigger_id": trigger_id()}
    fields["response_url"] = fuzz_bolt.stub.response_url
    check(fuzz_bolt, urlencode({**fields, **extra}), logged)


event_types = st.sampled_from(["app_mention", "message", "reaction_added", "reaction_removed"])


@FUZZ
@given(
    kind=event_types,
    fields=st.fixed_dictionaries(
        {},
        optional={
            "user": maybe(ids),
            "text": maybe(st.text(max_size=80) | st.just("<@U0BOTUSER> correction: use the portal")),
            "channel": maybe(ids),
            "channel_type": maybe(st.sampled_from(["im", "channel", "group"])),
            "ts": maybe(ids),
            "thread_ts": maybe(ids),
            "subtype": maybe(st.sampled_from(["bot_message", "message_changed"])),
            "bot_id": junk,
            "reaction": maybe(st.sampled_from(["+1", "-1", "thumbsup::skin-tone-2", "tada"])),
            "item": maybe(st.fixed_dictionaries({"type": maybe(st.just("message")), "channel": ids, "ts": ids})),
        },
    ),
)
def test_events(fuzz_bolt, logged, kind, fields):
    event: dict[str, Any] = {"type": kind, **fields}
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "event": event,
            "event_id": f"Ev{trigger_id()}",
            "event_time": 1,
            "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOTUSER", "is_bot": True}],
        }
    )
    check(fuzz_bolt, body, logged)


action_ids = st.sampled_from(["vote_up", "vote_down", "suggest_correction", "approve_correction", "reject_correction"])


@FUZZ
@given(
    action_id=action_ids,
    value=maybe(st.text(max_size=20)),
    user=maybe(st.fixed_dictionaries({"id": maybe(ids)})),
    container=maybe(st.fixed_dictionaries({}, optional={"channel_id": maybe(ids), "thread_ts": maybe(ids)})),
)
def test_actions(fuzz_bolt, logged, action_id, value, user, container):
    payload = {
        "type": "block_actions",
        "team": {"id": "T0TEAM"},
        "user": user,
        "api_app_id": "A0APP",
        "container": container,
        "trigger_id": trigger_id(),
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value, "action_ts": "1"}],
    }
    check(fuzz_bolt, urlencode({"payload": json.dumps(payload)}), logged)


@FUZZ
@given(
    metadata=maybe(st.text(max_size=40) | st.just('{"answer_id": "nope"}')),
    state=maybe(st.fixed_dictionaries({"values": junk})),
    user=maybe(st.fixed_dictionaries({"id": maybe(ids)})),
)
def test_view_submissions(fuzz_bolt, logged, metadata, state, user):
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEAM"},
        "user": user,
        "api_app_id": "A0APP",
        "trigger_id": trigger_id(),
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": CORRECTION_CALLBACK,
            "private_metadata": metadata,
            "state": state,
        },
    }
    check(fuzz_bolt, urlencode({"payload": json.dumps(payload)}), logged)
