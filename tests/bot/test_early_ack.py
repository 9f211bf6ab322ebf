"""The HTTP guard acks requests whose ack is always empty before Bolt runs them, and only those.

Requests go through the ASGI app `supportbot serve --http` runs (signed, over httpx's ASGI
transport). Holding every thread (lane) of the guard on an Event makes "Bolt has not run it
yet" a fact: an ack that still comes back was sent by the guard.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import httpx
import pytest

from bot.http import GuardedHandler
from bot.listeners.commands.ask import early_acks
from tests.support.answers import posted_answer
from tests.support.signing import (
    SIGNING_SECRET,
    action_body,
    event_body,
    reaction_body,
    signed_headers,
    slash_command_body,
)
from tests.support.waiting import eventually, settle

CHANNEL = "C0SUPPORT"


def post(handler: GuardedHandler, body: str, headers: dict[str, str] | None = None) -> httpx.Response:
    content_type = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
    headers = {**signed_headers(body), "Content-Type": content_type, **(headers or {})}

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot", timeout=60) as client:
            return await client.post("/slack/events", content=body.encode(), headers=headers)

    return asyncio.run(send())


class HeldPool:
    """Every lane (thread) of the guard for early-acked requests, held until released."""

    def __init__(self, handler: GuardedHandler) -> None:
        self.release = threading.Event()
        started = threading.Semaphore(0)

        def hold() -> None:
            started.release()
            self.release.wait(60)

        for lane in handler.lanes:
            lane.submit(hold)
        for _ in handler.lanes:
            assert started.acquire(timeout=30)


@pytest.fixture
def guard(bolt) -> Iterator[GuardedHandler]:
    handler = GuardedHandler(bolt.app, SIGNING_SECRET, empty_ack_commands=early_acks(bolt.services))
    yield handler
    handler.wait_idle()


def test_votes_and_reactions_are_acked_before_bolt_runs_them_and_then_count(bolt, guard):
    store = bolt.services.store
    answer = posted_answer(store)
    held = HeldPool(guard)
    vote = post(guard, action_body("vote_down", answer.id, "U0BOB", CHANNEL, answer.ts))
    reaction = post(guard, reaction_body("+1", "U0ALICE", CHANNEL, answer.ts, event_id="EvEarly1"))
    assert (vote.status_code, vote.text, reaction.status_code, reaction.text) == (200, "", 200, "")
    assert settle(lambda: store.votes.of(answer.id)) == {}  # acked, not handled: Bolt has not run them
    held.release.set()
    assert guard.wait_idle()
    eventually(lambda: store.votes.of(answer.id), {"U0BOB": -1, "U0ALICE": 1})
    eventually(lambda: len(bolt.stub.calls_to("chat.postEphemeral")), 1)  # the vote's thank-you, as before


def test_requests_about_one_message_are_handled_in_the_order_they_arrived(bolt, guard):
    """Acked at once, handled later: a 👍 then its removal, or 👍 then 👎, must not be applied side by
    side in either order (the last one must win)."""
    store = bolt.services.store
    answer = posted_answer(store)
    for round_ in range(5):
        held = HeldPool(guard)
        post(guard, reaction_body("+1", "U0ALICE", CHANNEL, answer.ts, event_id=f"EvO{round_}a"))
        post(guard, reaction_body("+1", "U0ALICE", CHANNEL, answer.ts, added=False, event_id=f"EvO{round_}b"))
        post(guard, action_body("vote_up", answer.id, "U0BOB", CHANNEL, answer.ts))
        post(guard, action_body("vote_down", answer.id, "U0BOB", CHANNEL, answer.ts))
        held.release.set()  # all four are released at once
        assert guard.wait_idle()
        assert store.votes.of(answer.id) == {"U0BOB": -1}, round_
        post(guard, action_body("vote_up", answer.id, "U0BOB", CHANNEL, answer.ts))  # reset for the next round
        assert guard.wait_idle()


def test_a_valid_question_is_acked_before_bolt_and_answered(bolt, guard):
    held = HeldPool(guard)
    response = post(guard, slash_command_body("Where is my parcel?", bolt.stub.response_url))
    assert (response.status_code, response.text) == (200, "")
    assert settle(lambda: len(bolt.stub.calls_to("chat.postMessage"))) == 0  # Bolt has not run it
    held.release.set()
    bolt.stub.wait_for_answers(2)


def test_requests_whose_ack_carries_something_wait_for_bolt(bolt, guard):
    held = HeldPool(guard)  # released after the asserts: whatever answers here is Bolt, on the other pool
    try:
        empty = post(guard, slash_command_body("   ", bolt.stub.response_url))
        assert empty.status_code == 200 and "Please include a question" in empty.text  # the ephemeral warning
        challenge = json.dumps({"type": "url_verification", "token": "t", "challenge": "c0ffee"})
        verified = post(guard, challenge)
        assert verified.status_code == 200 and "c0ffee" in verified.text
        help_text = post(guard, slash_command_body("", bolt.stub.response_url, command="/supportbot"))
        assert help_text.status_code == 200 and help_text.text != ""
    finally:
        held.release.set()


def test_a_request_with_a_bad_signature_is_refused_and_stores_nothing(bolt, guard):
    store = bolt.services.store
    answer = posted_answer(store)
    body = reaction_body("+1", "U0MALLORY", CHANNEL, answer.ts, event_id="EvForged")
    forged = post(guard, body, headers=signed_headers(body, secret="not-the-secret"))
    assert forged.status_code == 401
    assert settle(lambda: store.votes.of(answer.id)) == {}


def test_past_the_backlog_acks_wait_for_bolt_again(bolt, slack_stub):
    store = bolt.services.store
    answer = posted_answer(store)
    guard = GuardedHandler(bolt.app, SIGNING_SECRET, empty_ack_commands=early_acks(bolt.services), backlog=1)
    held = HeldPool(guard)
    first = post(guard, reaction_body("+1", "U0ALICE", CHANNEL, answer.ts, event_id="EvB1"))
    second = post(guard, reaction_body("-1", "U0BOB", CHANNEL, answer.ts, event_id="EvB2"))
    assert (first.status_code, second.status_code) == (200, 200)
    # The first waits in the held pool; the second, past the backlog of 1, went through Bolt.
    eventually(lambda: store.votes.of(answer.id), {"U0BOB": -1})
    held.release.set()
    assert guard.wait_idle()
    eventually(lambda: store.votes.of(answer.id), {"U0BOB": -1, "U0ALICE": 1})


def test_a_redelivered_event_acked_early_counts_once(bolt, guard):
    store = bolt.services.store
    answer = posted_answer(store)
    body = reaction_body("-1", "U0CAROL", CHANNEL, answer.ts, event_id="EvTwice")
    assert post(guard, body).status_code == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert post(guard, body, headers=retry).status_code == 200
    assert guard.wait_idle()
    eventually(lambda: store.votes.of(answer.id), {"U0CAROL": -1})
    withdraw = reaction_body("-1", "U0CAROL", CHANNEL, answer.ts, added=False, event_id="EvGone")
    assert post(guard, withdraw).status_code == 200
    assert guard.wait_idle()
    eventually(lambda: store.votes.of(answer.id), {})
    assert post(guard, body).status_code == 200  # the first delivery again, after the withdrawal: skipped
    assert guard.wait_idle()
    assert settle(lambda: store.votes.of(answer.id)) == {}


def test_an_event_with_junk_is_acked_and_bolt_refuses_it_quietly(bolt, guard, caplog):
    junk = event_body({"type": "reaction_added", "user": False, "item": "nope"}, event_id="EvJunk")
    assert post(guard, junk).status_code == 200
    assert guard.wait_idle()
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
