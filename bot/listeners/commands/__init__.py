from slack_bolt import App

from bot.background import Background
from bot.listeners.commands import ask, supportbot
from supportbot.services import Services

# The slash commands the app handles; manifest.yml must declare exactly these (a test checks).
COMMANDS = (ask.COMMAND, supportbot.COMMAND)


def register(app: App, services: Services, background: Background) -> None:
    ask.register(app, services, background)
    supportbot.register(app, services)
