"""The buttons under each answer: 👍 / 👎 (one current vote per person) and "Suggest a correction"."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.background import Background
from bot.blocks import correction_modal
from supportbot.intake import SPOOLED
from supportbot.services import Services

VOTES = {"vote_up": 1, "vote_down": -1}
GONE = ":warning: I no longer have that answer."
SAVED = "Thanks, your {emoji} is saved; it will count as soon as my database is back."


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    thread_ts = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")
    return channel, thread_ts


def register(app: App, services: Services, background: Background) -> None:
    store = services.store
    intake = background.intake
    assert intake is not None
    intake.register("vote", lambda p: services.feedback.vote(p["answer_id"], p["user"], p["vote"]))

    def vote(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        channel, thread_ts = _where(body)
        value = VOTES[action["action_id"]]
        result = intake.write("vote", {"answer_id": str(action.get("value", "")), "user": user, "vote": value})
        if result is SPOOLED:
            text = SAVED.format(emoji=":thumbsup:" if value > 0 else ":thumbsdown:")
        elif result is None:
            text = f"{GONE} Your vote was not recorded."
        else:
            emoji = ":thumbsup:" if result.vote > 0 else ":thumbsdown:"
            text = f"Thanks, your {emoji} on answer *{result.answer.label}* is recorded."
            question = store.get_question(result.answer.question_id)
            if question is not None and question.blind:
                side = "the prompted model" if result.answer.variant == "prompted" else "the fine-tuned model"
                model = result.answer.adapter_version or result.answer.model
                text += f" Answer {result.answer.label} was {side} ({model})."
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)

    for action_id in VOTES:
        app.action(action_id)(vote)

    @app.action("suggest_correction")
    def suggest(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        channel, thread_ts = _where(body)
        answer = store.get_answer(action.get("value", ""))
        question = store.get_question(answer.question_id) if answer else None
        if answer is None or question is None:
            if channel:
                client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=GONE)
            return
        metadata = json.dumps({"answer_id": answer.id, "channel": channel, "thread_ts": thread_ts})
        client.views_open(trigger_id=body["trigger_id"], view=correction_modal(answer, question.text, metadata))
