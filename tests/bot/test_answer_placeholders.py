"""Placeholders, then each answer in place: signed requests in, the Web API stand-in shows the thread.

One side is held at a gate (a real responder that answers only when the test opens it), so "the
fast side is shown while the slow one still works" is checked without a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.app import build_app
from bot.background import Background
from bot.blocks import PLACEHOLDER_TEXT
from supportbot.prompts import PromptSet
from supportbot.responders.local import LocalPromptedResponder, LocalResponder
from supportbot.responders.local_model import LocalModel
from supportbot.services import build_services
from supportbot.settings import load_settings
from tests.bot.conftest import Bolt
from tests.bot.test_events import mention
from tests.support.gated import GatedResponder
from tests.support.signing import action_body, event_body, reaction_body, slash_command_body
from tests.support.waiting import eventually, settle


@pytest.fixture(scope="module")
def model(tiny_model):
    return LocalModel(tiny_model, dtype="float32")


@dataclass
class Gated:
    bolt: Bolt
    prompted: GatedResponder
    finetuned: GatedResponder


def gated_bolt(model: LocalModel, slack_stub, fail: str | None = None) -> tuple[Gated, Background]:
    settings = load_settings()
    prompted = GatedResponder(LocalPromptedResponder(model, PromptSet.load(), 6, 0.1))
    finetuned = GatedResponder(LocalResponder(model, 6, 0.1), fail_with=fail)
    services = build_services(settings, {"prompted": prompted, "finetuned": finetuned}, show_progress=False)
    background = Background(1, 10)
    return Gated(Bolt(build_app(services, background), services, slack_stub), prompted, finetuned), background


@pytest.fixture
def gated(settings, slack_stub, model) -> Iterator[Gated]:
    made, background = gated_bolt(model, slack_stub)
    yield made
    made.prompted.open(), made.finetuned.open()
    background.shutdown()


@pytest.fixture
def blind_gated(monkeypatch, settings, slack_stub, model) -> Iterator[Gated]:
    monkeypatch.setenv("PRESENTATION", "blind")
    made, background = gated_bolt(model, slack_stub)
    yield made
    made.prompted.open(), made.finetuned.open()
    background.shutdown()


def ask(bolt: Bolt) -> str:
    """/ask through the app; the question's thread ts once its placeholders are posted."""
    assert bolt.dispatch(slash_command_body("Where is my parcel?", bolt.stub.response_url)).status == 200
    root = bolt.stub.wait_for("chat.postMessage", 3)[0]
    return root.response["ts"]


def test_placeholders_are_posted_together_then_each_side_is_shown_when_ready(gated):
    bolt = gated.bolt
    thread = ask(bolt)
    first, second = bolt.stub.thread_messages(thread)
    assert [first.label, second.label] == ["*Prompted (local tiny-llama)*", "*Fine-tuned (base model, no adapter yet)*"]
    assert PLACEHOLDER_TEXT in str(first.blocks) and PLACEHOLDER_TEXT in str(second.blocks)
    assert bolt.stub.calls_to("chat.update") == []  # both placeholders first, before any answer

    # The fine-tuned side answers while the prompted one is still held: it is shown at once.
    gated.finetuned.open()
    (update,) = bolt.stub.wait_for("chat.update", 1)
    assert (update.params["channel"], update.params["ts"]) == ("C0SUPPORT", second.ts)
    assert gated.prompted.entered.is_set() and not gated.prompted.gate.is_set()
    prompted_shown, finetuned_shown = bolt.stub.thread_messages(thread)
    assert prompted_shown.answer_id is None and prompted_shown.updates == 0  # still the placeholder
    stored = bolt.services.store.get_answer(finetuned_shown.answer_id)
    assert (stored.variant, stored.ts) == ("finetuned", second.ts)
    assert finetuned_shown.label == "*Fine-tuned (base model, no adapter yet)*"
    assert finetuned_shown.blocks[-1]["block_id"] == f"feedback:{stored.id}"

    gated.prompted.open()
    bolt.stub.wait_for("chat.update", 2)
    shown = bolt.stub.wait_for_answers(2)
    assert [m.ts for m in shown] == [first.ts, second.ts]  # same messages, in presentation order
    assert [m.updates for m in shown] == [1, 1]
    assert len(bolt.posts()) == 3  # the root and the two placeholders: nothing posted twice
    store = bolt.services.store
    for message in shown:  # each message maps back to the answer it shows
        found = eventually(
            lambda m=message: getattr(store.answer_for_message("C0SUPPORT", m.ts), "id", None), message.answer_id
        )
        assert found == message.answer_id


