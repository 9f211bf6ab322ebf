"""``@supportbot <question>`` in a channel: answer in the message's thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.background import Background
from bot.listeners.events.asking import question_text, queue_answer
from supportbot.services import Services

EVENT = "app_mention"


def register(app: App, services: Services, background: Background) -> None:
    prefix = services.settings.correction_prefix.lower()

    @app.event(EVENT)
    def handle(event: dict[str, Any], client: WebClient) -> None:
        if event.get("thread_ts") and question_text(event).lower().startswith(prefix):
            return  # a correction that mentions the bot: the thread-correction listener takes it
        queue_answer(event, client, services, background)
