"""The fine-tuned side's generation path against a real OpenAI-compatible server: `transformers
serve` on 127.0.0.1 with the real SmolLM2 and a LoRA adapter, asked through ServedResponder.

`transformers serve` has no /v1/load_lora_adapter (vLLM's runtime loading is tested against the
stand-in in tests/test_lora_server.py); it loads a model by its id on first use, and a directory
holding a base model with an adapter beside it loads as that model with the adapter applied. So the
adapter's directory is served under the versioned name the bot asks for (``supportbot-v1``), and
the base model under its own name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from supportbot.lora_server import LoraServer
from supportbot.responders.served import ServedResponder
from tests.support.models import smollm2_dir
from tests.support.processes import wait_for_port
from tests.support.redis_process import free_port

pytestmark = pytest.mark.slow
QUESTION = "Where is my refund? I returned the shoes two weeks ago."


def random_lora(base: Path, out: Path) -> None:
    """A LoRA adapter with random (not zero) B matrices: it changes what the model says."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(r=8, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(out)


@pytest.fixture
def transformers_server(tmp_path):
    base = smollm2_dir()
    adapter = tmp_path / "adapters" / "v1"
    random_lora(base, adapter)
    served = tmp_path / "served"
    (served / "supportbot-v1").mkdir(parents=True)
    for source in [*base.iterdir(), adapter / "adapter_config.json", adapter / "adapter_model.safetensors"]:
        (served / "supportbot-v1" / source.name).symlink_to(source)
    (served / base.name).symlink_to(base)
    port, log = free_port(), tmp_path / "serve.log"
    command = [str(Path(sys.executable).parent / "transformers"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "--device", "cpu", "--dtype", "float32"],
            cwd=served,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}/v1", base.name
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_fine_tuned_side_answers_from_a_real_server_with_the_adapter(transformers_server):
    url, base_name = transformers_server

    def responder(model: str) -> ServedResponder:
        return ServedResponder(LoraServer(url), model, api_key=None, max_new_tokens=24, timeout_s=600)

    tuned, again = responder("supportbot-v1").answer(QUESTION), responder("supportbot-v1").answer(QUESTION)
    base = responder(base_name).answer(QUESTION)
    print(f"\nbase: {base.text!r}\nwith the adapter: {tuned.text!r}")
    assert tuned.model == "supportbot-v1" and base.model == base_name
    assert tuned.text and base.text
    assert tuned.text == again.text  # greedy: the same question, the same answer
    assert tuned.text != base.text  # the adapter is applied
    assert tuned.usage.prompt_tokens == base.usage.prompt_tokens > 20  # the short system prompt and the question
    assert 0 < tuned.usage.completion_tokens <= 24
    assert tuned.latency_s > 0 and tuned.cost_usd is None  # no FINETUNED_HOURLY_RATE_USD: unknown, not $0
