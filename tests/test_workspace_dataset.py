"""Workspace, harvest, reconcile, browsing and export: the class folders stay true."""

from __future__ import annotations

import os
import sqlite3
import zipfile

import numpy as np
import pytest

from hwocr.dataset import (
    add_crop,
    delete_crops,
    export_dataset,
    harvest,
    list_crops,
    reconcile,
    relabel_crops,
)
from hwocr.errors import DatasetError, InputError, WorkspaceError
from hwocr.images import load_gray
from hwocr.workspace import SCHEMA_VERSION, Workspace, atomic_write_bytes, remove_orphan_temp_files, safe_filename
from tests.helpers import add_name, blocks_image, files_in_dataset, rows_in_chars


@pytest.fixture
def ws(workspace_dir) -> Workspace:
    return Workspace(workspace_dir)


def test_new_workspace_has_folders_schema_and_wal(ws):
    assert (ws.root / "hwocr.sqlite3").is_file()
    assert sorted(p.name for p in ws.dataset_dir.iterdir())[:3] == ["0", "1", "2"]
    assert (ws.dataset_dir / "Z").is_dir()
    assert ws.query_one("PRAGMA user_version")[0] == SCHEMA_VERSION
    assert ws.query_one("PRAGMA journal_mode")[0] == "wal"
    assert ws.integrity_check() == "ok"


def test_open_existing_only_when_asked(tmp_path):
    with pytest.raises(WorkspaceError, match="not an hwocr workspace"):
        Workspace(tmp_path / "nothing", create=False)


def test_resolve_refuses_escape(ws):
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        ws.resolve("../../etc/passwd")
    assert ws.resolve("images/x.png") == ws.root / "images" / "x.png"


def test_safe_filename():
    assert safe_filename("../../etc/passwd") == "etc_passwd"
    assert safe_filename("a b/c\\d") == "a_b_c_d"
    assert safe_filename("...") == "item"


def test_atomic_write_leaves_no_temp(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_temp_files_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    """A writer killed between creating its temporary file and renaming it leaves the
    file behind; the next fetch removes it, but never one that a live process writes."""
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    folder = tmp_path / "images" / "0000"
    folder.mkdir(parents=True)
    orphan = folder / f".00000102.jpg.{gone.pid}.0123abcd.tmp"
    live = folder / f".00000103.jpg.{os.getpid()}.89abcdef.tmp"
    kept = [folder / "00000101.jpg", folder / ".hidden.tmp", folder / f"x.{gone.pid}.0123abcd.tmp"]
    for f in [orphan, live, *kept]:
        f.write_bytes(b"")
    assert remove_orphan_temp_files(tmp_path / "images") == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in [live, *kept])


def test_fetch_sweeps_orphan_temp_files(ws, tmp_path):
    import subprocess
    import sys

    from hwocr.pipeline import fetch_missing

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    orphan = ws.images_dir / "0000" / f".00000001.png.{gone.pid}.0123abcd.tmp"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"half an image")
    fetch_missing(ws)
    assert not orphan.exists()


def test_harvest_writes_one_crop_per_box_with_provenance(ws):
    name_id = add_name(ws, "U1", "ABC")
    report = harvest(ws)
    assert (report.names, report.written, report.unchanged) == (1, 3, 0)
    rows = ws.query("SELECT * FROM chars ORDER BY idx")
    assert [r["label"] for r in rows] == ["A", "B", "C"]
    assert [r["name_id"] for r in rows] == [name_id] * 3
    assert [(r["x0"], r["x1"]) for r in rows] == [(5, 25), (35, 55), (65, 85)]
    assert all(r["origin"] == "auto" for r in rows)
    # The crop is the box plus the 2-pixel margin, cut from the stored image.
    crop = load_gray(ws.root / rows[1]["path"])
    assert crop.shape == (20 + 4, 20 + 4)
    assert int(crop[2:-2, 2:-2].max()) == 21  # the second block's gray, nothing else
    assert rows[0]["path"].startswith("dataset/A/U1_00_")


def test_harvest_twice_never_duplicates(ws):
    add_name(ws, "U1", "ABC")
    harvest(ws)
    before = files_in_dataset(ws)
    report = harvest(ws)
    assert (report.written, report.unchanged) == (0, 1)
    assert files_in_dataset(ws) == before == rows_in_chars(ws)
    assert len(before) == 3


