"""👍/👎 reactions on an answer: ``reaction_added`` casts a vote, ``reaction_removed`` withdraws it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.background import Background
from supportbot.services import Services
from supportbot.votes import reaction_vote

EVENTS = ("reaction_added", "reaction_removed")


def register(app: App, services: Services, background: Background) -> None:
    intake = background.intake
    assert intake is not None
    intake.register("reaction", lambda p: services.feedback.react(**p))

    def on_reaction(event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or not item.get("channel") or not item.get("ts"):
            return  # reactions on files and the like are not votes
        if reaction_vote(str(event.get("reaction") or ""), services.feedback.up, services.feedback.down) is None:
            return  # not a 👍 or 👎
        reaction = {
            "channel": str(item["channel"]),
            "ts": str(item["ts"]),
            "user": str(event.get("user") or ""),
            "reaction": str(event.get("reaction") or ""),
            "added": event.get("type") == "reaction_added",
        }
        intake.write("reaction", reaction)

    for name in EVENTS:
        app.event(name)(on_reaction)
