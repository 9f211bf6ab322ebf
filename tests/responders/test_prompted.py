"""PromptedResponder failure handling against real local HTTP servers that misbehave.

The success path against a real model server is in tests/slow/test_smollm2.py.
"""

import socket
from http.server import BaseHTTPRequestHandler

import pytest

from supportbot.cost import PriceTable
from supportbot.errors import ResponderError, ResponderTimeout
from supportbot.prompts import PromptSet
from supportbot.responders.prompted import PromptedResponder
from tests.support.servers import holding_server, serving


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

    with serving(Unauthorized) as url, pytest.raises(ResponderError, match="answered HTTP 401"):
        make(url).answer("hi")


def test_a_server_that_never_answers_times_out_instead_of_hanging():
    with holding_server() as (url, _), pytest.raises(ResponderTimeout, match="timed out"):
        make(url, timeout=0.5).answer("hi")
