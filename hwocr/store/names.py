"""SQL of the ``names`` rows: a name's lifecycle (imported, fetched, segmented,
harvested, reviewed), review claims, and the reads behind each stage.

Every write takes the caller's connection inside the caller's transaction; batches are
one ``executemany`` each. Rows come back as :class:`sqlite3.Row` (the workspace turns
them into :class:`hwocr.store.records.NameRecord`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from hwocr.store.db import marks

#: A row of ``names`` whose claim has lapsed — made before the first ``?`` and its
#: reviewer not seen since the second (both: now minus the claim ttl).
_CLAIM_LAPSED = ("names.claimed_at < ? AND NOT EXISTS (SELECT 1 FROM reviewers "
                 "WHERE reviewers.name = names.claimed_by AND reviewers.last_seen >= ?)")


# --- reads ------------------------------------------------------------------------------


def by_id(conn: sqlite3.Connection, name_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM names WHERE id = ?", (name_id,)).fetchone()


def by_unit(conn: sqlite3.Connection, unit_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM names WHERE unit_id = ?", (unit_id,)).fetchone()


def by_ids(conn: sqlite3.Connection, ids: Sequence[int]) -> list[sqlite3.Row]:
    """The rows of ``ids`` (those that exist), in no particular order."""
    return conn.execute(f"SELECT * FROM names WHERE id IN ({marks(ids)})", list(ids)).fetchall()


def with_status(conn: sqlite3.Connection, statuses: Sequence[str], *, limit: int | None = None,
                offset: int = 0) -> list[sqlite3.Row]:
    """Names in ``statuses`` by id, a page of them when ``limit`` is given."""
    sql = f"SELECT * FROM names WHERE status IN ({marks(statuses)}) ORDER BY id"
    params: list = list(statuses)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return conn.execute(sql, params).fetchall()


def status_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many names are in each status that has any."""
    return {row["status"]: row["n"] for row in
            conn.execute("SELECT status, COUNT(*) AS n FROM names GROUP BY status")}


def for_harvest(conn: sqlite3.Connection, ids: Sequence[int]) -> list[sqlite3.Row]:
    """``id, unit_id, status, confidence, image_path, boxes, version`` of the names of
    ``ids`` that exist (what a harvest plans with; the boxes as stored, JSON)."""
    return conn.execute(f"SELECT id, unit_id, status, confidence, image_path, boxes, version FROM names "
                        f"WHERE id IN ({marks(ids)})", list(ids)).fetchall()


def versions(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, int]:
    """``{id: version}`` of the names of ``ids`` that exist."""
    return {r["id"]: r["version"] for r in conn.execute(
        f"SELECT id, version FROM names WHERE id IN ({marks(ids)})", list(ids))}


def boxes_json(conn: sqlite3.Connection, name_id: int) -> str | None:
    """The name's boxes as stored (JSON), or None (no such name, no boxes)."""
    row = conn.execute("SELECT boxes FROM names WHERE id = ?", (name_id,)).fetchone()
    return None if row is None else row["boxes"]


def ids_to_harvest(conn: sqlite3.Connection) -> list[int]:
    """Names a harvest looks at, by id: those whose boxes may be in the class folders
    (matched, repaired, verified) and those that have crops there now."""
    return [r[0] for r in conn.execute(
        "SELECT id FROM names WHERE status IN ('matched', 'repaired', 'verified') "
        "OR id IN (SELECT DISTINCT name_id FROM chars WHERE name_id IS NOT NULL) ORDER BY id"
    )]


def to_fetch(conn: sqlite3.Connection, statuses: Sequence[str]) -> list[sqlite3.Row]:
    """``id, unit_id, source, images_root`` (of its import) of the names in ``statuses``, by id."""
    return conn.execute(
        f"SELECT n.id, n.unit_id, n.source, i.images_root FROM names n LEFT JOIN imports i ON i.id = n.import_id "
        f"WHERE n.status IN ({marks(statuses)}) ORDER BY n.id",
        list(statuses),
    ).fetchall()


