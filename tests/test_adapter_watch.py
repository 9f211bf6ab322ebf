"""The adapter watcher heals itself: after a killed connection or a restarted Redis it re-reads the
active pointer, a periodic check catches a switch whose publish it missed, and it can be stopped."""

from collections.abc import Iterator

import pytest
import redis

from supportbot.adapters import AdapterRegistry
from supportbot.keys import Keys
from supportbot.records import AdapterVersion
from tests.support.redis_process import RedisProcess
from tests.support.waiting import eventually, settle

HOUR = 3600.0  # a periodic check that never comes during a test: only (re)connects and events count


def registry_with(client: redis.Redis, *versions: str) -> AdapterRegistry:
    registry = AdapterRegistry(client, Keys())
    for name in versions:
        registry.save(AdapterVersion(version=name, base_model="tiny", snapshot="s", uri=f"/a/{name}", trigger="t"))
    return registry


class Loads:
    """The on_change callback: records the versions loaded, and can fail a number of times first."""

    def __init__(self, fail: int = 0) -> None:
        self.versions: list[str] = []
        self.fail = fail

    def __call__(self, version: AdapterVersion) -> None:
        if self.fail:
            self.fail -= 1
            raise OSError("adapter download failed")
        self.versions.append(version.version)


@pytest.fixture
def server(tmp_path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path / "redis", persist=True).start()
    yield server
    server.kill()


def test_after_redis_is_killed_and_restarted_the_watcher_catches_up_with_a_missed_switch(server):
    client = redis.Redis.from_url(server.url, decode_responses=True)
    registry = registry_with(client, "v1", "v2")
    registry.activate("v1")
    loads = Loads()
    watcher = registry.watch(loads, check_every_s=HOUR)
    try:
        eventually(lambda: watcher.connects, 1)
        client.set(registry.keys.active_adapter, "v2")  # switched, but the event never reaches the watcher
        assert settle(lambda: list(loads.versions)) == []

        server.kill()
        server.start()  # same port; the AOF brings the switch back

        eventually(lambda: loads.versions, ["v2"])
        assert watcher.connects == 2 and watcher.loaded == "v2" and watcher.thread.is_alive()
        print(f"\nwatcher: {watcher.connects} connects, loaded {loads.versions} after SIGKILL + restart")
    finally:
        watcher.stop()
    assert not watcher.thread.is_alive()


def test_a_killed_pubsub_connection_during_an_activation_ends_on_the_new_version(server):
    client = redis.Redis.from_url(server.url, decode_responses=True)
    registry = registry_with(client, "v1", "v2", "v3")
    loads = Loads()
    watcher = registry.watch(loads, check_every_s=HOUR)
    try:
        eventually(lambda: watcher.connects, 1)
        for round_, version in enumerate(("v1", "v2", "v3"), start=2):
            assert client.client_kill_filter(_type="pubsub") == 1  # the watcher's connection
            registry.activate(version)  # published while the watcher is reconnecting (or just after)
            eventually(lambda: watcher.connects, round_)
            eventually(lambda v=version: watcher.loaded, version)
        assert loads.versions == ["v1", "v2", "v3"]
        print(f"\nwatcher: {watcher.connects} connects, loaded {loads.versions} across 3 killed connections")
    finally:
        watcher.stop()


def test_the_periodic_check_catches_a_switch_whose_publish_was_missed(redis_client):
    registry = registry_with(redis_client, "v1", "v2")
    registry.activate("v1")
    loads = Loads()
    watcher = registry.watch(loads, check_every_s=0.1)
    try:
        eventually(lambda: watcher.connects, 1)
        redis_client.set(registry.keys.active_adapter, "v2")  # no event published
        eventually(lambda: loads.versions, ["v2"])
        assert watcher.connects == 1  # the check found it, not a reconnect
    finally:
        watcher.stop()


def test_a_failed_switch_is_retried_and_a_stopped_watcher_switches_no_more(redis_client):
    registry = registry_with(redis_client, "v1", "v2", "v3")
    loads = Loads(fail=2)
    watcher = registry.watch(loads, loaded=None, check_every_s=0.1)
    try:
        registry.activate("v2")
        eventually(lambda: loads.versions, ["v2"])  # after two failed downloads
        assert loads.fail == 0
    finally:
        watcher.stop()
    assert not watcher.thread.is_alive()
    registry.activate("v3")
    assert settle(lambda: list(loads.versions)) == ["v2"]
