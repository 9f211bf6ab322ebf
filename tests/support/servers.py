"""Local HTTP servers standing in for an OpenAI-compatible endpoint: answering with fixed JSON and
recording what it was sent, or slow or stuck."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1; yields the OpenAI-style base URL (…/v1)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def holding_server(status_after_release: int | None = None) -> Iterator[tuple[str, threading.Event]]:
    """A server that holds every request until the event is set (then answers
    ``status_after_release``, or just closes). Yields (base URL, release event)."""
    release = threading.Event()

    class Holding(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            release.wait(30)
            if status_after_release is not None:
                self.send_response(status_after_release)
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Holding) as url:
        try:
            yield url, release
        finally:
            release.set()


@contextmanager
def json_server(reply: dict[str, Any], status: int = 200) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A server answering every POST with ``reply`` as JSON and ``status``. Yields (base URL, the
    JSON bodies received so far)."""
    received: list[dict[str, Any]] = []

    class Replying(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Replying) as url:
        yield url, received
