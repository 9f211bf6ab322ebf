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
from rq import Queue, SimpleWorker, Worker
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker

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


class _PromptShutdown(BaseWorker):
    """Stops the worker's command listener (its pubsub thread) before unsubscribing it, so a warm
    shutdown ends at once.

    RQ's own ``unsubscribe`` sends UNSUBSCRIBE and then stops the thread. The server's reply can
    reach the thread first; it then goes on waiting, up to RQ's 60 s poll, for a subscription that
    never comes, and redis-py 8's ``stop()`` waits for it. So SIGTERM took a minute now and then
    (1 of 12 idle workers here), past ``docker compose stop``'s 10 s, after which the worker is
    killed. With the flag down first, the reply wakes the thread and it exits.
    """

    def unsubscribe(self) -> None:
        thread = self.pubsub_thread
        if thread is None:
            return
        self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
        try:
            thread.stop(timeout=0)  # redis-py 8: lowers the run flag, waits 0 s
        except TypeError:
            thread.stop()  # redis-py 5-7: only lowers the run flag
        self.pubsub.unsubscribe()  # its reply wakes the thread's read, and the thread closes the pubsub
        thread.join(timeout=5)
        self.pubsub.close()


class TrainingWorker(_PromptShutdown, Worker):
    """RQ's forking worker (a work horse per job), as `supportbot worker` runs it."""


class InProcessTrainingWorker(_PromptShutdown, SimpleWorker):
    """RQ's worker that runs each job in the worker's own process, without forking (tests)."""


def worker_for(connection: redis.Redis, in_process: bool = False) -> BaseWorker:
    """A worker on the training queue: forking by default, or running jobs in this process."""
    worker_class = InProcessTrainingWorker if in_process else TrainingWorker
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
