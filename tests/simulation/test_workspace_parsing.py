"""What people read in a thread, parsed from the Block Kit the bot's own builders make."""

from bot.blocks import answer_message, placeholder_message, warning_message
from simulation.slack_standin import Message
from simulation.workspace import shown, unescape
from supportbot.records import Answer, Usage


def message(built: dict) -> Message:
    return Message("C0SUPPORT", "2.000001", built["text"], built["blocks"], "1.000001")


def answer(text: str) -> Answer:
    return Answer("finetuned", text, "SmolLM2", Usage(10, 20), 0.5, 0.0001, adapter_version="v2", question_id="q")


def test_a_placeholder_is_not_an_answer_yet():
    assert shown(message(placeholder_message("Fine-tuned v2"))) is None


def test_an_answer_is_read_back_as_the_model_wrote_it():
    text = "Use <Settings> & then @here the 'Refunds' tab.\n\nThen wait."
    one = answer(text)
    seen = shown(message(answer_message("Fine-tuned v2", one)))
    assert seen is not None
    assert seen.variant == "finetuned" and seen.version == "v2" and seen.answer_id == one.id
    assert seen.text == text and not seen.failed


def test_the_prompted_side_has_no_version():
    seen = shown(message(answer_message("Prompted (local SmolLM2-135M-Instruct)", answer("Hello."))))
    assert seen is not None and seen.variant == "prompted" and seen.version is None


def test_a_failed_side_shows_a_warning_and_no_buttons():
    seen = shown(message(warning_message("Fine-tuned v1", "timed out")))
    assert seen is not None and seen.failed and seen.variant == "finetuned" and seen.text == ""


def test_unescape_undoes_the_bots_escaping():
    assert unescape("a &lt;b&gt; &amp;amp; @\u200bhere") == "a <b> &amp; @here"
