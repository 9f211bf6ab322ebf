from slack_bolt import App

from bot.background import Background
from bot.listeners.events import app_mention, direct_message
from supportbot.services import Services

# The bot events the app subscribes to; manifest.yml must declare exactly these (a test checks).
EVENTS = (app_mention.EVENT, direct_message.EVENT)


def register(app: App, services: Services, background: Background) -> None:
    app_mention.register(app, services, background)
    direct_message.register(app, services, background)
