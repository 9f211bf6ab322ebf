"""The ``supportbot`` command line.

This is the composition root: the only core module that may import ``bot`` (and later
``trainer``), and only inside the commands that need them.

    supportbot models prepare
    supportbot ask "How do I cancel my order?"
    supportbot serve --http --port 3000
    supportbot import ../shared/data/bitext_customer_support/qa_dev.jsonl
    supportbot dataset build
    supportbot export --out backup.jsonl && supportbot import --restore backup.jsonl
"""

from __future__ import annotations

import getpass
import logging
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.panel import Panel
from rich.table import Table

from supportbot.cost import format_cost
from supportbot.errors import InvalidImport, SupportbotError
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


def _store() -> tuple[Settings, Store]:
    from supportbot.redis_conn import connect

    settings = _settings()
    return settings, Store(connect(settings), settings.key_prefix)


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--question-field", default="question", show_default=True, help="Column holding the question.")
@click.option("--answer-field", default="answer", show_default=True, help="Column holding the answer.")
@click.option("--label-field", default="intent", show_default=True, help="Optional column with a label.")
@click.option("--id-field", default="id", show_default=True, help="Optional column with a stable row id.")
@click.option("--restore", is_flag=True, help="FILE is a `supportbot export`: rebuild an empty store from it.")
@friendly_errors
def import_(  # noqa: PLR0917 - one parameter per click option
    file: Path, question_field: str, answer_field: str, label_field: str, id_field: str, restore: bool
) -> None:
    """Import seed Q/A data from CSV or JSONL (or restore a backup with --restore).

    Bad rows are reported with their line numbers and skipped; the good rows are stored in one
    transaction, so an import is never left half done. Importing the same rows again adds nothing.
    """
    from rich.progress import track

    settings, store = _store()
    if restore:
        from supportbot import backup

        if not file.exists():
            raise InvalidImport(f"{file} does not exist")
        lines = file.read_text(encoding="utf-8").splitlines()
        counts = backup.restore(store, track(lines, description="Restoring", console=errors))
        summary = ", ".join(f"{n:,} {kind}s" for kind, n in counts.items() if n)
        console.print(f"restored {summary or 'nothing'} from {file}")
        return
    from trainer.importer import Mapping, parse

    mapping = Mapping(question_field, answer_field, label_field or None, id_field or None)
    with console.status(f"Reading {file}…"):
        result = parse(file, mapping, settings.max_question_chars)
    for line, message in result.errors:
        errors.print(f"[yellow]skipped[/] {file}:{line}: {message}", highlight=False, soft_wrap=True)
    started = time.perf_counter()
    batch = list(track(result.seeds, description="Importing", console=errors, transient=True))
    added = store.seeds.add_all(batch)
    seconds = time.perf_counter() - started
    console.print(
        f"imported {added:,} new examples from {file} ({len(result.seeds) - added:,} already there, "
        f"{len(result.errors):,} bad rows skipped) in {seconds:.2f} s"
    )


