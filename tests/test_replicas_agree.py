"""Replicas agree: two `supportbot serve --http` processes and one `supportbot worker` on one Redis.

Votes sent to either replica count once, each scheduled fire time runs on one replica only, and a
promotion reaches both replicas, answering in-process or from an inference server (a stand-in
shaped by vLLM's API). Real processes, real Redis, the tiny model, the Web API stand-in.
Each step prints what it counted (shown with ``pytest -s``).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from supportbot.adapters import AdapterRegistry
from supportbot.lora_server import LoraServer
from supportbot.records import AdapterVersion
from supportbot.store import Store
from tests.support.answers import posted_answer
from tests.support.paths import BITEXT
from tests.support.processes import BotProcess
from tests.support.replicas import TrainingWorker, start_together
from tests.support.servers import json_server
from tests.support.signing import action_body, reaction_body, slash_command_body
from tests.support.vllm_standin import VllmStandIn
from tests.support.waiting import eventually
from trainer.importer import Mapping, parse

ADMIN = "U0ADMIN"
SWITCHED_TO_V1 = re.compile(r"loaded adapter v1 from")  # logged once per hot swap (a merged copy logs "merged" too)


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
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


@pytest.mark.slow  # a training run and up to a minute's wait for the cron
def test_two_replicas_and_a_worker_agree(stack, slack_stub, redis_client, tmp_path):
    (a, b), _worker = stack
    up = time.time()  # both replicas listen from here on
    store = Store(redis_client)
    keys = store.keys

    # Votes: the same vote through both replicas (a retried request, and a second click), a Slack
    # retry of one reaction event to the other replica, and people voting through either.
    answer = posted_answer(store)
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
        wait_until(lambda log=log: SWITCHED_TO_V1.search(log.read_text()), 60, f"{log.name} to load v1")

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
    switches = [len(SWITCHED_TO_V1.findall(replica.log.read_text())) for replica in (a, b)]
    assert switches == [1, 1]  # each replica switched once, in place


PROMPTED_REPLY = {
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "prompted answer"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2},
}


def fake_adapter(registry: AdapterRegistry, root: Path) -> AdapterVersion:
    version = registry.next_version()
    (root / version).mkdir(parents=True)
    (root / version / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    adapter = AdapterVersion(version, "SmolLM2-135M-Instruct", "snap", str(root / version), "test")
    registry.save(adapter)
    return adapter


def asks_for(replica: BotProcess, name: str) -> int:
    """How many times the replica logged switching its fine-tuned side to ``name``."""
    return " ".join(replica.log.read_text().split()).count(f"asks {replica.env['FINETUNED_BASE_URL']} for {name}")


def test_replicas_on_an_inference_server_switch_together_and_never_reload_a_name(
    settings, slack_stub, redis_client, tmp_path, monkeypatch
):
    vllm = VllmStandIn().start()
    keys = Store(redis_client).keys
    registry = AdapterRegistry(redis_client, keys, prepare=LoraServer(vllm.url).ensure_loaded)
    v1, v2 = fake_adapter(registry, tmp_path / "adapters"), fake_adapter(registry, tmp_path / "adapters")
    registry.activate("v1")  # loaded on the server before the replicas start
    with json_server(PROMPTED_REPLY) as (prompted_url, _):
        monkeypatch.setenv("FINETUNED_BASE_URL", vllm.url)  # for the replicas and `supportbot rollback`
        monkeypatch.setenv("OPENAI_BASE_URL", prompted_url)  # both sides on servers: the replicas load no model
        env = {**os.environ, "TRAINING_WORKER": "external"}
        replicas = [BotProcess(tmp_path / f"replica-{n}.log", env={**env, "SUPPORTBOT_DATA_DIR": str(tmp_path / n)})
                    for n in ("a", "b")]  # fmt: skip
        try:
            a, b = start_together(replicas)
            assert [asks_for(r, "supportbot-v1") for r in (a, b)] == [1, 1]  # the active version, read at start
            # A promotion by a process that does not load (as the worker's gate today): each replica
            # loads v2 before it asks for it; the one that comes second finds it loaded.
            promoted = time.perf_counter()
            AdapterRegistry(redis_client, keys).activate("v2")
            wait_until(lambda: [asks_for(r, "supportbot-v2") for r in (a, b)] == [1, 1], 60, "both on supportbot-v2")
            print(f"\nboth replicas load v2 and ask for it {time.perf_counter() - promoted:.2f} s after its promotion")
            loads_after_v2 = vllm.loads()
            # A rollback by the CLI: it finds v1 still loaded (never reloaded), and both switch back.
            result = CliRunner().invoke(main, ["rollback", "v1"])
            assert result.exit_code == 0, result.output
            wait_until(lambda: [asks_for(r, "supportbot-v1") for r in (a, b)] == [2, 2], 60, "both back on v1")
            asked_before = len(vllm.asked())
            for i, replica in enumerate((a, b, a, b)):
                assert replica.post(slash_command_body(f"Question {i}: my parcel?", slack_stub.response_url))[0] == 200
            slack_stub.wait_for_answers(8, timeout=60)
        finally:
            for replica in replicas:
                replica.stop()
            vllm.stop()
    print(f"loads on the server: {vllm.loads()}; asked after the rollback: {vllm.asked()[asked_before:]}")
    assert loads_after_v2[0] == {"lora_name": "supportbot-v1", "lora_path": v1.uri}
    v2_load = {"lora_name": "supportbot-v2", "lora_path": v2.uri}
    assert loads_after_v2[1:] in ([v2_load], [v2_load, v2_load])  # the second, if it came, was "already loaded"
    assert vllm.loads() == loads_after_v2  # the rollback loaded nothing
    assert vllm.asked()[asked_before:] == ["supportbot-v1"] * 4
    assert vllm.loaded == {"supportbot-v1": v1.uri, "supportbot-v2": v2.uri}
