"""Enqueue training on a Redis-backed RQ queue, so GPU workers anywhere can consume it.

The bot and the scheduler enqueue by the job function's import path, so they never import the
trainer; `supportbot worker` (trainer installed) runs the jobs.
"""

from __future__ import annotations

from typing import Any

import redis
from rq import Queue
from rq.job import Job

from supportbot.redis_conn import resolve_url
from supportbot.settings import Settings

QUEUE = "supportbot-training"
JOB = "trainer.jobs.training_job"
JOB_TIMEOUT_S = 6 * 3600


def rq_connection(settings: Settings) -> redis.Redis:
    """RQ needs a connection that returns bytes (no decode_responses)."""
    return redis.Redis.from_url(resolve_url(settings))


def queue_for(connection: redis.Redis) -> Queue:
    return Queue(QUEUE, connection=connection)


def enqueue_training(
    connection: redis.Redis, trigger: str, notify: dict[str, str] | None = None, force: bool = False
) -> Job:
    kwargs: dict[str, Any] = {"trigger": trigger, "notify": notify, "force": force}
    return queue_for(connection).enqueue(
        JOB, kwargs=kwargs, job_timeout=JOB_TIMEOUT_S, result_ttl=7 * 24 * 3600, failure_ttl=30 * 24 * 3600
    )
