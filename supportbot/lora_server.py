"""Load adapter versions into an inference server that serves LoRA adapters by name (vLLM).

vLLM, started with ``--enable-lora`` and ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``, loads an
adapter at run time with ``POST /v1/load_lora_adapter {"lora_name", "lora_path"}`` and from then
on serves it as a model of that name. Every version gets its own immutable name (``<prefix>v8``):
a name is never reloaded in place, since vLLM can keep serving the old weights of a name reloaded
with new ones (vLLM #42125, #30931), and the earlier versions stay loaded for an instant rollback.

Loading is idempotent, so every process that switches versions may call it: a name the server
already lists from the same path is not loaded again, and "already loaded" (another replica won
the race) counts as success. A name the server lists from *another* path is refused: the registry
was reset and reuses version numbers, and the server would answer with a stale adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

from supportbot.errors import ConfigError, SupportbotError
from supportbot.records import AdapterVersion
from supportbot.settings import Settings

log = logging.getLogger(__name__)
LOAD_TIMEOUT_S = 300.0  # a large adapter read from a network volume takes a while
CONNECT_TIMEOUT_S = 10.0


class LoraServerError(SupportbotError):
    """The inference server could not be reached, or did not load an adapter."""


class LoraServer:
    """An OpenAI-compatible server (``base_url`` ends in ``/v1``) that loads LoRA adapters by name."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        prefix: str = "supportbot-",
        adapter_root: str | None = None,
        timeout_s: float = LOAD_TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = prefix
        self.adapter_root = adapter_root.rstrip("/") if adapter_root else None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S)  # a server that is down fails fast
        self.http = httpx.Client(base_url=self.base_url + "/", headers=headers, timeout=timeout)

    def name_for(self, version: str) -> str:
        return f"{self.prefix}{version}"

    def path_for(self, adapter: AdapterVersion) -> str:
        """Where the server reads ``adapter``: ``<adapter_root>/<version>``, else its stored path."""
        if self.adapter_root is not None:
            return f"{self.adapter_root}/{adapter.version}"
        if "://" in adapter.uri and not adapter.uri.startswith("file://"):
            raise ConfigError(
                f"adapter {adapter.version} is stored at {adapter.uri}, which the inference server cannot read: "
                "set FINETUNED_ADAPTER_ROOT to where the server sees ADAPTER_STORE (a shared volume)"
            )
        return adapter.uri.removeprefix("file://")

    def models(self) -> dict[str, dict[str, Any]]:
        """The models the server serves now (base models and loaded adapters), by name."""
        response = self._request("GET", "models", "list the models of")
        if response.status_code != 200:
            said = f"{self.base_url}/models answered HTTP {response.status_code}: {_message(response)}"
            raise LoraServerError(_with_hint(said, response.status_code))
        try:
            cards = response.json()["data"]
            return {card["id"]: card for card in cards}
        except (ValueError, KeyError, TypeError):
            raise LoraServerError(f"{self.base_url}/models did not answer an OpenAI model list") from None

    def base_model(self) -> str:
        """The name of the first base model the server lists (an adapter's card names its ``parent``)."""
        models = self.models()
        for name, card in models.items():
            if not card.get("parent"):
                return name
        listed = ", ".join(models) or "nothing"
        raise ConfigError(f"{self.base_url} lists no base model (it lists {listed}): set FINETUNED_MODEL")

    def ensure_loaded(self, adapter: AdapterVersion) -> str:
        """Make sure the server serves ``adapter`` under its versioned name, and return that name.

        Raises ``LoraServerError`` (server down, HTTP error, a name taken by another adapter) with
        a message that says what to do; nothing is loaded under any other name."""
        name, path = self.name_for(adapter.version), self.path_for(adapter)
        listed = self.models().get(name)
        if listed is not None:
            root = listed.get("root")
            if root and _same_path(root, path):
                return name
            if root:
                raise LoraServerError(
                    f"{self.base_url} already serves {name} from {root}, not {path}: a name is never reloaded in "
                    f"place. Unload it (POST /v1/unload_lora_adapter) or set another FINETUNED_MODEL_PREFIX"
                )
            return name  # listed without its path: it cannot be checked, and it is loaded
        body = {"lora_name": name, "lora_path": path}
        response = self._request("POST", "load_lora_adapter", f"load {name} into", json=body)
        if response.status_code == 200:
            log.info("%s loaded %s from %s", self.base_url, name, path)
            return name
        message = _message(response)
        if response.status_code == 400 and "already" in message and "loaded" in message:
            return name  # loaded by another process between our look and our load
        raise LoraServerError(self._refusal(name, path, response.status_code, message))

    def close(self) -> None:
        self.http.close()

    def _request(self, method: str, path: str, doing: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise LoraServerError(
                f"could not {doing} the fine-tuned model server at {self.base_url}: {exc or type(exc).__name__} "
                "(is it running? FINETUNED_BASE_URL)"
            ) from None

    def _refusal(self, name: str, path: str, status: int, message: str) -> str:
        said = f"{self.base_url} did not load {name} from {path}: HTTP {status}: {message}"
        if status in (401, 403):
            return _with_hint(said, status)
        if status in (404, 405) and message in ("Not Found", "Method Not Allowed"):
            return (
                f"{said}. The server has no /v1/load_lora_adapter: start vLLM with --enable-lora and the "
                "environment variable VLLM_ALLOW_RUNTIME_LORA_UPDATING=True"
            )
        if status == 404:
            return f"{said}. Is the adapter at that path on the server? (FINETUNED_ADAPTER_ROOT, the shared volume)"
        return said


def _with_hint(said: str, status: int) -> str:
    return f"{said}. Check FINETUNED_API_KEY (vLLM's --api-key)" if status in (401, 403) else said


def _message(response: httpx.Response) -> str:
    """The error message in vLLM's ({"error": {"message"}}, older {"message"}) or FastAPI's ({"detail"}) shape."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):  # vLLM's --api-key check: {"error": "Unauthorized"}
            return error
        for key in ("message", "detail"):
            if body.get(key):
                return str(body[key])
    return str(body)[:500]


def _same_path(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def server_from_settings(settings: Settings) -> LoraServer | None:
    """The FINETUNED_BASE_URL server, or None when the fine-tuned side answers in-process."""
    if not settings.finetuned_base_url:
        return None
    key = settings.finetuned_api_key
    return LoraServer(
        settings.finetuned_base_url,
        api_key=key.get_secret_value() if key else None,
        prefix=settings.finetuned_model_prefix,
        adapter_root=settings.finetuned_adapter_root,
    )


def loader_from_settings(settings: Settings) -> Callable[[AdapterVersion], object] | None:
    """What promotion and rollback call before the switch: load the version on FINETUNED_BASE_URL."""
    server = server_from_settings(settings)
    return None if server is None else server.ensure_loaded
