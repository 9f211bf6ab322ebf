"""A thread reply starting with the correction prefix (default ``correction:``) corrects the
question of that thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.review import route_correction
from supportbot.errors import InvalidCorrection
from supportbot.services import Services

EVENTS = ("message.channels", "message.groups")


def register(app: App, services: Services) -> None:
    prefix = services.settings.correction_prefix.lower()

    def is_correction(event: dict[str, Any]) -> bool:
        return (
            event.get("subtype") is None
            and event.get("bot_id") is None
            and bool(event.get("thread_ts"))
            and event.get("thread_ts") != event.get("ts")
            and (event.get("text") or "").lstrip().lower().startswith(prefix)
        )

    @app.event("message", matchers=[is_correction])
    def handle(event: dict[str, Any], client: WebClient) -> None:
        channel, user, thread_ts = event["channel"], event.get("user", ""), event["thread_ts"]
        question = services.store.question_for_thread(channel, thread_ts)
        if question is None:
            return  # a thread the bot did not answer
        text = event["text"].lstrip()[len(prefix) :]
        try:
            correction = services.corrections.submit(question.id, text, user, via="thread")
        except InvalidCorrection as exc:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=f":warning: {exc}")
            return
        route_correction(
            client, services, correction, question=question.text, original=None, channel=channel, thread_ts=thread_ts
        )
