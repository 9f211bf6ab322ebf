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


def test_adapters_published_to_an_fsspec_url_are_fetched_back(adapter_dir, tmp_path):  # noqa: F811
    from supportbot.adapters import fetch
    from trainer.registry import publish

    uri = publish(adapter_dir, "memory://team-adapters", "v4")
    assert uri == "memory://team-adapters/v4"
    local = fetch(uri, tmp_path / "cache")
    assert (local / "adapter_config.json").read_bytes() == (adapter_dir / "adapter_config.json").read_bytes()
    assert (local / "adapter_model.safetensors").exists()


def test_local_publish_is_atomic_and_keeps_every_version(adapter_dir, tmp_path):  # noqa: F811
    from trainer.registry import publish

    for version in ("v1", "v2"):
        assert publish(adapter_dir, str(tmp_path / "store"), version) == str(tmp_path / "store" / version)
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["v1", "v2"]  # no .partial left
