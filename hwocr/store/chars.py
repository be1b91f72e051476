"""SQL of the ``chars`` rows: one per crop in the class folders (its label, file, source
name, position in the name and box). Writes take the caller's connection inside the
caller's transaction; a harvest batch is one ``executemany``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from hwocr.store.db import marks

_INSERT = ("INSERT INTO chars (name_id, idx, label, path, x0, y0, x1, y1, origin, created_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

#: A crop row as :func:`insert_many` takes it:
#: ``(name_id, idx, label, path, x0, y0, x1, y1, origin, created_at)``.
CropRow = tuple


# --- reads ------------------------------------------------------------------------------


def all_paths(conn: sqlite3.Connection) -> set[str]:
    """The workspace-relative path of every crop."""
    return {r["path"] for r in conn.execute("SELECT path FROM chars")}


def by_path(conn: sqlite3.Connection, path: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM chars WHERE path = ?", (path,)).fetchone()


def by_ids(conn: sqlite3.Connection, ids: Sequence[int]) -> list[sqlite3.Row]:
    """The crops of ``ids`` that exist, by id."""
    return conn.execute(f"SELECT * FROM chars WHERE id IN ({marks(ids)}) ORDER BY id", list(ids)).fetchall()


def of_names(conn: sqlite3.Connection, name_ids: Sequence[int]) -> list[sqlite3.Row]:
    """The crops cut from the names of ``name_ids``, by name and position."""
    return conn.execute(f"SELECT * FROM chars WHERE name_id IN ({marks(name_ids)}) ORDER BY name_id, idx",
                        list(name_ids)).fetchall()


def page(conn: sqlite3.Connection, label: str, *, limit: int, offset: int) -> list[sqlite3.Row]:
    """One page of the crops of class ``label``, oldest first."""
    return conn.execute("SELECT * FROM chars WHERE label = ? ORDER BY id LIMIT ? OFFSET ?",
                        (label, limit, offset)).fetchall()


def class_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many crops each label that has any holds."""
    return {row["label"]: row["n"] for row in conn.execute("SELECT label, COUNT(*) AS n FROM chars GROUP BY label")}


def for_export(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every crop with its name's ``unit_id`` (None for a crop added by hand), by label and id."""
    return conn.execute(
        "SELECT c.*, n.unit_id FROM chars c LEFT JOIN names n ON n.id = c.name_id ORDER BY c.label, c.id"
    ).fetchall()


# --- writes -----------------------------------------------------------------------------


def insert(conn: sqlite3.Connection, *, name_id: int | None, idx: int | None, label: str, path: str,
           box: Sequence[int] | None, origin: str, t: float) -> int:
    """One crop; ``box`` is ``(x0, y0, x1, y1)`` or None (a crop not cut from a name).
    Returns its id."""
    if box is None:
        cur = conn.execute(
            "INSERT INTO chars (name_id, idx, label, path, origin, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (name_id, idx, label, path, origin, t),
        )
    else:
        cur = conn.execute(_INSERT, (name_id, idx, label, path, *box, origin, t))
    return int(cur.lastrowid)


def insert_many(conn: sqlite3.Connection, rows: Iterable[CropRow]) -> None:
    """One ``executemany`` of :data:`CropRow` tuples."""
    conn.executemany(_INSERT, rows)


def remove_of_name(conn: sqlite3.Connection, name_id: int) -> list[str]:
    """Delete the crop rows of one name; returns their paths (the files to delete)."""
    old = conn.execute("SELECT path FROM chars WHERE name_id = ?", (name_id,)).fetchall()
    conn.execute("DELETE FROM chars WHERE name_id = ?", (name_id,))
    return [r["path"] for r in old]


def delete(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    conn.execute(f"DELETE FROM chars WHERE id IN ({marks(ids)})", list(ids))


def relabel(conn: sqlite3.Connection, char_id: int, label: str, path: str) -> None:
    """Move a crop to class ``label`` at ``path``; an automatic crop becomes a verified one."""
    conn.execute(
        "UPDATE chars SET label = ?, path = ?, "
        "origin = CASE WHEN origin = 'auto' THEN 'verified' ELSE origin END WHERE id = ?",
        (label, path, char_id),
    )
