"""hwocr.store on its own: the schema's last migration on a workspace one version behind,
and a few statements the workspace builds on, with nothing but a connection."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest

from hwocr.errors import WorkspaceError
from hwocr.store import chars, db, events, names, schema
from hwocr.workspace import DB_NAME, Workspace


def _conn(path) -> sqlite3.Connection:
    conn = db.connect(path)
    schema.migrate(conn, schema.MIGRATIONS)
    return conn


def _name(conn, unit_id: str, status: str = "needs_review") -> int:
    assert names.insert_imported(conn, unit_id=unit_id, import_id=None, line=1, source=f"{unit_id}.png",
                                 raw_transcription="AB", transcription="AB", first_or_last=None,
                                 status=status, reason=None, t=1.0)
    return names.by_unit(conn, unit_id)["id"]


def test_a_workspace_one_migration_behind_gains_the_new_column_and_keeps_its_rows(tmp_path):
    conn = db.connect(tmp_path / DB_NAME)
    assert schema.migrate(conn, schema.MIGRATIONS[:-1]) == schema.SCHEMA_VERSION - 1
    name_id = _name(conn, "U1")
    assert "vet" not in [r[1] for r in conn.execute("PRAGMA table_info(names)")]
    conn.close()
    ws = Workspace(tmp_path)
    assert ws.read(schema.user_version) == schema.SCHEMA_VERSION
    assert "vet" in [r[1] for r in ws.query("PRAGMA table_info(names)")]
    assert ws.get_name(name_id).unit_id == "U1" and ws.get_name(name_id).vet is None


def test_a_name_is_inserted_once_and_its_crops_leave_with_it(tmp_path):
    conn = _conn(tmp_path / "x.sqlite3")
    name_id = _name(conn, "U1")
    assert not names.insert_imported(conn, unit_id="U1", import_id=None, line=2, source="again.png",
                                     raw_transcription="X", transcription="X", first_or_last=None,
                                     status="pending", reason=None, t=2.0)
    chars.insert_many(conn, [(name_id, i, label, f"dataset/{label}/u1_{i}.png", 0, 0, 5, 5, "auto", 1.0)
                             for i, label in enumerate("AB")])
    assert [r["label"] for r in chars.of_names(conn, [name_id])] == ["A", "B"]
    assert chars.class_counts(conn) == {"A": 1, "B": 1}
    assert sorted(chars.remove_of_name(conn, name_id)) == ["dataset/A/u1_0.png", "dataset/B/u1_1.png"]
    assert chars.all_paths(conn) == set()
    names.delete(conn, [name_id])
    assert names.by_id(conn, name_id) is None


def test_claims_and_decisions_bump_versions_and_are_counted(tmp_path):
    conn = _conn(tmp_path / "x.sqlite3")
    a, b = _name(conn, "A"), _name(conn, "B")
    assert names.next_unclaimed(conn, ("needs_review",), lapsed_before=0.0)["id"] == a
    names.set_claim(conn, a, "alice", 100.0)
    assert names.claim_live(conn, a, since=50.0) and not names.claim_live(conn, a, since=150.0)
    assert names.next_unclaimed(conn, ("needs_review",), lapsed_before=50.0)["id"] == b
    assert names.claimed_by(conn, "alice", ("needs_review",))["id"] == a
    names.mark_verified(conn, a, boxes_json="[]", transcription="A", reason="ok", reviewer="alice", t=200.0)
    events.insert(conn, ts=200.0, kind="accept", name_id=a, actor="alice", detail=None)
    row = names.by_id(conn, a)
    assert (row["status"], row["version"], row["claimed_by"]) == ("verified", 1, None)
    assert events.reviewer_done(conn, "alice", since=0.0) == 1
    assert [r["kind"] for r in events.review_decisions(conn, "alice")] == ["accept"]


def test_the_store_imports_no_caller_and_no_streamlit():
    # The store is the bottom layer: the workspace, dataset, review and pipeline call it,
    # never the other way round (connections and values are passed in), and the pages'
    # queries stay free of Streamlit.
    allowed = {"hwocr.store", "hwocr.boxes", "hwocr.errors", "hwocr.text"}
    found = []
    for path in sorted((Path(__file__).resolve().parent.parent / "hwocr" / "store").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for target in targets:
                top = target.split(".")[0]
                if top == "streamlit" or (top == "hwocr" and not any(
                        target == a or target.startswith(a + ".") for a in allowed)):
                    found.append(f"{path.name}:{node.lineno}: {target}")
    assert not found, found


def test_resolving_many_paths_gives_what_resolving_each_gives(tmp_path):
    # segment resolves every image path at once, each folder once; the answers and the
    # refusals must be resolve's: a link out of the workspace, .., an absolute path.
    ws = Workspace(tmp_path / "ws")
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"x")
    (ws.images_dir / "a.jpg").write_bytes(b"x")
    (ws.images_dir / "sub").mkdir()
    (ws.images_dir / "sub" / "b.jpg").write_bytes(b"x")
    (ws.images_dir / "link.jpg").symlink_to(outside)
    (ws.images_dir / "inner.jpg").symlink_to(ws.images_dir / "a.jpg")
    (ws.root / "up").symlink_to(tmp_path)
    good = ["images/a.jpg", "images/sub/b.jpg", "images/sub/../a.jpg", "images/inner.jpg", "images/missing.jpg",
            "x.jpg"]
    assert ws.resolve_many(good) == [ws.resolve(p) for p in good]
    for bad in ["images/link.jpg", "images/../../secret.jpg", "up/secret.jpg", str(outside), "/x.jpg"]:
        with pytest.raises(WorkspaceError):
            ws.resolve(bad)
        with pytest.raises(WorkspaceError):
            ws.resolve_many(["images/a.jpg", bad])
    ws.close()
