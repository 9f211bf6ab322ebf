"""/supportbot rollback with the fine-tuned side on an inference server: acked at once, the version
loaded on the server (a stand-in shaped by vLLM's API), then the outcome told to the admin."""

from __future__ import annotations

import json

import pytest

from supportbot.records import AdapterVersion
from tests.bot.conftest import command
from tests.support.vllm_standin import VllmStandIn


@pytest.fixture
def served(monkeypatch):
    standin = VllmStandIn().start()
    monkeypatch.setenv("FINETUNED_BASE_URL", standin.url)
    yield standin
    standin.stop()


def versions(registry, tmp_path, count: int) -> list[AdapterVersion]:
    saved = []
    for _ in range(count):
        name = registry.next_version()
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
        saved.append(AdapterVersion(name, "tiny", "s", str(tmp_path / name), "test"))
        registry.save(saved[-1])
    return saved


def test_rollback_acks_then_loads_on_the_server_then_reports(served, admin_bolt, tmp_path):
    bolt, _ = admin_bolt
    registry = bolt.services.adapters
    v1, _ = versions(registry, tmp_path, 2)
    registry.activate("v2")
    acked = command(bolt, "/supportbot", "rollback v1", "U0ADMIN")
    assert "Loading v1 on the fine-tuned model server" in acked.body
    (reply,) = bolt.stub.wait_for_response_url(1)
    assert "v1 is now the active adapter" in reply["text"] and reply["response_type"] == "ephemeral"
    assert registry.active().version == "v1"
    assert served.loads()[-1] == {"lora_name": "supportbot-v1", "lora_path": v1.uri}


def test_a_refused_rollback_is_reported_and_switches_nothing(served, admin_bolt, tmp_path):
    bolt, _ = admin_bolt
    registry = bolt.services.adapters
    versions(registry, tmp_path, 2)
    registry.activate("v2")
    served.fail_loads_with = 500
    command(bolt, "/supportbot", "rollback v1", "U0ADMIN")
    (reply,) = bolt.stub.wait_for_response_url(1)
    assert reply["text"].startswith(":warning:") and "did not load supportbot-v1" in reply["text"]
    assert registry.active().version == "v2"
