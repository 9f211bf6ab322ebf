"""Seed import parsing: Bitext as it is, column mapping, bad rows by line number, property-based."""

import csv
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supportbot.errors import InvalidImport
from tests.support.paths import BITEXT, BITEXT_SUBSET
from trainer.importer import Mapping, parse


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_bitext_dev_file_imports_as_it_is(suffix):
    path = BITEXT_SUBSET.with_suffix(suffix)
    result = parse(path, Mapping(), max_question_chars=2000)
    assert (result.rows, len(result.seeds), result.errors) == (54, 54, [])
    first = result.seeds[0]
    assert first.id == "bitext-main-00002"
    assert first.question == "can you help me canceling purchase 00004587345?"
    assert first.label == "cancel_order"
    assert first.source == f"import:{path.name}"
    assert len({seed.label for seed in result.seeds}) == 27


def test_the_csv_and_jsonl_twins_import_the_same_seeds():
    jsonl, csv_ = (parse(BITEXT_SUBSET.with_suffix(s), Mapping(), 2000).seeds for s in (".jsonl", ".csv"))
    fields = [[(s.id, s.question, s.answer, s.label) for s in seeds] for seeds in (jsonl, csv_)]
    assert fields[0] == fields[1]


def test_the_bundled_bitext_sample_imports_as_it_is():
    result = parse(BITEXT, Mapping(), max_question_chars=2000)
    assert (result.rows, len(result.seeds), result.errors) == (1188, 1188, [])
    assert len({seed.label for seed in result.seeds}) == 27


def test_column_mapping_and_bad_rows_with_line_numbers(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(
        "ticket,customer_message,agent_reply\n"
        "1,Where is my parcel?,It ships tomorrow.\n"
        '2,"",Empty question\n'
        "3,No answer here,\n"
        '4,"A question spanning\ntwo lines?",Yes it does.\n'
        "5,Last one,Fine.\n"
    )
    mapping = Mapping(question="customer_message", answer="agent_reply", label=None, id="ticket")
    result = parse(path, mapping, max_question_chars=2000)
    assert [s.id for s in result.seeds] == ["1", "4", "5"]
    assert result.seeds[1].question == "A question spanning\ntwo lines?"
    assert result.errors == [(3, '"customer_message" is empty'), (4, '"agent_reply" is empty')]


def test_jsonl_errors_name_their_lines(tmp_path):
    path = tmp_path / "seed.jsonl"
    rows = [
        {"question": "q1", "answer": "a1"},
        "not json",
        {"question": "q2"},
        ["a", "list"],
        {"question": "x" * 50, "answer": "too long"},
        {"question": "q1", "answer": "a1"},
    ]
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    result = parse(path, Mapping(), max_question_chars=20)
    assert [s.question for s in result.seeds] == ["q1"]
    assert [line for line, _ in result.errors] == [2, 3, 4, 5, 6]
    assert "not valid JSON" in result.errors[0][1]
    assert result.errors[1][1] == 'missing "answer"'
    assert "duplicate id" in result.errors[4][1]


def test_a_file_with_no_usable_row_is_refused(tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("prompt,completion\nhello,world\n")
    with pytest.raises(InvalidImport, match="check --question-field"):
        parse(path, Mapping(), max_question_chars=2000)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(InvalidImport, match="does not exist"):
        parse(tmp_path / "nope.csv", Mapping(), 2000)
    (tmp_path / "blob.csv").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(InvalidImport, match="not UTF-8"):
        parse(tmp_path / "blob.csv", Mapping(), 2000)


text = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=80).filter(
    lambda s: s.strip() == s and s
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(text, text, st.none() | text), min_size=1, max_size=20, unique_by=lambda r: r[0]))
def test_csv_and_jsonl_parse_back_exactly_what_was_written(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("prop")
    records = [{"question": q, "answer": a, "intent": label or ""} for q, a, label in rows]
    jsonl = folder / "rows.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with (folder / "rows.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["question", "answer", "intent"])
        writer.writeheader()
        writer.writerows(records)
    for path in (jsonl, folder / "rows.csv"):
        result = parse(path, Mapping(id=None), max_question_chars=2000)
        assert result.errors == []
        assert [(s.question, s.answer, s.label) for s in result.seeds] == [(q, a, label) for q, a, label in rows]
