"""What every command shares: the consoles, logging, settings, the store and friendly errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler

from supportbot.errors import SupportbotError
from supportbot.settings import Settings, load_settings
from supportbot.store import Store

console = Console()
errors = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(message)s", handlers=[RichHandler(console=errors, show_path=False)])
    # slack_sdk logs request details at DEBUG; keep it above that so tokens never reach logs.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLevelName(level)))
    for noisy in ("httpx", "httpcore", "openai", "urllib3", "sentence_transformers"):
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


def load_config() -> Settings:
    loaded = load_settings()
    setup_logging(loaded.log_level)
    return loaded


def open_store() -> tuple[Settings, Store]:
    from supportbot.redis_conn import connect

    loaded = load_config()
    return loaded, Store(connect(loaded), loaded.key_prefix)


def out_dir_option(default: str, help: str) -> Callable[[F], F]:
    """``--out DIR`` for commands that write report files."""
    return click.option(
        "--out", type=click.Path(path_type=Path, file_okay=False), default=Path(default), show_default=True, help=help
    )
