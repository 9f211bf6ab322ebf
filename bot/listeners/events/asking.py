"""What a mention and a DM share: turn a message event into a question answered in its thread."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk import WebClient

from bot.answering import new_job
from bot.background import Background
from bot.blocks import BUSY_TEXT
from supportbot.errors import InvalidQuestion
from supportbot.services import Services

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def question_text(event: dict[str, Any]) -> str:
    """The message text without the mentions of the bot."""
    return _MENTION.sub("", event.get("text") or "").strip()


def queue_answer(event: dict[str, Any], client: WebClient, services: Services, background: Background) -> None:
    """Validate now (the person hears at once what is wrong), answer in the background."""
    channel, user = event["channel"], event.get("user", "")
    thread_ts = event.get("thread_ts") or event["ts"]

    def tell(text: str) -> None:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)

    try:
        text = services.ask.validate(question_text(event))
    except InvalidQuestion as exc:
        tell(f":warning: {exc}")
        return
    if not background.submit(
        new_job("message", text, user, channel, key=f"{channel}/{event['ts']}", thread_ts=thread_ts)
    ):
        tell(BUSY_TEXT)
