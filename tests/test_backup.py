"""export -> flush -> import --restore reproduces the store, record for record and key for key."""

import json

import pytest

from supportbot.backup import export_records, restore
from supportbot.corrections import CorrectionService
from supportbot.errors import InvalidImport
from supportbot.records import Failure
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


def test_export_flush_restore_reproduces_the_store(redis_client, tmp_path):
    store = Store(redis_client)
    populate(store, tmp_path)
    before = dump(redis_client)
    lines = [json.dumps(record) for record in export_records(store)]
    kinds = {json.loads(line)["type"] for line in lines}
    assert kinds == {"question", "answer", "vote", "correction", "seed", "failure", "split", "dataset"}

    redis_client.flushdb()
    counts = restore(Store(redis_client), lines)
    assert counts["seed"] == 50 and counts["vote"] == 3 and counts["correction"] == 3
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
