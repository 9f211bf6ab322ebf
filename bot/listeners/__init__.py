"""Listeners, one file per Slack surface handled; each package has ``register(app, services)``."""

from slack_bolt import App

from bot.background import Background
from bot.listeners import actions, commands, events, views
from supportbot.services import Services


def register(app: App, services: Services, background: Background) -> None:
    commands.register(app, services, background)
    events.register(app, services, background)
    actions.register(app, services, background)
    views.register(app, services, background)
