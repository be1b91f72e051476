"""Read-only queries the pages need that the library does not offer (yet): paged, and
each one served by an index so a page stays fast with 130,000 names.

``ws`` is a :class:`hwocr.workspace.Workspace` (any :class:`hwocr.store.db.Database`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hwocr.store.db import Database
from hwocr.store.records import CharRecord, NameRecord

#: Auto-accepted statuses shown in the audit grid.
AUDIT_STATUSES = ("matched", "repaired")
AUDIT_ORDERS = {
    "Least confident first": "confidence ASC, id ASC",
    "Oldest first": "id ASC",
    "Newest first": "id DESC",
}
FAILURE_STATUSES = ("fetch_failed", "skipped", "failed")


@dataclass(frozen=True)
class ReviewCounts:
    remaining: int
    verified: int
    rejected: int


def review_counts(ws: Database) -> ReviewCounts:
    """Three indexed counts (names_queue starts with status), not a scan of every name."""
    row = ws.query_one(
        "SELECT (SELECT COUNT(*) FROM names WHERE status = 'needs_review') AS remaining, "
        "(SELECT COUNT(*) FROM names WHERE status = 'verified') AS verified, "
        "(SELECT COUNT(*) FROM names WHERE status = 'rejected') AS rejected"
    )
    return ReviewCounts(int(row["remaining"]), int(row["verified"]), int(row["rejected"]))


def _marks(items: Sequence) -> str:
    return ",".join("?" for _ in items)


def count_with_status(ws: Database, statuses: Sequence[str]) -> int:
    row = ws.query_one(f"SELECT COUNT(*) AS n FROM names WHERE status IN ({_marks(statuses)})", list(statuses))
    return int(row["n"])


def audit_page(
    ws: Database, statuses: Sequence[str], *, order: str, offset: int, limit: int
) -> list[NameRecord]:
    """One page of auto-accepted names, in ``order`` (a key of AUDIT_ORDERS)."""
    order_sql = AUDIT_ORDERS[order]
    rows = ws.query(
        f"SELECT * FROM names WHERE status IN ({_marks(statuses)}) ORDER BY {order_sql} LIMIT ? OFFSET ?",
        [*statuses, limit, offset],
    )
    return [NameRecord.from_row(r) for r in rows]


@dataclass(frozen=True)
class Failure:
    unit_id: str
    line: int | None
    status: str
    reason: str
    source: str


def import_failures(ws: Database, csv_name: str, *, limit: int = 10_000) -> list[Failure]:
    """Names imported from this CSV (by any import of it) that did not make it: not
    fetched, skipped, or unsegmentable. Served by names' import_id (one id per import)."""
    rows = ws.query(
        f"SELECT unit_id, line, status, reason, source FROM names WHERE import_id IN "
        f"(SELECT id FROM imports WHERE csv_name = ?) AND status IN ({_marks(FAILURE_STATUSES)}) "
        f"ORDER BY line, id LIMIT ?",
        [csv_name, *FAILURE_STATUSES, limit],
    )
    return [Failure(r["unit_id"], r["line"], r["status"], r["reason"] or "", r["source"]) for r in rows]


def crop_ids_and_paths(ws: Database, label: str) -> list[tuple[int, str]]:
    """Every crop of a class (id, path), oldest first: what the model sorts."""
    rows = ws.query("SELECT id, path FROM chars WHERE label = ? ORDER BY id", (label,))
    return [(int(r["id"]), r["path"]) for r in rows]


def class_signature(ws: Database, label: str) -> tuple[int, int, int]:
    """(count, largest id, sum of ids) of a class: changes whenever crops are added,
    moved in or out, or deleted (index-only: chars_label covers label and id)."""
    row = ws.query_one(
        "SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS m, COALESCE(SUM(id), 0) AS s FROM chars WHERE label = ?",
        (label,),
    )
    return int(row["n"]), int(row["m"]), int(row["s"])


