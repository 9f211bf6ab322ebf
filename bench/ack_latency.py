"""How fast `supportbot serve --http` acks signed requests while the real model is answering.

Starts the real server (real SmolLM2 on both sides, real Redis) with the Web API pointed at a
local stand-in, keeps it generating answers, and sends N signed requests, C at a time: one in
``--ask-every`` an /ask (a new question to generate), the rest 👍/👎 buttons and reactions on a
stored answer. In the same run, the same number of requests at the same concurrency to an
unknown path (uvicorn's 404, no Bolt) give the baseline: the server and client with no Slack
work. Slack needs each ack within 3 s; the goal here is a p99 under 100 ms with no errors.

    .venv/bin/python bench/ack_latency.py --requests 500 --concurrency 50 --redis-url redis://127.0.0.1:6379/11
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supportbot.store import Store
from tests.support.answers import posted_answer
from tests.support.models import smollm2_dir
from tests.support.signing import (
    BOT_TOKEN,
    SIGNING_SECRET,
    action_body,
    reaction_body,
    signed_headers,
    slash_command_body,
)
from tests.support.slack_stub import SlackStub

CHANNEL = "C0SUPPORT"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = fields.get("Flags", "")
    bf16 = "bf16" if "avx512_bf16" in flags or "amx_bf16" in flags else "no bf16"
    return f"{fields.get('Model name', '?').strip()}, {os.cpu_count()} CPUs, {bf16}"


def request(i: int, ask_every: int, answer: tuple[str, str], stub: SlackStub) -> tuple[str, str, dict[str, str]]:
    """The i-th signed request of the mix: (kind, body, headers)."""
    answer_id, ts = answer
    if i % ask_every == 0:
        kind, body = "ask", slash_command_body(f"How do I cancel order {i}?", stub.response_url)
    elif i % 2:
        kind, body = "vote", action_body("vote_up" if i % 4 == 1 else "vote_down", answer_id, f"U{i:05d}", CHANNEL, ts)
    else:
        kind = "reaction"
        body = reaction_body("+1", f"U{i:05d}", CHANNEL, ts, event_id=f"Ev{uuid.uuid4().hex[:12]}")
    content_type = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
    return kind, body, {**signed_headers(body), "Content-Type": content_type}


def http_request(path: str, body: str, headers: dict[str, str]) -> bytes:
    """One HTTP/1.1 request, built before the clock starts (keep-alive)."""
    data = body.encode()
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(data)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def read_status(reader: asyncio.StreamReader) -> int:
    """Read one response; its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1])


async def blast(
    port: int, path: str, jobs: list[tuple[str, str, dict[str, str]]], concurrency: int
) -> tuple[list[tuple[str, float, int]], float]:
    """Send ``jobs`` ``concurrency`` at a time, each worker on one keep-alive connection:
    (kind, seconds, status) each, and the wall time. A bare asyncio client, so the client's own
    CPU (it shares the machine) takes as little from the server as it can."""
    results: list[tuple[str, float, int]] = []
    pending = [(kind, http_request(path, body, headers)) for kind, body, headers in jobs]
    pending.reverse()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while pending:
                kind, raw = pending.pop()
                started = time.perf_counter()
                try:
                    writer.write(raw)
                    await writer.drain()
                    status = await read_status(reader)
                except (OSError, asyncio.IncompleteReadError):
                    status = 0
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                results.append((kind, time.perf_counter() - started, status))
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - started


