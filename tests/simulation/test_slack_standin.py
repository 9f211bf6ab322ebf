"""The Web API stand-in, driven by slack_sdk's own WebClient as the bot drives it."""

import json

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from simulation.slack_standin import BOT_USER_ID, SlackStandIn


@pytest.fixture
def slack():
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def client(slack):
    return WebClient(token="xoxb-simulation", base_url=slack.url)


def test_auth_test_names_the_bot(client):
    assert client.auth_test()["user_id"] == BOT_USER_ID


def test_a_thread_shows_each_message_as_last_updated(client, slack):
    root = client.chat_postMessage(channel="C0SUPPORT", text="<@U0ASK> asked: where is my parcel?")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "answering…"}}]
    first = client.chat_postMessage(channel="C0SUPPORT", thread_ts=root["ts"], text="placeholder", blocks=blocks)
    client.chat_postMessage(channel="C0SUPPORT", thread_ts=root["ts"], text="second")
    final = [{"type": "section", "text": {"type": "mrkdwn", "text": "It is on its way."}}]
    updated = client.chat_update(channel="C0SUPPORT", ts=first["ts"], text="answer", blocks=final)
    assert updated["ts"] == first["ts"]
    thread = slack.thread("C0SUPPORT", root["ts"])
    assert [m.text for m in thread] == ["answer", "second"]  # in place: the order is kept
    assert thread[0].block_texts() == ["It is on its way."] and thread[0].updates == 1
    assert [m.ts for m in slack.roots("C0SUPPORT")] == [root["ts"]]
    assert [call.method for call in slack.calls] == ["chat.postMessage"] * 3 + ["chat.update"]


def test_updating_an_unknown_message_fails_as_slack_does(client):
    with pytest.raises(SlackApiError) as failure:
        client.chat_update(channel="C0SUPPORT", ts="1.000001", text="x")
    assert failure.value.response["error"] == "message_not_found"


def test_a_message_to_a_person_goes_to_their_dm(client):
    assert client.chat_postMessage(channel="U0PERSON", text="hi")["channel"] == "D0PERSON"


def test_views_open_keeps_the_view_under_its_trigger(client, slack):
    view = {"type": "modal", "callback_id": "correction_modal", "title": {"type": "plain_text", "text": "t"},
            "blocks": [], "private_metadata": json.dumps({"answer_id": "a1"})}  # fmt: skip
    opened = client.views_open(trigger_id="trigger-1", view=view)
    assert opened["view"]["id"].startswith("V")
    assert json.loads(slack.views["trigger-1"]["private_metadata"]) == {"answer_id": "a1"}


def test_an_upload_with_blocks_is_one_message_in_the_channel(client, slack, tmp_path):
    chart = tmp_path / "digest.png"
    chart.write_bytes(b"\x89PNG not really")
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Weekly digest"}}]
    client.files_upload_v2(channel="C0DIGEST", file=str(chart), filename="digest.png", title="d",
                           blocks=json.dumps(blocks))  # fmt: skip
    (upload,) = slack.uploads.values()
    assert upload.data == chart.read_bytes() and upload.channel == "C0DIGEST" and upload.blocks == blocks


def test_unknown_methods_are_refused(client):
    with pytest.raises(SlackApiError) as failure:
        client.api_call("reactions.add", params={"name": "x"})
    assert failure.value.response["error"] == "unknown_method"


def test_wait_until_gives_up_with_what_was_awaited(slack):
    from supportbot.errors import SupportbotError

    with pytest.raises(SupportbotError, match="the bot did not post the digest within 0 s"):
        slack.wait_until(lambda: None, 0.2, "post the digest")
