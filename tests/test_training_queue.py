"""The training queue stores jobs as JSON, never pickle: a worker runs JSON jobs end to end, and a
pickled job planted in Redis is refused without running a byte of it. A worker told to stop stops."""

import json
import pickle
import threading
import time
import zlib
from base64 import b64decode
from pathlib import Path

from supportbot.settings import load_settings
from supportbot.training_queue import JOB, enqueue_training, fetch_job, queue_for, rq_connection, worker_for


def stored(connection, job_id: str, field: str) -> bytes:
    return connection.hget(f"rq:job:{job_id}", field)


def echo(text: str, times: int) -> dict[str, object]:
    """A job function for the worker test."""
    return {"echo": text * times}


class Planted:
    """What an attacker with Redis write access would queue: unpickling it creates a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_queued_training_job_is_stored_as_json(redis_client):
    connection = rq_connection(load_settings())
    job = enqueue_training(connection, trigger="/retrain by U1", notify={"channel": "C1", "thread_ts": "1.2"})
    data = zlib.decompress(stored(connection, job.id, "data"))
    assert json.loads(data) == [
        JOB,
        None,
        [],
        {"trigger": "/retrain by U1", "notify": {"channel": "C1", "thread_ts": "1.2"}, "force": False},
    ]
    assert fetch_job(connection, job.id).kwargs["trigger"] == "/retrain by U1"


def test_a_worker_runs_a_json_job_end_to_end_and_stores_the_result_as_json(redis_client):
    connection = rq_connection(load_settings())
    job = queue_for(connection).enqueue(f"{__name__}.echo", "ab", times=2)
    worker_for(connection, in_process=True).work(burst=True)
    done = fetch_job(connection, job.id)
    assert done.get_status() == "finished"
    assert done.return_value() == {"echo": "abab"}
    (result_key,) = connection.keys(f"rq:results:{job.id}")
    (entry,) = connection.xrange(result_key)
    assert json.loads(b64decode(entry[1][b"return_value"])) == {"echo": "abab"}


def test_a_pickled_job_planted_in_redis_is_never_unpickled(redis_client, tmp_path):
    connection = rq_connection(load_settings())
    job = queue_for(connection).enqueue(f"{__name__}.echo", "x", times=1)
    marker = tmp_path / "pwned"
    connection.hset(f"rq:job:{job.id}", "data", zlib.compress(pickle.dumps(Planted(marker))))
    worker_for(connection, in_process=True).work(burst=True)
    assert not marker.exists()
    assert fetch_job(connection, job.id).get_status() == "failed"


def test_a_stopping_worker_ends_its_command_listener_even_when_the_listener_reads_the_unsubscribe_first(
    redis_client,
):
    """The race that held SIGTERM for RQ's 60 s poll now and then: the listener thread handles the
    server's reply to UNSUBSCRIBE before it is told to stop, then waits for a new subscription.
    Here the listener always wins that race."""
    worker = worker_for(rq_connection(load_settings()))
    worker.subscribe()
    pubsub, listener = worker.pubsub, worker.pubsub_thread
    assert pubsub.subscribed_event.wait(10)
    send_unsubscribe = pubsub.unsubscribe

    def unsubscribe_and_let_the_listener_read_the_reply(*args):
        send_unsubscribe(*args)
        deadline = time.monotonic() + 10
        while pubsub.subscribed and time.monotonic() < deadline:
            time.sleep(0.01)

    pubsub.unsubscribe = unsubscribe_and_let_the_listener_read_the_reply
    stopping = threading.Thread(target=worker.unsubscribe, daemon=True)
    stopping.start()
    stopping.join(timeout=30)  # the bug holds it for 60 s
    assert not stopping.is_alive(), "unsubscribing waited on the listener"
    assert not listener.is_alive()