def test_votes_and_reactions_on_a_placeholder_message_count_for_its_answer(gated):
    bolt = gated.bolt
    thread = ask(bolt)
    gated.prompted.open(), gated.finetuned.open()
    prompted, finetuned = bolt.stub.wait_for_answers(2)
    store = bolt.services.store
    eventually(lambda: store.answer_for_message("C0SUPPORT", finetuned.ts) is not None, True)
    bolt.dispatch(reaction_body("+1", "U0ALICE", "C0SUPPORT", finetuned.ts, event_id="EvP1"))
    bolt.dispatch(action_body("vote_down", prompted.answer_id, "U0BOB", "C0SUPPORT", prompted.ts))
    eventually(lambda: store.votes.of(finetuned.answer_id), {"U0ALICE": 1})
    eventually(lambda: store.votes.of(prompted.answer_id), {"U0BOB": -1})
    assert store.votes.of(prompted.answer_id).get("U0ALICE") is None  # one message, one answer
    assert [m.ts for m in bolt.stub.thread_messages(thread)] == [prompted.ts, finetuned.ts]


def test_reactions_on_a_placeholder_before_its_answer_is_shown_count_once_it_is(gated):
    """People react to the message they see; a placeholder becomes its answer in place, so a 👍 given
    while it still says "thinking" stays on the answer in Slack and must count for it."""
    bolt = gated.bolt
    thread = ask(bolt)
    prompted, finetuned = bolt.stub.thread_messages(thread)
    store = bolt.services.store
    assert bolt.dispatch(reaction_body("+1", "U0ALICE", "C0SUPPORT", finetuned.ts, event_id="EvH1")).status == 200
    assert bolt.dispatch(reaction_body("-1", "U0BOB", "C0SUPPORT", finetuned.ts, event_id="EvH2")).status == 200
    assert bolt.dispatch(reaction_body("+1", "U0CAROL", "C0SUPPORT", prompted.ts, event_id="EvH3")).status == 200
    # Events are handled after the ack, on bolt's worker threads: wait for Carol's 👍 to be held before she
    # takes it back, as a person would (seconds apart), or the removal can be handled first.
    eventually(lambda: store.redis.hgetall(store.keys.pending_votes("C0SUPPORT", prompted.ts)), {"U0CAROL": "1"})
    # Carol takes hers back before anything is shown: it must not be cast.
    bolt.dispatch(reaction_body("+1", "U0CAROL", "C0SUPPORT", prompted.ts, added=False, event_id="EvH4"))
    eventually(lambda: store.redis.hgetall(store.keys.pending_votes("C0SUPPORT", finetuned.ts)),
               {"U0ALICE": "1", "U0BOB": "-1"})  # fmt: skip
    eventually(lambda: store.redis.hgetall(store.keys.pending_votes("C0SUPPORT", prompted.ts)), {})

    gated.finetuned.open(), gated.prompted.open()
    shown_prompted, shown_finetuned = bolt.stub.wait_for_answers(2)
    eventually(lambda: store.votes.of(shown_finetuned.answer_id), {"U0ALICE": 1, "U0BOB": -1})
    assert store.votes.of(shown_prompted.answer_id) == {}
    assert store.redis.exists(store.keys.pending_votes("C0SUPPORT", finetuned.ts)) == 0
    assert store.redis.exists(store.keys.placeholder("C0SUPPORT", finetuned.ts)) == 0
    # After it is shown, a reaction goes straight to the answer, as before.
    bolt.dispatch(reaction_body("+1", "U0DAN", "C0SUPPORT", shown_prompted.ts, event_id="EvH5"))
    eventually(lambda: store.votes.of(shown_prompted.answer_id), {"U0DAN": 1})


