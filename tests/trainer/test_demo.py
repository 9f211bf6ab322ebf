"""`supportbot demo --quick`: the whole loop offline (tiny model here; SmolLM2 in tests/slow)."""

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from cli.main import main
from tests.support.paths import BITEXT_SUBSET
from trainer.demo import sample_path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_the_bundled_sample_is_small_stratified_and_licensed():
    path = sample_path()
    assert path.stat().st_size <= 1_000_000
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    per_intent = Counter(row["intent"] for row in rows)
    assert len(per_intent) == 27 and len(set(per_intent.values())) == 1  # every intent, equally
    assert all(set(row) == {"id", "question", "answer", "intent", "category"} for row in rows)
    assert len({row["id"] for row in rows}) == len(rows)
    # Verbatim Bitext rows: those also in the tests' fixture (rows of the same dev file) match it field for field.
    fixture = [json.loads(line) for line in BITEXT_SUBSET.with_suffix(".jsonl").read_text().splitlines()]
    source = {row["id"]: row for row in fixture}
    both = [row for row in rows if row["id"] in source]
    assert both and all(row == {key: source[row["id"]][key] for key in row} for row in both)
    license_text = (path.parent / "LICENSE.txt").read_text()
    assert "Community Data License Agreement" in license_text and "Sharing" in license_text
    attribution = (path.parent / "ATTRIBUTION.md").read_text()
    assert "Bitext" in attribution and "CDLA-Sharing-1.0" in attribution
    assert "337b96868e02b40a05f9c0df3290c65a15ea573e" in attribution


@pytest.fixture
def demo(tiny_env, redis_client, tmp_path):
    def run(*args: str):
        return CliRunner().invoke(main, ["demo", "--quick", "--out", str(tmp_path / "out"), *args])

    return run


def test_quick_demo_writes_the_eval_report_and_the_digest(demo, redis_client, tmp_path):
    redis_client.set("sb:questions-of-the-team", "kept")
    result = demo()
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} >= {"eval.json", "eval.md", "eval.png", "digest.md", "digest.png"}
    for png in ("eval.png", "digest.png"):
        assert (out / png).read_bytes()[:8] == PNG_MAGIC
    summary = json.loads((out / "demo.json").read_text())
    assert summary["quick"] and summary["version"] == "v1" and summary["train"]["steps"] == 4
    assert set(summary["eval"]) == {"finetuned", "prompted", "base"}
    for side in summary["eval"].values():
        assert 0 <= side["ci95"][0] <= side["accuracy"] <= side["ci95"][1] <= 1
        assert side["cost_per_1000"] > 0  # local compute is priced, never $0
    report = json.loads((out / "eval.json").read_text())
    assert report["n"] == 8 and len(report["sides"]["prompted"]["examples"]) == 8
    # The prompted side got the long prompt: the Bitext KB and few-shot examples.
    assert (
        report["sides"]["prompted"]["prompt_tokens_per_answer"]
        > 10 * report["sides"]["finetuned"]["prompt_tokens_per_answer"]
    )
    assert "Cancellation fees may apply" in (out / "prompt" / "knowledge.md").read_text()
    # The held-out answers are stored as traffic with one judge vote each, under the demo's prefix only.
    assert redis_client.zcard("sbdemo:answers") == 16
    assert redis_client.zcard("sbdemo:voted") == 16
    assert redis_client.get("sb:questions-of-the-team") == "kept"
    assert redis_client.zcard("sb:answers") == 0
    digest = (out / "digest.md").read_text()
    assert "| answers | 8 (+8) | 8 (+8) |" in digest
    assert "held-out" in result.output and str(out / "digest.png") in result.output


def test_demo_runs_again_from_scratch(demo, redis_client):
    assert demo().exit_code == 0
    result = demo()
    assert result.exit_code == 0, result.output
    assert redis_client.zcard("sbdemo:answers") == 16  # the second run replaced the first


def test_demo_on_the_teams_own_data(demo, tmp_path):
    rows = sample_path().read_text().splitlines()[:400]
    data = tmp_path / "ours.jsonl"
    data.write_text("\n".join(rows) + "\n{not json}\n")
    result = demo("--data", str(data))
    assert result.exit_code == 0, result.output
    assert f"skipped {data}:401" in result.output
    assert "imported 400 past answers from ours.jsonl" in result.output


def test_demo_data_errors_are_one_line(demo, tmp_path):
    result = demo("--data", str(tmp_path / "missing.jsonl"))
    assert result.exit_code == 2
    assert "error:" in result.output and "missing.jsonl does not exist" in result.output
    tiny = tmp_path / "tiny.jsonl"
    tiny.write_text('{"question": "How do I cancel?", "answer": "Order History."}\n')
    result = demo("--data", str(tiny))
    assert result.exit_code == 2
    assert "too small: no question was held out for evaluation" in result.output
