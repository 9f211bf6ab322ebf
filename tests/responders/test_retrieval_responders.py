"""Both prompted responders with PROMPT_MODE=retrieval: the retrieved examples reach the model, and
the answer's prompt tokens are the real prompt's.

The local side runs on the tiny model through ``build_responders``; the API side on a real local
HTTP server that imitates an OpenAI-compatible endpoint and keeps every request body."""

import json

import pytest

from supportbot.prompts import PromptSet
from supportbot.records import SeedExample
from supportbot.retrieval import RetrievalPrompt
from supportbot.services import build_prompted, build_responders
from supportbot.settings import load_settings
from supportbot.splits import normalise
from supportbot.store import Store
from tests.support.servers import json_server

SEEDS = [
    ("How do I reset my password?", "Use the Forgot password link on the sign-in page."),
    ("Can I pay with PayPal?", "Yes, choose PayPal at checkout."),
    ("Where is my parcel?", "Follow the tracking link in your shipping email, or write to parcels@example.com."),
]
COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "noted"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 321, "completion_tokens": 1, "total_tokens": 322},
}


@pytest.fixture
def store(redis_client, monkeypatch, tmp_path) -> Store:
    """Seeds in Redis; PROMPT_DIR is the defaults without their examples, so only seeds compete."""
    defaults = PromptSet.load()
    (tmp_path / "system.md").write_text(defaults.system)
    (tmp_path / "knowledge.md").write_text(defaults.knowledge)
    (tmp_path / "examples.jsonl").write_text("")
    monkeypatch.setenv("PROMPT_DIR", str(tmp_path))
    monkeypatch.setenv("PROMPT_MODE", "retrieval")
    monkeypatch.setenv("RETRIEVAL_K", "1")
    store = Store(redis_client)
    store.seeds.add_all(SeedExample(f"s{i}", q, a, "test") for i, (q, a) in enumerate(SEEDS))
    for question, _ in SEEDS:
        store.redis.hset(store.keys.splits, normalise(question), "train")
    return store


def test_local_prompted_side_answers_with_the_retrieved_prompt(tiny_env, store):
    responders, model = build_responders(load_settings(), store=store)
    prompted = responders["prompted"]
    assert isinstance(prompted.prompts, RetrievalPrompt)
    assert prompted.label == "Prompted (local tiny-llama, retrieval)"
    question = "I can't remember my password, how do I reset it?"
    messages = prompted.prompts.messages(question)
    assert messages[1:3] == [
        {"role": "user", "content": SEEDS[0][0]},
        {"role": "assistant", "content": SEEDS[0][1]},
    ]
    answer = prompted.answer(question)
    # Usage counts the prompt the model really got: the retrieved one, not the static file.
    real, _ = model._encode(messages)
    static, _ = model._encode(PromptSet.load().long_messages(question))  # the bundled defaults
    assert answer.usage.prompt_tokens == len(real) != len(static)
    assert answer.model == "tiny-llama (local, prompted, retrieval)"


def test_static_mode_keeps_the_prompt_files(tiny_env, monkeypatch, store):
    monkeypatch.setenv("PROMPT_MODE", "static")
    responders, _ = build_responders(load_settings(), store=store)
    prompted = responders["prompted"]
    assert prompted.prompts == PromptSet.load(load_settings().prompt_dir)
    assert prompted.label == "Prompted (local tiny-llama)"


def sent_to_endpoint(question: str) -> list[dict]:
    """Ask through build_prompted against a recording endpoint; the messages it received."""
    with json_server(COMPLETION) as (url, bodies), pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_BASE_URL", url)
        settings = load_settings()
        responder = build_prompted(settings, PromptSet.load(settings.prompt_dir), 16)
        assert responder.label == "Prompted (gpt-4o-mini, retrieval)"
        answer = responder.answer(question)
    assert answer.usage.prompt_tokens == 321  # the endpoint's own count of what it was sent
    assert len(bodies) == 1
    return bodies[0]["messages"]


def test_the_retrieved_examples_reach_the_endpoint(store):
    messages = sent_to_endpoint("Where's my package? It has not arrived.")
    assert messages[1:3] == [
        {"role": "user", "content": SEEDS[2][0]},
        {"role": "assistant", "content": SEEDS[2][1]},
    ]
    assert "Tracking links" in messages[0]["content"]  # the relevant knowledge passage
    assert messages[-1] == {"role": "user", "content": "Where's my package? It has not arrived."}


def test_with_redaction_retrieved_examples_are_redacted_too(store, monkeypatch):
    monkeypatch.setenv("REDACT_PROMPTS", "true")
    messages = sent_to_endpoint("Where's my package? Mail me at jane@example.com")
    assert messages[1]["content"] == SEEDS[2][0]
    assert messages[2]["content"] == "Follow the tracking link in your shipping email, or write to [EMAIL]."
    assert messages[-1]["content"] == "Where's my package? Mail me at [EMAIL]"
    assert "@example.com" not in json.dumps(messages)
