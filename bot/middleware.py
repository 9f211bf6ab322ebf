"""Global middleware."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.response import BoltResponse

from supportbot.store import Store

log = logging.getLogger(__name__)


def skip_redeliveries(store: Store) -> Callable[..., BoltResponse | None]:
    """Slack re-sends an event (same ``event_id``) when it thinks we were slow: handle it once."""

    def middleware(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and event_id and not store.first_delivery(event_id):
            log.info("skipping redelivered event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    return middleware
