"""The connection itself: how one is opened (WAL, busy timeout, foreign keys), the
statements that begin, commit and roll back a transaction, and plain reads for the other
store modules. :class:`hwocr.workspace.Workspace` decides when; these say how."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

Params = Sequence | dict


class Database(Protocol):
    """What the store modules that run their own short transactions need of a
    workspace (:class:`hwocr.workspace.Workspace` is one): reads with SQLite's errors
    explained, a write transaction, and the audit trail — without importing it."""

    def query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]: ...

    def query_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None: ...

    def transaction(self, *, immediate: bool = True) -> AbstractContextManager[sqlite3.Connection]: ...

    def log_event(self, conn: sqlite3.Connection, kind: str, *, name_id: int | None = None,
                  actor: str | None = None, **detail) -> None: ...


def now() -> float:
    """The time rows are stamped with (seconds since the epoch)."""
    return time.time()


def connect(path: Path, *, timeout_s: float = 30.0) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit: :func:`begin`), rows
    as :class:`sqlite3.Row`, WAL journal, usable from the thread that owns it."""
    conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def begin(conn: sqlite3.Connection, *, immediate: bool = True) -> None:
    """Start a transaction; ``immediate`` takes the write lock now (waiting for it)."""
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def commit(conn: sqlite3.Connection) -> None:
    conn.execute("COMMIT")


def rollback(conn: sqlite3.Connection) -> None:
    conn.execute("ROLLBACK")


def fetch_all(conn: sqlite3.Connection, sql: str, params: Params = ()) -> list[sqlite3.Row]:
    """Rows of a statement written in a store module."""
    return conn.execute(sql, params).fetchall()


def fetch_one(conn: sqlite3.Connection, sql: str, params: Params = ()) -> sqlite3.Row | None:
    return conn.execute(sql, params).fetchone()


def integrity_check(conn: sqlite3.Connection) -> str:
    """SQLite's own check of the file: ``"ok"`` or what is wrong."""
    return conn.execute("PRAGMA integrity_check").fetchone()[0]


def marks(items: Sequence) -> str:
    """``?,?,…``: one placeholder per item, for ``IN (…)``."""
    return ",".join("?" for _ in items)
