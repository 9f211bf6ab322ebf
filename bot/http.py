"""The ASGI app ``supportbot serve --http`` runs: Bolt's handler behind one guard.

Bolt builds its request context (team, user, channel ids) before it checks the signature, and a
payload with, say, ``"user": false`` makes that raise; uvicorn would answer 500 to anyone who
sends one. The guard answers 400 instead and logs one line, with no traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class GuardedHandler:
    def __init__(self, app: App) -> None:
        self.handler = SlackRequestHandler(app)

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
