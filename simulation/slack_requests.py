"""Requests as Slack sends them to an app in HTTP mode, signed with the app's signing secret.

Slack signs ``v0:{timestamp}:{body}`` with HMAC-SHA256 and sends it in ``X-Slack-Signature``
(https://api.slack.com/authentication/verifying-requests-from-slack); the bot refuses anything
else. Slash commands and interactions are form-encoded, events are JSON.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

TEAM = "T0SIMTEAM"
APP = "A0SIMAPP"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_TRIGGERS = itertools.count(1)


@dataclass(frozen=True)
class SlackRequest:
    body: str
    content_type: str

    def headers(self, signing_secret: str, now: float | None = None) -> dict[str, str]:
        timestamp = str(int(time.time() if now is None else now))
        return {
            "Content-Type": self.content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature(signing_secret, timestamp, self.body),
        }


def signature(signing_secret: str, timestamp: str, body: str) -> str:
    """Slack's request signature, made by slack_sdk (the same code Bolt verifies with)."""
    signed = SignatureVerifier(signing_secret).generate_signature(timestamp=timestamp, body=body)
    assert signed is not None  # slack_sdk returns None only without a timestamp
    return signed


def trigger_id() -> str:
    """A fresh trigger id, as Slack gives one per command or interaction."""
    return f"{time.time_ns()}.{next(_TRIGGERS)}.{uuid.uuid4().hex[:12]}"


def slash_command(command: str, text: str, user: str, channel: str, response_url: str) -> SlackRequest:
    fields = {
        "team_id": TEAM,
        "team_domain": "simulation",
        "channel_id": channel,
        "channel_name": "support",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "response_url": response_url,
        "trigger_id": trigger_id(),
        "api_app_id": APP,
    }
    return SlackRequest(urlencode(fields), FORM)


def event(event: dict[str, Any], bot_user_id: str) -> SlackRequest:
    envelope = {
        "team_id": TEAM,
        "api_app_id": APP,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:16].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": bot_user_id, "is_bot": True}],
    }
    return SlackRequest(json.dumps(envelope), JSON)


def thread_reply(  # noqa: PLR0917 - what Slack sends about a reply
    text: str, user: str, channel: str, thread_ts: str, ts: str, bot_user_id: str
) -> SlackRequest:
    """A person's reply in a thread (``message.channels``)."""
    message = {
        "type": "message",
        "channel_type": "channel",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": thread_ts,
        "event_ts": ts,
    }
    return event(message, bot_user_id)


def reaction_added(reaction: str, user: str, channel: str, ts: str, bot_user_id: str) -> SlackRequest:
    added = {
        "type": "reaction_added",
        "user": user,
        "reaction": reaction,
        "item_user": bot_user_id,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": f"{time.time():.6f}",
    }
    return event(added, bot_user_id)


def _user(user: str) -> dict[str, str]:
    return {"id": user, "username": user.lower(), "team_id": TEAM}


def button(  # noqa: PLR0917 - what Slack sends about a click
    action_id: str, value: str, user: str, channel: str, message_ts: str, thread_ts: str, trigger: str | None = None
) -> SlackRequest:
    """A click on a button of a message the bot posted in a thread (``block_actions``); a modal
    it opens comes back with ``trigger``."""
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "simulation"},
        "user": _user(user),
        "api_app_id": APP,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
            "thread_ts": thread_ts,
        },
        "trigger_id": trigger or trigger_id(),
        "channel": {"id": channel, "name": "support"},
        "message": {"type": "message", "ts": message_ts, "thread_ts": thread_ts},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"feedback:{value}",
                "type": "button",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return SlackRequest(urlencode({"payload": json.dumps(payload)}), FORM)


def view_submission(view: dict[str, Any], user: str, values: dict[str, dict[str, str]]) -> SlackRequest:
    """A person submits a modal the bot opened: ``values`` is ``{block_id: {action_id: text}}``."""
    state = {
        block: {action: {"type": "plain_text_input", "value": text} for action, text in actions.items()}
        for block, actions in values.items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "simulation"},
        "user": _user(user),
        "api_app_id": APP,
        "trigger_id": trigger_id(),
        "view": {**view, "state": {"values": state}},
        "response_urls": [],
    }
    return SlackRequest(urlencode({"payload": json.dumps(payload)}), FORM)
