"""`/supportbot review` without a review channel: reviewers list pending corrections and decide
them; the author of a correction is told how it will be reviewed, then the outcome."""

import pytest

from bot.app import build_app
from bot.background import Background
from supportbot.corrections import SHORT_ID
from supportbot.services import build_services
from supportbot.settings import load_settings
from tests.bot.conftest import Bolt, command
from tests.support.signing import thread_message_body
from tests.support.waiting import eventually
from tests.trainer.test_dataset import asked

QUESTION = "How long does a refund take?"


@pytest.fixture
def bolt_without_review_channel(monkeypatch, settings, slack_stub):
    monkeypatch.setenv("TRUSTED_USERS", "U0TRUSTED")
    monkeypatch.setenv("REVIEWERS", "U0REVIEWER")
    settings = load_settings()
    assert settings.review_channel is None
    services = build_services(settings, show_progress=False)
    background = Background(1, 10)
    yield Bolt(build_app(services, background), services, slack_stub)
    background.shutdown()


def correct_in_thread(bolt, user: str, text: str, ts: str):
    """A "correction: …" reply in the thread of a question asked in C1 at 1000.0 (see asked())."""
    body = thread_message_body(f"correction: {text}", user, "C1", "1000.0", ts, f"Ev{ts}")
    assert bolt.dispatch(body).status == 200


def test_the_author_hears_how_a_pending_correction_is_reviewed(bolt_without_review_channel):
    bolt = bolt_without_review_channel
    asked(bolt.services.store, QUESTION, "No idea.")
    correct_in_thread(bolt, "U0ALICE", "Refunds take 5-10 business days.", "1000.1")
    (note,) = bolt.stub.wait_for("chat.postEphemeral", 1)
    assert note.params["user"] == "U0ALICE"
    assert "waiting for a reviewer" in note.params["text"] and "`/supportbot review`" in note.params["text"]
    assert bolt.posts() == []  # no review channel to post to


def test_only_reviewers_may_list_or_decide(bolt_without_review_channel):
    bolt = bolt_without_review_channel
    asked(bolt.services.store, QUESTION, "No idea.")
    correct_in_thread(bolt, "U0ALICE", "Refunds take 5-10 business days.", "1000.1")
    eventually(lambda: len(bolt.services.corrections.pending()), 1)
    (pending,) = bolt.services.corrections.pending()
    for text in ("review", f"review approve {pending.id}"):
        response = command(bolt, "/supportbot", text, "U0ALICE")
        assert "Only reviewers" in response.body
    assert bolt.services.corrections.store.get(pending.id).status == "pending"


def test_a_reviewer_lists_then_approves_and_the_author_is_told(bolt_without_review_channel):
    bolt = bolt_without_review_channel
    asked(bolt.services.store, QUESTION, "No idea.")
    correct_in_thread(bolt, "U0ALICE", "Refunds take 5-10 business days.", "1000.1")
    correct_in_thread(bolt, "U0BOB", "Refunds are <!channel> instant.", "1000.2")
    corrections = bolt.services.corrections
    eventually(lambda: len(corrections.pending()), 2)
    alice, bob = sorted(corrections.pending(), key=lambda c: c.user)

    listing = command(bolt, "/supportbot", "review", "U0REVIEWER")
    assert listing.status == 200
    text = listing.body
    assert "2 corrections waiting for review" in text
    assert f"`{alice.id[:SHORT_ID]}` by <@U0ALICE> for _{QUESTION}_" in text
    assert "Refunds take 5-10 business days." in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text  # proposed text is inert

    approved = command(bolt, "/supportbot", f"review approve {alice.id[:SHORT_ID]}", "U0REVIEWER")
    assert f"Approved correction `{alice.id[:SHORT_ID]}` by <@U0ALICE>" in approved.body
    stored = corrections.store.get(alice.id)
    assert (stored.status, stored.reviewer) == ("approved", "U0REVIEWER")
    (dm,) = bolt.stub.wait_for("chat.postMessage", 1)
    assert dm.params["channel"] == "U0ALICE" and "*approved* by <@U0REVIEWER>" in dm.params["text"]

    again = command(bolt, "/supportbot", f"review reject {alice.id}", "U0REVIEWER")
    assert ":warning: Already approved by <@U0REVIEWER>." in again.body
    assert corrections.store.get(alice.id).status == "approved"

    rejected = command(bolt, "/supportbot", f"review reject {bob.id}", "U0REVIEWER")
    assert "Rejected correction" in rejected.body
    assert corrections.store.get(bob.id).status == "rejected"
    assert "No corrections are waiting" in command(bolt, "/supportbot", "review", "U0REVIEWER").body


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("review approve", "Usage: `/supportbot review`"),
        ("review maybe 1a2b3c4d", "Usage: `/supportbot review`"),
        ("review approve 1a2b", "give at least 8 characters"),
        ("review approve ffffffffff", "No correction has an id starting with 'ffffffffff'"),
    ],
)
def test_bad_review_commands_are_explained(bolt_without_review_channel, text, answer):
    response = command(bolt_without_review_channel, "/supportbot", text, "U0REVIEWER")
    assert answer in response.body


def test_help_mentions_review(bolt_without_review_channel):
    response = command(bolt_without_review_channel, "/supportbot", "help", "U0ALICE")
    assert "`/supportbot review`" in response.body