def to_segment(conn: sqlite3.Connection, statuses: Sequence[str]) -> list[sqlite3.Row]:
    """``id, image_path, transcription`` of the names in ``statuses`` that have an image
    and were not sent back by a person (priority 0), by id."""
    return conn.execute(
        f"SELECT id, image_path, transcription FROM names WHERE status IN ({marks(statuses)}) AND priority = 0 "
        "AND image_path IS NOT NULL ORDER BY id",
        list(statuses),
    ).fetchall()


def segmentation_totals(conn: sqlite3.Connection, min_confidence: float) -> sqlite3.Row:
    """Counts over every name: each segmented or reviewed status, ``auto_labelled``
    (matched, or repaired with at least ``min_confidence``) and ``vetted`` (sent to
    review by the model); each may be None on an empty table."""
    return conn.execute(
        "SELECT "
        "SUM(status = 'matched') AS matched, SUM(status = 'repaired') AS repaired, "
        "SUM(status = 'needs_review') AS needs_review, SUM(status = 'failed') AS failed, "
        "SUM(status = 'verified') AS verified, SUM(status = 'rejected') AS rejected, "
        "SUM(status = 'matched' OR (status = 'repaired' AND confidence >= ?)) AS auto_labelled, "
        "SUM(status = 'needs_review' AND vet IS NOT NULL) AS vetted "
        "FROM names",
        (min_confidence,),
    ).fetchone()


# --- import, fetch, segment ---------------------------------------------------------------


