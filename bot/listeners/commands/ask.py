"""``/ask <question>``: ack at once, then post the question and both answers in a thread."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.background import Background
from bot.blocks import BUSY_TEXT, FAILED_TEXT, question_message
from bot.posting import post_answers
from supportbot.errors import InvalidQuestion
from supportbot.services import Services

log = logging.getLogger(__name__)
COMMAND = "/ask"
NOT_IN_CHANNEL = ":warning: I can't post in this channel. Invite me with `/invite @supportbot` and ask again."


def register(app: App, services: Services, background: Background) -> None:
    ask = services.ask

    def answer(text: str, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        channel, user = command["channel_id"], command["user_id"]
        try:
            root = client.chat_postMessage(channel=channel, **question_message(user, text))
        except SlackApiError as exc:
            log.warning("cannot post in %s: %s", channel, exc.response.get("error"))
            respond(text=NOT_IN_CHANNEL, response_type="ephemeral")
            return
        question = ask.new_question(text, user=user, channel=root["channel"], thread_ts=root["ts"])
        post_answers(client, ask, question)

    @app.command(COMMAND)
    def handle(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        try:
            text = ask.validate(command.get("text"))
        except InvalidQuestion as exc:
            ack(text=f":warning: {exc}")  # a slash command's ack text is ephemeral
            return
        ack()
        queued = background.submit(
            answer,
            text,
            command,
            client,
            respond,
            on_error=lambda: respond(text=FAILED_TEXT, response_type="ephemeral"),
        )
        if not queued:
            respond(text=BUSY_TEXT, response_type="ephemeral")
