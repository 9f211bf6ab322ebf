"""The fine-tuned side on an inference server (FINETUNED_BASE_URL): vLLM serving LoRA adapters by name.

The responder asks for the active version's name (``supportbot-v8``) and, before any adapter is
active, for the base model. ``switch`` loads a version on the server first and only then changes
the name asked for, so no question ever names an adapter the server has not loaded. A server that
restarted forgets adapters loaded at run time: a 404 for the name loads it again and asks once more.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import openai

from supportbot.cost import compute_cost
from supportbot.errors import ConfigError, ResponderError, ResponderTimeout, SupportbotError
from supportbot.lora_server import LoraServer, LoraServerError, server_from_settings
from supportbot.prompts import short_messages
from supportbot.records import AdapterVersion, Answer, Usage, Variant
from supportbot.settings import Settings

if TYPE_CHECKING:
    from supportbot.adapters import AdapterRegistry

log = logging.getLogger(__name__)


class ServedResponder:
    variant: Variant = "finetuned"

    def __init__(
        self,
        server: LoraServer,
        base_model: str | None,
        *,
        api_key: str | None,
        max_new_tokens: int,
        timeout_s: float,
        max_retries: int = 2,
        hourly_rate_usd: float | None = None,
    ) -> None:
        # vLLM accepts any key unless started with --api-key; the SDK insists on one.
        self.client = openai.OpenAI(
            base_url=server.base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=max_retries
        )
        self.server = server
        self.max_new_tokens = max_new_tokens
        self.hourly_rate_usd = hourly_rate_usd
        self._base_model = base_model  # None: asked of the server when first needed
        self._serving: tuple[str | None, AdapterVersion | None] = (None, None)  # swapped whole: no torn reads
        self._switching = threading.Lock()

    @property
    def model(self) -> str:
        """The model name asked for now: the active version's, or the base model's before any."""
        name = self._serving[0]
        return name if name is not None else self.base_model()

    def base_model(self) -> str:
        if self._base_model is None:
            try:
                self._base_model = self.server.base_model()
            except SupportbotError as exc:
                raise ResponderError(f"the fine-tuned side has no model to ask for: {exc}") from None
        return self._base_model

    @property
    def adapter_version(self) -> str | None:
        adapter = self._serving[1]
        return adapter.version if adapter is not None else None

    @property
    def label(self) -> str:
        version = self.adapter_version
        return f"Fine-tuned {version}" if version else "Fine-tuned (base model, no adapter yet)"

    def switch(self, adapter: AdapterVersion) -> None:
        """Load ``adapter`` on the server (idempotent), then ask for it. Raises LoraServerError, and
        keeps asking for the version before, when the server does not load it."""
        with self._switching:
            name = self.server.ensure_loaded(adapter)
            self._serving = (name, adapter)
        log.info("the fine-tuned side now asks %s for %s", self.server.base_url, name)

    def answer(self, question: str) -> Answer:
        name, adapter = self._serving
        name = name if name is not None else self.base_model()
        started = time.perf_counter()
        try:
            response = self._complete(name, question)
        except openai.NotFoundError:
            if adapter is None:
                raise ResponderError(f"the fine-tuned model server has no model {name!r} (FINETUNED_MODEL)") from None
            log.warning("%s does not know %s (restarted?): loading it again", self.server.base_url, name)
            try:
                self.server.ensure_loaded(adapter)
            except LoraServerError as exc:
                raise ResponderError(f"the fine-tuned model {name} is not loaded and cannot be: {exc}") from None
            response = self._complete(name, question)
        latency = time.perf_counter() - started
        if not response.choices:
            raise ResponderError(f"the fine-tuned model ({name}) returned no answer")
        usage = Usage(
            getattr(response.usage, "prompt_tokens", 0) or 0,
            getattr(response.usage, "completion_tokens", 0) or 0,
        )
        cost = None if self.hourly_rate_usd is None else compute_cost(latency, self.hourly_rate_usd)
        return Answer(
            variant="finetuned",
            text=(response.choices[0].message.content or "").strip(),
            model=name,
            adapter_version=adapter.version if adapter is not None else None,
            usage=usage,
            latency_s=latency,
            cost_usd=cost,
        )

    def _complete(self, name: str, question: str) -> Any:
        """One chat completion; every failure but a 404 (handled by the caller) becomes a ResponderError."""
        try:
            return self.client.chat.completions.create(
                model=name,
                messages=short_messages(question),  # type: ignore[arg-type]
                max_tokens=self.max_new_tokens,
                temperature=0,
            )
        except openai.NotFoundError:
            raise
        except openai.APITimeoutError:
            raise ResponderTimeout(f"the fine-tuned model ({name}) timed out") from None
        except openai.APIStatusError as exc:
            raise ResponderError(
                f"the fine-tuned model ({name}) answered HTTP {exc.status_code}: {exc.message}"
            ) from None
        except openai.APIError as exc:
            raise ResponderError(f"the fine-tuned model ({name}) failed: {exc.message}") from None


def build_served(settings: Settings, adapters: AdapterRegistry | None) -> ServedResponder:
    """The fine-tuned side on FINETUNED_BASE_URL, asking for the active version (loaded there first).

    A server that is down or refuses the load does not stop the bot: the side asks for the base
    model (labelled so) and the adapter watcher retries the switch until it succeeds."""
    if settings.finetuned_adapter is not None:
        raise ConfigError(
            "FINETUNED_ADAPTER pins an adapter in this process, but FINETUNED_BASE_URL serves the fine-tuned "
            "side from a server that loads the registry's versions: unset one of them"
        )
    server = server_from_settings(settings)
    assert server is not None
    key = settings.finetuned_api_key
    responder = ServedResponder(
        server,
        settings.finetuned_model,
        api_key=key.get_secret_value() if key else None,
        max_new_tokens=settings.max_new_tokens,
        timeout_s=settings.responder_timeout_s,
        hourly_rate_usd=settings.finetuned_hourly_rate_usd,
    )
    active = adapters.active() if adapters is not None else None
    if active is not None:
        try:
            responder.switch(active)
        except LoraServerError as exc:
            log.warning("the fine-tuned side asks for the base model until %s is loaded: %s", active.version, exc)
    return responder
