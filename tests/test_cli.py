"""The supportbot command line, run as a person would (click's runner, real Redis, tiny model)."""

import pytest
from click.testing import CliRunner

from cli.main import main


@pytest.fixture
def run():
    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_ask_prints_both_answers_with_tokens_latency_and_cost(run, tiny_env, redis_client):
    result = run("ask", "How do I cancel my order?")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Prompted (local tiny-llama)" in out
    assert "Fine-tuned (base model, no adapter yet)" in out
    assert "tokens in" in out and "tokens out" in out and "latency" in out and "cost" in out
    assert out.count("$0.0") >= 2  # both sides priced by compute time
    # Recorded like a Slack question: one question, two answers.
    assert redis_client.zcard("sb:questions") == 1
    assert redis_client.zcard("sb:answers") == 2


def test_ask_refuses_an_empty_question_with_one_error_line(run, tiny_env, redis_client):
    result = run("ask", "  ")
    assert result.exit_code == 2
    assert "error: Please include a question" in result.output
    assert redis_client.zcard("sb:questions") == 0


def test_bad_configuration_is_one_error_line(run, monkeypatch):
    monkeypatch.setenv("PRESENTATION", "sideways")
    result = run("ask", "hi")
    assert result.exit_code == 2
    assert "error: invalid configuration" in result.output
    assert "PRESENTATION" in result.output
    assert "Traceback" not in result.output


def test_missing_base_model_directory(run, tmp_path, monkeypatch):
    monkeypatch.setenv("BASE_MODEL", str(tmp_path / "nowhere"))
    result = run("ask", "hi")
    assert result.exit_code == 2
    assert f"error: BASE_MODEL={tmp_path / 'nowhere'} is not a model directory" in result.output


def test_serve_names_the_missing_slack_settings(run):
    result = run("serve")
    assert result.exit_code == 2
    assert "SLACK_APP_TOKEN is not set" in result.output
    result = run("serve", "--http", "--port", "3999")
    assert result.exit_code == 2
    assert "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET not set: HTTP mode needs them" in result.output


def test_models_prepare_with_a_configured_model(run, tiny_env, tiny_model):
    result = run("models", "prepare")
    assert result.exit_code == 0
    assert str(tiny_model) in result.output.replace("\n", "")


def test_digest_dry_run_writes_the_files(run, redis_client, tmp_path):
    from supportbot.store import Store
    from tests.support.traffic import Planned, live_adapter, seed_traffic

    store = Store(redis_client)
    seed_traffic(store, [Planned("prompted", 0.5, votes=(1,)), Planned("finetuned", 0.5, votes=(1,), cost=0.0001)])
    live_adapter(store)
    result = run("digest", "--dry-run", "--out", str(tmp_path / "d"))
    assert result.exit_code == 0, result.output
    assert "fine-tuned v1 is 40 pts more accurate" in result.output
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["digest.json", "digest.md", "digest.png"]


def test_digest_posts_to_the_digest_channel_or_says_what_is_missing(
    run, redis_client, slack_env, slack_stub, monkeypatch
):
    result = run("digest")
    assert result.exit_code == 2
    assert "error: DIGEST_CHANNEL is not set" in result.output
    monkeypatch.setenv("DIGEST_CHANNEL", "C0DIGEST")
    result = run("digest")
    assert result.exit_code == 0, result.output
    (complete,) = slack_stub.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C0DIGEST"
    slack_stub.fail("files.getUploadURLExternal", "not_in_channel")
    result = run("digest")
    assert result.exit_code == 2
    assert "Slack refused the digest for C0DIGEST: not_in_channel" in result.output
