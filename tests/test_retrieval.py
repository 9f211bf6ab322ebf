"""PROMPT_MODE=retrieval: per question, the closest approved answers and knowledge, within a budget.

Real Redis, the real MiniLM embeddings and the tiny model's tokenizer (SmolLM2's)."""

import subprocess
import sys

import numpy as np
import pytest

from supportbot.embedding import CosineIndex, MiniLM, token_counter
from supportbot.prompts import PromptSet, prompt_for_mode
from supportbot.records import Correction, Question, SeedExample
from supportbot.retrieval import (
    TURN_TOKENS,
    ExampleLibrary,
    Passage,
    RetrievalPrompt,
    Shot,
    render_knowledge,
    split_passages,
)
from supportbot.settings import load_settings
from supportbot.splits import normalise
from supportbot.store import Store

SEEDS = [
    ("How do I reset my password?", "Use the Forgot password link on the sign-in page."),
    ("Can I pay with PayPal?", "Yes, choose PayPal at checkout."),
    ("Where is my parcel?", "Follow the tracking link in your shipping email."),
    ("How do I delete my account?", "Go to Account > Privacy > Delete account."),
    ("Do you ship to Canada?", "Yes, we ship to Canada in 5-8 business days."),
]


def seeded(redis_client, seeds=SEEDS, split: str = "train") -> Store:
    """A store with ``seeds``, their questions frozen in ``split``."""
    store = Store(redis_client)
    store.seeds.add_all(SeedExample(f"s{i}", q, a, "test") for i, (q, a) in enumerate(seeds))
    for question, _ in seeds:
        store.redis.hset(store.keys.splits, normalise(question), split)
    return store


@pytest.fixture
def retrieval_env(monkeypatch):
    monkeypatch.setenv("PROMPT_MODE", "retrieval")
    monkeypatch.setenv("RETRIEVAL_K", "2")


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


def example_turns(messages):
    """The few-shot examples in a conversation, as (question, answer)."""
    turns = messages[1:-1]
    return [(turns[i]["content"], turns[i + 1]["content"]) for i in range(0, len(turns), 2)]


def test_knowledge_splits_into_items_under_their_heading():
    text = "# Title\n\n## Orders\n- One\n  more.\n- Two\n\nA paragraph\nin two lines.\n\n## Pay\n1. Card"
    passages = split_passages(text)
    assert [(p.heading, p.text) for p in passages] == [
        ("## Orders", "- One more."),
        ("## Orders", "- Two"),
        ("## Orders", "A paragraph in two lines."),
        ("## Pay", "1. Card"),
    ]
    # Rendered in document order whatever order they were chosen in, each heading once.
    assert render_knowledge([passages[3], passages[0]]) == "## Orders\n- One more.\n\n## Pay\n1. Card"
    assert render_knowledge([Passage("", "Loose text.", 0)]) == "Loose text."


def test_cosine_index_returns_the_closest_rows_first():
    vectors = np.eye(384, dtype=np.float32)[:4]
    query = np.zeros(384, dtype=np.float32)
    query[2], query[0] = 0.8, 0.6
    assert [row for row, _ in CosineIndex(vectors).search(query, 2)] == [2, 0]
    assert CosineIndex(np.zeros((0, 0), dtype=np.float32)).search(query, 3) == []


def test_a_question_close_to_a_seed_gets_that_seed(redis_client, retrieval_env, tokenizer):
    store = seeded(redis_client)
    prompt = prompt_for_mode(load_settings(), PromptSet.load(), store, tokenizer)
    assert isinstance(prompt, RetrievalPrompt)
    messages = prompt.messages("I forgot my password, how can I reset it?")
    shots = example_turns(messages)
    assert len(shots) == 2  # RETRIEVAL_K
    assert shots[-1] == SEEDS[0]  # the closest, right before the question
    assert messages[-1] == {"role": "user", "content": "I forgot my password, how can I reset it?"}
    # The knowledge passage about passwords made it into the system prompt.
    assert "Forgot password link" in messages[0]["content"]
    assert messages[0]["content"].startswith(PromptSet.load().system)
    assert example_turns(prompt.messages("Do you deliver to Toronto, Canada?"))[-1] == SEEDS[4]


