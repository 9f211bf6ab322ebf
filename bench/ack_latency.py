"""How fast `supportbot serve --http` acks a signed /ask, against the bare HTTP round trip.

Starts the real server (real SmolLM2, real Redis) with the Web API pointed at a local stand-in,
sends N signed /ask requests one after another while earlier questions are still being answered,
and compares their ack times with N requests to an unknown path on the same server (baseline:
uvicorn + network, no Bolt). Slack needs the ack within 3 s.

    .venv/bin/python bench/ack_latency.py --requests 20
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.signing import BOT_TOKEN, SIGNING_SECRET, signed_headers, slash_command_body
from tests.support.slack_stub import SlackStub


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, float]:
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    stub = SlackStub().start()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": stub.url,
        "REDIS_URL": args.redis_url,
        "MAX_NEW_TOKENS": "32",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None, "server exited"
                time.sleep(0.2)
        baseline, acks = [], []
        missed = 0
        for i in range(args.requests):
            _, seconds = post(f"{base}/not-slack", "{}", {"Content-Type": "application/json"})
            baseline.append(seconds)
            body = slash_command_body(f"How do I cancel order {i}?", stub.response_url)
            headers = {**signed_headers(body), "Content-Type": "application/x-www-form-urlencoded"}
            status, seconds = post(f"{base}/slack/events", body, headers)
            acks.append(seconds)
            if status != 200:
                missed += 1
        root = stub.wait_for("chat.postMessage", 1, timeout=300)[0]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            answers = [c for c in stub.calls_to("chat.postMessage") if c.params.get("thread_ts") == root.response["ts"]]
            if len(answers) == 2:
                break
            time.sleep(0.1)
        answer_s = answers[-1].at - root.at
    finally:
        server.terminate()
        server.wait(timeout=30)
        stub.stop()

    def row(name: str, values: list[float]) -> str:
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        worst = max(values) * 1000
        return f"{name:<28} p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   max {worst:7.1f} ms"

    print(row("baseline (404, no Bolt)", baseline))
    print(row("signed /ask ack", acks))
    print(f"acks missed (not HTTP 200: Bolt gave up after 3 s): {missed} of {len(acks)}")
    print(f"ratio ack/baseline at p50: {statistics.median(acks) / statistics.median(baseline):.1f}x")
    print(f"first question: both answers posted {answer_s:.1f} s after the question (real SmolLM2, 32 tokens)")


if __name__ == "__main__":
    main()
