from slack_bolt import App

from bot.background import Background
from bot.listeners.events import app_mention, direct_message, reactions, thread_correction
from supportbot.services import Services

# The bot events the app subscribes to; manifest.yml must declare exactly these (a test checks).
EVENTS = (app_mention.EVENT, direct_message.EVENT, *reactions.EVENTS, *thread_correction.EVENTS)


def register(app: App, services: Services, background: Background) -> None:
    # Bolt runs the first listener that matches: a correction in a thread (DMs too) goes before
    # a DM question.
    thread_correction.register(app, services, background)
    app_mention.register(app, services, background)
    direct_message.register(app, services, background)
    reactions.register(app, services, background)
