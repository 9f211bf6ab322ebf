"""Replicas agree: two `supportbot serve --http` processes and one `supportbot worker` on one Redis.

Votes sent to either replica count once, each scheduled fire time runs on one replica only, and a
promotion reaches both replicas. Real processes, real Redis, the tiny model, the Web API stand-in.
Each step prints what it counted (shown with ``pytest -s``).
"""

from __future__ import annotations

import os
import re
import time

import pytest
from click.testing import CliRunner

from cli.main import main
from supportbot.adapters import AdapterRegistry
from supportbot.records import Answer, Question, Usage
from supportbot.store import Store
from tests.support.paths import BITEXT
from tests.support.processes import BotProcess
from tests.support.replicas import TrainingWorker, start_together
from tests.support.signing import action_body, reaction_body, slash_command_body
from tests.support.waiting import eventually
from trainer.importer import Mapping, parse

pytestmark = pytest.mark.slow
ADMIN = "U0ADMIN"


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@pytest.fixture
def stack(settings, slack_stub, redis_client, tmp_path):
    """Two replicas (each with a data directory of its own) and a worker, sharing Redis and the adapter store."""
    shared = {
        "TRAINING_WORKER": "external",
        "ADAPTER_STORE": str(tmp_path / "adapters"),
        "ADMIN_USERS": ADMIN,
        "DIGEST_CHANNEL": "C0DIGEST",
        "DIGEST_CRON": "* * * * *",  # due every minute: each fire time is raced by both replicas
        "RETRAIN_CRON": "* * * * *",
        "MIN_NEW_EXAMPLES": "100000",  # the scheduled retraining runs, and skips; /retrain force trains
        "TRAIN_MAX_EXAMPLES": "8",
        "EVAL_LIMIT": "4",
        "HARDWARE_BF16": "no",
    }

    def env(name: str) -> dict[str, str]:
        return {**os.environ, **shared, "SUPPORTBOT_DATA_DIR": str(tmp_path / name)}

    worker = TrainingWorker(tmp_path / "worker.log", env("worker")).start()
    replicas = [BotProcess(tmp_path / f"replica-{name}.log", env=env(name)) for name in ("a", "b")]
    try:
        yield start_together(replicas), worker
    finally:
        for replica in replicas:
            replica.stop()
        worker.stop()


def fire_records(redis_client, keys, job: str) -> dict[str, dict[str, str]]:
    """Every recorded fire time of ``job`` and its record (state, attempts, outcome)."""
    fires = redis_client.zrange(keys.schedule_fires(job), 0, -1)
    return {fired: redis_client.hgetall(keys.schedule_fire(job, fired)) for fired in fires}


def posted_answer(store: Store, redis_client) -> Answer:
    question = Question("Where is my refund?", "U0ASKER", "C0SUPPORT", thread_ts="1.1")
    store.save_question(question)
    answer = Answer("finetuned", "Refunds take 5 days.", "m", Usage(10, 5), 0.1, None, question_id=question.id)
    answer.channel, answer.ts = "C0SUPPORT", "1.2"
    store.save_answer(answer)
    store.mark_posted(answer)
    return answer


