"""Signed Slack requests, as Slack sends them (v0 HMAC-SHA256 over timestamp and body)."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

_TRIGGERS = itertools.count(1)

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"


def signed_headers(body: str, secret: str = SIGNING_SECRET) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or "",
    }


def trigger_id() -> str:
    """A fresh trigger id, as Slack sends one per command or interaction (retries repeat it)."""
    return f"{time.time_ns()}.{next(_TRIGGERS)}.{uuid.uuid4().hex[:12]}"


def slash_command_body(text: str, response_url: str, command: str = "/ask") -> str:
    return urlencode(
        {
            "token": "verification-token",
            "team_id": "T0TEAM",
            "team_domain": "example",
            "channel_id": "C0SUPPORT",
            "channel_name": "support",
            "user_id": "U0ASKER",
            "user_name": "asker",
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": trigger_id(),
            "api_app_id": "A0APP",
        }
    )


def event_body(event: dict[str, Any], event_id: str = "Ev0001") -> str:
    return json.dumps(
        {
            "token": "verification-token",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOTUSER", "is_bot": True}],
        }
    )


def action_body(action_id: str, value: str, user: str, channel: str, message_ts: str) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0TEAM", "domain": "example"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id(),
        "channel": {"id": channel, "name": "support"},
        "message": {"type": "message", "ts": message_ts, "text": "answer"},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"feedback:{value}",
                "type": "button",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def reaction_body(
    reaction: str, user: str, channel: str, ts: str, added: bool = True, event_id: str = "EvR0001"
) -> str:
    event = {
        "type": "reaction_added" if added else "reaction_removed",
        "user": user,
        "reaction": reaction,
        "item_user": "U0BOTUSER",
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": str(time.time()),
    }
    return event_body(event, event_id=event_id)


def view_submission_body(user: str, private_metadata: str, value: str | None, callback_id: str) -> str:
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEAM", "domain": "example"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "verification-token",
        "trigger_id": trigger_id(),
        "view": {
            "id": "V0VIEW0001",
            "team_id": "T0TEAM",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": [],
            "state": {"values": {"correction": {"corrected_answer": {"type": "plain_text_input", "value": value}}}},
            "hash": "1.abc",
        },
        "response_urls": [],
    }
    return urlencode({"payload": json.dumps(payload)})


def thread_message_body(text: str, user: str, channel: str, thread_ts: str, ts: str, event_id: str) -> str:
    event = {
        "type": "message",
        "channel_type": "im" if channel.startswith("D") else "channel",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": thread_ts,
        "event_ts": ts,
    }
    return event_body(event, event_id=event_id)
