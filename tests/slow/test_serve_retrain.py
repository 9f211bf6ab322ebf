"""`supportbot serve --http` alone does the whole job: a signed /retrain from an admin is trained
by the worker that serve starts in a child process, gated and promoted, with progress in the
thread. The real SmolLM2, a real socket, real Redis, the Web API stand-in."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from supportbot.adapters import AdapterRegistry
from supportbot.store import Store
from tests.bot.test_http_serve import free_port, post
from tests.support.models import smollm2_dir
from tests.support.paths import BITEXT
from tests.support.signing import signed_headers, slash_command_body
from trainer.importer import Mapping, parse

pytestmark = pytest.mark.slow


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_serve_alone_retrains_gates_and_promotes_on_slash_retrain(
    settings, slack_stub, redis_client, monkeypatch, tmp_path
):
    env = {
        **os.environ,
        "BASE_MODEL": str(smollm2_dir()),
        "ADMIN_USERS": "U0ADMIN",
        "TRAIN_MAX_EXAMPLES": "128",
        "EVAL_LIMIT": "8",
        "GATE_CONFIDENCE": "0",  # 8 questions cannot show significance; the margin alone decides here
        "MIN_NEW_EXAMPLES": "1",
        "MAX_NEW_TOKENS": "16",
    }
    Store(redis_client).seeds.add_all(parse(BITEXT, Mapping(), 2000).seeds[:600])
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    command = [sys.executable, "-m", "cli", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            try:
                post(f"http://127.0.0.1:{port}/elsewhere", "{}", {})
                break
            except OSError:
                time.sleep(0.2)
        body = slash_command_body("", slack_stub.response_url, command="/retrain").replace("U0ASKER", "U0ADMIN")
        headers = {**signed_headers(body), "Content-Type": "application/x-www-form-urlencoded"}
        assert post(f"http://127.0.0.1:{port}/slack/events", body, headers) == (200, "")

        root = slack_stub.wait_for("chat.postMessage", 1)[0]
        thread = root.response["ts"]

        def in_thread() -> list[str]:
            return [
                c.params["text"] for c in slack_stub.calls_to("chat.postMessage") if c.params.get("thread_ts") == thread
            ]

        deadline = time.monotonic() + 1500
        while not any(t.startswith((":white_check_mark:", ":no_entry:", ":warning:")) for t in in_thread()):
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "\n".join(in_thread()) + (tmp_path / "serve.log").read_text()
            time.sleep(1)
        texts = in_thread()
        print("\n".join(texts))
        assert any(t.startswith(":arrow_forward: Training started") for t in texts)
        assert any(t.startswith(":gear: Training v1") for t in texts)
        progress = texts + [c.params["text"] for c in slack_stub.calls_to("chat.update")]
        assert any(t.startswith(":hourglass_flowing_sand: step") for t in progress)
        assert any(t.startswith(":mag: Evaluating v1") for t in texts)
        assert texts[-1].startswith(":white_check_mark: Promoted v1"), texts[-1]
        active = AdapterRegistry(redis_client, Store(redis_client).keys).active()
        assert active is not None and active.version == "v1" and active.trigger == "/retrain by U0ADMIN"
        assert active.metrics["dtype"] in ("bfloat16", "float32") and active.metrics["hardware"]["device"] == "cpu"
        pgrep = subprocess.run(["pgrep", "-P", str(server.pid)], check=False, capture_output=True, text=True)
        children = [int(pid) for pid in pgrep.stdout.split()]
        assert children, "serve runs its training worker in a child process"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=90)
        log.close()
    for pid in children:  # the worker went with the bot
        deadline = time.monotonic() + 30
        while alive(pid):
            assert time.monotonic() < deadline, f"worker {pid} outlived serve"
            time.sleep(0.2)
