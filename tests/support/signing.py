"""Signed Slack requests, as Slack sends them (v0 HMAC-SHA256 over timestamp and body)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"


def signed_headers(body: str, secret: str = SIGNING_SECRET) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or "",
    }


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
            "trigger_id": "1.2.3",
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
        "trigger_id": "1.2.3",
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
