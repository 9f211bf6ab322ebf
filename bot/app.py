"""Build the Bolt app: wiring only."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot import listeners
from bot.background import Background
from bot.middleware import skip_redeliveries
from supportbot.services import Services


def build_app(services: Services, background: Background | None = None) -> App:
    settings = services.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = App(
        signing_secret=secret,
        client=WebClient(token=token, base_url=settings.slack_api_url),
    )
    app.middleware(skip_redeliveries(services.store))
    if background is None:
        background = Background(settings.answer_workers, settings.max_pending_questions)
    listeners.register(app, services, background)
    return app
