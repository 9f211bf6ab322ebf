"""/ask through the Bolt app: signed requests in, Web API calls out to the local stand-in."""

import time

from tests.support.signing import slash_command_body
from tests.support.waiting import eventually


def test_ask_acks_then_posts_question_and_two_threaded_answers(bolt):
    body = slash_command_body("How do I cancel my order?", bolt.stub.response_url)
    response = bolt.dispatch(body)
    assert response.status == 200
    assert response.body == ""

    shown = bolt.stub.wait_for_answers(2)
    root, *placeholders = bolt.posts()
    assert root.params["channel"] == "C0SUPPORT"
    assert "thread_ts" not in root.params
    assert root.params["text"] == "<@U0ASKER> asked: How do I cancel my order?"
    assert len(placeholders) == 2  # the answers replaced them: nothing else was posted

    questions = bolt.services.store.redis.zrange(bolt.services.store.keys.questions, 0, -1)
    question = bolt.services.store.get_question(questions[0])
    assert question.channel == "C0SUPPORT"
    assert question.thread_ts == root.response["ts"]
    for call in placeholders:
        assert call.params["channel"] == "C0SUPPORT"
        assert call.params["thread_ts"] == question.thread_ts
        assert call.headers["Authorization"] == "Bearer xoxb-test-token"
    assert [m.ts for m in shown] == [call.response["ts"] for call in placeholders]
    assert [m.label for m in shown] == ["*Prompted (local tiny-llama)*", "*Fine-tuned (base model, no adapter yet)*"]
    assert all(m.blocks[-1]["type"] == "actions" and m.updates == 1 for m in shown)
    assert bolt.stub.thread_messages(question.thread_ts) == shown

    # Each answer maps back from its message's (channel, ts), so a reaction finds exactly one answer.
    def stored_in_order():  # stored as each arrived; shown in presentation order
        answers = {a.variant: a for a in bolt.services.store.answers_for_question(question.id)}
        return [answers[v] for v in question.order if v in answers]

    eventually(lambda: [a.ts for a in stored_in_order()], [m.ts for m in shown])
    stored = stored_in_order()
    assert [a.variant for a in stored] == ["prompted", "finetuned"]
    for answer, message in zip(stored, shown, strict=True):
        assert message.answer_id == answer.id
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
