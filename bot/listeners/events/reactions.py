"""👍/👎 reactions on an answer: ``reaction_added`` casts a vote, ``reaction_removed`` withdraws it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from supportbot.services import Services

EVENTS = ("reaction_added", "reaction_removed")


def register(app: App, services: Services) -> None:
    def on_reaction(event: dict[str, Any]) -> None:
        item = event.get("item", {})
        if item.get("type") != "message":
            return  # reactions on files and the like are not votes
        services.feedback.react(
            channel=item["channel"],
            ts=item["ts"],
            user=event.get("user", ""),
            reaction=event.get("reaction", ""),
            added=event["type"] == "reaction_added",
        )

    for name in EVENTS:
        app.event(name)(on_reaction)
