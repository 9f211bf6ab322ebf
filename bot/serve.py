"""Run the bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP through uvicorn (ASGI)."""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence
from typing import Protocol

from supportbot.errors import ConfigError
from supportbot.schedule import RetrainSchedule
from supportbot.services import Services, build_services
from supportbot.settings import Settings
from supportbot.training_queue import enqueue_training, rq_connection

log = logging.getLogger(__name__)


class Companion(Protocol):
    """Something that runs beside the bot for as long as it serves (the training worker)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def serve(settings: Settings, http: bool, host: str, port: int, companions: Sequence[Companion] = ()) -> None:
    """Check the configuration, start ``companions``, serve until stopped, then stop them."""
    socket_mode = not http
    if socket_mode and settings.slack_app_token is None:
        raise ConfigError(
            "SLACK_APP_TOKEN is not set: set it (xapp-..., see README) for Socket Mode, "
            "or run `supportbot serve --http --port 3000` behind a public URL."
        )
    settings.require_slack(socket_mode=socket_mode)

    services = build_services(settings)
    started: list[Companion] = []
    try:
        for companion in companions:
            companion.start()
            started.append(companion)
        _run(settings, services, socket_mode, host, port)
    finally:
        for companion in reversed(started):
            companion.stop()


def _run(settings: Settings, services: Services, socket_mode: bool, host: str, port: int) -> None:
    from bot.app import build_app

    services.follow_adapter_switches()
    app = build_app(services)
    schedule = RetrainSchedule(
        settings,
        services.store,
        lambda trigger: enqueue_training(rq_connection(settings), trigger=trigger),
    )
    schedule.start()
    if settings.digest_channel:
        from bot.digest import DigestSchedule

        DigestSchedule(settings, services.store, app.client).start()
    else:
        log.info("DIGEST_CHANNEL is not set: no weekly digest (/supportbot digest still works)")
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        freeze_startup_objects()

        assert settings.slack_app_token is not None
        log.info("connecting to Slack in Socket Mode")
        SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
        return

    import uvicorn

    from bot.http import GuardedHandler
    from bot.listeners.commands.ask import early_acks

    log.info("serving Slack requests on http://%s:%s/slack/events", host, port)
    assert settings.slack_signing_secret is not None  # require_slack checked it
    handler = GuardedHandler(
        app, settings.slack_signing_secret.get_secret_value(), empty_ack_commands=early_acks(services)
    )
    freeze_startup_objects()
    uvicorn.run(handler, host=host, port=port, log_level=settings.log_level.lower())


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (torch, transformers, the models: ~560,000 objects) out
    of the garbage collector's reach. Python's full collection walks them all with the GIL held:
    measured 340 ms on a 2-core EPYC, a stall of every ack in flight that made the p99 under load.
    What is created later is collected as before (``gc.freeze``, as CPython's docs describe)."""
    gc.collect()
    gc.freeze()
    log.debug("froze %d start-up objects out of the collector", gc.get_freeze_count())
