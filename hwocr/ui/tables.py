"""Tables the pages show or offer for download, as plain data (no Streamlit)."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterable, Mapping, Sequence

from hwocr.store.queries import Failure
from hwocr.text import safe_csv_cell

__all__ = ["failure_rows", "failures_csv", "import_history", "safe_csv_cell", "shown_csv_name"]

FAILURE_COLUMNS = ("unit_id", "line", "status", "reason", "source")


def failure_rows(failures: Iterable[Failure]) -> list[dict]:
    return [
        {"unit_id": f.unit_id, "line": f.line, "status": f.status, "reason": f.reason, "source": f.source}
        for f in failures
    ]


def failures_csv(failures: Sequence[Failure]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FAILURE_COLUMNS)
    for f in failures:
        writer.writerow([safe_csv_cell(f.unit_id), "" if f.line is None else f.line, f.status,
                         safe_csv_cell(f.reason), safe_csv_cell(f.source)])
    return buf.getvalue().encode("utf-8")


#: An uploaded CSV is kept (and its import recorded) as ``<12 hex of its content>_<name>``.
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{12}_(?=.)")


def shown_csv_name(recorded: str) -> str:
    """The name a person gave the CSV, from the name its import is recorded under."""
    return _UPLOAD_PREFIX.sub("", recorded)


def import_history(rows: Iterable[Mapping]) -> list[dict]:
    """The Import page's list of earlier imports (rows of :func:`hwocr.store.imports.recent`)."""
    return [
        {"when": time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created_at"])),
         "CSV": shown_csv_name(r["csv_name"]), "rows": r["rows"], "new names": r["added"] or 0,
         "skipped rows": r["skipped"] or 0, "repeated unit_ids": r["duplicates"] or 0}
        for r in rows
    ]
