from slack_bolt import App

from bot.listeners.actions import feedback, review
from supportbot.services import Services


def register(app: App, services: Services) -> None:
    feedback.register(app, services)
    review.register(app, services)