def test_two_replicas_and_a_worker_agree(stack, slack_stub, redis_client, tmp_path):
    (a, b), _worker = stack
    up = time.time()  # both replicas listen from here on
    store = Store(redis_client)
    keys = store.keys

    # Votes: the same vote through both replicas (a retried request, and a second click), a Slack
    # retry of one reaction event to the other replica, and people voting through either.
    answer = posted_answer(store, redis_client)
    same_request = action_body("vote_up", answer.id, "U0001", "C0SUPPORT", "1.2")
    sent = [
        a.post(same_request),
        b.post(same_request),  # the same request (same trigger_id) reaching the other replica
        b.post(action_body("vote_up", answer.id, "U0001", "C0SUPPORT", "1.2")),  # the same vote, clicked again
        a.post(action_body("vote_up", answer.id, "U0002", "C0SUPPORT", "1.2")),
        b.post(action_body("vote_down", answer.id, "U0003", "C0SUPPORT", "1.2")),
        a.post(reaction_body("+1", "U0004", "C0SUPPORT", "1.2", event_id="EvSameReaction")),
        b.post(reaction_body("+1", "U0004", "C0SUPPORT", "1.2", event_id="EvSameReaction")),
    ]
    assert [status for status, _ in sent] == [200] * len(sent)
    expected = {"U0001": 1, "U0002": 1, "U0003": -1, "U0004": 1}
    votes = eventually(lambda: store.votes.of(answer.id), expected)
    print(f"\n{len(sent)} vote requests through two replicas -> votes {votes}, net {store.votes.tally(answer.id).net}")
    assert store.votes.tally(answer.id).net == 2

    # Training: /retrain force through replica A; the worker trains v1 (the gate decides its status).
    store.seeds.add_all(parse(BITEXT, Mapping(), 2000).seeds[:120])
    status, _ = a.post(slash_command_body("force", slack_stub.response_url, command="/retrain").replace(
        "U0ASKER", ADMIN))  # fmt: skip
    assert status == 200
    registry = AdapterRegistry(redis_client, keys)

    # The schedule: the first fire time after both replicas were up, raced by both, ran once.
    def first_fire_done() -> str | None:
        for fired in redis_client.zrangebyscore(keys.schedule_fires("digest"), up, "+inf"):
            if redis_client.hget(keys.schedule_fire("digest", fired), "state") == "done":
                return fired
        return None

    fired = wait_until(first_fire_done, 150, "a digest fire time after both replicas started")
    uploads = slack_stub.calls_to("files.completeUploadExternal")
    digests = [c for c in uploads if c.params.get("channel_id") == "C0DIGEST"]
    records = {job: fire_records(redis_client, keys, job) for job in ("digest", "retrain")}
    print(f"digest fire times {sorted(records['digest'])}: {len(digests)} digests posted; records {records}")
    assert len(digests) == sum(1 for r in records["digest"].values() if r.get("state") == "done")
    assert all(r["attempts"] == "1" for job in records.values() for r in job.values())
    assert records["digest"][fired]["outcome"] == "posted"
    retrain_done = [r for r in records["retrain"].values() if r.get("state") == "done"]
    assert retrain_done and all(r["outcome"] == "skipped" for r in retrain_done)
    # APScheduler logs each run it starts: 'Running job "DigestSchedule.fire (…)" (scheduled at …)'
    # (the log is wrapped for a terminal: whitespace is collapsed before matching).
    started = re.compile(
        rf'Running job "DigestSchedule\.fire [^"]*" \(scheduled at {re.escape(fired.replace("T", " "))}\)'
    )
    raced = [len(started.findall(" ".join(replica.log.read_text().split()))) for replica in (a, b)]
    print(f"replica logs running the digest at {fired}: {raced}")
    assert raced == [1, 1]  # both replicas' schedulers fired it; the lease let one run it

    # Promotion: once v1 is trained, `supportbot rollback v1` makes it active (whatever the gate
    # said about a random tiny model); both replicas load it without a restart.
    trained = wait_until(lambda: registry.get("v1"), 400, "the worker to train v1")
    assert registry.all() == [trained]  # one /retrain, one training: no replica ran it twice
    result = CliRunner().invoke(main, ["rollback", "v1"])
    assert result.exit_code == 0, result.output
    for replica in (a, b):
        log = replica.log
        wait_until(lambda log=log: "loaded adapter v1 from" in log.read_text(), 60, f"{log.name} to load v1")

    # Every question, whichever replica took it and whichever answered it, gets v1's answer.
    for i, replica in enumerate((a, b, a, b)):
        assert replica.post(slash_command_body(f"Question {i}: where is my parcel?", slack_stub.response_url))[0] == 200
    shown = slack_stub.wait_for_answers(8, timeout=120)
    finetuned = [store.get_answer(m.answer_id) for m in shown]
    finetuned = [x for x in finetuned if x is not None and x.variant == "finetuned"]
    labels = sorted({m.label.strip("*") for m in shown if m.label and "Fine-tuned" in m.label})
    versions = [x.adapter_version for x in finetuned]
    print(f"after the promotion: {len(finetuned)} fine-tuned answers, versions {versions}; labels {labels}")
    assert len(finetuned) == 4 and {x.adapter_version for x in finetuned} == {"v1"}
    assert labels == ["Fine-tuned v1"]
    switches = [replica.log.read_text().count("loaded adapter v1 from") for replica in (a, b)]
    assert switches == [1, 1]  # each replica switched once, in place
