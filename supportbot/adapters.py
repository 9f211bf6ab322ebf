"""The adapter registry's shared side: versions, the active pointer, promotion and rollback.

Every version stays in the registry. Promotion and rollback switch one Redis key (atomic: the
previous adapter serves until the switch; an inference server loads the version before it) and
publish an event on which running bots hot-swap the adapter without a restart (and re-read the
pointer after a reconnect and periodically, so a missed event only delays the swap). Artifacts
live under ADAPTER_STORE: a local directory, or any fsspec URL so GPU workers on other machines
can publish.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

from supportbot.adapter_watch import CHECK_EVERY_S, AdapterWatcher
from supportbot.errors import SupportbotError
from supportbot.keys import Keys
from supportbot.records import AdapterVersion

log = logging.getLogger(__name__)


class Loaded(Enum):
    ACTIVE = "the version active when the watch starts"  # watch(loaded=...)'s default


class UnknownVersion(SupportbotError):
    """No adapter version by that name."""


class AdapterRegistry:
    """``prepare(version)``, when given, runs before every switch and stops it by raising: with the
    fine-tuned side on an inference server it loads the version there (``supportbot.lora_server``),
    so no bot is told to ask for a name the server has not loaded."""

    def __init__(self, client: Any, keys: Keys, prepare: Callable[[AdapterVersion], object] | None = None) -> None:
        self.redis = client
        self.keys = keys
        self.prepare = prepare

    def next_version(self) -> str:
        return f"v{int(self.redis.incr(self.keys.adapter_counter))}"

    def save(self, version: AdapterVersion) -> None:
        number = int(version.version.lstrip("v"))
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.adapter(version.version), json.dumps(version.to_dict()))
            pipe.zadd(self.keys.adapters, {version.version: number})
            pipe.execute()

    def get(self, version: str) -> AdapterVersion | None:
        raw = self.redis.get(self.keys.adapter(version))
        return None if raw is None else AdapterVersion.from_dict(json.loads(raw))

    def all(self) -> list[AdapterVersion]:
        versions = [self.get(v) for v in self.redis.zrange(self.keys.adapters, 0, -1)]
        return [v for v in versions if v is not None]

    def active(self) -> AdapterVersion | None:
        name = self.redis.get(self.keys.active_adapter)
        return None if name is None else self.get(name)

    def last_trained_at(self) -> float | None:
        versions = self.all()
        return max((v.created_at for v in versions), default=None)

    def activate(self, version: str) -> AdapterVersion:
        """Make ``version`` the serving adapter (promote or roll back) and tell running bots."""
        found = self.get(version)
        if found is None:
            known = ", ".join(v.version for v in self.all()) or "none yet"
            raise UnknownVersion(f"no adapter version {version!r} (known: {known})")
        if self.prepare is not None:
            self.prepare(found)  # raises: the switch does not happen
        with self.redis.pipeline(transaction=True) as pipe:
            if found.status != "promoted":
                found.status = "promoted"
                pipe.set(self.keys.adapter(version), json.dumps(found.to_dict()))
            pipe.set(self.keys.active_adapter, version)
            pipe.publish(self.keys.adapter_events, json.dumps({"active": version, "uri": found.uri}))
            pipe.execute()
        log.info("adapter %s is now active", version)
        return found

    def watch(
        self,
        on_change: Callable[[AdapterVersion], None],
        loaded: str | Loaded | None = Loaded.ACTIVE,
        check_every_s: float = CHECK_EVERY_S,
    ) -> AdapterWatcher:
        """Call ``on_change`` in a daemon thread whenever the active adapter is not the loaded one.

        ``loaded`` is the version serving now (default: the one active as the watch starts). The
        watcher reconnects after a dropped connection and re-reads the pointer then, and every
        ``check_every_s`` seconds; see ``supportbot.adapter_watch``.
        """
        if isinstance(loaded, Loaded):
            active = self.active()
            loaded = active.version if active is not None else None
        return AdapterWatcher(self, on_change, loaded, check_every_s).start()


def fetch(uri: str, cache_dir: Path) -> Path:
    """A local directory holding the adapter at ``uri`` (downloaded once if it is remote).

    A download goes to a private folder that is renamed into place when it is whole, so a failed
    or interrupted one leaves nothing that a later fetch would take for the adapter."""
    if "://" not in uri or uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    import fsspec

    target = cache_dir / uri.rstrip("/").rsplit("/", 1)[-1]
    if (target / "adapter_config.json").exists():
        return target
    fs, path = fsspec.core.url_to_fs(uri)
    partial = cache_dir / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        fs.get(path.rstrip("/") + "/", str(partial) + "/", recursive=True)
        if target.exists() and not (target / "adapter_config.json").exists():
            shutil.rmtree(target)  # an incomplete copy written in place by an older supportbot
        os.rename(partial, target)
    except OSError:
        if not (target / "adapter_config.json").exists():  # else another process finished it first
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target
