"""Fire several scheduler replicas at the same moment, as replicas of the bot would."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any


def fire_together(replicas: list[Any], now: datetime) -> list[str]:
    """Call ``fire(now)`` on every replica from its own thread at once; the results, sorted."""
    results: list[str] = []
    threads = [threading.Thread(target=lambda r=r: results.append(r.fire(now))) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)
