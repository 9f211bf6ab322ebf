"""Build the Bolt app: wiring only."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot import listeners
from bot.background import Background
from bot.membership import Membership
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
    # Trust and review rights may name Slack user groups, resolved through the Web API.
    services.corrections.is_trusted = Membership(app.client, settings.trusted_ids).__contains__
    services.corrections.is_reviewer = Membership(app.client, settings.reviewer_ids).__contains__
    if background is None:
        background = Background(settings.answer_workers, settings.max_pending_questions)
    listeners.register(app, services, background)
    return app
