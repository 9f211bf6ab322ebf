"""Scheduled jobs run exactly once across replicas: a failed run or a killed replica leaves the fire time
to another replica; retraining skips with a logged reason."""

import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import ANY

from apscheduler.triggers.cron import CronTrigger

from supportbot.schedule import FirePolicy, RetrainSchedule
from supportbot.settings import load_settings
from supportbot.store import Store
from tests.support.paths import BITEXT
from tests.support.replicas import fire_together
from tests.support.schedule_replica import COMPLETED, FAILURES_LEFT, STARTED, Counted
from tests.support.waiting import eventually, settle
from trainer.importer import Mapping, parse

REPLICA_SCRIPT = Path(__file__).parent / "support" / "schedule_replica.py"


def seeded(redis_client, n: int) -> Store:
    store = Store(redis_client)
    store.seeds.add_all(parse(BITEXT, Mapping(), 2000).seeds[:n])
    return store


def test_two_replicas_firing_together_enqueue_once(redis_client, monkeypatch):
    monkeypatch.setenv("MIN_NEW_EXAMPLES", "10")
    settings, store = load_settings(), seeded(redis_client, 20)
    enqueued: list[str] = []
    replicas = [RetrainSchedule(settings, store, enqueued.append) for _ in range(2)]
    now = datetime.fromisoformat("2026-11-30T03:00:00.120+00:00")  # Monday 03:00, the default cron
    assert fire_together(replicas, now) == ["enqueued", "not-mine"]
    assert enqueued == ["schedule"]
    # A replica whose clock runs a little late still recognises the same fire time.
    late = datetime.fromisoformat("2026-11-30T03:00:07+00:00")
    assert replicas[0].fire(late) == "not-mine"


def test_too_few_new_examples_skips_and_logs_why(redis_client, monkeypatch, caplog):
    monkeypatch.setenv("MIN_NEW_EXAMPLES", "50")
    settings, store = load_settings(), seeded(redis_client, 20)
    enqueued: list[str] = []
    schedule = RetrainSchedule(settings, store, enqueued.append)
    with caplog.at_level("INFO"):
        assert schedule.fire(datetime.fromisoformat("2026-11-30T03:00:00+00:00")) == "skipped"
    assert enqueued == []
    assert "20 new approved examples, MIN_NEW_EXAMPLES=50" in caplog.text


def test_two_running_apschedulers_fire_once_per_tick(redis_client, monkeypatch):
    monkeypatch.setenv("MIN_NEW_EXAMPLES", "1")
    settings, store = load_settings(), seeded(redis_client, 5)
    enqueued: list[float] = []
    lock = threading.Lock()

    def enqueue(_: str) -> None:
        with lock:
            enqueued.append(time.time())

    every_second = CronTrigger(second="*", timezone="UTC")
    replicas = [RetrainSchedule(settings, store, enqueue, trigger=every_second, tolerance_s=0.5) for _ in range(2)]
    for replica in replicas:
        replica.start()
    time.sleep(3.2)
    for replica in replicas:
        replica.stop()
    claims = redis_client.keys("sb:schedule:retrain:*")
    assert len(enqueued) == len(claims) >= 2  # one enqueue per fire time, never two
    assert len({round(t) for t in enqueued}) == len(enqueued)


def test_bad_cron_or_timezone_is_a_clear_error(monkeypatch, redis_client):
    import pytest

    from supportbot.errors import ConfigError

    monkeypatch.setenv("RETRAIN_CRON", "every monday")
    with pytest.raises(ConfigError, match="RETRAIN_CRON='every monday'"):
        RetrainSchedule(load_settings(), Store(redis_client), print)


# A claim is a lease: a failed run or a dead replica leaves the fire time to another replica.


def counts(redis_client) -> dict[str, int]:
    started, completed = redis_client.mget(STARTED, COMPLETED)
    return {"started": int(started or 0), "completed": int(completed or 0)}


def record(redis_client, fired: datetime) -> dict[str, str]:
    return redis_client.hgetall(f"sb:schedule:counted:{fired.isoformat()}")


def test_a_failed_run_is_retried_by_the_other_replica_and_completes_once(redis_client):
    redis_client.set(FAILURES_LEFT, 1)
    policy = FirePolicy(retry_after_s=0, recover_every_s=0.1)
    store = Store(redis_client)
    replicas = [Counted(store, policy) for _ in range(2)]
    now = datetime.now(UTC) - timedelta(minutes=5)
    assert fire_together(replicas, now) == ["failed", "not-mine"]
    fired = replicas[0].fire_time(now)
    assert record(redis_client, fired)["state"] == "failed"
    for replica in replicas:
        replica.start()  # each looks for undone fire times every 0.1 s
    try:
        eventually(lambda: counts(redis_client)["completed"], 1)
        assert settle(lambda: counts(redis_client)) == {"started": 2, "completed": 1}
    finally:
        for replica in replicas:
            replica.stop()
    assert record(redis_client, fired) == {"state": "done", "attempts": "2", "outcome": "done", "retry_at": ANY}
    print(f"\nfailed run retried by a replica: {counts(redis_client)}")


def test_a_run_that_always_fails_is_retried_a_bounded_number_of_times_with_backoff(redis_client):
    redis_client.set(FAILURES_LEFT, 100)
    replica = Counted(Store(redis_client), FirePolicy(max_attempts=3, retry_after_s=60))
    t0 = datetime.fromisoformat("2026-11-30T03:00:00+00:00")
    assert replica.fire(t0) == "failed"
    assert replica.recover(t0 + timedelta(seconds=59)) == []  # waiting: 60 s after the first failure
    assert replica.recover(t0 + timedelta(seconds=61)) == ["failed"]
    assert replica.recover(t0 + timedelta(seconds=61 + 119)) == []  # then 120 s
    assert replica.recover(t0 + timedelta(seconds=61 + 121)) == ["failed"]
    assert replica.recover(t0 + timedelta(hours=12)) == []  # three attempts: given up
    assert counts(redis_client) == {"started": 3, "completed": 0}
    assert record(redis_client, t0)["state"] == "failed" and record(redis_client, t0)["attempts"] == "3"
    print(f"\nalways failing: {counts(redis_client)['started']} attempts, then given up")


def test_a_replica_killed_mid_run_leaves_the_fire_time_to_another_which_completes_it_once(redis_client):
    fired = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    lease_s = 2.0
    child = subprocess.Popen(
        [sys.executable, str(REPLICA_SCRIPT), fired.isoformat(), str(lease_s)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "running"
        survivor = Counted(Store(redis_client), FirePolicy(lease_s=lease_s, recover_every_s=0.1))
        time.sleep(1.5 * lease_s)  # longer than the lease: only its renewals keep it
        assert survivor.recover() == []  # the child still holds it
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert record(redis_client, fired) == {"state": "running", "attempts": "1"}

        survivor.start()  # it finds the fire time undone once the dead replica's lease runs out
        try:
            eventually(lambda: counts(redis_client)["completed"], 1, timeout=30)
            assert settle(lambda: counts(redis_client)) == {"started": 2, "completed": 1}
        finally:
            survivor.stop()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert record(redis_client, fired) == {"state": "done", "attempts": "2", "outcome": "done"}
    assert survivor.recover() == []
    print(f"\nreplica SIGKILLed mid-run: {counts(redis_client)}")
