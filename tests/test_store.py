import json

from hypothesis import given, settings
from hypothesis import strategies as st

from supportbot.records import Answer, Failure, Question, Usage
from supportbot.store import Store


def make_answer(question_id: str, **overrides) -> Answer:
    fields = {
        "variant": "prompted",
        "text": "Go to Order History and choose Cancel.",
        "model": "gpt-4o-mini",
        "usage": Usage(120, 30),
        "latency_s": 1.25,
        "cost_usd": 0.000036,
        "question_id": question_id,
        "label": "Prompted (gpt-4o-mini)",
    }
    fields.update(overrides)
    return Answer(**fields)


def test_question_and_answers_round_trip(redis_client):
    store = Store(redis_client, "t:")
    question = Question(text="How do I cancel?", user="U1", channel="C1", thread_ts="1.0")
    store.save_question(question)
    first = make_answer(question.id, channel="C1", ts="2.0")
    second = make_answer(question.id, variant="finetuned", cost_usd=None, adapter_version="v3")
    store.save_answer(first)
    store.save_answer(second)

    assert store.get_question(question.id) == question
    assert store.answers_for_question(question.id) == [first, second]
    assert store.answer_for_message("C1", "2.0") == first
    assert store.answer_for_message("C1", "9.9") is None
    assert store.get_answer(second.id).cost_usd is None  # unknown stays unknown, not $0
    assert store.question_count() == 1
    assert all(key.startswith("t:") for key in redis_client.keys("*"))


def test_a_vote_held_on_a_placeholder_is_cast_once_whichever_side_wins_the_race(redis_client):
    """``mark_posted`` casts what is held; a reaction held just after it (its placeholder check
    passed first) is cast by ``FeedbackService.react``'s re-check: either way exactly once."""
    from supportbot.feedback import FeedbackService

    store = Store(redis_client, "t:")
    feedback = FeedbackService(store, frozenset({"+1"}), frozenset({"-1"}))
    question = Question(text="How do I cancel?", user="U1", channel="C1", thread_ts="1.0")
    store.save_question(question)
    answer = make_answer(question.id)
    store.save_answer(answer)
    store.mark_placeholder("C1", "2.0")
    assert feedback.react("C1", "2.0", "U0A", "+1", True) is None  # held, not dropped
    answer.channel, answer.ts = "C1", "2.0"
    store.mark_posted(answer)
    assert store.votes.of(answer.id) == {"U0A": 1}
    # A late reaction whose placeholder check passed before the answer was shown: held, then
    # cast by whoever takes the held votes next (here the re-check after holding).
    assert store.hold_vote("C1", "2.0", "U0B", -1, True) is False  # no longer a placeholder
    store.redis.set(store.keys.placeholder("C1", "2.0"), "1")  # replay the lost race
    store.hold_vote("C1", "2.0", "U0B", -1, True)
    assert store.cast_pending_votes(answer) == {"U0B": -1}
    assert store.cast_pending_votes(answer) == {}  # taken once
    assert store.votes.of(answer.id) == {"U0A": 1, "U0B": -1}
    assert feedback.react("C1", "3.0", "U0C", "+1", True) is None  # no placeholder, no answer
    assert not redis_client.keys("t:pending_votes:C1:3.0")


def test_answer_without_a_question_is_refused(redis_client):
    store = Store(redis_client)
    try:
        store.save_answer(make_answer(""))
    except ValueError:
        pass
    else:
        raise AssertionError("an orphan answer was stored")
    assert redis_client.keys("*") == []


def test_first_delivery_only_once(redis_client):
    store = Store(redis_client)
    assert store.first_delivery("Ev1") is True
    assert store.first_delivery("Ev1") is False
    assert store.first_delivery("Ev2") is True
    assert 0 < redis_client.ttl("sb:event:Ev1") <= 24 * 3600


def test_failures_are_kept(redis_client):
    store = Store(redis_client)
    store.save_failure(Failure("prompted", "timed out", "q1"))
    assert [f.reason for f in store.failures()] == ["timed out"]


@settings(max_examples=50, deadline=None)
@given(
    text=st.text(min_size=1),
    prompt=st.integers(min_value=0, max_value=10**6),
    completion=st.integers(min_value=0, max_value=10**6),
    cost=st.none() | st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_answer_serialisation_round_trips(text, prompt, completion, cost):
    answer = make_answer("q", text=text, usage=Usage(prompt, completion), cost_usd=cost)
    assert Answer.from_dict(json.loads(json.dumps(answer.to_dict()))) == answer