def test_a_reaction_on_a_message_that_is_no_answer_stores_nothing(gated):
    bolt = gated.bolt
    store = bolt.services.store
    body = reaction_body("+1", "U0ALICE", "C0SUPPORT", "1700000009.000100", event_id="EvN1")
    assert bolt.dispatch(body).status == 200
    assert settle(lambda: sorted(store.redis.scan_iter(f"{store.keys.prefix}pending_votes:*"))) == []


def test_a_failed_side_replaces_its_placeholder_with_a_warning(settings, slack_stub, model):
    made, background = gated_bolt(model, slack_stub, fail="the backend exploded at /srv/secret.py")
    try:
        bolt = made.bolt
        thread = ask(bolt)
        made.finetuned.open()
        (update,) = bolt.stub.wait_for("chat.update", 1)
        warning = update.params["text"]
        assert warning.startswith(":warning: *Fine-tuned (base model, no adapter yet)* could not answer")
        assert "error id" in warning and "/srv/secret.py" not in warning
        made.prompted.open()
        (answer,) = bolt.stub.wait_for_answers(1)
        first, second = bolt.stub.thread_messages(thread)
        assert (first.ts, first.answer_id) == (answer.ts, answer.answer_id)
        assert second.answer_id is None and second.text == warning
        assert [f.variant for f in bolt.services.store.failures()] == ["finetuned"]
        assert len(bolt.posts()) == 3
    finally:
        made.prompted.open(), made.finetuned.open()
        background.shutdown()


def test_blind_placeholders_differ_only_in_a_b_and_are_revealed_together(blind_gated):
    bolt = blind_gated.bolt
    thread = ask(bolt)
    first, second = bolt.stub.thread_messages(thread)
    assert [first.label, second.label] == ["*A*", "*B*"]
    assert str(first.blocks).replace("*A*", "*B*") == str(second.blocks)
    question = bolt.services.store.question_for_thread("C0SUPPORT", thread)
    assert question.blind and question.placeholders == {question.order[0]: first.ts, question.order[1]: second.ts}

    # One side is done (its answer is stored at once), but nothing is shown until both are:
    # which placeholder fills first would give the sides away.
    blind_gated.finetuned.open()
    store = bolt.services.store
    eventually(lambda: [a.variant for a in store.answers_for_question(question.id)], ["finetuned"])
    assert settle(lambda: len(bolt.stub.calls_to("chat.update"))) == 0
    blind_gated.prompted.open()
    shown = bolt.stub.wait_for_answers(2)
    assert [m.ts for m in shown] == [first.ts, second.ts]
    assert [m.label for m in shown] == ["*A*", "*B*"]
    updates = bolt.stub.calls_to("chat.update")
    assert [u.params["ts"] for u in updates] == [first.ts, second.ts]  # in presentation order
    for message, variant in zip(shown, question.order, strict=True):
        assert store.get_answer(message.answer_id).variant == variant
        assert "tiny-llama" not in str(message.blocks)  # no stats, no model name


def test_a_mention_is_answered_in_place_in_its_own_thread(gated):
    bolt = gated.bolt
    gated.prompted.open(), gated.finetuned.open()
    bolt.dispatch(event_body(mention("<@U0BOTUSER> can I change my address?", ts="1700000005.000500")))
    shown = bolt.stub.wait_for_answers(2)
    assert [m.thread_ts for m in shown] == ["1700000005.000500"] * 2
    assert len(bolt.posts()) == 2 and [m.updates for m in shown] == [1, 1]
