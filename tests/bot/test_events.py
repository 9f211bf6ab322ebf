"""@mentions and DMs through the Bolt app, including Slack's redeliveries."""

import json
import time

from tests.support.signing import event_body


def mention(text: str, ts: str = "1700000001.000100", thread_ts: str | None = None) -> dict:
    event = {
        "type": "app_mention",
        "user": "U0ASKER",
        "text": text,
        "ts": ts,
        "channel": "C0SUPPORT",
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def blocks_of(call) -> list:
    blocks = call.params["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def test_mention_is_answered_twice_in_its_thread(bolt):
    response = bolt.dispatch(event_body(mention("<@U0BOTUSER> how do I get a refund?")))
    assert response.status == 200
    answers = bolt.stub.wait_for("chat.postMessage", 2)
    assert [call.params["thread_ts"] for call in answers] == ["1700000001.000100"] * 2
    assert all(call.params["channel"] == "C0SUPPORT" for call in answers)
    question_id = bolt.services.store.redis.zrange(bolt.services.store.keys.questions, 0, -1)[0]
    assert bolt.services.store.get_question(question_id).text == "how do I get a refund?"


def test_mention_inside_a_thread_answers_in_that_thread(bolt):
    event = mention("<@U0BOTUSER> and shipping?", ts="1700000002.000200", thread_ts="1700000000.000001")
    bolt.dispatch(event_body(event))
    answers = bolt.stub.wait_for("chat.postMessage", 2)
    assert {call.params["thread_ts"] for call in answers} == {"1700000000.000001"}


def test_redelivered_event_is_answered_once(bolt):
    body = event_body(mention("<@U0BOTUSER> where is my order?"), event_id="Ev0RETRY")
    assert bolt.dispatch(body).status == 200
    for retry in (1, 2):
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        assert bolt.dispatch(body, headers=headers).status == 200
    bolt.stub.wait_for("chat.postMessage", 2)
    time.sleep(1.0)  # a double answer would have arrived by now
    assert len(bolt.posts()) == 2
    assert bolt.services.store.question_count() == 1


def test_empty_mention_gets_an_ephemeral_explanation(bolt):
    bolt.dispatch(event_body(mention("<@U0BOTUSER>   ")))
    (call,) = bolt.stub.wait_for("chat.postEphemeral", 1)
    assert call.params["user"] == "U0ASKER"
    assert call.params["text"].startswith(":warning: Please include a question")
    assert bolt.posts() == []


def test_direct_message_is_answered_in_its_thread(bolt):
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0DIRECT1",
        "user": "U0ASKER",
        "text": "Can I pay by bank transfer?",
        "ts": "1700000003.000300",
        "event_ts": "1700000003.000300",
    }
    bolt.dispatch(event_body(event, event_id="Ev0DM"))
    answers = bolt.stub.wait_for("chat.postMessage", 2)
    assert {(c.params["channel"], c.params["thread_ts"]) for c in answers} == {("D0DIRECT1", "1700000003.000300")}


def test_the_bots_own_messages_and_edits_are_ignored(bolt):
    own = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0DIRECT1",
        "bot_id": "B0BOTID00",
        "text": "an answer",
        "ts": "1700000004.000400",
    }
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel_type": "im",
        "channel": "D0DIRECT1",
        "ts": "1700000005.000500",
    }
    assert bolt.dispatch(event_body(own, event_id="Ev0OWN")).status == 200
    assert bolt.dispatch(event_body(edit, event_id="Ev0EDIT")).status in (200, 404)
    time.sleep(0.5)
    assert bolt.posts() == []
    assert bolt.services.store.question_count() == 0


def test_a_mention_that_is_a_correction_is_not_asked_as_a_question(bolt):
    event = mention(
        "<@U0BOTUSER> correction: it ships in 2 days", ts="1700000002.000200", thread_ts="1700000000.000001"
    )
    assert bolt.dispatch(event_body(event, event_id="Ev0CORR")).status == 200
    from tests.support.waiting import settle

    assert settle(bolt.posts) == []
    assert bolt.services.store.question_count() == 0
