"""Enqueue training on a Redis-backed RQ queue, so GPU workers anywhere can consume it.

The bot and the scheduler enqueue by the job function's import path, so they never import the
trainer; `supportbot worker` (trainer installed) runs the jobs. Jobs are stored as JSON (RQ's
``JSONSerializer``), never pickle: whoever can write to Redis can queue a training run, but not
run code of their choosing on a worker. Every queue, worker and job fetch goes through this module
so they all use the same serializer.
"""

from __future__ import annotations

from typing import Any

import redis
from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer

from supportbot.redis_conn import resolve_url
from supportbot.settings import Settings

QUEUE = "supportbot-training"
JOB = "trainer.jobs.training_job"
JOB_TIMEOUT_S = 6 * 3600
SERIALIZER = JSONSerializer


def rq_connection(settings: Settings) -> redis.Redis:
    """RQ needs a connection that returns bytes (no decode_responses)."""
    return redis.Redis.from_url(resolve_url(settings))


def queue_for(connection: redis.Redis) -> Queue:
    return Queue(QUEUE, connection=connection, serializer=SERIALIZER)


def worker_for(connection: redis.Redis, worker_class: type[Worker] = Worker) -> Worker:
    """A worker on the training queue (``worker_class``: RQ's forking Worker, or SimpleWorker in-process)."""
    return worker_class([QUEUE], connection=connection, serializer=SERIALIZER)


def fetch_job(connection: redis.Redis, job_id: str) -> Job:
    return Job.fetch(job_id, connection=connection, serializer=SERIALIZER)


def enqueue_training(
    connection: redis.Redis, trigger: str, notify: dict[str, str] | None = None, force: bool = False
) -> Job:
    kwargs: dict[str, Any] = {"trigger": trigger, "notify": notify, "force": force}
    return queue_for(connection).enqueue(
        JOB, kwargs=kwargs, job_timeout=JOB_TIMEOUT_S, result_ttl=7 * 24 * 3600, failure_ttl=30 * 24 * 3600
    )