def test_harvest_respects_status_and_confidence(ws):
    add_name(ws, "M", "AB", status="matched", confidence=0.9)
    add_name(ws, "R_hi", "CD", status="repaired", confidence=0.95)
    add_name(ws, "R_lo", "EF", status="repaired", confidence=0.2)
    add_name(ws, "Q", "GH", status="needs_review", confidence=0.1)
    add_name(ws, "X", "IJ", status="rejected")
    harvest(ws, min_confidence=0.75)
    assert sorted(ws.class_counts()[k] for k in "ABCDEFGHIJ") == [0] * 6 + [1] * 4
    assert {k for k, v in ws.class_counts().items() if v} == set("ABCD")


def test_harvest_reports_a_name_it_cannot_cut_and_writes_the_others(ws):
    """A name with no stored image, one whose stored path leads out of the workspace
    and one with empty boxes: the first two are errors of their own, the third is not
    harvestable; the good name's crops are written all the same."""
    add_name(ws, "GOOD", "AB")
    no_image = add_name(ws, "NOIMG", "CD")
    escaping = add_name(ws, "OUT", "EF")
    empty = add_name(ws, "EMPTY", "GH")
    with ws.transaction() as conn:
        conn.execute("UPDATE names SET image_path = NULL WHERE id = ?", (no_image,))
        conn.execute("UPDATE names SET image_path = '../outside.png' WHERE id = ?", (escaping,))
        conn.execute("UPDATE names SET boxes = '[]' WHERE id = ?", (empty,))
    report = harvest(ws)
    assert (report.names, report.written) == (3, 2)
    assert [e.split(":")[0] for e in report.errors] == ["NOIMG", "OUT"]
    assert "no stored image" in report.errors[0] and "outside the workspace" in report.errors[1]
    assert {k for k, v in ws.class_counts().items() if v} == set("AB")
    assert files_in_dataset(ws) == rows_in_chars(ws)


def test_harvest_removes_crops_of_names_no_longer_harvestable(ws):
    name_id = add_name(ws, "U1", "AB")
    harvest(ws)
    with ws.transaction() as conn:
        conn.execute("UPDATE names SET status = 'rejected' WHERE id = ?", (name_id,))
    report = harvest(ws)
    assert report.removed == 2
    assert files_in_dataset(ws) == set() == rows_in_chars(ws)


def test_harvest_replaces_crops_when_boxes_change(ws):
    name_id = add_name(ws, "U1", "AB")
    harvest(ws)
    old = rows_in_chars(ws)
    with ws.transaction() as conn:
        conn.execute("UPDATE names SET boxes = ? WHERE id = ?", ('[[5,5,25,25,"A"],[35,5,55,25,"H"]]', name_id))
    report = harvest(ws)
    assert report.written == 2
    new = rows_in_chars(ws)
    assert not (old & new)
    assert files_in_dataset(ws) == new
    assert ws.class_counts()["H"] == 1 and ws.class_counts()["B"] == 0


def test_reconcile_repairs_what_a_crash_leaves(ws):
    add_name(ws, "U1", "ABC")
    harvest(ws)
    rows = ws.query("SELECT path FROM chars ORDER BY idx")
    # A crash mid-write: a temp file, a stray crop without a row, a row whose file is gone.
    (ws.dataset_dir / "A" / ".x.png.123.tmp").write_bytes(b"partial")
    (ws.dataset_dir / "B" / "stray.png").write_bytes(b"not committed")
    os.unlink(ws.root / rows[2]["path"])
    report = reconcile(ws)
    assert (report.temp_files_removed, report.stray_files_removed, report.rows_restored,
            report.rows_dropped) == (1, 1, 1, 0)
    assert files_in_dataset(ws) == rows_in_chars(ws)
    assert len(rows_in_chars(ws)) == 3


def test_reconcile_drops_row_when_source_image_is_gone(ws):
    name_id = add_name(ws, "U1", "AB")
    harvest(ws)
    row = ws.query_one("SELECT path FROM chars WHERE idx = 0")
    os.unlink(ws.root / row["path"])
    os.unlink(ws.image_path_of(ws.get_name(name_id)))
    report = reconcile(ws)
    assert (report.rows_restored, report.rows_dropped) == (0, 1)
    assert files_in_dataset(ws) == rows_in_chars(ws)
    assert len(rows_in_chars(ws)) == 1


