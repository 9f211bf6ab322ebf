"""`supportbot import`, `export`, `import --restore` and `dataset build`, as a person runs them."""

import json
import os
import stat

from click.testing import CliRunner

from cli.main import main
from supportbot.store import Store
from tests.support.paths import BITEXT, BITEXT_SUBSET
from tests.test_backup import train_two_versions


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_import_bitext_then_build_a_snapshot(redis_client, tmp_path):
    result = run("import", str(BITEXT_SUBSET.with_suffix(".jsonl")))
    assert result.exit_code == 0, result.output
    assert "imported 54 new examples" in " ".join(result.output.split())
    again = run("import", str(BITEXT_SUBSET.with_suffix(".csv")))  # the same rows as CSV: nothing new
    assert "imported 0 new examples" in " ".join(again.output.split())
    assert "54 already there" in " ".join(again.output.split())

    built = run("dataset", "build")
    assert built.exit_code == 0, built.output
    flat = " ".join(built.output.split())
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
    assert "imported 2 new examples" in " ".join(result.output.split())
    assert redis_client.zcard("sb:seeds") == 2


def test_an_unusable_file_is_an_error_and_imports_nothing(redis_client, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("prompt,completion\nhi,there\n")
    result = run("import", str(path))
    assert result.exit_code == 2
    assert "error: no usable rows" in result.output
    assert redis_client.keys("*") == []
    mapped = run("import", str(path), "--question-field", "prompt", "--answer-field", "completion")
    assert "imported 1 new examples" in " ".join(mapped.output.split())


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


def test_an_export_file_is_readable_by_its_owner_only(redis_client, tmp_path):
    run("import", str(BITEXT_SUBSET.with_suffix(".jsonl")))
    backup = tmp_path / "backup.jsonl"
    backup.write_text("an older, world-readable backup\n")
    backup.chmod(0o644)
    old_umask = os.umask(0)  # a permissive umask must not widen it
    try:
        result = run("export", "--out", str(backup))
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "exported 54 records" in flat and "(mode 0600)" in flat
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert len(backup.read_text().splitlines()) == 54
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_a_redacted_export_holds_no_card_or_email(redis_client, tmp_path):
    rows = tmp_path / "history.jsonl"
    rows.write_text(
        json.dumps({"question": "Refund card 4111 1111 1111 1111 12/25?", "answer": "Mail jane@example.com."})
        + "\n"
        + json.dumps({"question": "Call me on (415) 555-2671", "answer": "My IBAN is de89 3704 0044 0532 0130 00"})
        + "\n"
    )
    run("import", str(rows))
    plain, redacted = tmp_path / "plain.jsonl", tmp_path / "redacted.jsonl"
    run("export", "--out", str(plain))
    result = run("export", "--redact", "--out", str(redacted))
    assert result.exit_code == 0, result.output
    assert "redacted: 1 card, 1 email, 1 iban, 1 phone" in " ".join(result.output.split())
    assert stat.S_IMODE(redacted.stat().st_mode) == 0o600
    text = redacted.read_text()
    for pii in ("4111", "jane@example.com", "555-2671", "de89"):
        assert pii in plain.read_text() and pii not in text
    records = [json.loads(line)["data"] for line in text.splitlines()]
    assert {r["question"] for r in records} == {"Refund card [CARD] 12/25?", "Call me on [PHONE]"}
    assert [r["id"] for r in records] == [json.loads(line)["data"]["id"] for line in plain.read_text().splitlines()]


def test_restore_brings_the_adapter_registry_back(redis_client, tmp_path):
    train_two_versions(Store(redis_client))
    backup = tmp_path / "backup.jsonl"
    run("export", "--out", str(backup))
    redis_client.flushdb()
    restored = run("import", "--restore", str(backup))
    assert restored.exit_code == 0, restored.output
    flat = " ".join(restored.output.split())
    assert "restored 2 adapters from" in flat
    assert "adapter v2 active; the next training is v3" in flat
