"""A local stand-in for vLLM's OpenAI server with runtime LoRA updating, shaped by its documented API
(docs/features/lora.md) and its handlers (vllm/entrypoints/openai/models/serving.py):

- ``GET /v1/models``: the base model (``parent`` null) and every loaded adapter (``root`` its path,
  ``parent`` the base model);
- ``POST /v1/load_lora_adapter {"lora_name", "lora_path"}``: 200 with the text ``Success: LoRA adapter
  'NAME' added successfully.``; 400 ``{"error": {"message": "The lora adapter 'NAME' has already been
  loaded. …"}}`` for a name already loaded; 404 for a path with no adapter; without runtime updating
  the route does not exist (FastAPI's 404 ``{"detail": "Not Found"}``);
- ``POST /v1/chat/completions``: 404 ``The model `NAME` does not exist.`` for a name it does not
  serve, else an answer naming the model it came from;
- with an API key, 401 ``{"error": "Unauthorized"}`` without ``Authorization: Bearer KEY``.

Every request is recorded; ``restart()`` forgets the adapters loaded at run time, as vLLM does.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class VllmStandIn:
    base_model: str = "SmolLM2-135M-Instruct"
    runtime_lora_updating: bool = True
    api_key: str | None = None
    fail_loads_with: int | None = None  # answer every load with this status (a broken server)
    unlisted: set[str] = field(default_factory=set)  # loaded, but left out of /v1/models
    base_listed: bool = True  # False: /v1/models lists adapters only (as some gateways do)
    loaded: dict[str, str] = field(default_factory=dict)  # name -> path
    requests: list[Request] = field(default_factory=list)

    def start(self) -> VllmStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def restart(self) -> None:
        """Forget every adapter loaded at run time, as a restarted vLLM does."""
        self.loaded.clear()

    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        return [r for r in self.requests if (method in (None, r.method)) and (path in (None, r.path))]

    def loads(self) -> list[dict[str, str]]:
        return [r.body for r in self.calls("POST", "/v1/load_lora_adapter")]

    def asked(self) -> list[str]:
        return [r.body["model"] for r in self.calls("POST", "/v1/chat/completions")]

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        authorization = handler.headers.get("Authorization")
        self.requests.append(Request(method, handler.path, body, authorization))
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return _reply(handler, 401, {"error": "Unauthorized"})
        route = (method, handler.path)
        if route == ("GET", "/v1/models"):
            return _reply(handler, 200, self._models())
        if route == ("POST", "/v1/load_lora_adapter") and self.runtime_lora_updating:
            return self._load(handler, body)
        if route == ("POST", "/v1/chat/completions"):
            return self._chat(handler, body)
        return _reply(handler, 404, {"detail": "Not Found"})

    def _models(self) -> dict[str, Any]:
        cards = [{"id": self.base_model, "object": "model", "root": f"/models/{self.base_model}", "parent": None}]
        cards = cards if self.base_listed else []
        cards += [
            {"id": name, "object": "model", "root": path, "parent": self.base_model}
            for name, path in self.loaded.items()
            if name not in self.unlisted
        ]
        return {"object": "list", "data": cards}

    def _load(self, handler: BaseHTTPRequestHandler, body: dict[str, str]) -> None:
        name, path = body.get("lora_name"), body.get("lora_path")
        if self.fail_loads_with is not None:
            return _reply(handler, self.fail_loads_with, _error("engine failure", "InternalServerError", 500))
        if not name or not path:
            message = "Both 'lora_name' and 'lora_path' must be provided."
            return _reply(handler, 400, _error(message, "InvalidUserInput", 400))
        if name in self.loaded:
            message = (
                f"The lora adapter '{name}' has already been loaded. If you want to load the adapter in place, "
                "set 'load_inplace' to True."
            )
            return _reply(handler, 400, _error(message, "InvalidUserInput", 400))
        if not (Path(path) / "adapter_config.json").exists():
            message = f"Loading lora {name} failed: No adapter found for {path}"
            return _reply(handler, 404, _error(message, "NotFoundError", 404))
        self.loaded[name] = path
        return _reply(handler, 200, f"Success: LoRA adapter '{name}' added successfully.")

    def _chat(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        model = body["model"]
        if model != self.base_model and model not in self.loaded:
            return _reply(handler, 404, _error(f"The model `{model}` does not exist.", "NotFoundError", 404))
        reply = {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"answer from {model}"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        }
        return _reply(handler, 200, reply)


def _error(message: str, kind: str, code: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _reply(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
