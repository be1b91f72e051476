"""SQL of the demo data: the names of the demo's own import (``imports`` rows recorded
under its CSV name, or before that name existed as ``names.csv`` read from the demo
folder) whose unit_ids start with its prefix — the one definition of "demo data"; a real
CSV whose ids happen to start with the prefix is real data."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoImport:
    """How the demo's import is recognised: its ``csv_name``, the demo folder's path (the
    images root of an older demo import) and the unit_id prefix of its names."""
    csv_name: str
    folder: str
    unit_prefix: str

    def imports_sql(self) -> tuple[str, list]:
        return ("SELECT id FROM imports WHERE csv_name = ? OR (csv_name = 'names.csv' AND images_root = ?)",
                [self.csv_name, self.folder])

    def names_sql(self) -> tuple[str, list]:
        """A query for the ids of the demo's names, and its parameters."""
        imports, params = self.imports_sql()
        like = self.unit_prefix.replace("_", "\\_") + "%"  # '_' is a LIKE wildcard
        return f"SELECT id FROM names WHERE unit_id LIKE ? ESCAPE '\\' AND import_id IN ({imports})", [like, *params]


def counts(conn: sqlite3.Connection, demo: DemoImport) -> tuple[int, int, int]:
    """``(demo names, all names, demo crops)``."""
    sql, params = demo.names_sql()
    row = conn.execute(
        f"SELECT (SELECT COUNT(*) FROM names WHERE id IN ({sql})) AS demo, "
        f"(SELECT COUNT(*) FROM names) AS total, "
        f"(SELECT COUNT(*) FROM chars WHERE name_id IN ({sql})) AS crops",
        [*params, *params],
    ).fetchone()
    return int(row["demo"]), int(row["total"]), int(row["crops"])


def crop_paths_when_mixed(conn: sqlite3.Connection, demo: DemoImport) -> list[str]:
    """The paths of the demo's crops when the workspace holds other names too; else none."""
    sql, params = demo.names_sql()
    rows = conn.execute(
        f"SELECT path FROM chars WHERE name_id IN ({sql}) "
        f"AND EXISTS (SELECT 1 FROM names WHERE id NOT IN ({sql}))",
        [*params, *params],
    ).fetchall()
    return [r["path"] for r in rows]


def names(conn: sqlite3.Connection, demo: DemoImport) -> list[sqlite3.Row]:
    """``id, image_path`` of the demo's names."""
    sql, params = demo.names_sql()
    return conn.execute(f"SELECT id, image_path FROM names WHERE id IN ({sql})", params).fetchall()


def delete_empty_imports(conn: sqlite3.Connection, demo: DemoImport) -> int:
    """Delete the demo's imports that no name refers to any more; returns how many."""
    imports_sql, imports_params = demo.imports_sql()
    cur = conn.execute(
        f"DELETE FROM imports WHERE id IN ({imports_sql}) "
        "AND NOT EXISTS (SELECT 1 FROM names WHERE names.import_id = imports.id)",
        imports_params,
    )
    return cur.rowcount
