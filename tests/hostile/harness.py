"""Running the hostile corpus through ``python -m hwocr import`` and judging the outcome.

Shared by tests/test_hostile.py and bench/reliability_bench.py. Every run happens in an
*arena*: a temporary folder holding the workspace (``ws/``), the inputs (``in/``) and
the command's working directory (``cwd/a/b``, so that a ``../../evil.png`` written
relative to it would land inside the arena). Everything in the arena outside ``ws/`` is
listed before and after: a run may only change the workspace.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.hostile.corpus import Case, name_png

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Arena:
    root: Path

    def __post_init__(self) -> None:
        for sub in ("ws", "in/images", "cwd/a/b"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "in" / "images" / "ok.png").write_bytes(name_png())

    @property
    def ws(self) -> Path:
        return self.root / "ws"

    @property
    def inputs(self) -> Path:
        return self.root / "in"

    def snapshot(self) -> dict[str, tuple]:
        """Every path in the arena outside the workspace, with its type, size and mtime."""
        out: dict[str, tuple] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root)
            if rel_dir.parts[:1] == ("ws",):
                continue
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                if rel_dir == Path(".") and name == "ws":
                    continue
                st = path.lstat()
                out[str(rel_dir / name)] = (st.st_mode >> 12, st.st_size, st.st_mtime_ns)
        return out


@dataclass
class Outcome:
    """What one CLI run did, as far as one case is concerned."""

    exit_code: int
    stderr: str
    stdout: str
    #: unit_id -> (status, reason) of every name in the workspace.
    rows: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    integrity: str = ""
    #: every crop file has its row and every row its file.
    crops_consistent: bool = True
    #: paths outside the workspace that appeared, vanished or changed.
    outside_changes: list[str] = field(default_factory=list)


def cli_env(allow_private: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWOCR_")}
    env["PYTHONPATH"] = str(REPO)
    if allow_private is not None:
        env["HWOCR_ALLOW_PRIVATE_URLS"] = allow_private
    return env


def run_cli(arena: Arena, args: list[str], *, allow_private: str | None = None, timeout: float = 180) -> Outcome:
    before = arena.snapshot()
    proc = subprocess.run(
        [sys.executable, "-m", "hwocr", *args, "--quiet", "--workspace", str(arena.ws)],
        cwd=arena.root / "cwd" / "a" / "b", capture_output=True, text=True, timeout=timeout,
        env=cli_env(allow_private),
    )
    after = arena.snapshot()
    changes = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    outcome = Outcome(proc.returncode, proc.stderr, proc.stdout, outside_changes=changes)
    inspect_workspace(arena.ws, outcome)
    return outcome


def inspect_workspace(ws_dir: Path, outcome: Outcome) -> None:
    db = ws_dir / "hwocr.sqlite3"
    if not db.exists():
        outcome.integrity = "no database"
        return
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        outcome.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        outcome.rows = {u: (s, r) for u, s, r in conn.execute("SELECT unit_id, status, reason FROM names")}
        rows = {p for (p,) in conn.execute("SELECT path FROM chars")}
    finally:
        conn.close()
    files = {p.relative_to(ws_dir).as_posix() for p in (ws_dir / "dataset").rglob("*") if p.is_file()}
    outcome.crops_consistent = files == rows


def write_csv(path: Path, rows: Iterable[tuple[str, str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["unit_id", "image_url", "transcription", "first_or_last"])
        for unit_id, source, text in rows:
            writer.writerow([unit_id, source, text, "last"])
    return path


def image_file_name(case: Case) -> str:
    return f"{case.name}.img"


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# --- one run per case or per category ---------------------------------------------------------


def run_csv_case(case: Case, arena: Arena) -> Outcome:
    path = arena.inputs / f"{case.name}.csv"
    path.write_bytes(case.data)
    return run_cli(arena, ["import", str(path)])


def run_zip_case(case: Case, arena: Arena) -> Outcome:
    (arena.inputs / "images.zip").write_bytes(case.data)
    csv_path = write_csv(arena.inputs / "names.csv", [("OK1", "images/ok.png", "MARTIN"), ("X", case.source, "JEAN")])
    (arena.inputs / "images" / "ok.png").unlink(missing_ok=True)  # only the zip may serve it
    return run_cli(arena, ["import", str(csv_path), "--images-root", str(arena.inputs / "images.zip")])


def run_image_cases(cases: list[Case], arena: Arena) -> Outcome:
    """One import of every image case (each a row), segmented and harvested: odd images
    that are accepted must also survive segmentation and the class folders."""
    rows = []
    for case in cases:
        (arena.inputs / "images" / image_file_name(case)).write_bytes(case.data)
        rows.append((case.name, f"images/{image_file_name(case)}", "MARTIN"))
    csv_path = write_csv(arena.inputs / "names.csv", rows)
    first = run_cli(arena, ["import", str(csv_path), "--segment"])
    harvested = run_cli(arena, ["harvest"])
    # The import's exit code and messages; the workspace as the harvest left it.
    harvested.exit_code, harvested.stderr, harvested.stdout = first.exit_code, first.stderr, first.stdout
    harvested.outside_changes = first.outside_changes + harvested.outside_changes
    return harvested


def run_url_cases(cases: list[Case], arena: Arena, port: int, *, allow_private: str | None = None) -> Outcome:
    rows = [(case.name, case.source.replace("{port}", str(port)), "MARTIN") for case in cases]
    csv_path = write_csv(arena.inputs / "names.csv", rows)
    return run_cli(arena, ["import", str(csv_path)], allow_private=allow_private)


def run_redirect_cases(cases: list[Case], arena: Arena, server) -> Outcome:
    from tests.httpserver import redirect

    rows = []
    for case in cases:
        rows.append((case.name, server.route(f"/r/{case.name}", redirect(case.source)), "MARTIN"))
    csv_path = write_csv(arena.inputs / "names.csv", rows)
    # The test server itself (127.0.0.1) is allowed by address; nothing else private is.
    return run_cli(arena, ["import", str(csv_path)], allow_private="127.0.0.1")


def run_all(cases: list[Case], root: Path, server, *, workers: int = 4) -> dict[str, Outcome]:
    """Every case through the CLI, each in an arena under ``root``. Cases of one category
    that are rows of one CSV share a run."""
    by_category: dict[str, list[Case]] = {}
    for case in cases:
        by_category.setdefault(case.category, []).append(case)
    jobs = []
    for case in by_category.get("csv", []):
        jobs.append(([case], lambda c=case: run_csv_case(c, Arena(root / f"csv-{c.name}"))))
    for case in by_category.get("zip", []):
        jobs.append(([case], lambda c=case: run_zip_case(c, Arena(root / f"zip-{c.name}"))))
    if by_category.get("image"):
        jobs.append((by_category["image"], lambda: run_image_cases(by_category["image"], Arena(root / "images"))))
    if by_category.get("url"):
        jobs.append((by_category["url"], lambda: run_url_cases(by_category["url"], Arena(root / "urls"), server.port)))
    if by_category.get("redirect"):
        jobs.append((by_category["redirect"],
                     lambda: run_redirect_cases(by_category["redirect"], Arena(root / "redirects"), server)))
    results: dict[str, Outcome] = {}
    # The long runs first, so that they do not end up alone at the end.
    jobs.sort(key=lambda job: -len(job[0]))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [(job_cases, pool.submit(fn)) for job_cases, fn in jobs]
        for job_cases, future in futures:
            outcome = future.result()
            for case in job_cases:
                results[case.name] = outcome
    return results


# --- judging --------------------------------------------------------------------------------


def expected_exit(case: Case) -> int | set[int]:
    if case.level == "file":
        return 2
    if case.category == "csv":
        return 3 if any(status == "fetch_failed" for status, _ in case.rows.values()) else 0
    return 3  # the batch holds failing rows


def problems(case: Case, outcome: Outcome) -> list[str]:
    """Why ``outcome`` is not the handling ``case`` requires (empty: handled)."""
    found: list[str] = []
    if "Traceback" in outcome.stderr or "Traceback" in outcome.stdout:
        found.append("a traceback was printed")
    if outcome.exit_code in (70, 1) or outcome.exit_code < 0:
        found.append(f"exit code {outcome.exit_code} (a bug or a crash)")
    if outcome.exit_code != expected_exit(case):
        found.append(f"exit code {outcome.exit_code}, expected {expected_exit(case)}")
    if outcome.integrity not in ("ok", "no database"):
        found.append(f"integrity check: {outcome.integrity}")
    if not outcome.crops_consistent:
        found.append("crop files and rows differ")
    if outcome.outside_changes:
        found.append(f"written outside the workspace: {outcome.outside_changes[:5]}")
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", outcome.stderr + outcome.stdout):
        found.append("control characters reached the terminal")
    if case.level == "file":
        lines = outcome.stderr.splitlines()
        if len(lines) != 1 or not lines[0].startswith("hwocr: ") or not lines[0].endswith(case.expect or ""):
            found.append(f"stderr is not the one line '...{case.expect}': {outcome.stderr!r}")
        if case.category == "csv" and outcome.rows:
            found.append(f"{len(outcome.rows)} names recorded from a refused CSV")
    elif case.category == "csv":
        for unit_id, want in case.rows.items():
            got = outcome.rows.get(unit_id)
            if got != want:
                found.append(f"row {unit_id!r}: {got}, expected {want}")
    else:
        unit_id = "X" if case.category == "zip" else case.name
        got = outcome.rows.get(unit_id)
        if case.level == "row":
            if got != ("fetch_failed", case.expect):
                found.append(f"row {unit_id}: {got}, expected ('fetch_failed', {case.expect!r})")
        elif got is None or got[0] in ("pending", "fetch_failed"):
            found.append(f"row {unit_id}: {got}, expected it imported")
        if case.category == "zip" and outcome.rows.get("OK1", ("",))[0] != "fetched":
            found.append(f"the good row next to it was not imported: {outcome.rows.get('OK1')}")
    return found
