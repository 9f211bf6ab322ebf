"""A whole retraining run on the tiny model: snapshot, train, gate, registry, promotion."""

import dataclasses
import json
from pathlib import Path

import pytest

from supportbot.adapters import AdapterRegistry
from supportbot.settings import load_settings
from supportbot.store import Store
from supportbot.training_lock import TrainingBusy, TrainingLock
from tests.support.paths import BITEXT
from trainer import pipeline
from trainer.backends import TrainResult
from trainer.config import TrainConfig
from trainer.dataset import load_snapshot
from trainer.evaluate import Decision
from trainer.importer import Mapping, parse


class Recorder:
    def __init__(self) -> None:
        self.stages: list[str] = []
        self.steps: list[dict] = []
        self.answers: list[tuple[str, int, int, int]] = []

    def stage(self, text: str) -> None:
        self.stages.append(text)

    def step(self, data: dict) -> None:
        self.steps.append(data)

    def answered(self, side: str, done: int, total: int, tokens: int) -> None:
        self.answers.append((side, done, total, tokens))


@pytest.fixture
def trained_env(monkeypatch, tiny_env, redis_client):
    monkeypatch.setenv("TRAIN_MAX_EXAMPLES", "16")
    monkeypatch.setenv("EVAL_LIMIT", "6")
    monkeypatch.setenv("MIN_NEW_EXAMPLES", "5")
    store = Store(redis_client)
    store.seeds.add_all(parse(BITEXT, Mapping(), 2000).seeds[:150])
    return load_settings(), store


CONFIG = TrainConfig(max_steps=2, batch_size=4, max_length=96)


def test_a_candidate_that_is_not_better_is_registered_but_never_served(trained_env):
    settings, store = trained_env
    reporter = Recorder()
    outcome = pipeline.retrain(settings, store, trigger="test", reporter=reporter, config=CONFIG)
    registry = AdapterRegistry(store.redis, store.keys)
    assert outcome.status == "rejected"  # a random model does not beat the bare base
    assert registry.active() is None
    (version,) = registry.all()
    assert version.version == "v1" and version.status == "rejected"
    assert version.snapshot and version.trigger == "test" and version.cost_usd is not None
    assert version.metrics["steps"] == 2 and version.config["max_steps"] == 2
    report = version.report
    assert set(report) >= {"candidate", "live", "prompted", "judge", "decision"}
    assert report["live"]["name"] == "bare base"
    assert len(report["candidate"]["examples"]) == 6
    assert report["judge"]["threshold"] == settings.judge_threshold
    assert (settings.data_dir / "adapters" / "v1" / "adapter_config.json").exists()
    assert [s.split()[0] for s in reporter.stages] == [":gear:", ":mag:", ":no_entry:"]
    assert [s["step"] for s in reporter.steps] == [0, 1, 2]  # step 0: training started
    assert {side for side, *_ in reporter.answers} == {"candidate", "bare base", "prompted (local tiny-llama)"}
    for side in {side for side, *_ in reporter.answers}:
        counts = [(done, total) for name, done, total, _ in reporter.answers if name == side]
        assert counts[0] == (0, 6) and counts[-1] == (6, 6)  # announced, then answered
    assert not list((settings.data_dir / "work").iterdir())  # scratch space cleaned


def test_a_better_candidate_is_promoted_atomically(trained_env, monkeypatch):
    settings, store = trained_env
    monkeypatch.setattr(pipeline, "decide", lambda *a: Decision(True, "forced for the test"))
    events = store.redis.pubsub(ignore_subscribe_messages=True)
    events.subscribe(store.keys.adapter_events)
    outcome = pipeline.retrain(settings, store, trigger="test", reporter=Recorder(), config=CONFIG)
    registry = AdapterRegistry(store.redis, store.keys)
    assert outcome.status == "promoted"
    assert registry.active().version == "v1"
    assert registry.get("v1").status == "promoted"
    message = None
    for _ in range(50):
        message = message or events.get_message(timeout=0.1)
    assert message is not None
    assert json.loads(message["data"])["active"] == "v1"


