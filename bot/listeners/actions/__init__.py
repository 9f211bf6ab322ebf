from slack_bolt import App

from bot.background import Background
from bot.listeners.actions import feedback, review
from supportbot.services import Services


def register(app: App, services: Services, background: Background) -> None:
    feedback.register(app, services, background)
    review.register(app, services)