def test_relabel_moves_file_and_row(ws):
    add_name(ws, "U1", "AB")
    harvest(ws)
    crop = list_crops(ws, "A")[0]
    assert relabel_crops(ws, [crop.id], " R ", actor="t") == 1
    assert list_crops(ws, "A") == []
    moved = list_crops(ws, "R")[0]
    assert moved.id == crop.id and moved.path.startswith("dataset/R/") and moved.origin == "verified"
    assert files_in_dataset(ws) == rows_in_chars(ws)
    # The name's box follows, so the next harvest keeps the person's letter.
    assert [b.label for b in ws.get_name(crop.name_id).boxes] == ["R", "B"]
    assert harvest(ws).written == 0
    assert ws.class_counts()["R"] == 1 and ws.class_counts()["A"] == 0
    with pytest.raises(InputError, match="not a class"):
        relabel_crops(ws, [crop.id], "?")


def test_deleting_a_crop_sends_its_name_back_to_review(ws):
    name_id = add_name(ws, "U1", "ABC")
    harvest(ws)
    assert delete_crops(ws, [list_crops(ws, "B")[0].id], actor="t") == 1
    record = ws.get_name(name_id)
    assert (record.status, record.priority) == ("needs_review", 1)
    assert "crop B deleted" in record.reason
    # Its other crops left with it, and harvest does not bring any back.
    assert files_in_dataset(ws) == set() == rows_in_chars(ws)
    harvest(ws)
    assert rows_in_chars(ws) == set()


def test_delete_and_add_crop(ws):
    add_name(ws, "U1", "AB")
    harvest(ws)
    ids = [c.id for c in list_crops(ws, "A") + list_crops(ws, "B")]
    assert delete_crops(ws, ids) == 2
    assert files_in_dataset(ws) == set()
    img = np.full((30, 20), 255, np.uint8)
    img[5:25, 8:12] = 0
    rec = add_crop(ws, img, " I ", origin="canvas")
    assert rec.label == "I" and rec.name_id is None
    assert files_in_dataset(ws) == rows_in_chars(ws) == {rec.path}
    # Harvest leaves crops that do not come from a name alone.
    harvest(ws)
    assert rows_in_chars(ws) == {rec.path}


def test_list_crops_pages(ws):
    for i in range(5):
        add_name(ws, f"U{i}", "A", image=blocks_image(1)[0], boxes=blocks_image(1)[1])
    harvest(ws)
    first = list_crops(ws, "A", offset=0, limit=2)
    second = list_crops(ws, "A", offset=2, limit=2)
    rest = list_crops(ws, "A", offset=4, limit=2)
    assert [len(first), len(second), len(rest)] == [2, 2, 1]
    assert len({c.id for c in first + second + rest}) == 5


def test_export_zip_holds_folders_and_manifest(ws, tmp_path):
    add_name(ws, "=HYPERLINK(1)", "AB")
    harvest(ws)
    info = export_dataset(ws, "zip", tmp_path / "out.zip")
    assert info["crops"] == 2
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        names = sorted(zf.namelist())
        assert names[-1] == "labels.csv"
        assert [n.split("/")[0] for n in names[:-1]] == ["A", "B"]
        manifest = zf.read("labels.csv").decode()
    # A formula-like unit_id is defused, never exported as a live formula.
    assert "'=HYPERLINK(1)" in manifest
    assert ",=HYPERLINK" not in manifest


def test_export_empty_dataset_is_a_clear_error(ws, tmp_path):
    with pytest.raises(DatasetError, match="empty"):
        export_dataset(ws, "zip", tmp_path / "out.zip")
    with pytest.raises(InputError, match="unknown export format"):
        export_dataset(ws, "xls", tmp_path / "out.xls")


def test_readonly_workspace_gives_a_clear_error(ws):
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    os.chmod(ws.root / "hwocr.sqlite3", 0o444)
    try:
        fresh = Workspace(ws.root)
        with pytest.raises(WorkspaceError, match="read-only"):
            add_name(fresh, "U1", "AB")
    finally:
        os.chmod(ws.root / "hwocr.sqlite3", 0o644)


def test_sqlite_errors_are_explained(ws):
    from hwocr.workspace import _explain_sqlite_error

    assert "disk is full" in str(_explain_sqlite_error(sqlite3.OperationalError("database or disk is full"), ws.root))
    assert "read-only" in str(
        _explain_sqlite_error(sqlite3.OperationalError("attempt to write a readonly database"), ws.root))
    assert "damaged" in str(_explain_sqlite_error(sqlite3.DatabaseError("database disk image is malformed"), ws.root))
