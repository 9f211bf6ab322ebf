"""Corrections through the Bolt app: the modal, inline validation, thread replies, review."""

import json

import pytest

from bot.app import build_app
from bot.background import Background
from supportbot.services import build_services
from supportbot.settings import load_settings
from tests.bot.conftest import Bolt
from tests.bot.test_reactions import ask
from tests.support.signing import action_body, thread_message_body, view_submission_body
from tests.support.waiting import eventually

REVIEW = "C0REVIEWS"


@pytest.fixture
def review_bolt(monkeypatch, settings, slack_stub):
    """Trusted: U0TRUSTED and members of user group S0LEADS; reviewers: U0REVIEWER."""
    monkeypatch.setenv("TRUSTED_USERS", "U0TRUSTED, S0LEADS")
    monkeypatch.setenv("REVIEWERS", "U0REVIEWER")
    monkeypatch.setenv("REVIEW_CHANNEL", REVIEW)
    slack_stub.groups["S0LEADS"] = ["U0LEAD"]
    settings = load_settings()
    services = build_services(settings, show_progress=False)
    background = Background(2, 10)
    yield Bolt(build_app(services, background), services, slack_stub)
    background.shutdown()


def open_modal(bolt, answer_id: str, ts: str, user: str) -> dict:
    body = action_body("suggest_correction", answer_id, user, "C0SUPPORT", ts)
    assert bolt.dispatch(body).status == 200
    (call,) = bolt.stub.wait_for("views.open", 1)
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


def submit(bolt, view: dict, user: str, text: str | None):
    body = view_submission_body(user, view["private_metadata"], text, view["callback_id"])
    return bolt.dispatch(body)


def test_button_opens_a_modal_prefilled_with_the_answer(review_bolt):
    (answer_id, ts), _ = ask(review_bolt)
    view = open_modal(review_bolt, answer_id, ts, "U0ALICE")
    answer = review_bolt.services.store.get_answer(answer_id)
    assert view["type"] == "modal"
    assert view["blocks"][1]["element"]["initial_value"] == answer.text
    assert "refund?" in view["blocks"][0]["text"]["text"]
    (sent,) = review_bolt.stub.calls_to("views.open")
    assert sent.params["trigger_id"].count(".") == 2  # the action's own trigger id, passed on


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("   ", "Please write the corrected answer."),
        (None, "Please write the corrected answer."),
        ("x" * 4001, "the limit is 4,000"),
        ("SAME", "This is the same as the answer"),
    ],
)
def test_bad_corrections_get_an_inline_error_and_nothing_is_stored(review_bolt, text, error):
    (answer_id, ts), _ = ask(review_bolt)
    if text == "SAME":  # the tiny model's answer may be blank: give it a known text
        store = review_bolt.services.store
        answer = store.get_answer(answer_id)
        answer.text = text = "Go to Order History and choose Cancel."
        store.redis.set(store.keys.answer(answer_id), json.dumps(answer.to_dict()))
    view = open_modal(review_bolt, answer_id, ts, "U0ALICE")
    response = submit(review_bolt, view, "U0ALICE", text)
    assert response.status == 200
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert error in body["errors"]["correction"]
    assert review_bolt.services.store.corrections.all() == []


def test_a_trusted_persons_correction_is_approved_at_once(review_bolt):
    (answer_id, ts), _ = ask(review_bolt)
    view = open_modal(review_bolt, answer_id, ts, "U0LEAD")  # trusted through user group S0LEADS
    response = submit(review_bolt, view, "U0LEAD", "Go to Order History and choose Refund.")
    assert (response.status, response.body) == (200, "")
    store = review_bolt.services.store.corrections
    eventually(lambda: len(store.with_status("approved")), 1)
    (correction,) = store.with_status("approved")
    assert (correction.user, correction.answer_id, correction.via) == ("U0LEAD", answer_id, "modal")
    (note,) = review_bolt.stub.wait_for("chat.postEphemeral", 1)
    assert "approved" in note.params["text"]
    assert [c.params["channel"] for c in review_bolt.posts()].count(REVIEW) == 0


def test_untrusted_correction_waits_for_a_reviewer(review_bolt):
    (answer_id, ts), _ = ask(review_bolt)
    view = open_modal(review_bolt, answer_id, ts, "U0ALICE")
    submit(review_bolt, view, "U0ALICE", "Refunds take 5-10 business days.")
    store = review_bolt.services.store.corrections
    review_post = review_bolt.stub.wait_for("chat.postMessage", 3)[2]
    assert review_post.params["channel"] == REVIEW
    (pending,) = store.with_status("pending")
    buttons = review_post.params["blocks"][-1]["elements"]
    assert [b["action_id"] for b in buttons] == ["approve_correction", "reject_correction"]
    assert {b["value"] for b in buttons} == {pending.id}
    review_ts = review_post.response["ts"]

    # Not a reviewer: refused, nothing changes.
    review_bolt.dispatch(action_body("approve_correction", pending.id, "U0ALICE", REVIEW, review_ts))
    refusals = review_bolt.stub.wait_for("chat.postEphemeral", 2)
    assert "Only reviewers" in refusals[-1].params["text"]
    assert store.get(pending.id).status == "pending"

    # A reviewer approves: the review message is updated and the author is told.
    review_bolt.dispatch(action_body("approve_correction", pending.id, "U0REVIEWER", REVIEW, review_ts))
    updates = review_bolt.stub.wait_for("chat.update", 3)  # the two answers, then the review message
    (update,) = [call for call in updates if call.params["ts"] == review_ts]
    assert "Approved" in update.params["text"]
    dm = review_bolt.stub.wait_for("chat.postMessage", 4)[3]
    assert dm.params["channel"] == "U0ALICE" and "*approved*" in dm.params["text"]
    approved = store.get(pending.id)
    assert (approved.status, approved.reviewer) == ("approved", "U0REVIEWER")

    # A second click (or a second reviewer) cannot decide again.
    review_bolt.dispatch(action_body("reject_correction", pending.id, "U0REVIEWER", REVIEW, review_ts))
    again = review_bolt.stub.wait_for("chat.postEphemeral", 3)
    assert "Already approved" in again[-1].params["text"]
    assert store.get(pending.id).status == "approved"


def test_thread_reply_with_the_prefix_is_a_correction(review_bolt):
    ask(review_bolt)
    body = thread_message_body(
        "Correction: Refunds go back to the card within 5 days.",
        "U0TRUSTED",
        "C0SUPPORT",
        thread_ts="1700000001.000100",
        ts="1700000009.000900",
        event_id="EvTHREAD",
    )
    assert review_bolt.dispatch(body).status == 200
    store = review_bolt.services.store.corrections
    eventually(lambda: len(store.with_status("approved")), 1)
    (correction,) = store.with_status("approved")
    assert correction.text == "Refunds go back to the card within 5 days."
    assert correction.via == "thread" and correction.answer_id is None


def test_other_thread_replies_are_not_corrections(review_bolt):
    ask(review_bolt)
    for i, (text, thread) in enumerate(
        [("thanks, that worked", "1700000001.000100"), ("correction: elsewhere", "1600000000.000001")]
    ):
        body = thread_message_body(text, "U0TRUSTED", "C0SUPPORT", thread, f"17000000{i}.1", f"EvOther{i}")
        assert review_bolt.dispatch(body).status == 200
    from tests.support.waiting import settle

    assert settle(review_bolt.services.store.corrections.all) == []
