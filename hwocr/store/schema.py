"""The schema of a workspace and its ordered migrations, keyed by ``PRAGMA user_version``.

A workspace at version ``n`` gets every migration above ``n``, in order, each in one
transaction with its version bump (:func:`migrate`). To add a column or a table, append
``(n + 1, "ALTER TABLE …")`` to :data:`MIGRATIONS` and change the statements in the other
store modules that read or write it — never edit an old entry.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY,
    csv_name TEXT NOT NULL,
    layout TEXT NOT NULL,
    encoding TEXT,
    delimiter TEXT,
    images_root TEXT,
    created_at REAL NOT NULL,
    rows INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS names (
    id INTEGER PRIMARY KEY,
    unit_id TEXT NOT NULL UNIQUE,
    import_id INTEGER REFERENCES imports(id),
    line INTEGER,
    source TEXT NOT NULL,
    raw_transcription TEXT,
    transcription TEXT,
    first_or_last TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    image_path TEXT,
    width INTEGER,
    height INTEGER,
    confidence REAL NOT NULL DEFAULT 0,
    auto_boxes TEXT,
    boxes TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    skips INTEGER NOT NULL DEFAULT 0,
    priority INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claimed_at REAL,
    reviewed_by TEXT,
    reviewed_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
-- The review queue: sent-back names first, then never-skipped, then least confident.
CREATE INDEX IF NOT EXISTS names_queue ON names(status, priority DESC, skips, confidence, id);
-- A reviewer's own claim is looked up on every Review rerun.
CREATE INDEX IF NOT EXISTS names_claims ON names(claimed_by, claimed_at) WHERE claimed_by IS NOT NULL;
-- The audit grid pages auto-accepted names, least confident first.
CREATE INDEX IF NOT EXISTS names_audit ON names(status, confidence, id);
CREATE TABLE IF NOT EXISTS chars (
    id INTEGER PRIMARY KEY,
    name_id INTEGER REFERENCES names(id),
    idx INTEGER,
    label TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    x0 INTEGER, y0 INTEGER, x1 INTEGER, y1 INTEGER,
    origin TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (name_id, idx)
);
CREATE INDEX IF NOT EXISTS chars_label ON chars(label, id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    name_id INTEGER,
    actor TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_name ON events(name_id, id);
-- Undo finds a reviewer's latest actions.
CREATE INDEX IF NOT EXISTS events_actor ON events(actor, id);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT,
    pid INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    started_at REAL,
    updated_at REAL,
    finished_at REAL,
    result TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS job_epochs (
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    epoch INTEGER NOT NULL,
    logs TEXT NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (job_id, epoch)
);
CREATE TABLE IF NOT EXISTS model_versions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    job_id INTEGER,
    created_at REAL NOT NULL,
    val_accuracy REAL,
    metrics TEXT,
    active INTEGER NOT NULL DEFAULT 0,
    note TEXT
);
"""

#: Schema 3: reviewers are people with a lasting name (claims, counts and undo belong to
#: it, so a reload or a second tab is the same person), and the history of reviewed names
#: is listed newest first.
_REVIEWERS = """
CREATE TABLE reviewers (
    name TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE INDEX names_reviewed ON names(reviewed_at) WHERE reviewed_at IS NOT NULL;
"""

#: Schema 4 (issue 14): what the character model read in each box of a name it vetted at
#: segmentation (hwocr.vet, JSON: the reason a disputed name went to review, and per box
#: the label, the model's letter and both probabilities); NULL when not vetted.
_VETTING = """
ALTER TABLE names ADD COLUMN vet TEXT;
"""

#: Ordered migrations, keyed by ``PRAGMA user_version``: ``(version, script)`` brings a
#: workspace at ``version - 1`` to ``version``. Each runs in one transaction with the
#: version bump, so a crash leaves the workspace at the old version or the new, never
#: between. The first script is all ``IF NOT EXISTS``: it creates a new workspace and
#: completes the unversioned and version-1 ones that earlier releases made. Add a column
#: or a table by appending ``(n + 1, "ALTER TABLE …")`` — never by editing an old entry.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (2, SCHEMA),
    (3, _REVIEWERS),
    (4, _VETTING),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version the database is at (0: never versioned)."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, migrations: Sequence[tuple[int, str]]) -> int:
    """Apply, in order, every migration above the database's ``user_version``; each one
    and its version bump commit together. Another process migrating at the same moment
    is waited for (``BEGIN IMMEDIATE``), and what it did is not done twice. Returns the
    version reached."""
    for target, script in migrations:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
                conn.execute("ROLLBACK")
                continue
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(target)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _statements(script: str) -> list[str]:
    """A script's statements, one by one (``executescript`` would commit on its own)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
