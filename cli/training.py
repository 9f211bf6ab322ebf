"""`supportbot train`, `worker`, `adapters` and `rollback`: the adapter's life."""

from __future__ import annotations

import time
from typing import Any

import click
from rich.table import Column, Table

from cli.common import console, friendly_errors, load_config, open_store
from cli.progress import reporting
from supportbot.accuracy import side_accuracy
from supportbot.cost import format_cost


@click.command()
@click.option("--force", is_flag=True, help="Train even with fewer than MIN_NEW_EXAMPLES new examples.")
@click.option("--max-steps", type=int, default=-1, show_default=True, help="Stop after N steps (-1: all epochs).")
@click.option("--enqueue", is_flag=True, help="Queue it for `supportbot worker` instead of training here.")
@friendly_errors
def train(force: bool, max_steps: int, enqueue: bool) -> None:
    """Retrain the adapter now: snapshot, train, evaluate at the gate, promote only if better."""
    settings, store = open_store()
    if enqueue:
        from supportbot.training_queue import enqueue_training, rq_connection

        job = enqueue_training(rq_connection(settings), trigger="cli", force=force)
        console.print(f"queued training job {job.id}; `supportbot worker` runs it")
        return
    from trainer.config import TrainConfig
    from trainer.pipeline import retrain

    config = TrainConfig.from_settings(settings, max_steps=max_steps)
    with reporting(console) as reporter:
        outcome = retrain(settings, store, trigger="cli", reporter=reporter, config=config, force=force)
    if outcome.version is not None:
        _print_version(outcome.version)


def _print_version(version: Any) -> None:
    report = version.report
    table = Table(
        "side",
        "accuracy (95% CI)",
        "lenient",
        "similarity",
        "tokens in/out",
        "s/answer",
        title=f"{version.version} (accuracy: strict; lenient: similarity ≥ the judge's threshold)",
    )
    for key in ("candidate", "live", "prompted"):
        side = report.get(key)
        if side:
            figures = side_accuracy(side)
            low, high = figures.ci95
            table.add_row(
                side["name"],
                f"{figures.headline:.1%} ({low:.0%}-{high:.0%})",
                _pct(figures.lenient),
                f"{side['mean_similarity']:.3f}",
                f"{side['prompt_tokens_per_answer']:.0f}/{side['completion_tokens_per_answer']:.0f}",
                f"{side['seconds_per_answer']:.2f}",
            )
    console.print(table)
    decision = report.get("decision") or {}
    if decision.get("reason"):
        console.print(f"gate: {decision['reason']}")
    metrics = version.metrics
    console.print(
        f"{version.version}: {version.status} · {metrics.get('backend')} on {version.device} "
        f"({metrics.get('dtype', '?')}) · "
        f"{metrics.get('steps')} steps · loss {metrics.get('train_loss', 0):.3f} · "
        f"{metrics.get('tokens_per_s')} tok/s · peak {metrics.get('peak_memory_mb')} MB · "
        f"{version.duration_s / 60:.1f} min · {format_cost(version.cost_usd)}"
    )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _paired(decision: dict[str, Any]) -> str:
    """The gate's paired test as one cell: discordant questions and the p-value against the
    confidence it needed; "–" for versions gated before the test existed."""
    test = decision.get("test")
    if not test:
        return "–"
    needed = f" (needs < {1 - decision['confidence']:.2g})" if "confidence" in decision else ""
    return f"McNemar b={test['b']} c={test['c']} p={test['p_value']:.3g}{needed}"


@click.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@friendly_errors
def worker(burst: bool) -> None:
    """Run training jobs from the Redis queue (a GPU machine runs only this)."""
    from cli.wiring import training_reporters
    from trainer.jobs import run_worker

    run_worker(burst=burst, reporters=training_reporters(load_config()))


@click.command()
@friendly_errors
def adapters() -> None:
    """List adapter versions: status, gate accuracy (strict, then lenient), the gate's paired test, the snapshot."""
    from supportbot.adapters import AdapterRegistry

    _, store = open_store()
    registry = AdapterRegistry(store.redis, store.keys)
    active = registry.active()
    table = Table(
        Column("version", no_wrap=True),
        "status",
        "accuracy",
        "lenient",
        "vs",
        "gate's paired test",
        "snapshot",
        "trigger",
        "created",
    )
    for version in registry.all():
        candidate = version.report.get("candidate")
        live = version.report.get("live")
        mine = side_accuracy(candidate) if candidate else None
        theirs = side_accuracy(live) if live else None
        marker = " (active)" if active and active.version == version.version else ""
        table.add_row(
            version.version + marker,
            version.status,
            _pct(mine.headline if mine else None),
            _pct(mine.lenient if mine else None),
            f"{live['name']} {_pct(theirs.headline if theirs else None)}" if live else "–",
            _paired(version.report.get("decision") or {}),
            version.snapshot,
            version.trigger,
            time.strftime("%Y-%m-%d %H:%M", time.localtime(version.created_at)),
        )
    console.print(table)


@click.command()
@click.argument("version")
@friendly_errors
def rollback(version: str) -> None:
    """Make VERSION (any earlier one) the active adapter; running bots switch without a restart.

    With FINETUNED_BASE_URL the server loads VERSION first, under its own name; if it cannot, nothing switches."""
    from supportbot.adapters import AdapterRegistry
    from supportbot.lora_server import loader_from_settings

    settings, store = open_store()
    AdapterRegistry(store.redis, store.keys, prepare=loader_from_settings(settings)).activate(version)
    console.print(f"{version} is now the active adapter")
