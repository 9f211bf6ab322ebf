"""The 👍 / 👎 buttons under each answer: one current vote per person and answer."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from supportbot.services import Services

VOTES = {"vote_up": 1, "vote_down": -1}


def register(app: App, services: Services) -> None:
    store = services.store

    def vote(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        channel = body.get("container", {}).get("channel_id") or body.get("channel", {}).get("id")
        thread_ts = body.get("container", {}).get("thread_ts")
        answer = store.get_answer(action.get("value", ""))
        if answer is None:
            text = ":warning: I no longer have that answer, so your vote was not recorded."
        else:
            store.set_vote(answer.id, user, VOTES[action["action_id"]])
            emoji = ":thumbsup:" if VOTES[action["action_id"]] > 0 else ":thumbsdown:"
            text = f"Thanks, your {emoji} on answer *{answer.label}* is recorded."
            question = store.get_question(answer.question_id)
            if question is not None and question.blind:
                side = "the prompted model" if answer.variant == "prompted" else "the fine-tuned model"
                text += f" Answer {answer.label} was {side} ({answer.adapter_version or answer.model})."
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)

    for action_id in VOTES:
        app.action(action_id)(vote)
