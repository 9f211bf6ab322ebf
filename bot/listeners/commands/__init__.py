from slack_bolt import App

from bot.background import Background
from bot.listeners.commands import ask, retrain, supportbot
from bot.membership import Membership
from supportbot.services import Services

# The slash commands the app handles; manifest.yml must declare exactly these (a test checks).
COMMANDS = (ask.COMMAND, retrain.COMMAND, supportbot.COMMAND)


def register(app: App, services: Services, background: Background) -> None:
    is_admin = Membership(app.client, services.settings.admin_ids)
    ask.register(app, services, background)
    retrain.register(app, services, is_admin)
    supportbot.register(app, services, is_admin)
