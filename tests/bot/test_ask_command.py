"""/ask through the Bolt app: signed requests in, Web API calls out to the local stand-in."""

import json
import time

from tests.support.signing import slash_command_body


def test_ask_acks_then_posts_question_and_two_threaded_answers(bolt):
    body = slash_command_body("How do I cancel my order?", bolt.stub.response_url)
    response = bolt.dispatch(body)
    assert response.status == 200
    assert response.body == ""

    root, *answers = bolt.stub.wait_for("chat.postMessage", 3)
    assert root.params["channel"] == "C0SUPPORT"
    assert "thread_ts" not in root.params
    assert root.params["text"] == "<@U0ASKER> asked: How do I cancel my order?"

    questions = bolt.services.store.redis.zrange(bolt.services.store.keys.questions, 0, -1)
    question = bolt.services.store.get_question(questions[0])
    assert question.channel == "C0SUPPORT"
    assert question.thread_ts == root.response["ts"]
    labels = []
    for call in answers:
        assert call.params["channel"] == "C0SUPPORT"
        assert call.params["thread_ts"] == question.thread_ts
        assert call.headers["Authorization"] == "Bearer xoxb-test-token"
        blocks = call.params["blocks"]
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        labels.append(blocks[0]["elements"][0]["text"])
        assert blocks[-1]["type"] == "actions"
    assert labels == ["*Prompted (local tiny-llama)*", "*Fine-tuned (base model, no adapter yet)*"]

    # Each posted answer maps back from its (channel, ts), so a reaction finds exactly one answer.
    deadline = time.monotonic() + 10
    while len(bolt.services.store.answers_for_question(question.id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    stored = bolt.services.store.answers_for_question(question.id)
    assert [a.variant for a in stored] == ["prompted", "finetuned"]
    assert len({a.ts for a in stored}) == 2
    for answer in stored:
        assert bolt.services.store.answer_for_message("C0SUPPORT", answer.ts).id == answer.id
        assert answer.usage.completion_tokens > 0


def test_empty_question_gets_an_ephemeral_explanation_and_nothing_is_posted(bolt):
    response = bolt.dispatch(slash_command_body("   ", bolt.stub.response_url))
    assert response.status == 200
    assert response.body.startswith(":warning: Please include a question")  # ephemeral by default
    time.sleep(0.5)  # let the lazy listener run: it must do nothing
    assert bolt.posts() == []
    assert bolt.services.store.question_count() == 0


def test_over_long_question_gets_an_ephemeral_explanation(bolt):
    response = bolt.dispatch(slash_command_body("why? " * 500, bolt.stub.response_url))
    assert "the limit is 2,000" in response.body
    time.sleep(0.5)
    assert bolt.posts() == []


def test_channel_the_bot_is_not_in_gets_an_ephemeral_hint(bolt):
    bolt.stub.fail("chat.postMessage", "not_in_channel")
    response = bolt.dispatch(slash_command_body("Where is my parcel?", bolt.stub.response_url))
    assert response.status == 200
    (reply,) = bolt.stub.wait_for_response_url(1)
    assert reply["response_type"] == "ephemeral"
    assert "/invite @supportbot" in reply["text"]
    assert bolt.services.store.question_count() == 0


def test_unsigned_request_is_rejected(bolt):
    body = slash_command_body("How do I cancel?", bolt.stub.response_url)
    response = bolt.dispatch(body, headers={"X-Slack-Signature": "v0=forged"})
    assert response.status == 401
    time.sleep(0.3)
    assert bolt.posts() == []
