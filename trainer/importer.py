"""Parse seed data (CSV or JSONL) into SeedExamples, with column mapping and per-line errors.

Parsing never writes: the caller stores the good rows in one transaction, so a failed import
leaves nothing behind. Bad rows are reported with their line numbers and skipped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supportbot.corrections import MAX_CORRECTION_CHARS
from supportbot.errors import InvalidImport
from supportbot.records import SeedExample


@dataclass(frozen=True)
class Mapping:
    question: str = "question"
    answer: str = "answer"
    label: str | None = "intent"
    id: str | None = "id"


@dataclass
class ParseResult:
    seeds: list[SeedExample] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)
    rows: int = 0


def detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def _rows(text: str, fmt: str) -> Iterator[tuple[int, Any]]:
    """(line number, row or an Exception) for every record."""
    if fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, ValueError(f"not valid JSON ({exc.msg})")
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    start = 2  # the header is line 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as exc:
        yield reader.line_num, ValueError(f"not valid CSV ({exc})")


def _field(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if value is None:
        raise ValueError(f'missing "{name}"')
    if not isinstance(value, str | int | float):
        raise ValueError(f'"{name}" must be text')
    return str(value).strip()


def parse(path: Path, mapping: Mapping, max_question_chars: int, source: str | None = None) -> ParseResult:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidImport(f"{path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise InvalidImport(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    fmt = detect_format(path, text)
    source = source or f"import:{path.name}"
    result = ParseResult()
    seen: set[str] = set()
    for number, row in _rows(text, fmt):
        result.rows += 1
        try:
            if isinstance(row, Exception):
                raise row
            if not isinstance(row, dict):
                raise ValueError("each line must be a JSON object")
            question, answer = _field(row, mapping.question), _field(row, mapping.answer)
            if not question:
                raise ValueError(f'"{mapping.question}" is empty')
            if not answer:
                raise ValueError(f'"{mapping.answer}" is empty')
            if len(question) > max_question_chars:
                raise ValueError(f"question longer than {max_question_chars:,} characters")
            if len(answer) > MAX_CORRECTION_CHARS:
                raise ValueError(f"answer longer than {MAX_CORRECTION_CHARS:,} characters")
            label = _field(row, mapping.label) or None if mapping.label and mapping.label in row else None
            given_id = _field(row, mapping.id) if mapping.id and row.get(mapping.id) else ""
            digest = hashlib.sha256(f"{question}\x1f{answer}".encode()).hexdigest()[:20]
            seed_id = given_id or digest
            if seed_id in seen:
                raise ValueError(f'duplicate id "{seed_id}" in this file')
            seen.add(seed_id)
            result.seeds.append(SeedExample(seed_id, question, answer, source, label))
        except ValueError as exc:
            result.errors.append((number, str(exc)))
    if result.rows and not result.seeds and result.errors:
        first = result.errors[0]
        raise InvalidImport(
            f"no usable rows in {path} (line {first[0]}: {first[1]}); check --question-field / --answer-field"
        )
    return result
