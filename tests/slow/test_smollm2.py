"""The real SmolLM2-135M-Instruct: in-process, and behind a real OpenAI-compatible server.

Slow (tens of seconds each); CI runs them with ``-m slow``.
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from supportbot.cost import PriceTable
from supportbot.prompts import PromptSet
from supportbot.responders.local import LocalResponder
from supportbot.responders.local_model import LocalModel
from supportbot.responders.prompted import PromptedResponder
from tests.support.models import smollm2_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2() -> Path:
    return smollm2_dir()


@pytest.fixture(scope="module")
def openai_server(smollm2: Path) -> Iterator[str]:
    """`transformers serve` on 127.0.0.1, serving the converted SmolLM2."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    executable = shutil.which("transformers") or str(Path(os.sys.executable).parent / "transformers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [executable, "serve", "--host", "127.0.0.1", "--port", str(port), str(smollm2)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while True:
        assert process.poll() is None, "transformers serve exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            assert time.monotonic() < deadline, "transformers serve did not start"
            time.sleep(0.5)
    yield f"http://127.0.0.1:{port}/v1"
    process.terminate()
    process.wait(timeout=30)


def test_models_prepare_converts_the_bundled_gguf_once(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["models", "prepare"], catch_exceptions=False)
    assert result.exit_code == 0
    target = tmp_path / "data" / "models" / "SmolLM2-135M-Instruct"
    assert (target / "config.json").exists() and (target / "model.safetensors").exists()
    assert '"dtype": "bfloat16"' in (target / "config.json").read_text()
    assert not list(target.parent.glob(".*partial"))  # converted atomically
    stamp = (target / "model.safetensors").stat().st_mtime
    assert runner.invoke(main, ["models", "prepare"]).exit_code == 0
    assert (target / "model.safetensors").stat().st_mtime == stamp  # not converted twice


def test_local_responder_answers_with_the_real_model(smollm2):
    model = LocalModel(smollm2)
    answer = LocalResponder(model, max_new_tokens=48, hourly_rate_usd=0.1).answer("How do I cancel my order?")
    assert "order" in answer.text.lower()
    assert answer.model == "SmolLM2-135M-Instruct"
    assert answer.usage.prompt_tokens > 10
    assert 0 < answer.usage.completion_tokens <= 48
    assert answer.cost_usd > 0


def test_prompted_responder_against_a_real_openai_compatible_server(openai_server, smollm2):
    responder = PromptedResponder(
        base_url=openai_server,
        api_key=None,
        model=str(smollm2),
        prompts=PromptSet.load(),
        prices=PriceTable.load(),
        max_new_tokens=24,
        timeout_s=120,
        max_retries=0,
    )
    answer = responder.answer("How do I cancel my order?")
    assert answer.text
    assert answer.usage.prompt_tokens > 500  # the long prompt with knowledge and examples
    assert 0 < answer.usage.completion_tokens <= 24
    assert answer.cost_usd is None  # a model the price table does not know is "unknown", not $0
    assert answer.latency_s > 0


def test_cli_ask_with_an_openai_endpoint(openai_server, smollm2, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server)
    monkeypatch.setenv("PROMPTED_MODEL", str(smollm2))
    monkeypatch.setenv("BASE_MODEL", str(smollm2))
    monkeypatch.setenv("MAX_NEW_TOKENS", "24")
    result = CliRunner().invoke(main, ["ask", "How do I cancel my order?"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "Prompted (" in flat and "Fine-tuned (base model, no adapter yet)" in flat
    assert "unknown" in flat  # the served model has no price


def test_llm_judge_against_a_real_openai_compatible_server(openai_server, smollm2, monkeypatch):
    from supportbot.settings import load_settings
    from trainer.judge import make_judge

    monkeypatch.setenv("JUDGE", "llm")
    monkeypatch.setenv("JUDGE_BASE_URL", openai_server)
    monkeypatch.setenv("JUDGE_MODEL", str(smollm2))
    judge = make_judge(load_settings())
    verdicts = judge.judge(
        ["Open Order History and press Cancel.", "We ship worldwide."],
        ["Go to Order History and click Cancel Order.", "Refunds take 5 to 7 days."],
    )
    # A 135M model is no good judge; this checks the round trip: two orders per pair, a verdict each.
    assert len(verdicts.scores) == 2
    assert all(score in (0.0, 0.5, 1.0) for score in verdicts.scores)
    assert verdicts.correct == [score == 1.0 for score in verdicts.scores]
