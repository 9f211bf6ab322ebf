"""A durable local spool for acked writes that could not reach Redis, replayed when it is back.

SQLite from the standard library, in WAL mode with ``synchronous=FULL``: once :meth:`Spool.append`
returns, the entry survives a crash of the process or the machine. Entries are replayed in the
order they were written and each is deleted once applied. Handlers are idempotent (a vote sets a
value, a record is written under its own id, a question is queued once per id), so a replay cut
short by a crash or by Redis failing again is simply run again.

Several processes may share one spool file (replicas with one data directory): appends never
block each other for long, and a file lock lets one replayer at a time drain it, in order.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
)
"""


@dataclass(frozen=True)
class Entry:
    seq: int
    id: str
    kind: str
    payload: dict[str, Any]
    created_at: float


class Spool:
    """An append-only, crash-safe queue of writes, in one SQLite file (mode 0600)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.touch(mode=0o600)
        self.path = path
        self._local = threading.local()
        with self._db() as db:
            db.execute(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            self._local.db = db
        return db

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def append(self, kind: str, payload: dict[str, Any], entry_id: str | None = None) -> str:
        """Store one write durably; returns its id. The same id twice is stored once."""
        entry_id = entry_id or uuid.uuid4().hex
        with self._db() as db:
            db.execute(
                "INSERT OR IGNORE INTO entries (id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
                (entry_id, kind, json.dumps(payload, sort_keys=True), time.time()),
            )
        return entry_id

    def entries(self, limit: int = 100) -> list[Entry]:
        """The oldest ``limit`` entries, in the order they were written."""
        rows = (
            self._connection()
            .execute("SELECT seq, id, kind, payload, created_at FROM entries ORDER BY seq LIMIT ?", (limit,))
            .fetchall()
        )
        return [Entry(seq, id_, kind, json.loads(payload), at) for seq, id_, kind, payload, at in rows]

    def remove(self, seq: int) -> None:
        with self._db() as db:
            db.execute("DELETE FROM entries WHERE seq = ?", (seq,))

    def failed(self, seq: int) -> int:
        """Count one failed attempt at an entry; returns the attempts so far."""
        with self._db() as db:
            db.execute("UPDATE entries SET attempts = attempts + 1 WHERE seq = ?", (seq,))
            row = db.execute("SELECT attempts FROM entries WHERE seq = ?", (seq,)).fetchone()
        return int(row[0]) if row else 0

    def __len__(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    @contextmanager
    def replaying(self) -> Iterator[bool]:
        """Hold the replay lock if no other process does; yields whether it is held."""
        with self.path.with_suffix(".lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


Handler = Callable[[dict[str, Any]], object]


def drain(spool: Spool, handlers: dict[str, Handler], unavailable: tuple[type[BaseException], ...]) -> int:
    """Apply spooled entries in order until the spool is empty or the store fails again.

    Returns how many entries were applied. An entry whose handler fails for another reason is
    logged and put aside after a few attempts (moved to the dead-letter log), so one bad entry
    never blocks the rest.
    """
    applied = 0
    with spool.replaying() as mine:
        if not mine:
            return 0
        while batch := spool.entries():
            for entry in batch:
                handler = handlers.get(entry.kind)
                try:
                    if handler is None:
                        raise ValueError(f"no handler for spooled {entry.kind!r}")
                    handler(entry.payload)
                except unavailable:
                    return applied
                except Exception:
                    attempts = spool.failed(entry.seq)
                    log.exception("replaying spooled %s %s failed (attempt %d)", entry.kind, entry.id, attempts)
                    if attempts < 3:
                        return applied
                    _dead_letter(spool, entry)
                spool.remove(entry.seq)
                applied += 1
    return applied


def _dead_letter(spool: Spool, entry: Entry) -> None:
    path = spool.path.with_name(spool.path.stem + ".failed.jsonl")
    record = {"id": entry.id, "kind": entry.kind, "payload": entry.payload, "created_at": entry.created_at}
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
    log.error("spooled %s %s set aside in %s after 3 failed replays", entry.kind, entry.id, path)