def insert_imported(conn: sqlite3.Connection, *, unit_id: str, import_id: int | None, line: int | None, source: str,
                    raw_transcription: str | None, transcription: str | None, first_or_last: str | None,
                    status: str, reason: str | None, t: float) -> bool:
    """A name read from a CSV; False when its unit_id is already in the workspace."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO names (unit_id, import_id, line, source, raw_transcription, transcription, "
        "first_or_last, status, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (unit_id, import_id, line, source, raw_transcription, transcription, first_or_last, status, reason, t, t),
    )
    return cur.rowcount != 0


def set_fetch_results(conn: sqlite3.Connection, updates: Iterable[tuple]) -> None:
    """One ``executemany``: each update is ``(status, reason, image_path, attempts, t, id)``
    (``attempts`` adds to the name's count)."""
    conn.executemany(
        "UPDATE names SET status = ?, reason = ?, image_path = ?, attempts = attempts + ?, "
        "updated_at = ? WHERE id = ?",
        updates,
    )


def set_segment_results(conn: sqlite3.Connection, results: Sequence[dict], t: float) -> None:
    """One ``executemany``: each result has ``id, status, confidence, reason, vet, boxes``
    (JSON, both the automatic and the current boxes) and ``width, height`` (None keeps
    the stored size); each name's version goes up."""
    conn.executemany(
        "UPDATE names SET status = :status, confidence = :confidence, reason = :reason, vet = :vet, "
        "auto_boxes = :boxes, boxes = :boxes, width = COALESCE(:width, width), "
        "height = COALESCE(:height, height), version = version + 1, updated_at = :t WHERE id = :id",
        [{**r, "t": t} for r in results],
    )


def delete(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Delete names (their crops must be gone first)."""
    conn.executemany("DELETE FROM names WHERE id = ?", [(i,) for i in ids])


# --- review: claims ---------------------------------------------------------------------


def claimed_by(conn: sqlite3.Connection, reviewer: str, statuses: Sequence[str]) -> sqlite3.Row | None:
    """``reviewer``'s latest claim among names in ``statuses``, however old."""
    return conn.execute(
        f"SELECT * FROM names WHERE claimed_by = ? AND status IN ({marks(statuses)}) "
        "ORDER BY claimed_at DESC, id DESC LIMIT 1",
        (reviewer, *statuses),
    ).fetchone()


def next_unclaimed(conn: sqlite3.Connection, statuses: Sequence[str], lapsed_before: float) -> sqlite3.Row | None:
    """The most useful name of ``statuses`` that nobody holds (or whose claim lapsed
    before ``lapsed_before``): sent back first, then never skipped, then least confident."""
    return conn.execute(
        f"SELECT * FROM names WHERE status IN ({marks(statuses)}) AND (claimed_by IS NULL OR ({_CLAIM_LAPSED})) "
        "ORDER BY priority DESC, skips ASC, confidence ASC, id ASC LIMIT 1",
        (*statuses, lapsed_before, lapsed_before),
    ).fetchone()


def claim_live(conn: sqlite3.Connection, name_id: int, since: float) -> bool:
    """Whether the name's claim still holds: made, or its reviewer seen, since ``since``."""
    return bool(conn.execute(f"SELECT NOT ({_CLAIM_LAPSED}) FROM names WHERE id = ?",
                             (since, since, name_id)).fetchone()[0])


def set_claim(conn: sqlite3.Connection, name_id: int, reviewer: str, t: float) -> None:
    conn.execute("UPDATE names SET claimed_by = ?, claimed_at = ? WHERE id = ?", (reviewer, t, name_id))


def release_claim(conn: sqlite3.Connection, name_id: int, reviewer: str) -> None:
    """Free the name if ``reviewer`` holds it."""
    conn.execute(
        "UPDATE names SET claimed_by = NULL, claimed_at = NULL WHERE id = ? AND claimed_by = ?",
        (name_id, reviewer),
    )


def release_claims(conn: sqlite3.Connection, reviewer: str) -> None:
    """Free every name ``reviewer`` holds."""
    conn.execute("UPDATE names SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ?", (reviewer,))


# --- review: decisions (each bumps the name's version) -------------------------------------


def mark_verified(conn: sqlite3.Connection, name_id: int, *, boxes_json: str, transcription: str | None,
                  reason: str, reviewer: str, t: float) -> None:
    conn.execute(
        "UPDATE names SET status = 'verified', boxes = ?, transcription = ?, reason = ?, priority = 0, "
        "version = version + 1, claimed_by = NULL, claimed_at = NULL, reviewed_by = ?, reviewed_at = ?, "
        "updated_at = ? WHERE id = ?",
        (boxes_json, transcription, reason, reviewer, t, t, name_id),
    )


def mark_rejected(conn: sqlite3.Connection, name_id: int, *, reason: str, reviewer: str, t: float) -> None:
    conn.execute(
        "UPDATE names SET status = 'rejected', reason = ?, priority = 0, version = version + 1, "
        "claimed_by = NULL, claimed_at = NULL, reviewed_by = ?, reviewed_at = ?, updated_at = ? WHERE id = ?",
        (reason, reviewer, t, t, name_id),
    )


def add_skip(conn: sqlite3.Connection, name_id: int, *, reviewer: str, t: float) -> None:
    """To the back of the queue, released, unless another reviewer holds it."""
    conn.execute(
        "UPDATE names SET skips = skips + 1, claimed_by = NULL, claimed_at = NULL, updated_at = ? "
        "WHERE id = ? AND (claimed_by IS NULL OR claimed_by = ?)",
        (t, name_id, reviewer),
    )


def send_to_review(conn: sqlite3.Connection, name_id: int, *, reason: str, t: float) -> None:
    """To the front of the review queue (priority 1), released."""
    conn.execute(
        "UPDATE names SET status = 'needs_review', priority = 1, reason = ?, version = version + 1, "
        "claimed_by = NULL, claimed_at = NULL, updated_at = ? WHERE id = ?",
        (reason, t, name_id),
    )


def restore(conn: sqlite3.Connection, name_id: int, *, status: str, boxes_json: str, transcription: str | None,
            priority: int, reason: str, reviewer: str, t: float) -> None:
    """An undo: the name's earlier status, boxes and transcription, claimed by ``reviewer``."""
    conn.execute(
        "UPDATE names SET status = ?, boxes = ?, transcription = ?, priority = ?, reason = ?, "
        "version = version + 1, claimed_by = ?, claimed_at = ?, updated_at = ? WHERE id = ?",
        (status, boxes_json, transcription, priority, reason, reviewer, t, t, name_id),
    )


def set_boxes(conn: sqlite3.Connection, name_id: int, boxes_json: str, t: float) -> None:
    conn.execute(
        "UPDATE names SET boxes = ?, version = version + 1, updated_at = ? WHERE id = ?",
        (boxes_json, t, name_id),
    )
