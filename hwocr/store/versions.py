"""SQL of model versions: the ``model_versions`` rows (at most one active; none active
means the shipped base model) and their activations, read back from the audit trail."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from hwocr.store.db import Database, now


def rows(ws: Database) -> list[sqlite3.Row]:
    """Newest first."""
    return ws.query("SELECT * FROM model_versions ORDER BY id DESC")


def active_row(ws: Database) -> sqlite3.Row | None:
    return ws.query_one("SELECT * FROM model_versions WHERE active = 1")


def row(ws: Database, name: str) -> sqlite3.Row | None:
    return ws.query_one("SELECT * FROM model_versions WHERE name = ?", (name,))


def register(ws: Database, place: Callable[[str], str], *, job_id: int | None, metrics: dict,
             note: str | None) -> str:
    """Insert the next version (inactive) in one transaction: its name is ``v`` and the
    next number; ``place(name)`` moves its files into place and returns their path
    relative to the workspace, inside the transaction, so a crash leaves either both or
    a folder without a row (which the next registration replaces). Returns the name."""
    with ws.transaction() as conn:
        last = conn.execute("SELECT MAX(id) AS m FROM model_versions").fetchone()["m"] or 0
        name = f"v{last + 1:04d}"
        path = place(name)
        acc = metrics.get("val_accuracy")
        conn.execute(
            "INSERT INTO model_versions (name, path, job_id, created_at, val_accuracy, metrics, active, note) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            (name, path, job_id, now(), acc, json.dumps(metrics, default=float), note),
        )
        ws.log_event(conn, "model_registered", version=name, job_id=job_id, val_accuracy=acc)
    return name


def set_active(ws: Database, name: str | None, *, actor: str | None, base_name: str) -> None:
    """Make ``name`` the only active version; None: none (the shipped model). The
    activation and the version it replaced go to the audit trail."""
    with ws.transaction() as conn:
        previous = conn.execute("SELECT name FROM model_versions WHERE active = 1").fetchone()
        conn.execute("UPDATE model_versions SET active = 0 WHERE active = 1")
        if name is not None:
            conn.execute("UPDATE model_versions SET active = 1 WHERE name = ?", (name,))
        ws.log_event(conn, "model_activated", actor=actor, version=name or base_name,
                     previous=previous["name"] if previous else base_name)


def activations(ws: Database, limit: int = 50) -> list[dict]:
    """The latest activations' details (``version``, ``previous``), newest first."""
    out = []
    for r in ws.query("SELECT detail FROM events WHERE kind = 'model_activated' ORDER BY id DESC LIMIT ?", (limit,)):
        try:
            detail = json.loads(r["detail"] or "{}")
        except ValueError:
            continue
        if isinstance(detail, dict):
            out.append(detail)
    return out
