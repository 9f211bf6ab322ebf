"""A local stand-in for Slack's Web API, as bolt-python's own tests use.

It answers on 127.0.0.1 with the shapes of Slack's published OpenAPI spec (tests/fixtures/slack-specs):
every request's parameters must be ones the spec declares for the method, and every response is
checked against the method's response schema before it is sent. It records every call so tests
can assert on what was posted. ``fail(method, error)`` makes the next call of a method fail with
one of the errors the spec lists for it.

It also keeps the messages as Slack would show them: ``chat.postMessage`` adds one, ``chat.update``
replaces its text and blocks in place (and answers ``message_not_found`` for a message it never
posted), so tests can read a thread's final state with :meth:`SlackStub.thread_messages` and wait for the
answers shown in it with :meth:`SlackStub.wait_for_answers`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field, replace
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import jsonschema

from tests.support.paths import SLACK_SPECS

BOT_USER_ID = "U0BOTUSER"
# Parameters newer than the frozen 2021 spec that slack_sdk sends: team_id (org-wide apps).
NEWER_PARAMETERS = {"team_id"}
BOT_ID = "B0BOTID00"
# The methods answered with the shapes of the spec; tests/fixtures/slack-specs keeps only these
# (scripts/make_test_fixtures.py). Any other method gets unknown_method.
SPEC_METHODS = (
    "auth.test",
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "views.open",
    "usergroups.users.list",
)
# Methods newer than the 2021 spec, with the arguments docs.slack.dev lists for them (2026).
NEWER_METHODS = {
    "files.getUploadURLExternal": {"filename", "length", "alt_txt", "snippet_type"},
    "files.completeUploadExternal": {"files", "channel_id", "channels", "initial_comment", "thread_ts", "blocks"},
}


@cache
def spec() -> dict[str, Any]:
    return json.loads((SLACK_SPECS / "web-api" / "slack_web_openapi_v2.json").read_text())


def _operation(method: str) -> dict[str, Any] | None:
    path = spec()["paths"].get(f"/{method}")
    if path is None:
        return None
    return path.get("post") or path.get("get")


def _validator(schema: dict[str, Any]) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator({**schema, "definitions": spec()["definitions"]})


def check_response(method: str, body: dict[str, Any]) -> None:
    """Raise if ``body`` does not fit the spec's success or error schema for ``method``."""
    operation = _operation(method)
    if operation is None:
        return
    key = "200" if body.get("ok") else "default"
    _validator(operation["responses"][key]["schema"]).validate(body)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    response: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Message:
    """A message as Slack shows it now: posted once, maybe updated since."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]]
    updates: int = 0  # how many times chat.update replaced it

    @property
    def answer_id(self) -> str | None:
        """The answer whose feedback buttons the message carries (None: not an answer, yet)."""
        for block in self.blocks:
            if block.get("type") == "actions" and str(block.get("block_id", "")).startswith("feedback:"):
                return str(block["elements"][0]["value"])
        return None

    @property
    def label(self) -> str | None:
        """The label shown above an answer or placeholder (its first context block), if any."""
        first = self.blocks[0] if self.blocks else {}
        return first["elements"][0]["text"] if first.get("type") == "context" else None


def _blocks(params: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # socketserver's 5 resets connections when many bot threads post at once
    daemon_threads = True


class SlackStub:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: dict[str, list[str]] = {}
        self.http_errors: dict[str, list[int]] = {}  # method -> HTTP statuses to answer next (429, 5xx)
        self.refused: list[tuple[str, int]] = []  # (method, status) answered with an HTTP error
        self.responses: list[dict[str, Any]] = []  # bodies POSTed to response_url
        self.groups: dict[str, list[str]] = {}  # user group id -> members, for usergroups.users.list
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> {filename, length, data, ...}
        self.messages: dict[tuple[str, str], Message] = {}  # (channel, ts) -> the message as shown now
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    @property
    def response_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/response_url/1"

    def start(self) -> SlackStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, error: str) -> None:
        operation = _operation(method)
        assert operation is not None or method in NEWER_METHODS, f"the stub does not answer {method}"
        if operation is not None:
            allowed = operation["responses"]["default"]["schema"]["properties"]["error"].get("enum", [])
            assert error in allowed, f"{error} is not an error Slack's spec lists for {method}"
        self.failures.setdefault(method, []).append(error)

    def http_error(self, method: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with HTTP ``status``, as Slack does when it
        rate-limits (429 with Retry-After, body ``{"ok": false, "error": "ratelimited"}``) or fails."""
        assert status == 429 or status >= 500
        self.http_errors.setdefault(method, []).extend([status] * times)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int, timeout: float = 60.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.calls_to(method)
            if len(calls) >= count:
                return calls
            time.sleep(0.02)
        raise AssertionError(f"expected {count} {method} calls, got {len(self.calls_to(method))}")

    def wait_for_response_url(self, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.responses) >= count:
                return self.responses
            time.sleep(0.02)
        raise AssertionError(f"expected {count} response_url posts, got {len(self.responses)}")

    def shown(self) -> list[Message]:
        """Every message as Slack shows it now (copies), oldest first."""
        with self._lock:
            return sorted((replace(m, blocks=list(m.blocks)) for m in self.messages.values()), key=lambda m: m.ts)

    def thread_messages(self, thread_ts: str) -> list[Message]:
        """The messages in a thread as Slack shows them now, oldest first (the root excluded)."""
        return [m for m in self.shown() if m.thread_ts == thread_ts]

    def add_message(self, channel: str, ts: str, text: str = "") -> None:
        """A message posted before the test began (so it can be updated)."""
        with self._lock:
            self.messages[(channel, ts)] = Message(channel, ts, None, text, [])

    def wait_for_answers(self, count: int, timeout: float = 60.0) -> list[Message]:
        """The first ``count`` messages that show an answer (feedback buttons), oldest first,
        once that many do: posted as answers or placeholders updated with one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answers = [m for m in self.shown() if m.answer_id]
            if len(answers) >= count:
                return answers[:count]
            time.sleep(0.02)
        raise AssertionError(f"expected {count} answers shown, got {len(answers)}")

    def next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        operation = _operation(method)
        declared = None
        if operation is not None:
            declared = {p["name"] for p in operation.get("parameters", [])}
        elif method in NEWER_METHODS:
            declared = NEWER_METHODS[method] | {"token"}
        if declared is not None:
            unknown = set(params) - declared - NEWER_PARAMETERS
            if unknown:
                return {"ok": False, "error": "invalid_arguments", "unknown": sorted(unknown)}
        pending = self.failures.get(method)
        if pending:
            return {"ok": False, "error": pending.pop(0)}
        body: dict[str, Any]
        if method == "auth.test":
            body = {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "supportbot",
                "team_id": "T0TEAM",
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        elif method == "chat.postMessage":
            ts = self.next_ts()
            channel = params["channel"]
            if channel[:1] in ("U", "W"):  # posting to a user id opens the app's DM with them
                channel = "D0DM" + channel[1:].ljust(6, "0")
            message: dict[str, Any] = {
                "type": "message",
                "subtype": "bot_message",
                "text": params.get("text", ""),
                "ts": ts,
                "bot_id": BOT_ID,
            }
            if params.get("thread_ts"):
                message["thread_ts"] = params["thread_ts"]
            body = {"ok": True, "channel": channel, "ts": ts, "message": message}
            with self._lock:
                shown = Message(channel, ts, params.get("thread_ts"), params.get("text", ""), _blocks(params))
                self.messages[(channel, ts)] = shown
        elif method == "chat.postEphemeral":
            body = {"ok": True, "message_ts": self.next_ts()}
        elif method == "chat.update":
            text = params.get("text", "")
            with self._lock:
                existing = self.messages.get((params["channel"], params["ts"]))
                if existing is None:
                    return {"ok": False, "error": "message_not_found"}
                existing.text, existing.blocks, existing.updates = text, _blocks(params), existing.updates + 1
            body = {
                "ok": True,
                "channel": params["channel"],
                "ts": params["ts"],
                "text": text,
                "message": {"text": text},
            }
        elif method == "views.open":
            view = params["view"] if isinstance(params["view"], dict) else json.loads(params["view"])
            body = {"ok": True, "view": {"id": "V0VIEW0001", **view}}
        elif method == "usergroups.users.list":
            body = {"ok": True, "users": self.groups.get(params.get("usergroup", ""), [])}
        elif method == "files.getUploadURLExternal":
            return self._upload_url(params)
        elif method == "files.completeUploadExternal":
            return self._complete_upload(params)
        else:
            body = {"ok": False, "error": "unknown_method"}
            return body
        check_response(method, body)
        return body

    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F0FILE{len(self.uploads):04d}"
        self.uploads[file_id] = {"filename": params["filename"], "length": int(params["length"]), "data": None}
        base = self.url.removesuffix("/api/")
        return {"ok": True, "upload_url": f"{base}/upload/v1/{file_id}", "file_id": file_id}

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            files = json.loads(params["files"])
        except (KeyError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for item in files:
            upload = self.uploads.get(item.get("id", ""))
            if upload is None or upload["data"] is None or len(upload["data"]) != upload["length"]:
                return {"ok": False, "error": "file_not_found"}
            upload.update(title=item.get("title"), channel_id=params.get("channel_id"), blocks=params.get("blocks"))
            done.append({"id": item["id"], "title": item.get("title") or upload["filename"]})
        if params.get("blocks"):
            json.loads(params["blocks"])  # must be a JSON array of blocks
        return {"ok": True, "files": done}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _params(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if "json" in (self.headers.get("Content-Type") or ""):
                    return json.loads(raw) if raw else {}
                return dict(parse_qsl(raw))

            def _send(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.path.startswith("/upload/v1/"):  # the upload URL files.getUploadURLExternal gave
                    length = int(self.headers.get("Content-Length") or 0)
                    upload = stub.uploads.get(self.path.rsplit("/", 1)[1])
                    if upload is None:
                        self.send_response(404)
                        self.end_headers()
                        return
                    upload["data"] = self.rfile.read(length)
                    data = b"OK - " + str(length).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                params = self._params()
                if self.path.startswith("/response_url/"):
                    stub.responses.append(params)
                    self._send({"ok": True})
                    return
                method = self.path.removeprefix("/api/")
                with stub._lock:
                    status = stub.http_errors[method].pop(0) if stub.http_errors.get(method) else None
                    if status is not None:
                        stub.refused.append((method, status))
                if status is not None:
                    refusal = json.dumps({"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"})
                    self.send_response(status)
                    self.send_header("Retry-After", "1")
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(refusal)))
                    self.end_headers()
                    self.wfile.write(refusal.encode())
                    return
                response = stub.answer(method, params)
                with stub._lock:
                    stub.calls.append(Call(method, params, dict(self.headers), response))
                self._send(response)

            do_GET = do_POST

        return Handler
