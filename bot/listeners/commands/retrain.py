"""``/retrain`` (admins only): queue a training job and follow its progress in a thread."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answering import NOT_IN_CHANNEL, respond_url
from bot.blocks import RETRAIN_REFUSED, retrain_queued_text
from supportbot.services import Services
from supportbot.training_queue import enqueue_training, rq_connection

log = logging.getLogger(__name__)
COMMAND = "/retrain"


def register(app: App, services: Services, is_admin: Any) -> None:
    @app.command(COMMAND)
    def handle(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        user, channel = command.get("user_id") or "", command.get("channel_id") or ""
        if user not in is_admin:
            ack(text=RETRAIN_REFUSED)
            return
        ack()
        force = (command.get("text") or "").strip() == "force"
        try:
            root = client.chat_postMessage(channel=channel, text=f":inbox_tray: Retraining requested by <@{user}>…")
        except SlackApiError:
            respond_url(command.get("response_url") or "", NOT_IN_CHANNEL)
            return
        notify = {"channel": root["channel"], "thread_ts": root["ts"]}
        job = enqueue_training(
            rq_connection(services.settings), trigger=f"/retrain by {user}", notify=notify, force=force
        )
        client.chat_postMessage(channel=root["channel"], thread_ts=root["ts"], text=retrain_queued_text(user, job.id))
