"""A stand-in for Slack's Web API on 127.0.0.1, for running the real bot without Slack.

The bot's ``SLACK_API_URL`` points here. It answers the methods the bot calls with the shapes
Slack documents (``ok``, ``ts``, ``channel``, ``message``…), records every call, and keeps the
channels as Slack would show them: each posted message under its (channel, ts), replaced in place
by ``chat.update``, with its thread. Modals opened with ``views.open`` and files uploaded through
``files.getUploadURLExternal`` / the upload URL / ``files.completeUploadExternal`` (the digest's
chart, with its blocks) are kept too. Anything else is answered ``unknown_method``.

The test suite's stand-in (tests/support/slack_stub.py) additionally checks every call against
Slack's OpenAPI spec; this one carries no spec, so it ships with the package.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from supportbot.errors import SupportbotError

BOT_USER_ID = "U0SIMBOT1"
BOT_ID = "B0SIMBOT1"
T = TypeVar("T")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    response: dict[str, Any]
    at: float = field(default_factory=time.time)


@dataclass
class Message:
    """A message as the channel shows it now (after any chat.update)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: int = 0

    def block_texts(self) -> list[str]:
        """The text of every header, section and context block, in order."""
        texts = []
        for block in self.blocks:
            if block.get("type") in ("header", "section") and isinstance(block.get("text"), dict):
                texts.append(str(block["text"].get("text", "")))
            elif block.get("type") == "context":
                texts += [str(e.get("text", "")) for e in block.get("elements", []) if isinstance(e, dict)]
        return texts

    def buttons(self) -> dict[str, str]:
        """action_id -> value of every button."""
        found = {}
        for block in self.blocks:
            if block.get("type") == "actions":
                for element in block.get("elements", []):
                    if element.get("type") == "button" and "action_id" in element:
                        found[element["action_id"]] = str(element.get("value", ""))
        return found


@dataclass
class Upload:
    file_id: str
    filename: str
    length: int
    data: bytes | None = None
    channel: str | None = None
    title: str | None = None
    blocks: list[dict[str, Any]] | None = None


def _json_param(value: Any) -> Any:
    """Block Kit arrives as JSON text in form-encoded calls and as JSON in JSON calls."""
    return json.loads(value) if isinstance(value, str) else value


class SlackStandIn:
    """Slack's Web API for one workspace, in memory. ``with SlackStandIn() as slack:`` serves it."""

    def __init__(self, bot_user_id: str = BOT_USER_ID) -> None:
        self.bot_user_id = bot_user_id
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.views: dict[str, dict[str, Any]] = {}  # trigger_id -> the view opened with it
        self.uploads: dict[str, Upload] = {}
        self.responses: list[dict[str, Any]] = []  # bodies posted to a command's response_url
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ts = itertools.count(1)
        self._epoch = int(time.time())
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="slack-standin", daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        """The Web API's base URL: the bot's SLACK_API_URL."""
        return f"{self.base}/api/"

    @property
    def response_url(self) -> str:
        return f"{self.base}/response_url/1"

    def start(self) -> SlackStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_ts(self) -> str:
        return f"{self._epoch}.{next(self._ts):06d}"

    # -- what the bot did, as Slack shows it --------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The replies in a thread, oldest first (the root itself excluded)."""
        with self._lock:
            replies = [m for m in self.messages.values() if m.channel == channel and m.thread_ts == thread_ts]
        return sorted(replies, key=lambda m: m.ts)

    def roots(self, channel: str) -> list[Message]:
        with self._lock:
            return sorted((m for m in self.messages.values() if m.channel == channel and not m.thread_ts),
                          key=lambda m: m.ts)  # fmt: skip

    def wait_for_change(self, timeout: float) -> None:
        """Return after the next call the bot makes, or after ``timeout`` seconds."""
        with self._changed:
            self._changed.wait(timeout)

    def wait_until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        """Wait until ``check()`` (called after each change, and at least every second) returns
        something other than None, and return it."""
        deadline = time.monotonic() + timeout
        while True:
            found = check()
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise SupportbotError(f"the bot did not {what} within {timeout:.0f} s")
            with self._changed:
                self._changed.wait(min(1.0, left))

    # -- the Web API --------------------------------------------------------------------------

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        result: dict[str, Any] = handler(params)
        return result

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://simulation.slack.com/",
            "team": "Simulation",
            "user": "supportbot",
            "team_id": "T0SIMTEAM",
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
        }

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel[:1] in ("U", "W"):  # posting to a person opens the app's DM with them
            channel = "D" + channel[1:]
        ts = self.next_ts()
        thread_ts = params.get("thread_ts") or None
        blocks = _json_param(params.get("blocks")) or []
        self.messages[(channel, ts)] = Message(channel, ts, str(params.get("text", "")), blocks, thread_ts)
        message: dict[str, Any] = {"type": "message", "text": params.get("text", ""), "ts": ts, "bot_id": BOT_ID}
        if thread_ts:
            message["thread_ts"] = thread_ts
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (str(params.get("channel", "")), str(params.get("ts", "")))
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = str(params.get("text", message.text))
        if "blocks" in params:
            message.blocks = _json_param(params["blocks"]) or []
        message.updates += 1
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message.text, "message": {"text": message.text}}

    def _chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self.next_ts()}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger = str(params.get("trigger_id", ""))
        if not trigger:
            return {"ok": False, "error": "invalid_trigger_id"}
        view = {"id": f"V0SIM{len(self.views):05d}", "type": "modal", **_json_param(params.get("view"))}
        self.views[trigger] = view
        return {"ok": True, "view": view}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "users": []}

    def _files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        length = str(params.get("length", ""))
        if not params.get("filename") or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F0SIM{len(self.uploads):05d}"
        self.uploads[file_id] = Upload(file_id, str(params["filename"]), int(length))
        return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            files = _json_param(params["files"])
        except (KeyError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for item in files:
            upload = self.uploads.get(str(item.get("id", "")))
            if upload is None or upload.data is None or len(upload.data) != upload.length:
                return {"ok": False, "error": "file_not_found"}
            upload.title = item.get("title") or upload.filename
            upload.channel = params.get("channel_id")
            upload.blocks = _json_param(params.get("blocks")) or []
            done.append({"id": upload.file_id, "title": upload.title})
        return {"ok": True, "files": done}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        slack = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _send(self, body: dict[str, Any] | bytes, content_type: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", f"{content_type}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                raw = self._body()
                if self.path.startswith("/upload/"):
                    with slack._changed:
                        upload = slack.uploads.get(self.path.rsplit("/", 1)[1])
                        if upload is not None:
                            upload.data = raw
                        slack._changed.notify_all()
                    if upload is None:
                        self.send_response(404)
                        self.end_headers()
                        return
                    self._send(f"OK - {len(raw)}".encode(), "text/plain")
                    return
                text = raw.decode()
                json_body = "json" in (self.headers.get("Content-Type") or "")
                params = (json.loads(text) if text else {}) if json_body else dict(parse_qsl(text))
                if self.path.startswith("/response_url/"):
                    with slack._changed:
                        slack.responses.append(params)
                        slack._changed.notify_all()
                    self._send({"ok": True})
                    return
                method = self.path.removeprefix("/api/").split("?", 1)[0]
                with slack._changed:
                    response = slack.answer(method, params)
                    slack.calls.append(Call(method, params, response))
                    slack._changed.notify_all()
                self._send(response)

            do_GET = do_POST

        return Handler
