"""`supportbot serve`: the Slack bot."""

from __future__ import annotations

import os

import click

from cli.common import friendly_errors, load_config


@click.command()
@click.option("--http", is_flag=True, help="Serve Slack's HTTP requests instead of Socket Mode.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface for --http.")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535), help="Port for --http.")
@friendly_errors
def serve(http: bool, host: str, port: int) -> None:
    """Run the Slack bot (Socket Mode when SLACK_APP_TOKEN is set, else use --http)."""
    from bot.serve import serve as run

    settings = load_config()
    companions = []
    if settings.training_worker == "embedded":
        from cli.worker_process import WorkerProcess, exit_on_sigterm
        from supportbot.redis_conn import resolve_url

        exit_on_sigterm()  # so that the worker is stopped whatever Redis is used
        # The child uses this process's Redis (the embedded one included) and stops before it.
        companions.append(WorkerProcess({**os.environ, "REDIS_URL": resolve_url(settings)}))
    run(settings, http=http, host=host, port=port, companions=companions)
