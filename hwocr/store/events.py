"""SQL of the audit trail: the ``events`` rows (one per import, fetch, segmentation,
harvest, review action, crop edit, job and model change)."""

from __future__ import annotations

import sqlite3


def insert(conn: sqlite3.Connection, *, ts: float, kind: str, name_id: int | None, actor: str | None,
           detail: str | None) -> None:
    """One event, inside the caller's transaction; ``detail`` is JSON text or None."""
    conn.execute(
        "INSERT INTO events (ts, kind, name_id, actor, detail) VALUES (?, ?, ?, ?, ?)",
        (ts, kind, name_id, actor, detail),
    )


def recent(conn: sqlite3.Connection, *, name_id: int | None, limit: int) -> list[sqlite3.Row]:
    """The latest events (of one name, when given), newest first."""
    if name_id is None:
        return conn.execute("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return conn.execute("SELECT * FROM events WHERE name_id = ? ORDER BY id DESC LIMIT ?",
                        (name_id, limit)).fetchall()


def reviewer_done(conn: sqlite3.Connection, reviewer: str, since: float) -> int:
    """Accepts and rejects by ``reviewer`` since ``since``, less their undos (may be < 0)."""
    row = conn.execute(
        "SELECT COALESCE(SUM(CASE kind WHEN 'undo' THEN -1 ELSE 1 END), 0) FROM events "
        "WHERE actor = ? AND kind IN ('accept', 'reject', 'undo') AND ts >= ?",
        (reviewer, since),
    ).fetchone()
    return int(row[0])


def review_decisions(conn: sqlite3.Connection, reviewer: str, *, limit: int = 50) -> list[sqlite3.Row]:
    """``reviewer``'s latest accepts, rejects and undos, newest first."""
    return conn.execute(
        "SELECT * FROM events WHERE actor = ? AND kind IN ('accept', 'reject', 'undo') ORDER BY id DESC LIMIT ?",
        (reviewer, limit),
    ).fetchall()
