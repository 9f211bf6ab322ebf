"""The fine-tuned side on an inference server: promotion and rollback load each version into a
stand-in shaped by vLLM's documented API under its own immutable name, before any bot is switched;
failures say what to do and switch nothing; a replica loads before it asks, and reloads what a
restarted server forgot. Real Redis, real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from supportbot.adapters import AdapterRegistry
from supportbot.errors import ConfigError, ResponderError
from supportbot.keys import Keys
from supportbot.lora_server import LoraServer, LoraServerError
from supportbot.records import AdapterVersion
from supportbot.responders.served import ServedResponder
from supportbot.services import build_services
from supportbot.settings import load_settings
from tests.support.servers import json_server
from tests.support.vllm_standin import VllmStandIn
from tests.support.waiting import eventually

PROMPTED_REPLY = {
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "prompted answer"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2},
}


@pytest.fixture
def vllm():
    standin = VllmStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "adapters"


def publish(registry: AdapterRegistry, store_dir: Path) -> AdapterVersion:
    """A version in the registry with a (tiny, fake-weight) peft adapter directory under the store."""
    version = registry.next_version()
    path = store_dir / version
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    adapter = AdapterVersion(version, "SmolLM2-135M-Instruct", "snap", str(path), "test")
    registry.save(adapter)
    return adapter


def registry_for(redis_client, server: LoraServer | None) -> AdapterRegistry:
    return AdapterRegistry(redis_client, Keys(), prepare=server.ensure_loaded if server else None)


def test_promotion_loads_the_version_under_its_name_then_switches(vllm, redis_client, store_dir):
    registry = registry_for(redis_client, LoraServer(vllm.url))
    v1 = publish(registry, store_dir)
    registry.activate("v1")
    assert [(r.method, r.path) for r in vllm.requests] == [("GET", "/v1/models"), ("POST", "/v1/load_lora_adapter")]
    assert vllm.loads() == [{"lora_name": "supportbot-v1", "lora_path": v1.uri}]
    assert registry.active().version == "v1"


def test_names_are_immutable_and_rollback_loads_an_older_version_under_its_own_name(vllm, redis_client, store_dir):
    registry = registry_for(redis_client, LoraServer(vllm.url, prefix="team-"))
    versions = [publish(registry, store_dir) for _ in range(3)]
    registry.activate("v2")  # v1 never promoted: first loaded by the rollback below
    registry.activate("v3")
    registry.activate("v1")  # roll back to an older version, loaded under its own name
    registry.activate("v3")  # and forward again: already loaded, not reloaded
    assert vllm.loads() == [
        {"lora_name": "team-v2", "lora_path": versions[1].uri},
        {"lora_name": "team-v3", "lora_path": versions[2].uri},
        {"lora_name": "team-v1", "lora_path": versions[0].uri},
    ]
    assert vllm.loaded == {f"team-v{i + 1}": v.uri for i, v in enumerate(versions)}  # every version stays loaded
    assert registry.active().version == "v3"


def test_a_name_taken_by_another_adapter_is_refused_not_reloaded(vllm, redis_client, store_dir):
    registry = registry_for(redis_client, LoraServer(vllm.url))
    publish(registry, store_dir)
    vllm.loaded["supportbot-v1"] = "/elsewhere/v1"  # a registry reset reused v1: the server has the old one
    with pytest.raises(LoraServerError, match=r"already serves supportbot-v1 from /elsewhere/v1.*never reloaded"):
        registry.activate("v1")
    assert vllm.loads() == [] and registry.active() is None


def test_already_loaded_by_another_replica_counts_as_loaded(vllm, redis_client, store_dir):
    registry = registry_for(redis_client, LoraServer(vllm.url))
    v1 = publish(registry, store_dir)
    vllm.loaded["supportbot-v1"] = v1.uri
    vllm.unlisted.add("supportbot-v1")  # loaded between our look at /v1/models and our load
    registry.activate("v1")
    assert vllm.loads() == [{"lora_name": "supportbot-v1", "lora_path": v1.uri}]
    assert registry.active().version == "v1"


def test_the_server_sees_the_store_at_its_own_path(vllm, redis_client, store_dir, tmp_path):
    mounted = tmp_path / "mnt" / "adapters"  # the shared volume, mounted elsewhere on the server
    registry = registry_for(redis_client, LoraServer(vllm.url, adapter_root=str(mounted) + "/"))
    publish(registry, store_dir)
    shutil.copytree(store_dir, mounted)
    registry.activate("v1")
    assert vllm.loads() == [{"lora_name": "supportbot-v1", "lora_path": f"{mounted}/v1"}]


def test_an_object_store_needs_the_servers_path(vllm, redis_client):
    registry = registry_for(redis_client, LoraServer(vllm.url))
    registry.save(AdapterVersion("v1", "base", "snap", "s3://bucket/adapters/v1", "test"))
    with pytest.raises(ConfigError, match="FINETUNED_ADAPTER_ROOT"):
        registry.activate("v1")
    assert registry.active() is None and vllm.requests == []


@pytest.mark.parametrize(
    ("standin", "expected"),
    [
        ({"runtime_lora_updating": False}, "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True"),
        ({"api_key": "the-key"}, "/v1/models answered HTTP 401: Unauthorized. Check FINETUNED_API_KEY"),
        ({"fail_loads_with": 500}, "HTTP 500: engine failure"),
    ],
)
def test_a_refused_load_says_why_and_switches_nothing(redis_client, store_dir, standin, expected):
    server = VllmStandIn(**standin).start()
    try:
        registry = registry_for(redis_client, LoraServer(server.url))
        publish(registry, store_dir)
        with pytest.raises(LoraServerError, match=expected.replace("(", r"\(")):
            registry.activate("v1")
    finally:
        server.stop()
    assert registry.active() is None and server.loaded == {}


def test_a_missing_adapter_path_is_named(vllm, redis_client, store_dir):
    registry = registry_for(redis_client, LoraServer(vllm.url))
    v1 = publish(registry, store_dir)
    shutil.rmtree(v1.uri)  # not on the server's disk (the volume is not shared)
    with pytest.raises(LoraServerError, match=r"HTTP 404: Loading lora supportbot-v1 failed.*FINETUNED_ADAPTER_ROOT"):
        registry.activate("v1")
    assert registry.active() is None


def test_the_key_is_sent_as_a_bearer_token(redis_client, store_dir):
    server = VllmStandIn(api_key="the-key").start()
    try:
        registry = registry_for(redis_client, LoraServer(server.url, api_key="the-key"))
        publish(registry, store_dir)
        registry.activate("v1")
    finally:
        server.stop()
    assert {r.authorization for r in server.requests} == {"Bearer the-key"}
    assert registry.active().version == "v1"


def test_a_server_that_is_down_stops_the_rollback_with_a_clear_message(redis_client, store_dir, vllm, monkeypatch):
    url = vllm.url
    vllm.stop()  # nothing listens there now
    registry = AdapterRegistry(redis_client, Keys())
    for _ in range(2):
        publish(registry, store_dir)
    registry.activate("v2")  # made before FINETUNED_BASE_URL was set
    monkeypatch.setenv("FINETUNED_BASE_URL", url)
    result = CliRunner().invoke(main, ["rollback", "v1"])
    assert result.exit_code == 2
    assert "could not list the models of the fine-tuned model server" in result.output
    assert "FINETUNED_BASE_URL" in result.output
    assert registry.active().version == "v2"


def test_cli_rollback_loads_then_switches(vllm, redis_client, store_dir, monkeypatch):
    registry = AdapterRegistry(redis_client, Keys())
    v1 = publish(registry, store_dir)
    monkeypatch.setenv("FINETUNED_BASE_URL", vllm.url)
    monkeypatch.setenv("FINETUNED_MODEL_PREFIX", "bot-")
    result = CliRunner().invoke(main, ["rollback", "v1"])
    assert result.exit_code == 0, result.output
    assert vllm.loads() == [{"lora_name": "bot-v1", "lora_path": v1.uri}]
    assert registry.active().version == "v1"


def test_a_switch_the_server_refuses_keeps_the_version_before(vllm, store_dir, redis_client):
    registry = registry_for(redis_client, None)
    v1, v2 = publish(registry, store_dir), publish(registry, store_dir)
    responder = ServedResponder(LoraServer(vllm.url), None, api_key=None, max_new_tokens=8, timeout_s=5)
    assert responder.answer("Where is my refund?").model == "SmolLM2-135M-Instruct"  # the base, from /v1/models
    responder.switch(v1)
    vllm.fail_loads_with = 500
    with pytest.raises(LoraServerError):
        responder.switch(v2)
    answer = responder.answer("Where is my refund?")
    assert (answer.model, answer.adapter_version, answer.text) == ("supportbot-v1", "v1", "answer from supportbot-v1")
    assert responder.label == "Fine-tuned v1"
    assert vllm.asked() == ["SmolLM2-135M-Instruct", "supportbot-v1"]


def test_a_restarted_server_gets_the_adapter_again_before_the_question(vllm, store_dir, redis_client):
    registry = registry_for(redis_client, None)
    v1 = publish(registry, store_dir)
    responder = ServedResponder(LoraServer(vllm.url), "SmolLM2-135M-Instruct", api_key=None, max_new_tokens=8,
                                timeout_s=5, hourly_rate_usd=3.6)  # fmt: skip
    responder.switch(v1)
    vllm.restart()  # forgets supportbot-v1
    answer = responder.answer("Where is my refund?")
    assert answer.text == "answer from supportbot-v1" and answer.adapter_version == "v1"
    assert answer.usage.prompt_tokens == 12 and answer.cost_usd == pytest.approx(answer.latency_s * 3.6 / 3600)
    chats = [r.path for r in vllm.requests if r.method == "POST"]
    assert chats == [
        "/v1/load_lora_adapter",  # the switch
        "/v1/chat/completions",  # 404: the server forgot it
        "/v1/load_lora_adapter",  # loaded again
        "/v1/chat/completions",  # answered
    ]


def test_a_replica_loads_a_promotion_made_elsewhere_before_it_asks_for_it(
    settings, vllm, store_dir, redis_client, monkeypatch
):
    with json_server(PROMPTED_REPLY) as (prompted_url, _):
        monkeypatch.setenv("OPENAI_BASE_URL", prompted_url)
        monkeypatch.setenv("FINETUNED_BASE_URL", vllm.url)
        services = build_services(load_settings(), show_progress=False)
        assert services.local_model is None  # both sides on servers: no model in the bot
        responder = services.ask.responders["finetuned"]
        assert isinstance(responder, ServedResponder) and responder.adapter_version is None
        services.follow_adapter_switches()
        # The worker promotes without a loader (as trainer/pipeline.py does today): the replica loads.
        elsewhere = registry_for(redis_client, None)
        publish(elsewhere, store_dir)
        elsewhere.activate("v1")
        eventually(lambda: responder.adapter_version, "v1", timeout=10)
        answer = responder.answer("Where is my refund?")
    assert answer.model == "supportbot-v1" and answer.text == "answer from supportbot-v1"
    posts = [(r.path, (r.body or {}).get("model")) for r in vllm.requests if r.method == "POST"]
    assert posts == [("/v1/load_lora_adapter", None), ("/v1/chat/completions", "supportbot-v1")]


def test_a_replica_starting_after_a_promotion_asks_for_the_active_version(
    settings, vllm, store_dir, redis_client, monkeypatch
):
    registry = registry_for(redis_client, LoraServer(vllm.url))
    publish(registry, store_dir)
    registry.activate("v1")
    monkeypatch.setenv("FINETUNED_BASE_URL", vllm.url)
    services = build_services(load_settings(), show_progress=False)  # the prompted side local (tiny model)
    responder = services.ask.responders["finetuned"]
    assert responder.answer("Where is my refund?").adapter_version == "v1"
    assert services.local_model is not None and services.local_model.adapter_version is None
    assert len(vllm.loads()) == 1  # found loaded, not loaded again


def test_a_pinned_local_adapter_and_a_server_are_refused_together(settings, vllm, monkeypatch, tmp_path):
    monkeypatch.setenv("FINETUNED_BASE_URL", vllm.url)
    monkeypatch.setenv("FINETUNED_ADAPTER", str(tmp_path))
    with pytest.raises(ConfigError, match="unset one of them"):
        build_services(load_settings(), show_progress=False)


def test_without_finetuned_model_the_base_model_is_the_one_the_server_lists(vllm, store_dir, redis_client):
    responder = ServedResponder(LoraServer(vllm.url), None, api_key=None, max_new_tokens=8, timeout_s=5)
    assert responder.model == "SmolLM2-135M-Instruct" and responder.label == "Fine-tuned (base model, no adapter yet)"
    vllm.base_listed = False
    vllm.loaded["other-lora"] = "/x"
    lost = ServedResponder(LoraServer(vllm.url), None, api_key=None, max_new_tokens=8, timeout_s=5)
    with pytest.raises(ResponderError, match=r"lists no base model \(it lists other-lora\): set FINETUNED_MODEL"):
        lost.answer("Where is my refund?")