@main.command()
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write here instead of stdout.")
@friendly_errors
def export(out: Path | None) -> None:
    """Dump every record (questions, answers, votes, corrections, reviews, seeds) as JSONL."""
    import json

    from supportbot.backup import export_records

    _, store = _store()
    lines = (json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n" for record in export_records(store))
    if out is None:
        for line in lines:
            sys.stdout.write(line)
        return
    tmp = out.with_name(f".{out.name}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        count = sum(1 for line in lines if handle.write(line))
    tmp.replace(out)
    errors.print(f"exported {count:,} records to {out}")


@main.group()
def dataset() -> None:
    """Curated, versioned training data."""


@dataset.command("build")
@friendly_errors
def dataset_build() -> None:
    """Write an immutable snapshot (chat-format JSONL named by its content hash) and its stats."""
    from trainer.dataset import build_snapshot

    settings, store = _store()
    started = time.perf_counter()
    with console.status("Building the dataset snapshot…"):
        snapshot = build_snapshot(store, settings.datasets_dir, settings.eval_percent)
    seconds = time.perf_counter() - started
    stats = snapshot.stats
    state = "written" if snapshot.created else "unchanged (already built)"
    console.print(f"snapshot [bold]{snapshot.name}[/] {state}: {snapshot.path}")
    table = Table("", "count", title=f"{stats['examples']:,} examples in {seconds:.2f} s")
    for group in ("by_split", "by_source", "redactions"):
        for key, value in stats[group].items():
            table.add_row(f"{group.removeprefix('by_')}: {key}", f"{value:,}")
    table.add_row("merged near-duplicates", f"{stats['merged_duplicates']:,}")
    table.add_row("labels", f"{len(stats['by_label']):,}")
    console.print(table)


@main.command()
@click.option("--force", is_flag=True, help="Train even with fewer than MIN_NEW_EXAMPLES new examples.")
@click.option("--max-steps", type=int, default=-1, show_default=True, help="Stop after N steps (-1: all epochs).")
@click.option("--enqueue", is_flag=True, help="Queue it for `supportbot worker` instead of training here.")
@friendly_errors
def train(force: bool, max_steps: int, enqueue: bool) -> None:
    """Retrain the adapter now: snapshot, train, evaluate at the gate, promote only if better."""
    settings, store = _store()
    if enqueue:
        from supportbot.training_queue import enqueue_training, rq_connection

        job = enqueue_training(rq_connection(settings), trigger="cli", force=force)
        console.print(f"queued training job {job.id}; `supportbot worker` runs it")
        return
    from trainer.config import TrainConfig
    from trainer.pipeline import retrain
    from trainer.progress import console_progress

    config = TrainConfig(epochs=settings.train_epochs, max_steps=max_steps)
    with console_progress(console) as reporter:
        outcome = retrain(settings, store, trigger="cli", reporter=reporter, config=config, force=force)
    if outcome.version is not None:
        _print_version(outcome.version)


def _print_version(version: Any) -> None:
    report = version.report
    table = Table(
        "side", "accuracy (95% CI)", "strict", "similarity", "tokens in/out", "s/answer", title=version.version
    )
    for key in ("candidate", "live", "prompted"):
        side = report.get(key)
        if side:
            low, high = side["ci95"]
            table.add_row(
                side["name"],
                f"{side['accuracy']:.1%} ({low:.0%}-{high:.0%})",
                f"{side['strict_accuracy']:.1%}",
                f"{side['mean_similarity']:.3f}",
                f"{side['prompt_tokens_per_answer']:.0f}/{side['completion_tokens_per_answer']:.0f}",
                f"{side['seconds_per_answer']:.2f}",
            )
    console.print(table)
    metrics = version.metrics
    console.print(
        f"{version.version}: {version.status} · {metrics.get('backend')} on {version.device} · "
        f"{metrics.get('steps')} steps · loss {metrics.get('train_loss', 0):.3f} · "
        f"{metrics.get('tokens_per_s')} tok/s · peak {metrics.get('peak_memory_mb')} MB · "
        f"{version.duration_s / 60:.1f} min · {format_cost(version.cost_usd)}"
    )


@main.command("eval")
@click.option("--eval-file", type=click.Path(path_type=Path, dir_okay=False), help="JSONL with question and answer.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Questions to ask (default: EVAL_LIMIT).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("eval-report"), show_default=True)
@click.option(
    "--judge",
    type=click.Choice(["embedding", "llm"]),
    default=None,
    help="embedding: offline MiniLM (default, JUDGE); llm: an OpenAI-compatible model, order swapped.",
)
@friendly_errors
def eval_(eval_file: Path | None, limit: int | None, out: Path, judge: str | None) -> None:
    """Both models answer an eval set; writes eval.json, eval.md and eval.png, prints a verdict."""
    from trainer.eval_report import run_eval, write_report

    settings, store = _store()
    if judge is not None:
        settings = settings.model_copy(update={"judge": judge})
    with console.status("Both models are answering the eval questions…"):
        report = run_eval(settings, store, eval_file, limit or settings.eval_limit)
    paths = write_report(report, out)
    console.print(f"[bold]{report['verdict']}[/]")
    console.print("wrote " + ", ".join(str(p) for p in paths))


@main.command()
@click.option("--dry-run", is_flag=True, help="Write the digest to files instead of posting it to Slack.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("digest"),
    show_default=True,
    help="Where --dry-run writes digest.md, digest.png and digest.json.",
)
@friendly_errors
def digest(dry_run: bool, out: Path) -> None:
    """The weekly digest now: post it to DIGEST_CHANNEL, or --dry-run to files."""
    from supportbot.digest import build_digest, write_files

    settings, store = _store()
    report = build_digest(store, settings)
    if dry_run:
        paths = write_files(report, out)
        console.print(f"[bold]{report.recommendation}[/]")
        console.print("wrote " + ", ".join(str(p) for p in paths))
        return
    from bot.digest import post_from_settings

    channel = post_from_settings(settings, report)
    console.print(f"posted the digest to {channel}: {report.recommendation}")


@main.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-report"),
    show_default=True,
    help="Where the eval report and the digest are written.",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Your own question/answer CSV or JSONL instead of the bundled Bitext sample.",
)
@click.option("--quick", is_flag=True, help="A small run (32 examples, 4 steps, 8 questions) in a few minutes.")
@friendly_errors
def demo(out: Path, data: Path | None, quick: bool) -> None:
    """The whole loop offline: import past answers, train the first adapter, both models answer
    held-out questions, the judge's verdicts become votes, then the eval report and the digest."""
    from trainer.demo import run_demo

    summary = run_demo(_settings(), out, data, quick, console)
    table = Table("model", "accuracy (95% CI)", "cost per 1,000 answers", title="Held-out questions")
    for side in summary["eval"].values():
        low, high = side["ci95"]
        table.add_row(
            side["name"], f"{side['accuracy']:.0%} ({low:.0%}–{high:.0%})", format_cost(side["cost_per_1000"])
        )
    console.print(table)
    console.print(f"[bold]{summary['recommendation']}[/]")
    for path in summary["files"]:
        console.print(f"  {path}")


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@friendly_errors
def worker(burst: bool) -> None:
    """Run training jobs from the Redis queue (a GPU machine runs only this)."""
    from trainer.jobs import run_worker

    _settings()
    run_worker(burst=burst)


@main.command()
@friendly_errors
def adapters() -> None:
    """List adapter versions: status, gate accuracy, the snapshot they were trained on."""
    from supportbot.adapters import AdapterRegistry

    _, store = _store()
    registry = AdapterRegistry(store.redis, store.keys)
    active = registry.active()
    table = Table("version", "status", "accuracy", "vs", "snapshot", "trigger", "created")
    for version in registry.all():
        candidate = version.report.get("candidate", {})
        live = version.report.get("live", {})
        marker = " (active)" if active and active.version == version.version else ""
        table.add_row(
            version.version + marker,
            version.status,
            f"{candidate.get('accuracy', 0):.1%}",
            f"{live.get('name', '')} {live.get('accuracy', 0):.1%}",
            version.snapshot,
            version.trigger,
            time.strftime("%Y-%m-%d %H:%M", time.localtime(version.created_at)),
        )
    console.print(table)


@main.command()
@click.argument("version")
@friendly_errors
def rollback(version: str) -> None:
    """Make VERSION (any earlier one) the active adapter; running bots switch without a restart."""
    from supportbot.adapters import AdapterRegistry

    _, store = _store()
    AdapterRegistry(store.redis, store.keys).activate(version)
    console.print(f"{version} is now the active adapter")


@main.command()
@click.option("--http", is_flag=True, help="Serve Slack's HTTP requests instead of Socket Mode.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface for --http.")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535), help="Port for --http.")
@friendly_errors
def serve(http: bool, host: str, port: int) -> None:
    """Run the Slack bot (Socket Mode when SLACK_APP_TOKEN is set, else use --http)."""
    from bot.serve import serve as run

    run(_settings(), http=http, host=host, port=port)