def answers(side: dict) -> list[str]:
    return [example["answer"] for example in side["examples"]]


def test_the_next_gate_reuses_the_answers_of_the_same_requests(trained_env, monkeypatch):
    settings, store = trained_env
    monkeypatch.setattr(pipeline, "decide", lambda *a: Decision(True, "forced for the test"))
    first = pipeline.retrain(settings, store, trigger="test", reporter=Recorder(), config=CONFIG).version
    assert first.report["answer_cache"] == {"hits": 0, "misses": 18}  # 3 sides x 6 questions
    other = dataclasses.replace(CONFIG, seed=7)  # other weights (the same seed trains the same bytes)
    second = pipeline.retrain(settings, store, trigger="test", reporter=Recorder(), config=other, force=True).version
    # The live v1 is the first gate's candidate (the published copy, same bytes), the prompted
    # side is sent the same prompts: only the new candidate generates.
    assert second.report["answer_cache"] == {"hits": 12, "misses": 6}
    assert second.report["live"]["name"] == "live v1"
    assert answers(second.report["live"]) == answers(first.report["candidate"])
    assert answers(second.report["prompted"]) == answers(first.report["prompted"])
    assert all(example["seconds"] > 0 for example in second.report["prompted"]["examples"])


def test_the_gate_cache_can_be_turned_off(trained_env, monkeypatch):
    _, store = trained_env
    monkeypatch.setenv("GATE_CACHE_DAYS", "0")
    settings = load_settings()
    for force in (False, True):
        version = pipeline.retrain(settings, store, trigger="test", reporter=Recorder(), config=CONFIG, force=force)
        assert version.version.report["answer_cache"] == {"hits": 0, "misses": 0}
    assert not list(store.redis.scan_iter(match=store.keys.gate_answer("*")))


def test_too_few_new_examples_skips_with_the_reason(trained_env, monkeypatch):
    _, store = trained_env
    monkeypatch.setenv("MIN_NEW_EXAMPLES", "1000")
    reporter = Recorder()
    outcome = pipeline.retrain(load_settings(), store, trigger="test", reporter=reporter, config=CONFIG)
    assert outcome.status == "skipped"
    assert "only 150 new approved examples" in outcome.reason
    assert AdapterRegistry(store.redis, store.keys).all() == []


def test_only_one_training_at_a_time(trained_env):
    settings, store = trained_env
    with TrainingLock(store.redis, store.keys), pytest.raises(TrainingBusy, match="already running"):
        pipeline.retrain(settings, store, trigger="test", reporter=Recorder(), config=CONFIG)
    assert not TrainingLock(store.redis, store.keys).held()  # released afterwards


def test_training_rows_put_the_teams_own_data_first():
    rows = [
        {"messages": [{}, {"content": f"q{i}"}, {}], "source": "seed", "label": "a" if i % 2 else "b"} for i in range(6)
    ]
    rows.append({"messages": [{}, {"content": "mine"}, {}], "source": "correction", "label": None})
    picked = pipeline.training_rows(rows, 3)
    assert picked[0]["source"] == "correction"
    assert {r["label"] for r in picked[1:]} == {"a", "b"}  # stratified by label


@pytest.fixture
def seeded(monkeypatch, tiny_env, redis_client):
    monkeypatch.setenv("EVAL_LIMIT", "4")
    monkeypatch.setenv("MIN_NEW_EXAMPLES", "0")
    store = Store(redis_client)
    store.seeds.add_all(parse(BITEXT, Mapping(), 2000).seeds[:60])
    return store


def snapshot_train_rows(settings, version) -> int:
    return len(load_snapshot(settings.datasets_dir / f"{version.snapshot}.jsonl", "train"))


