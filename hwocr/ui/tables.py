"""Tables the pages show or offer for download, as plain data (no Streamlit)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from hwocr.store.queries import Failure
from hwocr.text import safe_csv_cell

__all__ = ["failure_rows", "failures_csv", "safe_csv_cell"]

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