def test_the_token_budget_holds_for_the_real_prompt(redis_client, monkeypatch, retrieval_env, tokenizer):
    long_answer = "Go to Account > Privacy > Delete account, confirm by email, and wait a day. " * 15
    store = seeded(redis_client, [*SEEDS, ("How can I close my account?", long_answer)])
    monkeypatch.setenv("RETRIEVAL_K", "3")
    monkeypatch.setenv("PROMPT_TOKEN_BUDGET", "200")
    prompt = prompt_for_mode(load_settings(), PromptSet.load(), store, tokenizer)
    question = "How do I remove my account?"
    messages = prompt.messages(question)
    bare = [{"role": "system", "content": PromptSet.load().system}, messages[-1]]

    def tokens(conversation):
        text = tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    added = tokens(messages) - tokens(bare)
    assert 0 < added <= 200
    shots = example_turns(messages)
    # The long close answer does not fit; shorter ones and some knowledge still do.
    assert ("How can I close my account?", long_answer) not in shots
    assert SEEDS[3] in shots
    assert "\n## " in messages[0]["content"] or "\n- " in messages[0]["content"]
    # The same data under a large budget: the long answer is in.
    monkeypatch.setenv("PROMPT_TOKEN_BUDGET", "4000")
    roomy = prompt_for_mode(load_settings(), PromptSet.load(), store, tokenizer)
    assert ("How can I close my account?", long_answer) in example_turns(roomy.messages(question))


def test_without_a_tokenizer_tokens_are_characters_over_four():
    count = token_counter(None)
    assert (count(""), count("abcd"), count("abcde")) == (0, 1, 2)


def test_a_newly_approved_correction_is_retrieved_after_the_refresh(redis_client, retrieval_env, tokenizer):
    store = seeded(redis_client)
    prompt = prompt_for_mode(load_settings(), PromptSet.load(), store, tokenizer)
    assert isinstance(prompt, RetrievalPrompt)
    now = [1000.0]
    prompt.library.clock = lambda: now[0]
    asked = "Can I get my refund as store credit instead?"
    assert all("voucher" not in a for _, a in example_turns(prompt.messages(asked)))

    question = Question("Could I have my refund as store credit?", "U1", "C1")
    store.save_question(question)
    store.redis.hset(store.keys.splits, normalise(question.text), "train")
    correction = Correction(question.id, "Yes: we can refund as a store voucher.", "U2", status="approved")
    store.corrections.save(correction)

    now[0] += 5  # checked at most every REFRESH_S seconds: not yet
    assert all("voucher" not in a for _, a in example_turns(prompt.messages(asked)))
    now[0] += 60
    assert example_turns(prompt.messages(asked))[-1] == (question.text, correction.text)
    assert prompt.library.builds == 2


def test_the_eval_split_is_never_retrieved(redis_client, retrieval_env, tokenizer):
    store = seeded(redis_client, SEEDS[:1], split="eval")
    seeded(redis_client, SEEDS[1:])
    prompt = prompt_for_mode(load_settings(), PromptSet.load(), store, tokenizer)
    shots = example_turns(prompt.messages(SEEDS[0][0]))
    assert SEEDS[0] not in shots and len(shots) == 2


def test_prompt_dir_examples_are_candidates_too(redis_client, retrieval_env, tmp_path, tokenizer):
    (tmp_path / "system.md").write_text("Be brief.")
    (tmp_path / "knowledge.md").write_text("## Kites\n- We sell kites.")
    (tmp_path / "examples.jsonl").write_text('{"question": "Do you sell kites?", "answer": "Yes, red ones."}\n')
    prompt = prompt_for_mode(load_settings(), PromptSet.load(tmp_path), Store(redis_client), tokenizer)
    messages = prompt.messages("Are kites for sale?")
    assert example_turns(messages) == [("Do you sell kites?", "Yes, red ones.")]
    assert messages[0]["content"] == "Be brief.\n\n## Kites\n- We sell kites."


def test_examples_count_their_chat_turns():
    prompt = RetrievalPrompt(
        PromptSet("s", "", ()), ExampleLibrary(list, MiniLM()), MiniLM(), 1, 200, token_counter(None)
    )
    assert prompt.shot_tokens(Shot("abcd", "abcdefgh")) == 3 + 2 * TURN_TOKENS


def test_static_mode_is_unchanged_and_loads_no_embedding_model():
    code = (
        "import sys; from supportbot.prompts import PromptSet, prompt_for_mode;"
        "from supportbot.settings import load_settings;"
        "p = PromptSet.load(); assert prompt_for_mode(load_settings(), p) is p;"
        "assert p.messages('q') == p.long_messages('q');"
        "print(sorted(m for m in ('sentence_transformers', 'supportbot.retrieval', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_retrieval_loads_the_embedding_model_on_the_first_question(redis_client, retrieval_env):
    prompt = prompt_for_mode(load_settings(), PromptSet.load(), seeded(redis_client))
    assert isinstance(prompt, RetrievalPrompt) and isinstance(prompt.embed, MiniLM)
    assert not prompt.embed.loaded
    prompt.messages("Where is my parcel?")
    assert prompt.embed.loaded