def crops_by_ids(ws: Database, ids: Sequence[int]) -> list[CharRecord]:
    """The crops with these ids, in the order given (missing ones left out)."""
    if not ids:
        return []
    rows = ws.query(f"SELECT * FROM chars WHERE id IN ({_marks(ids)})", list(ids))
    by_id = {r["id"]: CharRecord.from_row(r) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


@dataclass(frozen=True)
class CropSource:
    """The name a crop was cut from (absent for a crop drawn on the Recognize page)."""

    unit_id: str
    transcription: str | None


def crop_sources(ws: Database, ids: Sequence[int]) -> dict[int, CropSource]:
    """For the crops with these ids that were cut from a name: that name's unit_id and
    transcription (one page of a gallery: primary keys only)."""
    if not ids:
        return {}
    rows = ws.query(
        f"SELECT c.id, n.unit_id, n.transcription FROM chars c JOIN names n ON n.id = c.name_id "
        f"WHERE c.id IN ({_marks(ids)})",
        list(ids),
    )
    return {int(r["id"]): CropSource(r["unit_id"], r["transcription"]) for r in rows}


def change_token(ws: Database) -> tuple:
    """Changes whenever counts may have changed: every crop or status change logs an event,
    and jobs and models have their own rows. Three O(1) lookups (rowid and tiny tables)."""
    row = ws.query_one(
        "SELECT (SELECT MAX(id) FROM events) AS e, (SELECT MAX(updated_at) FROM jobs) AS j, "
        "(SELECT MAX(id) FROM model_versions WHERE active = 1) AS m"
    )
    return (row["e"], row["j"], row["m"])


def _like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern that matches it anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_names(ws: Database, text: str, *, limit: int) -> list[NameRecord]:
    """Names whose unit_id or transcription contains ``text`` (any case): an exact unit_id
    first (the unique index finds it at once), then the rest by id."""
    text = text.strip()
    if not text:
        return []
    pattern = _like_pattern(text)
    rows = ws.query(
        "SELECT * FROM names WHERE unit_id LIKE ? ESCAPE '\\' OR transcription LIKE ? ESCAPE '\\' "
        "ORDER BY (unit_id = ?) DESC, id LIMIT ?",
        (pattern, pattern, text, limit),
    )
    return [NameRecord.from_row(r) for r in rows]


#: The history view: names a person verified or rejected, newest first.
HISTORY_STATUSES = ("verified", "rejected")


def reviewed_names(
    ws: Database, statuses: Sequence[str], *, reviewer: str | None, limit: int, offset: int = 0
) -> list[NameRecord]:
    """Names a person reviewed, newest first (index names_reviewed), optionally one reviewer's."""
    params: list = list(statuses)
    who = ""
    if reviewer is not None:
        who = " AND reviewed_by = ?"
        params.append(reviewer)
    rows = ws.query(
        f"SELECT * FROM names WHERE reviewed_at IS NOT NULL AND status IN ({_marks(statuses)}){who} "
        "ORDER BY reviewed_at DESC, id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [NameRecord.from_row(r) for r in rows]


def has_names(ws: Database) -> bool:
    """Whether the workspace holds any name at all (one indexed row)."""
    return ws.query_one("SELECT 1 FROM names LIMIT 1") is not None


def transcriptions(ws: Database, *, limit: int) -> tuple[str, ...]:
    """The distinct transcriptions of the workspace's names (rejected names left out),
    most frequent first."""
    rows = ws.query(
        "SELECT transcription, COUNT(*) AS n FROM names WHERE transcription IS NOT NULL AND transcription <> '' "
        "AND status <> 'rejected' GROUP BY transcription ORDER BY n DESC, transcription LIMIT ?",
        (int(limit),),
    )
    return tuple(r["transcription"] for r in rows)


def crop_name_ids(ws: Database) -> dict[str, int | None]:
    """Every crop's path and the id of the name it was cut from (None for a crop that
    came from the canvas or an upload)."""
    return {r["path"]: r["name_id"] for r in ws.query("SELECT path, name_id FROM chars")}


def active_version_key(ws: Database) -> str:
    """``name:path:created_at`` of the active version, "base" when none is active."""
    row = ws.query_one("SELECT name, path, created_at FROM model_versions WHERE active = 1")
    return "base" if row is None else f"{row['name']}:{row['path']}:{row['created_at']}"


def all_transcriptions(ws: Database) -> list[str]:
    """Every name's transcription, as typed (one per name: repeats count)."""
    rows = ws.query("SELECT transcription FROM names WHERE transcription IS NOT NULL AND transcription != ''")
    return [r["transcription"] for r in rows]


def transcription_count(ws: Database) -> int:
    """How many names have a transcription (changes when names are imported or removed)."""
    row = ws.query_one("SELECT COUNT(*) AS n FROM names WHERE transcription IS NOT NULL AND transcription != ''")
    return int(row["n"])
