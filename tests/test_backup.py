"""export -> flush -> import --restore reproduces the store, record for record and key for key,
the adapter registry included; a redacted export keeps the ids and loses the personal data."""

import json

import pytest

from supportbot.adapters import AdapterRegistry
from supportbot.backup import export_records, restore
from supportbot.corrections import CorrectionService
from supportbot.errors import InvalidImport
from supportbot.records import AdapterVersion, Failure, SeedExample
from supportbot.redaction import Redactor
from supportbot.store import Store
from tests.support.paths import BITEXT
from tests.trainer.test_dataset import asked
from trainer.dataset import build_snapshot
from trainer.importer import Mapping, parse


def dump(client) -> dict:
    """Every key with its type and value: the whole store."""
    out = {}
    for key in sorted(client.keys("*")):
        kind = client.type(key)
        if kind == "string":
            value = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        else:
            value = sorted(client.smembers(key))
        out[key] = (kind, value)
    return out


def populate(store: Store, tmp_path) -> None:
    store.seeds.add_all(parse(BITEXT, Mapping(), 2000).seeds[:50])
    first = asked(store, "How do I cancel?", "Order History > Cancel.", at=1.0)
    second = asked(store, "Refund time?", "A week.", at=2.0)
    store.votes.set(first.id, "U1", 1, at=5.0)
    store.votes.set(first.id, "U2", -1, at=6.0)
    store.votes.set(second.id, "U1", 1, at=7.0)
    service = CorrectionService(
        store.corrections, is_trusted={"U0LEAD"}.__contains__, is_reviewer={"U0LEAD"}.__contains__
    )
    service.submit(second.question_id, "5-10 business days.", "U0LEAD")
    rejected = service.submit(second.question_id, "Never.", "U0ALICE")
    service.review(rejected.id, "U0LEAD", approve=False)
    service.submit(first.question_id, "Cancel until it ships.", "U0BOB")  # stays pending
    store.save_failure(Failure("prompted", "timed out", first.question_id, created_at=3.0))
    build_snapshot(store, tmp_path)
    train_two_versions(store)


def train_two_versions(store: Store) -> AdapterRegistry:
    """v1 and v2 in the registry, v2 active, as two trainings leave them."""
    registry = AdapterRegistry(store.redis, store.keys)
    for _ in range(2):
        name = registry.next_version()
        registry.save(
            AdapterVersion(
                version=name,
                base_model="/models/smollm2",
                snapshot="abc123",
                uri=f"/data/adapters/{name}",
                trigger="cli",
                metrics={"train_loss": 1.25},
                report={"candidate": {"accuracy": 0.8, "examples": [{"question": "q", "answer": "a", "score": 1.0}]}},
                created_at=10.0,
            )
        )
    registry.activate("v2")
    return registry


def test_export_flush_restore_reproduces_the_store(redis_client, tmp_path):
    store = Store(redis_client)
    populate(store, tmp_path)
    before = dump(redis_client)
    lines = [json.dumps(record) for record in export_records(store)]
    kinds = {json.loads(line)["type"] for line in lines}
    assert kinds == {
        "question",
        "answer",
        "vote",
        "correction",
        "seed",
        "failure",
        "split",
        "dataset",
        "adapter",
        "adapter_registry",
    }

    redis_client.flushdb()
    counts = restore(Store(redis_client), lines)
    assert counts["seed"] == 50 and counts["vote"] == 3 and counts["correction"] == 3
    assert counts["adapter"] == 2 and counts["adapter_registry"] == 1
    assert dump(redis_client) == before
    assert [json.dumps(r) for r in export_records(Store(redis_client))] == lines


def test_restore_refuses_a_store_that_holds_records(redis_client, tmp_path):
    store = Store(redis_client)
    populate(store, tmp_path)
    lines = [json.dumps(record) for record in export_records(store)]
    before = dump(redis_client)
    with pytest.raises(InvalidImport, match="only into an empty store"):
        restore(store, lines)
    assert dump(redis_client) == before


def test_a_bad_line_restores_nothing(redis_client):
    lines = [
        json.dumps(
            {"type": "seed", "data": {"id": "s1", "question": "q", "answer": "a", "source": "x", "created_at": 1}}
        ),
        json.dumps({"type": "vote", "data": {"answer_id": "a1", "user": "U1", "vote": 7}}),
    ]
    with pytest.raises(InvalidImport, match="line 2 is not a supportbot export record: a vote is 1 or -1"):
        restore(Store(redis_client), lines)
    assert redis_client.keys("*") == []


