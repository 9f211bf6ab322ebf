"""`supportbot serve --http` as a real process on a real socket, answering signed requests."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.support.signing import signed_headers, slash_command_body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(settings, tmp_path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "serve.log").read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)
    log.close()


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_signed_ask_gets_200_then_two_threaded_answers(server, slack_stub):
    body = slash_command_body("How do I cancel my order?", slack_stub.response_url)
    headers = {**signed_headers(body), "Content-Type": "application/x-www-form-urlencoded"}
    status, text = post(f"{server}/slack/events", body, headers)
    assert (status, text) == (200, "")
    first, second = slack_stub.wait_for_answers(2)  # the two placeholders, each filled in place
    (root,) = [call for call in slack_stub.calls_to("chat.postMessage") if "thread_ts" not in call.params]
    assert first.thread_ts == second.thread_ts == root.response["ts"]
    assert {first.channel, second.channel} == {"C0SUPPORT"}


def test_forged_signature_is_refused(server, slack_stub):
    body = slash_command_body("How do I cancel my order?", slack_stub.response_url)
    headers = {
        **signed_headers(body, secret="not-the-secret"),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    status, _ = post(f"{server}/slack/events", body, headers)
    assert status == 401
    time.sleep(0.5)
    assert slack_stub.calls_to("chat.postMessage") == []


def test_other_paths_are_not_found(server):
    status, _ = post(f"{server}/elsewhere", "{}", {"Content-Type": "application/json"})
    assert status == 404
