"""`supportbot import`, `export`, `import --restore` and `dataset build`, as a person runs them."""

import json

from click.testing import CliRunner

from cli.main import main
from tests.support.paths import BITEXT, BITEXT_SUBSET


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_import_bitext_then_build_a_snapshot(redis_client, tmp_path):
    result = run("import", str(BITEXT_SUBSET.with_suffix(".jsonl")))
    assert result.exit_code == 0, result.output
    assert "imported 54 new examples" in result.output.replace("\n", " ")
    again = run("import", str(BITEXT_SUBSET.with_suffix(".csv")))  # the same rows as CSV: nothing new
    assert "imported 0 new examples" in again.output.replace("\n", " ")
    assert "54 already there" in again.output.replace("\n", " ")

    built = run("dataset", "build")
    assert built.exit_code == 0, built.output
    flat = built.output.replace("\n", " ")
    assert "written" in flat and "split: eval" in flat and "split: train" in flat
    name = flat.split("snapshot ")[1].split()[0]
    assert (tmp_path / "data" / "datasets" / f"{name}.jsonl").exists()
    assert "unchanged" in run("dataset", "build").output


def test_bad_rows_are_reported_and_skipped(redis_client, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"question": "q1", "answer": "a1"}\n{"question": ""}\n{"question": "q3", "answer": "a3"}\n')
    result = run("import", str(path))
    assert result.exit_code == 0
    assert f"skipped {path}:2:" in result.output
    assert "imported 2 new examples" in result.output.replace("\n", " ")
    assert redis_client.zcard("sb:seeds") == 2


def test_an_unusable_file_is_an_error_and_imports_nothing(redis_client, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("prompt,completion\nhi,there\n")
    result = run("import", str(path))
    assert result.exit_code == 2
    assert "error: no usable rows" in result.output
    assert redis_client.keys("*") == []
    mapped = run("import", str(path), "--question-field", "prompt", "--answer-field", "completion")
    assert "imported 1 new examples" in mapped.output.replace("\n", " ")


def test_export_and_restore_round_trip(redis_client, tmp_path):
    run("import", str(BITEXT))
    backup = tmp_path / "backup.jsonl"
    assert run("export", "--out", str(backup)).exit_code == 0
    lines = backup.read_text().splitlines()
    assert len(lines) == 1188 and json.loads(lines[0])["type"] == "seed"

    refused = run("import", "--restore", str(backup))
    assert refused.exit_code == 2 and "only into an empty store" in refused.output

    redis_client.flushdb()
    restored = run("import", "--restore", str(backup))
    assert restored.exit_code == 0
    assert "restored 1,188 seeds" in restored.output
    again = tmp_path / "again.jsonl"
    run("export", "--out", str(again))
    assert again.read_text() == backup.read_text()
