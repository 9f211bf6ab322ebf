"""``/ask <question>``: ack at once, queue the question; it is posted with both answers in a thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.answering import NOT_IN_CHANNEL, new_job, respond_url
from bot.background import Background
from bot.blocks import BUSY_TEXT
from supportbot.errors import InvalidQuestion
from supportbot.services import Services

COMMAND = "/ask"
__all__ = ["COMMAND", "NOT_IN_CHANNEL", "early_acks", "register"]


def early_acks(services: Services) -> dict[str, Callable[[str], bool]]:
    """For the HTTP guard: ``/ask`` acks empty whenever its question is valid, so the guard may ack
    it before Bolt runs the listener (which then acks nothing new and queues the question)."""

    def valid(text: str) -> bool:
        try:
            services.ask.validate(text)
        except InvalidQuestion:
            return False
        return True

    return {COMMAND: valid}


def register(app: App, services: Services, background: Background) -> None:
    ask = services.ask

    @app.command(COMMAND)
    def handle(ack: Ack, command: dict[str, Any]) -> None:
        try:
            text = ask.validate(command.get("text"))
        except InvalidQuestion as exc:
            ack(text=f":warning: {exc}")  # a slash command's ack text is ephemeral
            return
        ack()
        user, channel, response_url = command.get("user_id"), command.get("channel_id"), command.get("response_url")
        if not (user and channel and response_url):
            return  # not a command Slack sends: nowhere to answer
        job = new_job("slash", text, user, channel, key=command.get("trigger_id"), response_url=response_url)
        if not background.submit(job):
            respond_url(response_url, BUSY_TEXT)
