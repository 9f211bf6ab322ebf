"""``@supportbot <question>`` in a channel: answer in the message's thread.

``@supportbot correction: …`` in a thread is a correction instead (see ``thread_correction``).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.background import Background
from bot.blocks import correction_elsewhere_text
from bot.listeners.events.asking import queue_answer
from bot.listeners.events.thread_correction import correction_text, take_correction
from supportbot.services import Services

EVENT = "app_mention"


def register(app: App, services: Services, background: Background) -> None:
    prefix = services.settings.correction_prefix.lower()
    intake = background.intake
    assert intake is not None

    @app.event(EVENT)
    def handle(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        thread_ts = event.get("thread_ts")
        text = correction_text(event.get("text"), prefix, context.bot_user_id) if thread_ts else None
        if text is None:
            queue_answer(event, client, services, background)
        elif not take_correction(event, text, client, services, intake):
            text = correction_elsewhere_text(services.settings.correction_prefix)
            client.chat_postEphemeral(
                channel=event["channel"], user=event.get("user", ""), thread_ts=thread_ts, text=text
            )
