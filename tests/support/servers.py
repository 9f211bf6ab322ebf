"""Local HTTP servers that misbehave like a slow or stuck OpenAI-compatible endpoint."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
