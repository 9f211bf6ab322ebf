"""Listeners, one file per Slack surface handled; each package has ``register(app, services)``."""

from slack_bolt import App

from bot.listeners import actions, commands, events
from supportbot.services import Services


def register(app: App, services: Services) -> None:
    commands.register(app, services)
    events.register(app, services)
    actions.register(app, services)
