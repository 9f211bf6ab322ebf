"""Block Kit builders: pure functions, checked against Slack's limits."""

from hypothesis import given
from hypothesis import strategies as st

from bot.blocks import (
    MESSAGE_BLOCK_LIMIT,
    SECTION_LIMIT,
    answer_message,
    escape,
    question_message,
    split_text,
    warning_message,
)
from supportbot.records import Answer, Usage


def answer(text: str, cost: float | None = 0.0004) -> Answer:
    return Answer(
        variant="prompted",
        text=text,
        model="gpt-4o-mini",
        usage=Usage(1234, 56),
        latency_s=2.345,
        cost_usd=cost,
        question_id="q1",
    )


def all_texts(message) -> list[str]:
    texts = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [element.get("text", "") for element in block.get("elements", []) if "text" in element]
    return [t if isinstance(t, str) else t["text"] for t in texts]


def test_model_output_cannot_mention_anyone():
    hostile = "Hi <!channel> and <!here> and <@U123> and <!subteam^S1> and @here, @channel, @everyone"
    message = answer_message("Prompted", answer(hostile))
    for text in all_texts(message):
        assert "<!" not in text and "<@" not in text
        for word in ("@here", "@channel", "@everyone"):
            assert word not in text
    assert "&lt;!channel&gt;" in message["blocks"][1]["text"]["text"]
    assert message["blocks"][1]["text"]["verbatim"] is True  # no auto-linking of model output


def test_answer_message_layout():
    message = answer_message("Prompted (gpt-4o-mini)", answer("Go to Order History."))
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds == ["context", "section", "context", "actions"]
    assert message["blocks"][0]["elements"][0]["text"] == "*Prompted (gpt-4o-mini)*"
    stats = message["blocks"][2]["elements"][0]["text"]
    assert stats == "gpt-4o-mini · 1,234 in + 56 out tokens · 2.3 s · $0.000400"
    buttons = message["blocks"][3]["elements"]
    assert [b["action_id"] for b in buttons] == ["vote_up", "vote_down", "suggest_correction"]
    assert {b["value"] for b in buttons} == {message["blocks"][3]["block_id"].split(":")[1]}


def test_unknown_cost_is_shown_as_unknown():
    stats = answer_message("x", answer("y", cost=None))["blocks"][2]["elements"][0]["text"]
    assert stats.endswith("· unknown")


def test_blind_answers_hide_the_stats():
    message = answer_message("A", answer("text"), show_stats=False)
    assert [block["type"] for block in message["blocks"]] == ["context", "section", "actions"]
    assert "gpt-4o-mini" not in str(message)


def test_long_answer_is_split_within_limits():
    text = ("word " * 700 + "\n\n") * 60  # ~210,000 characters
    message = answer_message("Prompted", answer(text))
    assert len(message["blocks"]) <= MESSAGE_BLOCK_LIMIT
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in sections)
    assert "truncated" in sections[-1]["text"]["text"]
    assert len(message["text"]) <= 3000


def test_a_medium_answer_is_split_but_complete():
    text = "\n".join(f"Step {i}: do the thing number {i}." for i in range(400))
    message = answer_message("Prompted", answer(text))
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert len(sections) > 1
    assert "\n".join(sections) == text


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=12000))
def test_split_text_never_exceeds_the_limit_and_loses_no_words(text):
    chunks = split_text(text, limit=500)
    assert all(len(chunk) <= 500 for chunk in chunks)
    assert "".join(chunks).split() == text.split() or "".join("".join(chunks).split()) == "".join(text.split())


def test_split_text_does_not_cut_an_entity_in_half():
    text = "a" * 2998 + escape("&")
    chunks = split_text(text)
    assert chunks[0] == "a" * 2998
    assert chunks[1] == "&amp;"


def test_empty_answer_still_renders():
    message = answer_message("Fine-tuned v1", answer(""))
    assert message["blocks"][1]["text"]["text"] == "_(empty answer)_"


def test_warning_and_question_messages_escape_their_text():
    assert warning_message("Prompted", "boom <!channel>")["text"] == (
        ":warning: *Prompted* could not answer: boom &lt;!channel&gt;"
    )
    assert question_message("U0ASKER", "why <@U999>?")["text"] == "<@U0ASKER> asked: why &lt;@U999&gt;?"
