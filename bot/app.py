"""Build the Bolt app: wiring only."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot import listeners
from bot.answering import run_job, tell_failed
from bot.background import Background
from bot.lanes import ListenerExecutor
from bot.membership import Membership
from bot.middleware import skip_redeliveries
from bot.payloads import drop_malformed
from supportbot.intake import Intake
from supportbot.question_queue import QuestionQueue
from supportbot.services import Services
from supportbot.spool import Spool

LISTENER_THREADS = 64


def web_client(token: str | None, base_url: str) -> WebClient:
    """A Web API client that retries what Slack asks to be retried: 429 (after Retry-After),
    5xx and dropped connections."""
    return WebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
            ServerErrorRetryHandler(max_retry_count=3),
        ],
    )


def build_app(services: Services, background: Background | None = None) -> App:
    settings = services.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    # Bolt runs each listener on this pool and the ack waits for a free thread: its default of 5
    # lets five listeners busy after their ack (a vote's thank-you post) hold every other ack back.
    # On a lane of the HTTP guard (a request it acked itself), the listener runs there, to its end.
    listeners_pool = ListenerExecutor(LISTENER_THREADS)
    app = App(signing_secret=secret, client=web_client(token, settings.slack_api_url), listener_executor=listeners_pool)
    if background is None:
        background = Background(settings.answer_workers, settings.max_pending_questions)
    intake = Intake(Spool(settings.data_dir / "spool" / "writes.sqlite"))
    background.bind(
        QuestionQueue(services.store.redis, services.store.keys),
        intake,
        run=lambda job: run_job(job, app.client, services),
        on_error=lambda job: tell_failed(job, app.client),
    )
    app.middleware(drop_malformed)
    app.middleware(skip_redeliveries(services.store, intake))
    # Trust and review rights may name Slack user groups, resolved through the Web API.
    services.corrections.is_trusted = Membership(app.client, settings.trusted_ids).__contains__
    services.corrections.is_reviewer = Membership(app.client, settings.reviewer_ids).__contains__
    listeners.register(app, services, background)
    background.start()
    return app
