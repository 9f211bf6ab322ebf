import pytest

from supportbot.errors import ConfigError
from supportbot.prompts import FINETUNED_SYSTEM_PROMPT, PromptSet, short_messages


def test_default_long_prompt_has_knowledge_and_examples():
    prompts = PromptSet.load()
    messages = prompts.long_messages("Where is my parcel?")
    assert messages[0]["role"] == "system"
    assert "Order History" in messages[0]["content"]  # the knowledge file is in the system prompt
    assert [m["role"] for m in messages[1:-1]] == ["user", "assistant"] * len(prompts.examples)
    assert messages[-1] == {"role": "user", "content": "Where is my parcel?"}


def test_prompt_dir_overrides_defaults(tmp_path):
    (tmp_path / "system.md").write_text("Be brief.")
    (tmp_path / "knowledge.md").write_text("We sell kites.")
    (tmp_path / "examples.jsonl").write_text('{"question": "q", "answer": "a"}\n\n')
    prompts = PromptSet.load(tmp_path)
    assert prompts.long_messages("x")[0]["content"] == "Be brief.\n\nWe sell kites."
    assert prompts.examples == (("q", "a"),)


def test_bad_example_line_names_the_line(tmp_path):
    (tmp_path / "system.md").write_text("s")
    (tmp_path / "knowledge.md").write_text("k")
    (tmp_path / "examples.jsonl").write_text('{"question": "q", "answer": "a"}\n{"question": "q"}\n')
    with pytest.raises(ConfigError, match="examples.jsonl line 2"):
        PromptSet.load(tmp_path)


def test_missing_prompt_file(tmp_path):
    with pytest.raises(ConfigError, match="lacks a prompt file"):
        PromptSet.load(tmp_path)


def test_short_prompt_is_the_training_prompt():
    assert short_messages("hi")[0] == {"role": "system", "content": FINETUNED_SYSTEM_PROMPT}
