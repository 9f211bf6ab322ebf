"""`supportbot import`, `export` and `dataset build`: the data in and out of the store."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.table import Table

from cli.common import console, errors, friendly_errors, open_store
from cli.progress import working
from supportbot.errors import InvalidImport


@click.command("import")
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

    settings, store = open_store()
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
    with working(errors, f"Reading {file}…"):
        result = parse(file, mapping, settings.max_question_chars)
    for line, message in result.errors:
        errors.print(f"[yellow]skipped[/] {file}:{line}: {message}", highlight=False, soft_wrap=True)
    started = time.perf_counter()
    with working(errors, f"Storing {len(result.seeds):,} examples…"):
        added = store.seeds.add_all(result.seeds)
    seconds = time.perf_counter() - started
    console.print(
        f"imported {added:,} new examples from {file} ({len(result.seeds) - added:,} already there, "
        f"{len(result.errors):,} bad rows skipped) in {seconds:.2f} s"
    )


@click.command()
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write here instead of stdout.")
@friendly_errors
def export(out: Path | None) -> None:
    """Dump every record (questions, answers, votes, corrections, reviews, seeds) as JSONL."""
    import json

    from supportbot.backup import export_records

    _, store = open_store()
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


@click.group()
def dataset() -> None:
    """Curated, versioned training data."""


@dataset.command("build")
@friendly_errors
def dataset_build() -> None:
    """Write an immutable snapshot (chat-format JSONL named by its content hash) and its stats."""
    from trainer.dataset import build_snapshot

    settings, store = open_store()
    started = time.perf_counter()
    with working(errors, "Building the dataset snapshot…"):
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
