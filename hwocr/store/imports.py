"""SQL of the ``imports`` rows: one per CSV read into the workspace, with its counts."""

from __future__ import annotations

import sqlite3


def insert(conn: sqlite3.Connection, *, csv_name: str, layout: str, encoding: str | None, delimiter: str | None,
           images_root: str | None, t: float, rows: int, duplicates: int) -> int:
    """A new import; returns its id (``added`` and ``skipped`` come with :func:`set_counts`)."""
    cur = conn.execute(
        "INSERT INTO imports (csv_name, layout, encoding, delimiter, images_root, created_at, rows, duplicates) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (csv_name, layout, encoding, delimiter, images_root, t, rows, duplicates),
    )
    return int(cur.lastrowid)


def set_counts(conn: sqlite3.Connection, import_id: int, *, added: int, skipped: int) -> None:
    conn.execute("UPDATE imports SET added = ?, skipped = ? WHERE id = ?", (added, skipped, import_id))


def recent(conn: sqlite3.Connection, limit: int = 10) -> list[sqlite3.Row]:
    """The latest ``limit`` imports, newest first."""
    return conn.execute(
        "SELECT id, csv_name, created_at, rows, added, skipped, duplicates FROM imports "
        "ORDER BY created_at DESC, id DESC LIMIT ?", (limit,)).fetchall()
