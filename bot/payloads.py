"""The shape every Slack payload must have before a listener sees it.

Slack's payloads are signed, so junk can only come from a bug or a leaked signing secret; still,
a listener must never crash on one (a 500, a traceback, or worse a message in a channel). The
fields the listeners read are checked here, once, with pydantic; a payload that does not fit is
acknowledged (so Slack does not retry it) and dropped with one log line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class MessageEvent(_Shape):
    channel: str
    ts: str
    user: str | None = None
    text: str | None = None
    thread_ts: str | None = None
    subtype: str | None = None
    bot_id: str | None = None
    channel_type: str | None = None


class ReactionItem(_Shape):
    type: str
    channel: str | None = None
    ts: str | None = None


class ReactionEvent(_Shape):
    user: str
    reaction: str
    item: ReactionItem


class Id(_Shape):
    id: str


class Container(_Shape):
    channel_id: str | None = None
    thread_ts: str | None = None


class Action(_Shape):
    action_id: str
    value: str | None = None


class BlockActions(_Shape):
    user: Id
    actions: list[Action]
    container: Container | None = None
    channel: Id | None = None
    trigger_id: str | None = None


class ViewState(_Shape):
    values: dict[str, dict[str, dict[str, Any]]]


class View(_Shape):
    callback_id: str
    private_metadata: str | None = None
    state: ViewState


class ViewSubmission(_Shape):
    user: Id
    view: View


class Command(_Shape):
    command: str
    user_id: str
    channel_id: str
    text: str | None = None
    response_url: str | None = None


EVENTS: dict[str, type[_Shape]] = {
    "message": MessageEvent,
    "app_mention": MessageEvent,
    "reaction_added": ReactionEvent,
    "reaction_removed": ReactionEvent,
}
INTERACTIONS: dict[str, type[_Shape]] = {"block_actions": BlockActions, "view_submission": ViewSubmission}


def problem(body: dict[str, Any]) -> str | None:
    """What is wrong with a payload the listeners would read, or None when it fits."""
    try:
        if body.get("type") == "event_callback":
            event = body.get("event")
            if not isinstance(event, dict):
                return "event is not an object"
            shape = EVENTS.get(str(event.get("type")))
            if shape is not None:
                shape.model_validate(event)
        elif isinstance(body.get("command"), str):
            Command.model_validate(body)
        elif (shape := INTERACTIONS.get(str(body.get("type")))) is not None:
            shape.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
    return None


def drop_malformed(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
    """Bolt middleware: acknowledge and drop a payload that does not have the fields listeners read."""
    wrong = problem(body)
    if wrong is not None:
        log.warning("dropped a malformed %s payload (%s)", body.get("type") or body.get("command") or "Slack", wrong)
        return BoltResponse(status=200, body="")
    return next()
