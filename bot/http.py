"""The ASGI app ``supportbot serve --http`` runs: Bolt's handler behind one guard, off the event loop.

Bolt's ASGI adapter calls the (synchronous) ``App.dispatch`` on the event loop itself, and a
dispatch waits for the listener's ``ack()`` in 10 ms sleeps and for a Redis round trip in the
middleware: one request at a time, every other request queued behind it. Here each dispatch runs
on a thread of its own pool, so requests are acked side by side.

Requests whose ack is always empty are acked by the guard itself, once their signature is
checked, before Bolt sees them: Events API callbacks (reactions, mentions, thread replies), block
actions (the vote and review buttons), and the slash commands the server names (``/ask`` with a
valid question: its listener then only queues it). Their listeners ack first thing anyway, and a
Bolt dispatch costs a trip through two thread pools and the GIL, shared with every listener still
at work: with 50 requests in flight that trip, not the work, made the acks slow. Bolt then
dispatches them on threads of their own, unchanged (its own signature check, middleware,
listeners, run there to their end: ``bot/lanes.py``): one thread per lane, and all requests
about one message in one lane, so they are handled in the order they arrived.
Other slash commands, and modal submissions, whose ack carries a message or the modal's errors,
still wait for Bolt. When ``FAST_ACK_BACKLOG`` acked requests already wait for a thread, later
ones wait for Bolt again, so what is acked but not yet handled stays bounded.

Bolt builds its request context (team, user, channel ids) before it checks the signature, and a
payload with, say, ``"user": false`` makes that raise; uvicorn would answer 500 to anyone who
sends one. The guard answers 400 instead and logs one line, with no traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.lanes import lane

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


DISPATCH_THREADS = 64  # requests dispatched at once; more wait for a thread, not for each other
FAST_ACK_BACKLOG = 512  # acked requests waiting for Bolt at most; beyond, acks wait for Bolt again
ACKED_LANES = 8  # threads handling requests acked early: few, so acks and commands get the GIL often
EMPTY_ACK_TYPES = frozenset({"event_callback", "block_actions"})  # their ack never carries anything


class ThreadedHandler(SlackRequestHandler):
    """Bolt's ASGI handler, with each dispatch on a worker thread instead of the event loop."""

    def __init__(self, app: App, threads: int = DISPATCH_THREADS) -> None:
        super().__init__(app)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dispatch")

    async def dispatch(self, request: AsgiHttpRequest) -> BoltResponse:
        bolt_request = BoltRequest(
            body=await request.get_raw_body(), query=request.query_string, headers=request.get_headers()
        )
        return await asyncio.get_running_loop().run_in_executor(self.pool, self.app.dispatch, bolt_request)


