"""``@supportbot correction: …`` in a thread: Slack sends an app_mention and a message event for
it; whichever arrives (first, or alone), it is one correction, confirmed once."""

import pytest

from tests.bot.test_corrections import review_bolt  # noqa: F401 - the fixture
from tests.bot.test_reactions import ask
from tests.support.signing import event_body, thread_message_body
from tests.support.waiting import eventually, settle

THREAD = "1700000001.000100"  # where ask() posts its question's answers
TEXT = "<@U0BOTUSER> correction: Refunds go back to the card within 5 days."


def mention_event(text: str, user: str, thread_ts: str, ts: str, event_id: str) -> str:
    event = {"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": "C0SUPPORT"}
    return event_body({**event, "thread_ts": thread_ts, "event_ts": ts}, event_id=event_id)


def message_event(text: str, user: str, thread_ts: str, ts: str, event_id: str) -> str:
    return thread_message_body(text, user, "C0SUPPORT", thread_ts, ts, event_id)


@pytest.mark.parametrize(
    "events",
    [(mention_event, message_event), (message_event, mention_event), (mention_event,), (message_event,)],
    ids=["mention-then-message", "message-then-mention", "mention-alone", "message-alone"],
)
def test_a_mention_correction_is_stored_and_confirmed_once(review_bolt, events):  # noqa: F811
    ask(review_bolt)
    before = len(review_bolt.stub.calls_to("chat.postMessage"))
    for i, make in enumerate(events):
        body = make(TEXT, "U0TRUSTED", THREAD, "1700000009.000900", f"EvCorr{i}")
        assert review_bolt.dispatch(body).status == 200
    store = review_bolt.services.store.corrections
    eventually(lambda: len(store.all()), 1)
    assert len(settle(store.all)) == 1
    (correction,) = store.with_status("approved")  # U0TRUSTED is trusted
    assert (correction.text, correction.user, correction.via) == (
        "Refunds go back to the card within 5 days.",
        "U0TRUSTED",
        "thread",
    )
    notes = settle(lambda: [c.params["text"] for c in review_bolt.stub.calls_to("chat.postEphemeral")])
    assert len(notes) == 1 and "approved" in notes[0]
    assert len(review_bolt.stub.calls_to("chat.postMessage")) == before  # no answer to "correction: …"


def test_an_invalid_mention_correction_is_explained_once(review_bolt):  # noqa: F811
    ask(review_bolt)
    for i, make in enumerate((mention_event, message_event)):
        review_bolt.dispatch(make("<@U0BOTUSER> correction:   ", "U0ALICE", THREAD, "1700000009.1", f"EvEmpty{i}"))
    notes = settle(lambda: [c.params["text"] for c in review_bolt.stub.calls_to("chat.postEphemeral")])
    assert notes == [":warning: Please write the corrected answer."]
    assert review_bolt.services.store.corrections.all() == []


def test_a_mention_correction_outside_an_answered_thread_is_explained(review_bolt):  # noqa: F811
    ask(review_bolt)
    elsewhere = "1600000000.000001"
    for i, make in enumerate((mention_event, message_event)):
        review_bolt.dispatch(make(TEXT, "U0ALICE", elsewhere, "1700000010.1", f"EvElse{i}"))
    (note,) = review_bolt.stub.wait_for("chat.postEphemeral", 1)
    assert "works in the thread of a question I answered" in note.params["text"]
    assert note.params["thread_ts"] == elsewhere
    assert settle(review_bolt.services.store.corrections.all) == []


def test_a_correction_addressed_to_someone_else_is_not_one(review_bolt):  # noqa: F811
    ask(review_bolt)
    body = message_event("<@U0ALICE> correction: you meant Tuesday", "U0TRUSTED", THREAD, "1700000011.1", "EvAlice")
    assert review_bolt.dispatch(body).status == 200
    assert settle(review_bolt.services.store.corrections.all) == []
    assert review_bolt.stub.calls_to("chat.postEphemeral") == []
