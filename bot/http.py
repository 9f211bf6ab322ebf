"""The ASGI app ``supportbot serve --http`` runs: Bolt's handler behind one guard, off the event loop.

Bolt's ASGI adapter calls the (synchronous) ``App.dispatch`` on the event loop itself, and a
dispatch waits for the listener's ``ack()`` in 10 ms sleeps and for a Redis round trip in the
middleware: one request at a time, every other request queued behind it. Here each dispatch runs
on a thread of its own pool, so requests are acked side by side.

Bolt builds its request context (team, user, channel ids) before it checks the signature, and a
payload with, say, ``"user": false`` makes that raise; uvicorn would answer 500 to anyone who
sends one. The guard answers 400 instead and logs one line, with no traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


DISPATCH_THREADS = 64  # requests dispatched at once; more wait for a thread, not for each other


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
    def __init__(self, app: App) -> None:
        self.handler = ThreadedHandler(app)

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
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
