"""The ask service: validation, both sides concurrently, failures reported, everything stored."""

import random
import socket

import pytest

from supportbot.asking import AskService
from supportbot.errors import InvalidQuestion
from supportbot.prompts import PromptSet
from supportbot.responders.local import LocalPromptedResponder, LocalResponder
from supportbot.responders.local_model import LocalModel
from supportbot.store import Store
from tests.responders.test_prompted import make as make_prompted
from tests.support.gated import GatedResponder
from tests.support.servers import holding_server


@pytest.fixture(scope="module")
def model(tiny_model):
    return LocalModel(tiny_model, dtype="float32")


def service(store, model, prompted=None, **kwargs) -> AskService:
    responders = {
        "prompted": prompted or LocalPromptedResponder(model, PromptSet.load(), 6, 0.1),
        "finetuned": LocalResponder(model, 6, 0.1),
    }
    options = {"max_question_chars": 100, "responder_timeout_s": 60.0}
    options.update(kwargs)
    return AskService(responders=responders, store=store, **options)


@pytest.mark.parametrize("text", [None, "", "   \n "])
def test_empty_question_is_refused(redis_client, model, text):
    with pytest.raises(InvalidQuestion, match="Please include a question"):
        service(Store(redis_client), model).new_question(text, user="U1", channel="C1")
    assert redis_client.keys("*") == []  # nothing stored


def test_over_long_question_is_refused(redis_client, model):
    with pytest.raises(InvalidQuestion, match="101 characters long; the limit is 100"):
        service(Store(redis_client), model).new_question("x" * 101, user="U1", channel="C1")
    assert redis_client.keys("*") == []


def test_both_sides_answer_labelled_and_are_stored(redis_client, model):
    store = Store(redis_client)
    ask = service(store, model)
    question = ask.new_question("  How do I cancel my order?  ", user="U1", channel="C1", thread_ts="1.1")
    assert question.text == "How do I cancel my order?"
    outcomes = ask.answer(question)
    assert [o.variant for o in outcomes] == ["prompted", "finetuned"]
    assert [o.label for o in outcomes] == [
        "Prompted (local tiny-llama)",
        "Fine-tuned (base model, no adapter yet)",
    ]
    for outcome in outcomes:
        assert outcome.error is None
        assert outcome.answer.question_id == question.id
        ask.record(outcome.answer)
        assert store.answer_for_message("C1", f"2.{outcome.variant}") is None  # stored, not yet posted
        ask.posted(outcome.answer, "C1", f"2.{outcome.variant}")
    stored = store.answers_for_question(question.id)
    assert [a.variant for a in stored] == ["prompted", "finetuned"]
    assert store.answer_for_message("C1", "2.finetuned").variant == "finetuned"
    assert stored[0].usage.prompt_tokens > stored[1].usage.prompt_tokens  # the long prompt


def test_blind_order_is_randomised_per_question_and_stored(redis_client, model):
    store = Store(redis_client)
    ask = service(store, model, blind=True, rng=random.Random(7))
    orders = set()
    for i in range(12):
        question = ask.new_question(f"question {i}", user="U1", channel="C1")
        assert store.get_question(question.id).order == question.order
        assert store.get_question(question.id).blind
        orders.add(tuple(question.order))
        if i == 0:
            outcomes = ask.answer(question)
            assert [o.label for o in outcomes] == ["A", "B"]
            assert [o.variant for o in outcomes] == question.order
    assert orders == {("prompted", "finetuned"), ("finetuned", "prompted")}


def test_a_failing_side_is_reported_and_the_other_still_answers(redis_client, model):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    store = Store(redis_client)
    ask = service(store, model, prompted=make_prompted(f"http://127.0.0.1:{closed_port}/v1"))
    question = ask.new_question("Where is my refund?", user="U1", channel="C1")
    prompted, finetuned = ask.answer(question)
    assert prompted.answer is None
    assert "the prompted model (gpt-4o-mini) failed" in prompted.error
    assert finetuned.answer is not None
    assert [f.variant for f in store.failures()] == ["prompted"]


def test_a_side_that_hangs_is_cut_off_at_the_timeout(redis_client, model):
    with holding_server() as (url, _):
        prompted = make_prompted(url, timeout=30)
        ask = service(Store(redis_client), model, prompted=prompted, responder_timeout_s=10.0)
        question = ask.new_question("Hello?", user="U1", channel="C1")
        prompted_outcome, finetuned_outcome = ask.answer(question)
        assert prompted_outcome.error == "no answer within 10 s"
        assert finetuned_outcome.answer is not None


def test_each_side_is_handed_on_the_moment_it_is_ready(redis_client, model):
    """The fine-tuned side comes out while the prompted one is still held: nothing waits for both."""
    store = Store(redis_client)
    slow = GatedResponder(LocalPromptedResponder(model, PromptSet.load(), 6, 0.1))
    ask = service(store, model, prompted=slow)
    question = ask.new_question("Where is my parcel?", user="U1", channel="C1")
    ready = ask.start(question).as_ready()
    first = next(ready)
    assert (first.variant, first.error) == ("finetuned", None)
    assert first.answer.question_id == question.id and first.answer.label.startswith("Fine-tuned")
    assert slow.entered.is_set() and not slow.gate.is_set()  # the other side is still at work
    slow.open()
    second = next(ready)
    assert (second.variant, second.error) == ("prompted", None)
    assert list(ready) == []
    assert ask.answer(question, ["finetuned"])[0].variant == "finetuned"  # one side on its own


def test_a_failed_side_is_handed_on_at_once_with_an_error_id(redis_client, model):
    store = Store(redis_client)
    failing = GatedResponder(LocalResponder(model, 6, 0.1), fail_with="backend exploded")
    slow = GatedResponder(LocalPromptedResponder(model, PromptSet.load(), 6, 0.1))
    ask = service(store, model, prompted=slow)
    ask.responders["finetuned"] = failing
    question = ask.new_question("Where is my parcel?", user="U1", channel="C1")
    ready = ask.start(question).as_ready()
    failing.open()
    first = next(ready)
    assert first.variant == "finetuned" and first.answer is None
    assert "backend exploded" in first.error and first.error_id in first.public_error
    assert "backend exploded" not in first.public_error
    assert [f.variant for f in store.failures()] == ["finetuned"]
    slow.open()
    assert next(ready).answer is not None


def test_every_question_in_flight_reaches_its_sides_at_once(redis_client, model):
    """With 16 questions in flight, all 32 side calls run together (so a local side can batch all 16):
    each call waits at a barrier that only opens when all 32 are inside."""
    import threading

    barrier = threading.Barrier(32, timeout=60)

    class Meeting:
        def __init__(self, inner):
            self.inner, self.variant, self.label = inner, inner.variant, inner.label

        def answer(self, question):
            barrier.wait()  # raises BrokenBarrierError if fewer than 32 calls can be in flight
            return self.inner.answer(question)

    store = Store(redis_client)
    responders = {
        "prompted": Meeting(LocalPromptedResponder(model, PromptSet.load(), 2, 0.1)),
        "finetuned": Meeting(LocalResponder(model, 2, 0.1)),
    }
    ask = AskService(
        responders=responders, store=store, max_question_chars=100, responder_timeout_s=90, concurrent_questions=16
    )
    questions = [ask.new_question(f"Where is parcel {n}?", user="U1", channel="C1") for n in range(16)]
    started = [ask.start(question) for question in questions]  # all in flight before any is read
    results = [list(answering.as_ready()) for answering in started]
    assert [[outcome.error for outcome in outcomes] for outcomes in results] == [[None, None]] * 16
    assert not barrier.broken
