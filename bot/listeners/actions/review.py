"""Approve / Reject buttons on a correction in the review channel: reviewers only."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.review import announce_decision
from supportbot.errors import AlreadyReviewed, InvalidCorrection, NotAllowed
from supportbot.services import Services

DECISIONS = {"approve_correction": True, "reject_correction": False}


def register(app: App, services: Services) -> None:
    def decide(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        reviewer = body["user"]["id"]
        channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
        try:
            correction = services.corrections.review(action["value"], reviewer, DECISIONS[action["action_id"]])
        except (NotAllowed, AlreadyReviewed, InvalidCorrection) as exc:
            if channel:
                client.chat_postEphemeral(channel=channel, user=reviewer, text=f":warning: {exc}")
            return
        announce_decision(client, services.store, correction)

    for action_id in DECISIONS:
        app.action(action_id)(decide)
