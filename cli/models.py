"""`supportbot models`: the local base model."""

from __future__ import annotations

import click

from cli.common import console, errors, friendly_errors, load_config
from cli.progress import working


@click.group()
def models() -> None:
    """Manage the local base model."""


@models.command("prepare")
@friendly_errors
def models_prepare() -> None:
    """Convert the bundled SmolLM2 GGUF to safetensors once (BASE_MODEL needs nothing)."""
    from supportbot.base_model import resolve_base_model

    settings = load_config()
    with working(errors, "Preparing the base model…"):
        path = resolve_base_model(settings, show_progress=errors.is_terminal)
    console.print(f"base model ready: {path}")
