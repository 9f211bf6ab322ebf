"""A direct message to the bot: answer in the message's thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.listeners.events.asking import answer_event
from supportbot.services import Services

EVENT = "message.im"


def is_person_dm(event: dict[str, Any]) -> bool:
    """A new message a person typed in a DM: not an edit, a join, or the bot's own post."""
    return (
        event.get("channel_type") == "im"
        and event.get("subtype") is None
        and event.get("bot_id") is None
        and bool(event.get("user"))
    )


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    def answer(event: dict[str, Any], client: WebClient) -> None:
        answer_event(event, client, services)

    app.event("message", matchers=[is_person_dm])(ack=acknowledge, lazy=[answer])
