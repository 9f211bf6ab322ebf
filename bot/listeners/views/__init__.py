from slack_bolt import App

from bot.listeners.views import correction
from supportbot.services import Services


def register(app: App, services: Services) -> None:
    correction.register(app, services)
