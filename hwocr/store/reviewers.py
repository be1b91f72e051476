"""SQL of the ``reviewers`` table: people with a lasting name and when each was last seen
(which keeps their claims on names alive)."""

from __future__ import annotations

import sqlite3


def touch(conn: sqlite3.Connection, reviewer: str, t: float) -> None:
    """``reviewer`` is here at ``t`` (created on first sight)."""
    conn.execute(
        "INSERT INTO reviewers (name, created_at, last_seen) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET last_seen = excluded.last_seen",
        (reviewer, t, t),
    )


def last_seen(conn: sqlite3.Connection, reviewer: str) -> float | None:
    row = conn.execute("SELECT last_seen FROM reviewers WHERE name = ?", (reviewer,)).fetchone()
    return None if row is None else row["last_seen"]
