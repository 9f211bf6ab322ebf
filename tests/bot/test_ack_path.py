"""Acks never wait on other work: not on another request's dispatch, not on listeners still busy
after their own ack, not on generation for a core.

Requests go through the ASGI app `supportbot serve --http` runs (signed, over httpx's ASGI
transport); commands that hold their thread on an Event make "busy" a fact, not a race.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
from slack_bolt import Ack

from bot.app import LISTENER_THREADS
from bot.http import GuardedHandler
from supportbot.priority import GENERATION_NICENESS, niceness_of_this_thread
from tests.bot.test_answer_placeholders import gated_bolt, model  # noqa: F401 - the fixture
from tests.support.signing import signed_headers, slash_command_body


def form(body: str) -> dict[str, str]:
    return {**signed_headers(body), "Content-Type": "application/x-www-form-urlencoded"}


def test_a_request_waiting_for_its_ack_does_not_hold_back_the_next_one(bolt):
    entered, release = threading.Event(), threading.Event()

    @bolt.app.command("/hold")
    def hold(ack: Ack) -> None:  # a listener slow to ack: dispatch waits for it
        entered.set()
        release.wait(60)
        ack()

    async def scenario() -> tuple[int, bool, int]:
        transport = httpx.ASGITransport(app=GuardedHandler(bolt.app))
        async with httpx.AsyncClient(transport=transport, base_url="http://bot", timeout=60) as client:
            held_body = slash_command_body("hold on", bolt.stub.response_url, command="/hold")
            held = asyncio.create_task(client.post("/slack/events", content=held_body, headers=form(held_body)))
            await asyncio.to_thread(entered.wait, 60)
            body = slash_command_body("Where is my parcel?", bolt.stub.response_url)
            asked = await client.post("/slack/events", content=body, headers=form(body))
            still_held = not held.done()
            release.set()
            return asked.status_code, still_held, (await held).status_code

    asked, still_held, held = asyncio.run(scenario())
    assert (asked, still_held, held) == (200, True, 200)


def test_listeners_busy_after_their_ack_do_not_hold_back_other_acks(bolt):
    busy, release = threading.Semaphore(0), threading.Event()

    @bolt.app.command("/busy")
    def after_ack(ack: Ack, command: dict[str, Any]) -> None:
        ack()
        busy.release()
        release.wait(60)  # work after the ack (a thank-you post to Slack, say)

    held = 8  # more than Bolt's default listener pool of 5
    assert held < LISTENER_THREADS
    try:
        for i in range(held):
            assert bolt.dispatch(slash_command_body(f"busy {i}", bolt.stub.response_url, command="/busy")).status == 200
        for _ in range(held):
            assert busy.acquire(timeout=60)  # every one of them is holding a listener thread now
        response = bolt.dispatch(slash_command_body("Where is my parcel?", bolt.stub.response_url))
        assert response.status == 200 and response.body == ""
    finally:
        release.set()


def test_responders_run_on_threads_at_a_lower_cpu_priority_than_requests(settings, slack_stub, model):  # noqa: F811
    made, background = gated_bolt(model, slack_stub)
    seen: dict[str, int] = {}
    answer = made.finetuned.inner.answer

    def recording(question: str):
        seen["finetuned"] = niceness_of_this_thread()
        return answer(question)

    made.finetuned.inner.answer = recording  # type: ignore[method-assign]
    try:
        made.prompted.open(), made.finetuned.open()
        made.bolt.dispatch(slash_command_body("Where is my parcel?", slack_stub.response_url))
        slack_stub.wait_for_answers(2)
        assert seen["finetuned"] >= min(19, niceness_of_this_thread() + GENERATION_NICENESS)
    finally:
        background.shutdown()
