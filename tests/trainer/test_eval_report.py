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
    for side in (finetuned, prompted):  # the headline is strict, lenient beside it
        strict = [example["strict"] for example in side["examples"]]
        assert side["accuracy"] == sum(strict) / 4
        assert side["lenient_accuracy"] == sum(example["correct"] for example in side["examples"]) / 4
    paired = report["paired"]
    pairs = zip(finetuned["examples"], prompted["examples"], strict=True)
    only_finetuned = sum(f["strict"] and not p["strict"] for f, p in pairs)
    assert (paired["n"], paired["b"]) == (4, only_finetuned)
    assert f"{paired['b']} questions only the fine-tuned model got right" in " ".join(result.output.split())
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


def side(name: str, accuracy: float, ci95: list[float], lenient: float = 1.0) -> dict:
    return {
        "name": name,
        "n": 6,
        "accuracy": accuracy,
        "ci95": ci95,
        "lenient_accuracy": lenient,
        "lenient_ci95": [0.6, 1.0],
        "mean_similarity": 0.7,
        "prompt_tokens_per_answer": 40,
        "completion_tokens_per_answer": 30,
        "seconds_per_answer": 0.5,
        "cost_per_1000": 0.01,
        "examples": [],
    }


def test_the_chart_draws_sides_at_0_and_100_percent(tmp_path):
    """The interval of a side at 100% ended a rounding error below it (0.9999999999999998) and
    matplotlib refused the negative error bar; likewise a lower end a hair above 0%."""
    from trainer.eval_report import chart, error_bars, markdown

    report = {
        "source": "test",
        "n": 6,
        "judge": {"name": "minilm-cosine", "threshold": 0.49, "calibration": "c"},
        "verdict": "fine-tuned answers 100 pts better than prompted",
        "sides": {
            "finetuned": side("fine-tuned v1", 1.0, [0.61, 0.9999999999999998]),
            "prompted": side("prompted", 0.0, [2.7e-17, 0.39], lenient=0.5),
        },
        "paired": {"name": "McNemar exact, one-sided", "b": 6, "c": 0, "n": 6, "p_value": 1 / 64},
    }
    assert min(min(bars) for bars in error_bars(list(report["sides"].values()))) >= 0
    path = tmp_path / "eval.png"
    chart(report, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = markdown(report)
    assert "| fine-tuned v1 | 100.0% (61%–100%) | 100.0% (60%–100%) |" in text  # strict, then lenient
    assert "| prompted | 0.0% (0%–39%) | 50.0% (60%–100%) |" in text
    assert "b=6" in text and "c=0" in text and "p=0.0156" in text


def test_eval_with_retrieval_reports_the_static_prompt_beside_it(tiny_env, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPT_MODE", "retrieval")
    monkeypatch.setenv("RETRIEVAL_K", "2")
    assert run("import", str(BITEXT)).exit_code == 0  # the seeds retrieval draws its examples from
    eval_file = tmp_path / "questions.jsonl"
    rows = [json.loads(line) for line in BITEXT.read_text().splitlines()[-3:]]
    eval_file.write_text("".join(json.dumps({"question": r["question"], "answer": r["answer"]}) + "\n" for r in rows))
    out = tmp_path / "report"
    result = run("eval", "--eval-file", str(eval_file), "--limit", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    sides = json.loads((out / "eval.json").read_text())["sides"]
    assert set(sides) == {"finetuned", "prompted", "prompted_static"}
    assert "retrieval" in sides["prompted"]["name"] and "static" in sides["prompted_static"]["name"]
    # Each side reports the prompt it really sent: retrieved examples differ per question.
    retrieved = [e["prompt_tokens"] for e in sides["prompted"]["examples"]]
    static = [e["prompt_tokens"] for e in sides["prompted_static"]["examples"]]
    assert retrieved != static and len(set(retrieved)) > 1
    assert "static" in (out / "eval.md").read_text()


def test_eval_json_carries_the_headline_rule_its_reference_pool_and_the_judges_agreement_with_votes(
    tiny_env, redis_client, tmp_path
):
    from supportbot.feedback import FeedbackService
    from supportbot.records import Answer, Question, Usage
    from supportbot.store import Store

    sample = [json.loads(line) for line in BITEXT.read_text().splitlines()]
    seeds, held_out = sample[::20][:60], sample[1::400]  # seeds of every intent; three other questions
    seed_file = tmp_path / "seeds.jsonl"
    seed_file.write_text("".join(json.dumps(r) + "\n" for r in seeds))
    assert run("import", str(seed_file)).exit_code == 0  # labelled by intent
    store = Store(redis_client)
    feedback = FeedbackService(store, frozenset({"+1"}), frozenset({"-1"}))
    for row, vote in ((seeds[0], 1), (seeds[1], -1)):  # people voted on two past answers in Slack
        asked = Question(text=row["question"], user="U0ASKER", channel="C1", thread_ts="1.0")
        store.save_question(asked)
        answer = Answer(variant="finetuned", text=row["answer"], model="m", usage=Usage(1, 1), latency_s=1.0,
                        cost_usd=None, question_id=asked.id)  # fmt: skip
        store.save_answer(answer)
        feedback.vote(answer.id, "U1", vote)
    eval_file = tmp_path / "questions.jsonl"
    eval_file.write_text("".join(json.dumps(r) + "\n" for r in held_out))  # question, answer, intent
    out = tmp_path / "report"
    result = run("eval", "--eval-file", str(eval_file), "--out", str(out))
    assert result.exit_code == 0, result.output

    report = json.loads((out / "eval.json").read_text())
    assert report["headline"].startswith("strict: the reference nearest the answer is its own or shares")
    assert report["reference_pool"] == 60  # every labelled seed
    for example in report["sides"]["finetuned"]["examples"]:
        assert example["label"] in {r["intent"] for r in held_out}
        assert example["nearest_label"] in {r["intent"] for r in sample}
        assert example["strict"] == (example["nearest_label"] == example["label"])  # the pool has every label
    # Each voted answer is its seed's own answer: judged right, so the 👍 agrees and the 👎 does not.
    assert report["vote_agreement"] == {
        "finetuned": {"right_up": 1, "right_down": 1, "wrong_up": 0, "wrong_down": 0, "unmatched": 0,
                      "n": 2, "agree": 1, "rate": 0.5, "ci95": report["vote_agreement"]["finetuned"]["ci95"]}
    }  # fmt: skip
    assert "finetuned: 50% (1/2" in " ".join(result.output.split())
    assert "The judge agrees with people's net 👍/👎" in (out / "eval.md").read_text()
