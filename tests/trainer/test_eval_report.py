"""`supportbot eval` on any question/answer JSONL: numbers, every example, Markdown and a PNG."""

import json

from click.testing import CliRunner

from cli.main import main
from tests.support.paths import BITEXT


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_eval_file_report_in_three_formats(tiny_env, redis_client, tmp_path):
    eval_file = tmp_path / "questions.jsonl"
    rows = [json.loads(line) for line in BITEXT.read_text().splitlines()[:5]]
    eval_file.write_text("".join(json.dumps({"question": r["question"], "answer": r["answer"]}) + "\n" for r in rows))
    out = tmp_path / "report"
    result = run("eval", "--eval-file", str(eval_file), "--limit", "4", "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "eval.json").read_text())
    assert report["verdict"] in " ".join(result.output.split())  # the one-line verdict

    report = json.loads((out / "eval.json").read_text())
    assert report["n"] == 4
    finetuned, prompted = report["sides"]["finetuned"], report["sides"]["prompted"]
    for side in (finetuned, prompted):
        assert 0 <= side["ci95"][0] <= side["accuracy"] <= side["ci95"][1] <= 1
        assert len(side["examples"]) == 4
        example = side["examples"][0]
        assert set(example) >= {"question", "reference", "answer", "score", "prompt_tokens", "completion_tokens"}
        assert side["cost_per_1000"] > 0  # both local here: priced by compute time
    assert prompted["prompt_tokens_per_answer"] > finetuned["prompt_tokens_per_answer"]
    markdown = (out / "eval.md").read_text()
    assert report["verdict"] in markdown and "| fine-tuned (base, no adapter yet) |" in markdown
    assert (out / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_without_data_or_with_a_bad_file_is_one_error_line(tiny_env, redis_client, tmp_path):
    empty = run("eval", "--out", str(tmp_path / "r"))
    assert empty.exit_code == 2 and "no eval examples yet" in empty.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": 1}\n')
    result = run("eval", "--eval-file", str(bad))
    assert result.exit_code == 2 and "bad.jsonl:1: each line must be a JSON object" in result.output


def test_eval_with_the_llm_judge(tiny_env, redis_client, tmp_path, monkeypatch):
    from tests.trainer.test_llm_judge import judge_server

    eval_file = tmp_path / "questions.jsonl"
    eval_file.write_text(json.dumps({"question": "How do I cancel?", "answer": "Use Order History."}) + "\n")
    server, seen = judge_server(lambda first, second: "YES")
    with server as url:
        monkeypatch.setenv("JUDGE_BASE_URL", url)
        monkeypatch.setenv("JUDGE_MODEL", "judge")
        result = run("eval", "--eval-file", str(eval_file), "--judge", "llm", "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r" / "eval.json").read_text())
    assert report["judge"]["name"] == "llm"
    assert [side["accuracy"] for side in report["sides"].values()] == [1.0, 1.0]
    assert len(seen) == 4  # two sides x one question x both orders
