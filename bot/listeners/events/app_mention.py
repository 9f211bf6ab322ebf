"""``@supportbot <question>`` in a channel: answer in the message's thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.listeners.events.asking import answer_event
from supportbot.services import Services

EVENT = "app_mention"


def register(app: App, services: Services) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    def answer(event: dict[str, Any], client: WebClient) -> None:
        answer_event(event, client, services)

    app.event(EVENT)(ack=acknowledge, lazy=[answer])
