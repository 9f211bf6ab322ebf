"""`supportbot import`, `export` and `dataset build`: the data in and out of the store."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
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
        summary = ", ".join(f"{n:,} {kind}s" for kind, n in counts.items() if n and kind != "adapter_registry")
        console.print(f"restored {summary or 'nothing'} from {file}")
        if counts["adapter_registry"]:
            from supportbot.adapters import AdapterRegistry

            active = AdapterRegistry(store.redis, store.keys).active()
            number = int(store.redis.get(store.keys.adapter_counter) or 0) + 1
            console.print(f"adapter {active.version if active else 'none'} active; the next training is v{number}")
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
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Write here (mode 0600) instead of stdout."
)
@click.option(
    "--redact",
    is_flag=True,
    help="Redact personal data and secrets in every free-text field (for sharing; not a full backup).",
)
@friendly_errors
def export(out: Path | None, redact: bool) -> None:
    """Dump every record (questions, answers, votes, corrections, reviews, seeds, the adapter registry) as JSONL."""
    import json

    from supportbot.backup import export_records
    from supportbot.redaction import Redactor

    settings, store = open_store()
    redactor = Redactor(phone_region=settings.phone_region) if redact else None
    records = export_records(store, redact=None if redactor is None else redactor.redact)
    lines = (json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n" for record in records)
    if out is None:
        for line in lines:
            sys.stdout.write(line)
    else:
        count = write_private(out, lines)
        errors.print(f"exported {count:,} records to {out} (mode 0600)")
    if redactor is not None:
        removed = ", ".join(f"{n:,} {kind}" for kind, n in sorted(redactor.counts.items())) or "nothing found"
        errors.print(f"redacted: {removed}")


def write_private(out: Path, lines: Iterable[str]) -> int:
    """Write ``lines`` to ``out`` readable by the owner only, atomically; the number of lines.

    The file is created 0600 (never chmod-ed after the data is in it), beside ``out`` under a
    temporary name, then renamed over ``out``."""
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.unlink(missing_ok=True)  # a leftover of a failed run: O_EXCL never writes through what is there
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            count = sum(1 for line in lines if handle.write(line))
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


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
        snapshot = build_snapshot(store, settings.datasets_dir, settings.eval_percent, settings.min_upvoters)
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