def blast_elsewhere(
    port: int, path: str, jobs: list[tuple[str, str, dict[str, str]]], concurrency: int
) -> tuple[list[tuple[str, float, int]], float, float]:
    """``blast`` in a process of its own: the Web API stand-in answers the server's posts on threads
    of this process, and on one GIL with them the client's event loop read its responses late (an
    answer's placeholders and updates, a vote's thank-you: stalls of 250-400 ms that were the
    client's, not the server's). Also returns the client's CPU seconds."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_blast_here, (port, path, jobs, concurrency))


def _blast_here(
    port: int, path: str, jobs: list[tuple[str, str, dict[str, str]]], concurrency: int
) -> tuple[list[tuple[str, float, int]], float, float]:
    started = time.process_time()
    results, wall = asyncio.run(blast(port, path, jobs, concurrency))
    return results, wall, time.process_time() - started


def row(name: str, values: list[float], wall: float | None = None) -> str:
    p50, p95, p99 = statistics.median(values), percentile(values, 0.95), percentile(values, 0.99)
    rate = f"   {len(values) / wall:6.0f} req/s" if wall else ""
    return (
        f"{name:<26} n={len(values):<4} p50 {p50 * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms  "
        f"p99 {p99 * 1000:6.1f} ms  max {max(values) * 1000:6.1f} ms{rate}"
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_port(port: int, server: subprocess.Popen[bytes], log_path: Path) -> None:
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if server.poll() is not None:
                raise SystemExit("the server exited:\n" + log_path.read_text(errors="replace")[-4000:]) from None
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--ask-every", type=int, default=10, help="one request in this many is an /ask")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument(
        "--questions-before", type=int, default=4, help="questions asked (and answering) before timing starts"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server (repeatable)")
    args = parser.parse_args()

    prefix = f"bench-ack-{uuid.uuid4().hex[:8]}:"
    client = redis.Redis.from_url(args.redis_url, decode_responses=True)
    shown = posted_answer(Store(client, prefix), CHANNEL, thread_ts="1700000000.000001", ts="1700000000.000002")
    answer = (shown.id, shown.ts)  # the buttons and reactions vote on it
    stub = SlackStub().start()
    data_dir = tempfile.TemporaryDirectory(prefix="ack-latency-")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": stub.url,
        "REDIS_URL": args.redis_url,
        "SUPPORTBOT_KEY_PREFIX": prefix,
        "SUPPORTBOT_DATA_DIR": data_dir.name,  # its own spool and caches, removed after the run
        "BASE_MODEL": str(smollm2_dir()),
        "MAX_NEW_TOKENS": str(args.max_new_tokens),
        "TRAINING_WORKER": "external",
        "LOG_LEVEL": "WARNING",
        **dict(item.split("=", 1) for item in args.env),
    }
    cmd = [sys.executable, "-m", "cli", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)]
    log_path = Path(data_dir.name) / "serve.log"
    log_file = log_path.open("wb")
    server = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, server, log_path)
        # Questions to keep the model busy before and during the measurement: each answerer
        # generating by the time the first request is timed.
        if args.questions_before:
            warm = [request(0, 1, answer, stub) for _ in range(args.questions_before)]
            asyncio.run(blast(port, "/slack/events", warm, args.questions_before))
            stub.wait_for("chat.update", 1, timeout=600)  # the model is loaded and answering
        shown_before = len(stub.calls_to("chat.update"))
        baseline_jobs = [("404", "{}", {"Content-Type": "application/json"})] * args.requests
        baseline, baseline_wall, _ = blast_elsewhere(port, "/not-slack", baseline_jobs, args.concurrency)
        jobs = [request(i, args.ask_every, answer, stub) for i in range(args.requests)]
        server_cpu = cpu_seconds(server.pid)
        results, wall, client_cpu = blast_elsewhere(port, "/slack/events", jobs, args.concurrency)
        server_cpu = cpu_seconds(server.pid) - server_cpu
        shown_during = len(stub.calls_to("chat.update")) - shown_before
    finally:
        server.terminate()
        server.wait(timeout=60)
        stub.stop()
        log_file.close()
        served_log = log_path.read_text(errors="replace")
        spooled = "Redis cannot be reached" in served_log
        data_dir.cleanup()
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)

    acks = [seconds for _, seconds, _ in results]
    errors = sum(1 for _, _, status in results if status != 200)
    print(f"CPU: {cpu_name()}; load average before the run's end: {os.getloadavg()[0]:.1f}")
    print(
        f"{args.requests} requests, {args.concurrency} at a time, one in {args.ask_every} an /ask; "
        f"SmolLM2-135M on both sides, {args.max_new_tokens} new tokens; "
        f"{shown_during} answers shown (chat.update) while they ran"
    )
    print(row("baseline (404, no Bolt)", [s for _, s, _ in baseline], baseline_wall))
    print(row("signed, all", acks, wall))
    for kind in ("ask", "vote", "reaction"):
        print(row(f"signed, {kind}", [s for k, s, _ in results if k == kind]))
    print(f"errors (not HTTP 200): {errors} of {len(results)}")
    print(
        f"CPU while the signed requests ran: server {server_cpu:.1f} s (requests and generation), "
        f"this client {client_cpu:.1f} s, over {wall:.1f} s on {os.cpu_count()} CPUs"
    )
    if spooled:
        print("note: the server could not reach Redis for a while (a command timed out): writes were spooled")
    ratio = percentile(acks, 0.99) / percentile([s for _, s, _ in baseline], 0.99)
    print(f"ratio signed/baseline at p99: {ratio:.1f}x")


if __name__ == "__main__":
    main()
