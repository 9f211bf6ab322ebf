"""The 👍/👎 buttons under each answer: one current vote per person, double clicks are harmless."""

import json

import pytest

from supportbot.settings import load_settings
from tests.support.signing import action_body, event_body


def ask_and_get_answers(bolt):
    bolt.dispatch(
        event_body(
            {
                "type": "app_mention",
                "user": "U0ASKER",
                "text": "<@U0BOTUSER> refund?",
                "ts": "1700000001.000100",
                "channel": "C0SUPPORT",
            }
        )
    )
    return [(message.answer_id, message.ts, message.blocks) for message in bolt.stub.wait_for_answers(2)]


def test_votes_are_recorded_once_per_person(bolt):
    (first_id, first_ts, _), _ = ask_and_get_answers(bolt)
    for _ in range(2):  # a double click
        assert bolt.dispatch(action_body("vote_up", first_id, "U0ALICE", "C0SUPPORT", first_ts)).status == 200
    bolt.dispatch(action_body("vote_up", first_id, "U0BOB", "C0SUPPORT", first_ts))
    bolt.dispatch(action_body("vote_down", first_id, "U0BOB", "C0SUPPORT", first_ts))  # changed mind
    bolt.stub.wait_for("chat.postEphemeral", 4)
    assert bolt.services.store.votes.of(first_id) == {"U0ALICE": 1, "U0BOB": -1}
    thanks = bolt.stub.calls_to("chat.postEphemeral")[0].params
    assert thanks["user"] == "U0ALICE"
    assert "is recorded" in thanks["text"]


def test_vote_on_an_unknown_answer_says_so(bolt):
    bolt.dispatch(action_body("vote_up", "no-such-answer", "U0ALICE", "C0SUPPORT", "1.0"))
    (call,) = bolt.stub.wait_for("chat.postEphemeral", 1)
    assert "was not recorded" in call.params["text"]


@pytest.fixture
def blind_settings(monkeypatch, settings):
    monkeypatch.setenv("PRESENTATION", "blind")
    return load_settings()


def test_blind_answers_are_labelled_a_b_and_revealed_after_the_vote(blind_settings, slack_stub):
    from bot.app import build_app
    from supportbot.services import build_services
    from tests.bot.conftest import Bolt

    services = build_services(blind_settings, show_progress=False)
    bolt = Bolt(build_app(services), services, slack_stub)
    answers = ask_and_get_answers(bolt)
    labels = [blocks[0]["elements"][0]["text"] for _, _, blocks in answers]
    assert labels == ["*A*", "*B*"]
    assert all("tiny-llama" not in json.dumps(blocks) for _, _, blocks in answers)
    answer_id, ts, _ = answers[0]
    bolt.dispatch(action_body("vote_down", answer_id, "U0ALICE", "C0SUPPORT", ts))
    (call,) = bolt.stub.wait_for("chat.postEphemeral", 1)
    assert "Answer A was the" in call.params["text"]
