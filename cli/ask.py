"""`supportbot ask`: both models answer one question in the terminal."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import click
from rich.panel import Panel
from rich.table import Table

from cli.common import console, friendly_errors, load_config
from supportbot.cost import format_cost

if TYPE_CHECKING:
    from supportbot.asking import AskService, Outcome


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
    outcomes: dict[str, Outcome] = {}
    with console.status("Both models are answering…"):
        ready = services.ask.start(asked).as_ready()
        if asked.blind:  # shown together, so the first to appear does not give a side away
            ready = iter(sorted(ready, key=lambda outcome: asked.order.index(outcome.variant)))
        for outcome in ready:  # each answer is shown the moment it is ready
            outcomes[outcome.variant] = outcome
            show(services.ask, outcome)
    table = Table("model", "tokens in", "tokens out", "latency", "cost", title="Side by side")
    for variant in asked.order:
        outcome = outcomes[variant]
        answer = outcome.answer
        if answer is None:
            table.add_row(outcome.label, "-", "-", "-", "-")
            continue
        table.add_row(
            f"{outcome.label}\n[dim]{answer.model}[/]",
            f"{answer.usage.prompt_tokens:,}",
            f"{answer.usage.completion_tokens:,}",
            f"{answer.latency_s:.2f} s",
            format_cost(answer.cost_usd),
        )
    console.print(table)


def show(ask: AskService, outcome: Outcome) -> None:
    """Store an answer and print it, or print why there is none."""
    if outcome.answer is None:
        console.print(Panel(f"[red]no answer:[/] {outcome.error}", title=outcome.label))
        return
    ask.record(outcome.answer)
    console.print(Panel(outcome.answer.text or "(empty answer)", title=outcome.label, title_align="left"))
