"""``@supportbot <question>`` in a channel: answer in the message's thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.background import Background
from bot.listeners.events.asking import queue_answer
from supportbot.services import Services

EVENT = "app_mention"


def register(app: App, services: Services, background: Background) -> None:
    @app.event(EVENT)
    def handle(event: dict[str, Any], client: WebClient) -> None:
        queue_answer(event, client, services, background)
