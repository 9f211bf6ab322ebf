"""`supportbot ask`: both models answer one question in the terminal."""

from __future__ import annotations

import getpass

import click
from rich.panel import Panel
from rich.table import Table

from cli.common import console, friendly_errors, load_config
from supportbot.cost import format_cost


@click.command()
@click.argument("question")
@friendly_errors
def ask(question: str) -> None:
    """Ask both models QUESTION and print their answers with tokens, latency and cost."""
    from supportbot.services import build_services

    services = build_services(load_config())
    if services.local_model is not None:
        model = services.local_model
        console.print(f"[dim]local model on {model.hardware.describe(model.dtype)}[/]", highlight=False)
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