def test_the_adapter_registry_comes_back_and_the_next_training_is_a_new_version(redis_client):
    store = Store(redis_client)
    train_two_versions(store)
    lines = [json.dumps(record) for record in export_records(store)]
    assert json.loads(lines[-1]) == {"type": "adapter_registry", "data": {"counter": 2, "active": "v2"}}

    redis_client.flushdb()
    counts = restore(Store(redis_client), lines)
    assert (counts["adapter"], counts["adapter_registry"]) == (2, 1)
    registry = AdapterRegistry(redis_client, store.keys)
    assert [v.version for v in registry.all()] == ["v1", "v2"]
    assert registry.active().version == "v2"
    assert registry.active().status == "promoted"
    assert registry.get("v1").uri == "/data/adapters/v1"
    assert registry.next_version() == "v3"  # not v1: that folder exists already


def test_the_counter_never_falls_behind_a_restored_version(redis_client):
    """An export whose counter lags its versions (edited by hand) still trains a fresh number."""
    store = Store(redis_client)
    train_two_versions(store)
    lines = [json.dumps(record) for record in export_records(store)]
    lines[-1] = json.dumps({"type": "adapter_registry", "data": {"counter": 0, "active": "v1"}})
    redis_client.flushdb()
    restore(Store(redis_client), lines)
    registry = AdapterRegistry(redis_client, store.keys)
    assert registry.active().version == "v1"
    assert registry.next_version() == "v3"


def test_a_store_without_adapters_exports_no_registry_line(redis_client):
    store = Store(redis_client)
    asked(store, "How do I cancel?", "Order History > Cancel.")
    kinds = [record["type"] for record in export_records(store)]
    assert kinds == ["question", "answer"]


def test_restore_refuses_a_store_holding_only_adapters(redis_client):
    store = Store(redis_client)
    lines = [json.dumps(record) for record in export_records(Store(redis_client))]
    train_two_versions(store)
    before = dump(redis_client)
    with pytest.raises(InvalidImport, match="the store already holds records: restore only into an empty store"):
        restore(store, lines)
    assert dump(redis_client) == before


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"type": "adapter_registry", "data": {"counter": 2, "active": "v7"}}, "the active adapter v7 is not among"),
        ({"type": "adapter_registry", "data": {"counter": -1, "active": None}}, "line 2 .*0 or more"),
        ({"type": "adapter_registry", "data": {"counter": "2", "active": None}}, "line 2 .*whole number"),
        (
            {"type": "adapter", "data": AdapterVersion("latest", "b", "s", "u", "cli").to_dict()},
            "line 2 .*v1, v2, ... not 'latest'",
        ),
    ],
)
def test_a_bad_registry_restores_nothing(redis_client, record, message):
    adapter = AdapterVersion("v1", "b", "s", "/data/adapters/v1", "cli")
    lines = [json.dumps({"type": "adapter", "data": adapter.to_dict()}), json.dumps(record)]
    with pytest.raises(InvalidImport, match=message):
        restore(Store(redis_client), lines)
    assert redis_client.keys("*") == []


PII = "card 4111 1111 1111 1111 12/25, mail jane@example.com"


def test_a_redacted_export_keeps_ids_and_loses_personal_data(redis_client, tmp_path):
    store = Store(redis_client)
    answer = asked(store, f"Refund to {PII}?", f"We refunded {PII}.")
    CorrectionService(store.corrections, is_trusted=set().__contains__, is_reviewer=set().__contains__).submit(
        answer.question_id, f"Ask for {PII}", "U0BOB"
    )
    store.save_failure(Failure("prompted", f"could not answer {PII}", answer.question_id, created_at=3.0))
    store.seeds.add_all([SeedExample("s1", f"Charge {PII}?", f"Charged {PII}.", "history", created_at=2.0)])
    build_snapshot(store, tmp_path)  # its split key is made from the question already redacted
    registry = train_two_versions(store)
    version = registry.get("v1")
    version.report = {"candidate": {"examples": [{"question": PII, "reference": PII, "answer": PII, "score": 0.5}]}}
    registry.save(version)

    plain = list(export_records(store))
    redactor = Redactor()
    scrubbed = list(export_records(store, redact=redactor.redact))
    text = json.dumps(scrubbed)
    assert "4111" not in text and "jane@example.com" not in text
    # question, answer, correction, failure, seed (2), and three in v1's report
    assert json.dumps(plain).count("4111 1111 1111 1111") == 9
    assert redactor.counts == {"card": 9, "email": 9}
    assert len(scrubbed) == len(plain)
    assert [ids(record) for record in scrubbed] == [ids(record) for record in plain]
    question = next(r["data"] for r in scrubbed if r["type"] == "question")
    assert question["text"] == "Refund to card [CARD] 12/25, mail [EMAIL]?"


def ids(record: dict) -> tuple:
    """What identifies a record and links it to others: kept as it is by redaction."""
    names = ("id", "question_id", "answer_id", "user", "version", "name")
    return record["type"], {name: record["data"][name] for name in names if name in record["data"]}
