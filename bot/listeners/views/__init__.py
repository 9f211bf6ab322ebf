from slack_bolt import App

from bot.background import Background
from bot.listeners.views import correction
from supportbot.services import Services


def register(app: App, services: Services, background: Background) -> None:
    correction.register(app, services, background)
