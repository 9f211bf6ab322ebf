"""The training job run by `supportbot worker` (an RQ worker on the training queue).

The worker forks a work horse per job: if it is killed mid-training, RQ marks the job failed,
the training lock expires with its heartbeat, and the active adapter is untouched.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from typing import Any

from rq import get_current_job

from supportbot.errors import SupportbotError
from supportbot.redis_conn import connect
from supportbot.settings import load_settings
from supportbot.store import Store
from supportbot.training_queue import rq_connection, worker_for
from trainer.pipeline import retrain
from trainer.progress import LogReporter, Reporter

log = logging.getLogger(__name__)


# Where a job reports: the entry point installs one that knows Slack (a job that carries a thread
# is followed there); without it, the log. Set before the worker starts: work horses inherit it.
ReporterFactory = Callable[[dict[str, str] | None], Reporter]


def _log_reporter(notify: dict[str, str] | None) -> Reporter:
    return LogReporter()


_reporter_for: ReporterFactory = _log_reporter


def use_reporters(factory: ReporterFactory) -> None:
    global _reporter_for  # noqa: PLW0603 - one process-wide choice, made at start-up
    _reporter_for = factory


def training_job(trigger: str, notify: dict[str, str] | None = None, force: bool = False) -> dict[str, Any]:
    job = get_current_job()
    if job is not None:
        job.meta["pid"] = os.getpid()
        job.save_meta()
    settings = load_settings()
    store = Store(connect(settings), settings.key_prefix)
    reporter = _reporter_for(notify)
    reporter.stage(":arrow_forward: Training started.")
    try:
        outcome = retrain(settings, store, trigger=trigger, reporter=reporter, force=force)
    except SupportbotError as exc:  # a reason meant for people (no data, a bad setting)
        reporter.stage(f":warning: Training failed: {exc}")
        raise
    except Exception:
        # Internals stay in the worker's log; the thread gets an id to quote.
        error_id = uuid.uuid4().hex[:8]
        log.exception("training failed, error id %s", error_id)
        reporter.stage(f":warning: Training failed (error id `{error_id}`; the details are in the worker's log).")
        raise
    return {"status": outcome.status, "reason": outcome.reason, "version": outcome.version and outcome.version.version}


def run_worker(burst: bool = False, reporters: ReporterFactory | None = None) -> None:
    if reporters is not None:
        use_reporters(reporters)
    worker_for(rq_connection(load_settings())).work(burst=burst, with_scheduler=False)
