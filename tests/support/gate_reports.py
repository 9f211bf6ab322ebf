"""A live adapter whose gate report is in the current format: strict headline, lenient beside it,
and the paired test that promoted it."""

from __future__ import annotations

from supportbot.adapters import AdapterRegistry
from supportbot.records import AdapterVersion
from supportbot.store import Store
from tests.support.traffic import DAY, NOW


def side(name: str, strict: float, lenient: float, n: int = 40) -> dict:
    return {
        "name": name,
        "n": n,
        "accuracy": strict,
        "ci95": [strict - 0.1, strict + 0.1],
        "lenient_accuracy": lenient,
        "lenient_ci95": [lenient - 0.1, min(1.0, lenient + 0.1)],
    }


def promoted_adapter(store: Store, promote: bool = True) -> AdapterVersion:
    registry = AdapterRegistry(store.redis, store.keys)
    test = {"name": "McNemar exact, one-sided", "b": 12, "c": 1, "n": 40, "p_value": 14 / 2**13}
    version = AdapterVersion(
        version="v2",
        base_model="base",
        snapshot="abc",
        uri="/nowhere",
        trigger="cli",
        report={
            "candidate": side("candidate", 0.725, 0.95),
            "live": side("live v1", 0.45, 0.9),
            "prompted": side("prompted (gpt-4o-mini)", 0.3, 0.6),
            "decision": {"promote": promote, "reason": "r", "margin": 0.02, "confidence": 0.95, "test": test},
        },
        created_at=NOW - 3 * DAY,
    )
    registry.save(version)
    return registry.activate("v2")
