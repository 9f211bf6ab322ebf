"""PromptedResponder failure handling against real local HTTP servers that misbehave.

The success path against a real model server is in tests/slow/test_smollm2.py.
"""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from supportbot.cost import PriceTable
from supportbot.errors import ResponderError, ResponderTimeout
from supportbot.prompts import PromptSet
from supportbot.responders.prompted import PromptedResponder


def make(base_url: str, timeout: float = 5.0) -> PromptedResponder:
    return PromptedResponder(
        base_url=base_url,
        api_key=None,
        model="gpt-4o-mini",
        prompts=PromptSet.load(),
        prices=PriceTable.load(),
        max_new_tokens=16,
        timeout_s=timeout,
        max_retries=0,
    )


class Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_connection_refused_is_a_responder_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ResponderError, match=r"the prompted model \(gpt-4o-mini\) failed"):
        make(f"http://127.0.0.1:{port}/v1").answer("hi")


def test_http_error_says_the_status():
    class Unauthorized(BaseHTTPRequestHandler):
        def do_POST(self):
            body = b'{"error": {"message": "bad key", "type": "invalid_request_error"}}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = Server(Unauthorized)
    try:
        with pytest.raises(ResponderError, match="answered HTTP 401"):
            make(server.url).answer("hi")
    finally:
        server.close()


def test_a_server_that_never_answers_times_out_instead_of_hanging():
    release = threading.Event()

    class Silent(BaseHTTPRequestHandler):
        def do_POST(self):
            release.wait(10)

        def log_message(self, *args):
            pass

    server = Server(Silent)
    try:
        with pytest.raises(ResponderTimeout, match="timed out"):
            make(server.url, timeout=0.5).answer("hi")
    finally:
        release.set()
        server.close()
