"""A frequent RETRAIN_CRON (the simulation fires it every minute) queues no second run while one trains."""

from datetime import UTC, datetime

from supportbot.schedule import RetrainSchedule
from supportbot.settings import load_settings
from supportbot.store import Store
from supportbot.training_lock import TrainingLock
from tests.support.paths import BITEXT
from trainer.importer import Mapping, parse


def test_a_fire_time_while_a_training_runs_is_skipped_and_the_next_one_enqueues(redis_client, monkeypatch):
    monkeypatch.setenv("MIN_NEW_EXAMPLES", "10")
    monkeypatch.setenv("RETRAIN_CRON", "* * * * *")
    store = Store(redis_client)
    store.seeds.add_all(parse(BITEXT, Mapping(), 2000).seeds[:20])
    enqueued: list[str] = []
    schedule = RetrainSchedule(load_settings(), store, enqueued.append)
    with TrainingLock(store.redis, store.keys):
        assert schedule.fire(datetime(2026, 11, 28, 17, 1, tzinfo=UTC)) == "skipped"
    assert enqueued == []
    assert schedule.fire(datetime(2026, 11, 28, 17, 2, tzinfo=UTC)) == "enqueued"
    assert enqueued == ["schedule"]