def test_every_approved_example_is_trained_on_by_default(seeded):
    settings = load_settings()  # TRAIN_MAX_EXAMPLES unset: 0, all of them; TRAIN_EPOCHS unset: auto
    config = TrainConfig.from_settings(settings, max_steps=2)  # the defaults, two steps long
    outcome = pipeline.retrain(settings, seeded, trigger="test", reporter=(reporter := Recorder()), config=config)
    version = outcome.version
    total = snapshot_train_rows(settings, version)
    assert total > 50  # 60 seeds less the eval split
    held = version.metrics["validation_rows"]
    assert held == round(total * 0.10)  # TRAIN_VALIDATION_PERCENT of them choose the epoch...
    assert version.metrics["train_rows"] + held == total  # ...and every other one is trained on
    assert version.config["early_stopping"] and version.config["epochs"] == 3.0
    assert version.config["correction_weight"] == 5  # recorded with the version
    assert "up to 3 epochs with early stopping on 10% of them" in reporter.stages[0]


def test_train_max_examples_caps_the_rows(seeded, monkeypatch):
    monkeypatch.setenv("TRAIN_MAX_EXAMPLES", "10")
    monkeypatch.setenv("TRAIN_EPOCHS", "1")
    settings = load_settings()
    config = TrainConfig.from_settings(settings, max_steps=1, batch_size=4, max_length=128)
    outcome = pipeline.retrain(settings, seeded, trigger="test", reporter=Recorder(), config=config)
    assert snapshot_train_rows(settings, outcome.version) > 10
    assert outcome.version.metrics["train_rows"] == 10 and outcome.version.metrics["validation_rows"] == 0


def test_a_correction_weight_repeats_each_correction_and_nothing_else():
    rows = [{"messages": [{}, {"content": f"q{i}"}, {}], "source": "seed", "label": str(i % 3)} for i in range(6)]
    rows.append({"messages": [{}, {"content": "fixed"}, {}], "source": "correction", "label": None})
    rows.append({"messages": [{}, {"content": "voted"}, {}], "source": "vote", "label": None})
    weighted = pipeline.training_rows(rows, 0, correction_weight=3)
    questions = [r["messages"][1]["content"] for r in weighted]
    assert len(weighted) == len(rows) + 2
    assert questions.count("fixed") == 3 and questions.count("voted") == 1
    assert all(questions.count(f"q{i}") == 1 for i in range(6))
    assert pipeline._weighted(weighted, 3) == " (1 correction x3)"
    assert pipeline._weighted(pipeline.training_rows(rows, 0), 1) == ""
    capped = pipeline.training_rows(rows, 4, correction_weight=2)  # the limit counts distinct rows
    assert len({id(r) for r in capped}) == 4 and len(capped) == 5
    with pytest.raises(ValueError, match="at least 1"):
        pipeline.training_rows(rows, 0, correction_weight=0)


def test_training_rows_take_everything_when_the_limit_is_zero():
    rows = [{"messages": [{}, {"content": f"q{i}"}, {}], "source": "seed", "label": str(i % 3)} for i in range(7)]
    rows.append({"messages": [{}, {"content": "mine"}, {}], "source": "correction", "label": None})
    assert len(pipeline.training_rows(rows, 0)) == len(rows) == len(pipeline.training_rows(rows))
    assert pipeline.training_rows(rows, 0)[0]["source"] == "correction"


def test_the_evaluating_stage_says_which_epoch_was_kept():
    plain = TrainResult(adapter_dir=Path("a"), steps=38, train_loss=1.23456, epochs=1.0)
    assert pipeline.trained(plain) == "train loss 1.235, 38 steps"
    stopped = TrainResult(
        adapter_dir=Path("a"), steps=105, train_loss=0.9, epochs=3.0, best_epoch=2.0, validation_rows=30
    )
    assert pipeline.trained(stopped) == (
        "train loss 0.900, 105 steps, epoch 2 of 3 kept by the validation loss on 30 held-out training rows"
    )
