"""SQL of background jobs: the ``jobs`` rows (status, progress, params, result) and the
per-epoch logs in ``job_epochs``. Every write is its own short transaction, and each
state change that matters for the audit trail logs its event in the same one."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from hwocr.store.db import Database, now

#: Statuses of a job that has not finished.
UNFINISHED = ("queued", "running")


def insert(ws: Database, kind: str, params: dict) -> int:
    """A new queued job; returns its id."""
    t = now()
    with ws.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO jobs (kind, status, params, created_at, updated_at, message) VALUES (?, 'queued', ?, ?, ?, ?)",
            (kind, json.dumps(params), t, t, "starting"),
        )
        job_id = int(cur.lastrowid)
        ws.log_event(conn, "job_started", job_id=job_id, job_kind=kind, params=params)
    return job_id


def row(ws: Database, job_id: int) -> sqlite3.Row | None:
    return ws.query_one("SELECT * FROM jobs WHERE id = ?", (job_id,))


def rows(ws: Database, *, kind: str | None, limit: int) -> list[sqlite3.Row]:
    """Newest first."""
    if kind:
        return ws.query("SELECT * FROM jobs WHERE kind = ? ORDER BY id DESC LIMIT ?", (kind, limit))
    return ws.query("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))


def unfinished(ws: Database) -> list[sqlite3.Row]:
    """``id, pid, status, created_at`` of every queued or running job."""
    return ws.query("SELECT id, pid, status, created_at FROM jobs WHERE status IN ('queued', 'running')")


def set_pid(ws: Database, job_id: int, pid: int) -> None:
    """Record the process started for a job (unless the job recorded its own first)."""
    with ws.transaction() as conn:
        conn.execute("UPDATE jobs SET pid = ? WHERE id = ? AND pid IS NULL", (pid, job_id))


def mark_running(ws: Database, job_id: int, pid: int) -> None:
    with ws.transaction() as conn:
        conn.execute(
            "UPDATE jobs SET status = 'running', pid = ?, started_at = ?, updated_at = ?, message = ? WHERE id = ?",
            (pid, now(), now(), "running", job_id),
        )


def set_progress(ws: Database, job_id: int, fraction: float, message: str | None) -> None:
    """Progress in [0, 1] and, when given, a new message."""
    with ws.transaction() as conn:
        conn.execute(
            "UPDATE jobs SET progress = ?, message = COALESCE(?, message), updated_at = ? WHERE id = ?",
            (max(0.0, min(1.0, float(fraction))), message, now(), job_id),
        )


def put_epoch(ws: Database, job_id: int, epoch: int, logs: dict) -> None:
    with ws.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO job_epochs (job_id, epoch, logs, ts) VALUES (?, ?, ?, ?)",
            (job_id, int(epoch), json.dumps(logs, default=float), now()),
        )


def epochs(ws: Database, job_id: int) -> list[dict]:
    """Each epoch's logs with ``epoch`` and ``ts``, in order."""
    found = ws.query("SELECT epoch, logs, ts FROM job_epochs WHERE job_id = ? ORDER BY epoch", (job_id,))
    return [{"epoch": r["epoch"], "ts": r["ts"], **json.loads(r["logs"])} for r in found]


def cancel_requested(ws: Database, job_id: int) -> bool:
    found = ws.query_one("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,))
    return bool(found and found["cancel_requested"])


def request_cancel(ws: Database, job_id: int) -> None:
    with ws.transaction() as conn:
        conn.execute("UPDATE jobs SET cancel_requested = 1, message = ?, updated_at = ? WHERE id = ?",
                     ("cancelling…", now(), job_id))
        ws.log_event(conn, "job_cancel_requested", job_id=job_id)


def end_unfinished(ws: Database, job_ids: Sequence[int], *, status: str, error: str, event: str) -> None:
    """End jobs that are still queued or running (a job that finished meanwhile keeps its
    own ending) as ``status`` with ``error``, logging ``event`` for each."""
    with ws.transaction() as conn:
        for job_id in job_ids:
            conn.execute(
                "UPDATE jobs SET status = ?, error = ?, finished_at = ?, updated_at = ? "
                "WHERE id = ? AND status IN ('queued', 'running')",
                (status, error, now(), now(), job_id),
            )
            ws.log_event(conn, event, job_id=job_id)


def finish(ws: Database, job_id: int, *, status: str, result: dict | None, error: str | None) -> None:
    """The job's ending, written by its own process."""
    with ws.transaction() as conn:
        conn.execute(
            "UPDATE jobs SET status = ?, result = ?, error = ?, progress = CASE WHEN ? = 'succeeded' THEN 1.0 "
            "ELSE progress END, message = ?, finished_at = ?, updated_at = ? WHERE id = ?",
            (status, json.dumps(result, default=float) if result is not None else None, error, status,
             status, now(), now(), job_id),
        )
        ws.log_event(conn, "job_finished", job_id=job_id, status=status, error=error)


def cancel_requested_at(ws: Database, job_id: int) -> float | None:
    """When cancelling this job was first asked for (from the audit trail), or None."""
    found = ws.query_one(
        "SELECT MIN(ts) AS ts FROM events WHERE kind = 'job_cancel_requested' AND json_extract(detail, '$.job_id') = ?",
        (job_id,),
    )
    return found["ts"] if found and found["ts"] is not None else None


def running(ws: Database) -> list[dict]:
    """``id, kind, status, progress, message`` of the queued and running jobs, oldest first."""
    return [dict(r) for r in ws.query(
        "SELECT id, kind, status, progress, message FROM jobs WHERE status IN ('queued', 'running') ORDER BY id")]
