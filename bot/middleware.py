"""Global middleware."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.response import BoltResponse

from supportbot.intake import STORE_DOWN, Intake
from supportbot.store import Store

log = logging.getLogger(__name__)


def delivery_id(body: dict[str, Any]) -> str | None:
    """What identifies one delivery: an event's ``event_id``; a command's or interaction's ``trigger_id``."""
    if body.get("type") == "event_callback":
        event_id = body.get("event_id")
        return f"event:{event_id}" if isinstance(event_id, str) and event_id else None
    trigger_id = body.get("trigger_id")
    return f"trigger:{trigger_id}" if isinstance(trigger_id, str) and trigger_id else None


def skip_redeliveries(store: Store, intake: Intake | None = None) -> Callable[..., BoltResponse | None]:
    """Slack re-sends a request (same ``event_id`` or ``trigger_id``) when it thinks we were slow:
    handle it once. While Redis is unreachable nothing can be checked, so requests go through
    (what they write is idempotent or spooled once per id)."""

    def middleware(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
        request_id = delivery_id(body)
        if request_id is not None and (intake is None or intake.store_up):
            try:
                first = store.first_delivery(request_id)
            except STORE_DOWN:
                if intake is not None:
                    intake.mark_down()
                first = True
            if not first:
                log.info("skipping redelivered %s", request_id)
                return BoltResponse(status=200, body="")
        return next()

    return middleware
