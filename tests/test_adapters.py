"""Registry: rollback restores an earlier version, and a running bot swaps adapters without restart."""

import pytest

from supportbot.adapters import AdapterRegistry, UnknownVersion
from supportbot.records import AdapterVersion
from supportbot.services import build_services
from supportbot.settings import load_settings
from tests.responders.test_local import adapter_dir  # noqa: F401 - a real random LoRA adapter
from tests.support.waiting import eventually


def register(registry: AdapterRegistry, uri: str) -> AdapterVersion:
    version = AdapterVersion(
        version=registry.next_version(), base_model="tiny", snapshot="abc", uri=uri, trigger="test"
    )
    registry.save(version)
    return version


def test_rollback_switches_a_running_bot_without_restart(tiny_env, adapter_dir, redis_client):  # noqa: F811
    services = build_services(load_settings(), show_progress=False)
    services.follow_adapter_switches()
    registry = services.adapters
    v1 = register(registry, str(adapter_dir))
    v2 = register(registry, str(adapter_dir))
    finetuned = services.ask.responders["finetuned"]
    assert finetuned.label == "Fine-tuned (base model, no adapter yet)"

    registry.activate(v2.version)
    eventually(lambda: finetuned.label, "Fine-tuned v2")
    registry.activate(v1.version)  # roll back
    eventually(lambda: finetuned.label, "Fine-tuned v1")
    assert registry.active().version == "v1"
    assert finetuned.answer("Where is my parcel?").adapter_version == "v1"


def test_a_new_bot_starts_with_the_active_adapter(tiny_env, adapter_dir, redis_client):  # noqa: F811
    settings = load_settings()
    registry = AdapterRegistry(redis_client, build_services(settings, show_progress=False).store.keys)
    registry.activate(register(registry, str(adapter_dir)).version)
    fresh = build_services(settings, show_progress=False)
    assert fresh.ask.responders["finetuned"].label == "Fine-tuned v1"


def test_unknown_version_names_the_known_ones(redis_client):
    registry = AdapterRegistry(redis_client, __import__("supportbot.keys").keys.Keys())
    register(registry, "/nowhere")
    with pytest.raises(UnknownVersion, match="no adapter version 'v9' \\(known: v1\\)"):
        registry.activate("v9")
    assert registry.active() is None
