"""The training job run by `supportbot worker` (an RQ worker on the training queue).

The worker forks a work horse per job: if it is killed mid-training, RQ marks the job failed,
the training lock expires with its heartbeat, and the active adapter is untouched.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from rq import Worker, get_current_job

from supportbot.redis_conn import connect
from supportbot.settings import load_settings
from supportbot.store import Store
from supportbot.training_queue import QUEUE, rq_connection
from trainer.pipeline import retrain
from trainer.progress import LogReporter, Reporter, SlackThreadReporter

log = logging.getLogger(__name__)


def training_job(trigger: str, notify: dict[str, str] | None = None, force: bool = False) -> dict[str, Any]:
    job = get_current_job()
    if job is not None:
        job.meta["pid"] = os.getpid()
        job.save_meta()
    settings = load_settings()
    store = Store(connect(settings), settings.key_prefix)
    reporter: Reporter = LogReporter()
    if notify and settings.slack_bot_token:
        from slack_sdk import WebClient

        client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
        reporter = SlackThreadReporter(client, notify["channel"], notify["thread_ts"])
    reporter.stage(":arrow_forward: Training started.")
    try:
        outcome = retrain(settings, store, trigger=trigger, reporter=reporter, force=force)
    except Exception as exc:
        reporter.stage(f":warning: Training failed: {exc}")
        raise
    return {"status": outcome.status, "reason": outcome.reason, "version": outcome.version and outcome.version.version}


def run_worker(burst: bool = False) -> None:
    connection = rq_connection(load_settings())
    Worker([QUEUE], connection=connection).work(burst=burst, with_scheduler=False)
