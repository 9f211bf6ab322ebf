"""Signed requests: slack_sdk's own verifier (what Bolt checks with) accepts ours, and only with the secret."""

import json
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from simulation import slack_requests as requests


def test_signatures_are_the_ones_slack_sdk_verifies():
    request = requests.slash_command("/ask", "Where is my parcel?", "U0ASK1", "C0SUPPORT", "http://127.0.0.1:9/r")
    headers = request.headers("the-secret")
    assert SignatureVerifier("the-secret").is_valid_request(request.body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(request.body, headers)
    tampered = request.body.replace("parcel", "refund")
    assert not SignatureVerifier("the-secret").is_valid_request(tampered, headers)


def test_bodies_carry_what_the_listeners_read():
    command = parse_qs(requests.slash_command("/ask", "q?", "U0ASK1", "C0SUPPORT", "http://r").body)
    assert command["command"] == ["/ask"] and command["text"] == ["q?"] and command["user_id"] == ["U0ASK1"]
    assert command["trigger_id"][0]
    click = requests.button("suggest_correction", "a1", "U0T", "C0SUPPORT", "2.2", "1.1", trigger="t-1")
    payload = json.loads(parse_qs(click.body)["payload"][0])
    assert payload["trigger_id"] == "t-1" and payload["actions"][0]["value"] == "a1"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "2.2",
        "channel_id": "C0SUPPORT",
        "is_ephemeral": False,
        "thread_ts": "1.1",
    }
    reply = json.loads(requests.thread_reply("correction: x", "U0T", "C0SUPPORT", "1.1", "3.3", "U0BOT").body)
    assert reply["type"] == "event_callback" and reply["event"]["thread_ts"] == "1.1"
    assert reply["authorizations"][0]["user_id"] == "U0BOT"
    first, second = (json.loads(requests.reaction_added("+1", "U0V", "C0SUPPORT", "2.2", "U0BOT").body) for _ in "ab")
    assert first["event_id"] != second["event_id"]  # two people's reactions are two events
    view = {"id": "V1", "callback_id": "correction_modal", "private_metadata": "{}", "blocks": []}
    submitted = json.loads(parse_qs(requests.view_submission(view, "U0T", {"b": {"a": "text"}}).body)["payload"][0])
    assert submitted["view"]["state"]["values"] == {"b": {"a": {"type": "plain_text_input", "value": "text"}}}
    assert submitted["view"]["callback_id"] == "correction_modal"
