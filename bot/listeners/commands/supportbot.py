"""``/supportbot stats`` (and help): answered ephemerally."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.blocks import stats_text
from supportbot.services import Services
from supportbot.stats import collect_stats

COMMAND = "/supportbot"
HELP = "*/supportbot* commands:\n• `/supportbot stats`: questions, votes per model, corrections, new training examples"


def register(app: App, services: Services) -> None:
    @app.command(COMMAND)
    def handle(ack: Ack, command: dict[str, Any]) -> None:
        words = (command.get("text") or "").split()
        if words[:1] == ["stats"]:
            ack(text=stats_text(collect_stats(services.store)))
        else:
            ack(text=HELP)
