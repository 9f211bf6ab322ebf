"""Scheduled retraining fires exactly once across replicas, and skips with a logged reason."""

import threading
import time
from datetime import datetime

from apscheduler.triggers.cron import CronTrigger

from supportbot.schedule import RetrainSchedule
from supportbot.settings import load_settings
from supportbot.store import Store
from tests.support.paths import BITEXT
from tests.support.replicas import fire_together
from trainer.importer import Mapping, parse


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