class GuardedHandler:
    """Bolt's handler behind a guard (see the module docstring); ``signing_secret`` turns on the
    early ack of requests whose ack is always empty."""

    def __init__(
        self,
        app: App,
        signing_secret: str | None = None,
        empty_ack_commands: Mapping[str, Callable[[str], bool]] | None = None,
        backlog: int = FAST_ACK_BACKLOG,
    ) -> None:
        """``empty_ack_commands``: slash commands whose listener acks empty when the check on the
        command's text passes (``{"/ask": is_valid_question}``)."""
        self.handler = ThreadedHandler(app)
        self.empty_ack_commands = dict(empty_ack_commands or {})
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.backlog = backlog
        self._waiting = 0  # acked early, not yet dispatched to its end
        self._idle = threading.Condition()
        # Their own threads: a burst of them never queues in front of a command waiting for its ack.
        # One thread per lane, and every request about one message in one lane, so a 👍 then its
        # removal (or a 👍 then a 👎 click) are handled in the order they arrived, never side by side.
        self.lanes = [lane(f"acked-{i}") for i in range(ACKED_LANES)]

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        request = scope.get("type"), scope.get("method"), scope.get("path")
        if self.verifier is not None and request == ("http", "POST", self.handler.path):
            body = await _read_body(receive)
            if self._ack_early(scope, body):
                await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
            receive = _replay(body)
        await self._guarded(scope, receive, send)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every request acked early has been handled by Bolt (for tests)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._waiting == 0, timeout)

    def _ack_early(self, scope: Message, body: bytes) -> bool:
        """Whether ``body`` is a signed request whose ack is empty: if so, hand it to Bolt on the
        pool (its answer is the ack already sent) and return True."""
        assert self.verifier is not None
        fields = _fields(body) if self._waiting < self.backlog else None
        if fields is None:
            return False
        payload = _payload(fields)
        if not self._acks_empty(fields, payload):
            return False
        headers = {str(k, "latin-1"): str(v, "latin-1") for k, v in scope.get("headers", [])}
        if not self.verifier.is_valid_request(body, headers):
            return False  # Bolt answers 401, as for any request it cannot verify
        query = str(scope.get("query_string", b""), "latin-1")
        with self._idle:
            self._waiting += 1
        lane = self.lanes[hash(_message_key(fields, payload)) % len(self.lanes)]
        lane.submit(self._dispatch_acked, body.decode("utf-8"), query, headers)
        return True

    def _acks_empty(self, fields: dict[str, Any], payload: dict[str, Any]) -> bool:
        if "command" in fields:
            check = self.empty_ack_commands.get(fields["command"])
            return check is not None and check(fields.get("text", ""))
        kind = payload.get("type")  # junk may make it a list or a dict: unhashable
        return isinstance(kind, str) and kind in EMPTY_ACK_TYPES

    def _dispatch_acked(self, body: str, query: str, headers: dict[str, str]) -> None:
        try:  # Bolt builds its request (and may refuse junk) here, off the event loop
            request = BoltRequest(body=body, query=query, headers=headers)  # type: ignore[arg-type]
            response = self.handler.app.dispatch(request)
            if response.status != 200:
                log.info("Bolt answered %d to a request acked early", response.status)
        except Exception as exc:
            log.warning("refused a request Bolt could not read (%s)", type(exc).__name__)
        finally:
            with self._idle:
                self._waiting -= 1
                self._idle.notify_all()

    async def _guarded(self, scope: Message, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.handler(scope, receive, tracking_send)  # type: ignore[arg-type]
        except Exception as exc:
            if scope.get("type") != "http":
                raise
            log.warning("refused a request Bolt could not read (%s)", type(exc).__name__)
            if not started:
                await send(
                    {"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"text/plain")]}
                )
                await send({"type": "http.response.body", "body": b"bad request"})


async def _read_body(receive: Receive) -> bytes:
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.extend(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return bytes(chunks)


def _replay(body: bytes) -> Receive:
    """A ``receive`` that gives ``body`` again, for the handler after the guard has read it."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _fields(body: bytes) -> dict[str, Any] | None:
    """The request as Bolt reads it: a JSON body, or a form's fields (one value each); None when it
    does not parse (Bolt then answers it, as before)."""
    try:
        text = body.decode("utf-8")
        if text.startswith("{"):
            parsed = json.loads(text)
            return parsed if isinstance(parsed, dict) else None
        return {name: values[0] for name, values in parse_qs(text).items()}
    except (UnicodeDecodeError, ValueError):
        return None


def _payload(fields: dict[str, Any]) -> dict[str, Any]:
    """A JSON body as is, or the JSON in a form's ``payload`` ({} when there is none that parses)."""
    if "payload" not in fields:
        return fields
    try:
        payload = json.loads(fields["payload"])
    except (TypeError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _message_key(fields: dict[str, Any], payload: dict[str, Any]) -> str:
    """The Slack message a request is about, as far as order matters: the message reacted to, the
    message whose button was clicked, the thread replied in; else the request's own id."""
    event = payload.get("event")
    if isinstance(event, dict):
        item = event.get("item")
        if isinstance(item, dict):  # reaction_added / reaction_removed
            return f"{item.get('channel')}:{item.get('ts')}"
        return f"{event.get('channel')}:{event.get('thread_ts') or event.get('ts')}"
    container = payload.get("container")
    if isinstance(container, dict) and container.get("message_ts"):
        return f"{container.get('channel_id')}:{container.get('message_ts')}"
    return str(fields.get("trigger_id") or payload.get("trigger_id") or id(fields))
