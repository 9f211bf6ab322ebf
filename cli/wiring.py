"""Where the trainer's reports go, decided here: the composition root knows both sides."""

from __future__ import annotations

from supportbot.settings import Settings
from trainer.jobs import ReporterFactory
from trainer.progress import LogReporter, Reporter


def training_reporters(settings: Settings) -> ReporterFactory:
    """A job that carries a Slack thread reports there (when a bot token is set); others log."""

    def reporter_for(notify: dict[str, str] | None) -> Reporter:
        if notify and settings.slack_bot_token is not None:
            from bot.training_progress import thread_reporter

            return thread_reporter(settings, notify)
        return LogReporter()

    return reporter_for
