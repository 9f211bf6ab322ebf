"""What a mention and a DM share: turn a message event into a question answered in its thread."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk import WebClient

from bot.posting import post_answers
from supportbot.errors import InvalidQuestion
from supportbot.services import Services

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def question_text(event: dict[str, Any]) -> str:
    """The message text without the mentions of the bot."""
    return _MENTION.sub("", event.get("text") or "").strip()


def answer_event(event: dict[str, Any], client: WebClient, services: Services) -> None:
    channel, user = event["channel"], event.get("user", "")
    thread_ts = event.get("thread_ts") or event["ts"]
    try:
        question = services.ask.new_question(
            question_text(event), user=user, channel=channel, thread_ts=thread_ts
        )
    except InvalidQuestion as exc:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=f":warning: {exc}")
        return
    post_answers(client, services.ask, question)
