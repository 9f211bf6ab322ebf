"""The ``supportbot`` command line.

This is the composition root: the only core module that may import ``bot`` (and later
``trainer``), and only inside the commands that need them.

    supportbot models prepare
    supportbot ask "How do I cancel my order?"
    supportbot serve --http --port 3000
"""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.panel import Panel
from rich.table import Table

from supportbot.cost import format_cost
from supportbot.errors import SupportbotError
from supportbot.settings import Settings, load_settings

console = Console()
errors = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(message)s", handlers=[RichHandler(console=errors, show_path=False)]
    )
    # slack_sdk logs request details at DEBUG; keep it above that so tokens never reach logs.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLevelName(level)))
    for noisy in ("httpx", "httpcore", "openai", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def friendly_errors(func: F) -> F:
    """Expected failures end as one ``error:`` line and exit status 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SupportbotError as exc:
            errors.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _settings() -> Settings:
    settings = load_settings()
    setup_logging(settings.log_level)
    return settings


@click.group()
@click.version_option(package_name="supportbot")
def main() -> None:
    """Two models answer your support questions side by side; the numbers decide."""


@main.group()
def models() -> None:
    """Manage the local base model."""


@models.command("prepare")
@friendly_errors
def models_prepare() -> None:
    """Convert the bundled SmolLM2 GGUF to safetensors once (BASE_MODEL needs nothing)."""
    from supportbot.base_model import resolve_base_model

    path = resolve_base_model(_settings(), show_progress=True)
    console.print(f"base model ready: {path}")


@main.command()
@click.argument("question")
@friendly_errors
def ask(question: str) -> None:
    """Ask both models QUESTION and print their answers with tokens, latency and cost."""
    from supportbot.services import build_services

    services = build_services(_settings())
    asked = services.ask.new_question(question, user=getpass.getuser(), channel="cli", source="cli")
    with console.status("Both models are answering…"):
        outcomes = services.ask.answer(asked)
    table = Table("model", "tokens in", "tokens out", "latency", "cost", title="Side by side")
    for outcome in outcomes:
        if outcome.answer is None:
            console.print(Panel(f"[red]no answer:[/] {outcome.error}", title=outcome.label))
            table.add_row(outcome.label, "-", "-", "-", "-")
            continue
        answer = outcome.answer
        services.ask.record(answer)
        console.print(Panel(answer.text or "(empty answer)", title=outcome.label, title_align="left"))
        table.add_row(
            f"{outcome.label}\n[dim]{answer.model}[/]",
            f"{answer.usage.prompt_tokens:,}",
            f"{answer.usage.completion_tokens:,}",
            f"{answer.latency_s:.2f} s",
            format_cost(answer.cost_usd),
        )
    console.print(table)


@main.command()
@click.option("--http", is_flag=True, help="Serve Slack's HTTP requests instead of Socket Mode.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface for --http.")
@click.option(
    "--port", default=3000, show_default=True, type=click.IntRange(1, 65535), help="Port for --http."
)
@friendly_errors
def serve(http: bool, host: str, port: int) -> None:
    """Run the Slack bot (Socket Mode when SLACK_APP_TOKEN is set, else use --http)."""
    from bot.serve import serve as run

    run(_settings(), http=http, host=host, port=port)
