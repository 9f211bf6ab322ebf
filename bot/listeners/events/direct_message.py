"""A direct message to the bot: answer in the message's thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.background import Background
from bot.listeners.events.asking import queue_answer
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


def register(app: App, services: Services, background: Background) -> None:
    @app.event("message", matchers=[is_person_dm])
    def handle(event: dict[str, Any], client: WebClient) -> None:
        queue_answer(event, client, services, background)

    @app.event("message")
    def ignore_other_messages() -> None:
        """The bot's own posts, edits and joins: acknowledged (Bolt acks events) and dropped."""
