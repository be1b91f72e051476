"""The demo data kept apart from real data: recognised by its own import, left out of
exports and training once real names are here, and removed in one step (CLI, Home, Import)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hwocr.cli import main
from hwocr.dataset import (
    DEMO_FOLDER,
    demo_crops_left_out,
    demo_data,
    export_dataset,
    harvest,
    remove_demo,
)
from hwocr.ui import state
from hwocr.ui.imports import load_demo
from hwocr.workspace import Workspace
from tests.helpers import add_letter_crops, add_name, files_in_dataset, no_exception, open_page, rows_in_chars

REPO = Path(__file__).resolve().parent.parent
HOME = str(REPO / "app.py")
IMPORT = str(REPO / "pages" / "1_Import.py")
DEMO_COUNT = 8


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def real_csv(tmp_path_factory) -> Path:
    """Names drawn like the demo's but imported as a real CSV, under REAL_ unit_ids."""
    from hwocr.demo import generate_demo

    csv_path, _ = generate_demo(tmp_path_factory.mktemp("real"), count=6, seed=5)
    rows = list(csv.reader(io.StringIO(csv_path.read_text())))
    for row in rows[1:]:
        row[0] = row[0].replace("DEMO_", "REAL_")
    with open(csv_path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return csv_path


@pytest.fixture
def ws(workspace_dir) -> Workspace:
    return Workspace(workspace_dir)


def _demo_files(ws: Workspace) -> set[str]:
    return {p for p in files_in_dataset(ws) if "DEMO_" in p}


def test_demo_then_real_import_exports_no_demo_crops(capsys, ws, real_csv, tmp_path):
    assert run_cli(capsys, "demo", "--count", str(DEMO_COUNT), "-q")[0] == 0
    demo_crops = len(_demo_files(ws))
    assert demo_crops > 0
    code, _out, err = run_cli(capsys, "import", str(real_csv), "--segment", "-q")
    assert code == 0
    assert "demo names" in err and "hwocr demo --remove" in err
    run_cli(capsys, "harvest", "-q")

    out_zip = tmp_path / "out.zip"
    code, out, _ = run_cli(capsys, "export", "--format", "zip", str(out_zip), "-q")
    assert code == 0 and f"{demo_crops} demo crops left out" in out
    with zipfile.ZipFile(out_zip) as zf:
        names = zf.namelist()
        manifest = zf.read("labels.csv").decode()
    assert names and not [n for n in names if "DEMO_" in n]
    assert "DEMO_" not in manifest and "REAL_" in manifest

    info = export_dataset(ws, "npz", tmp_path / "out.npz")
    assert info["demo_left_out"] == demo_crops
    with np.load(tmp_path / "out.npz") as npz:
        assert not [u for u in npz["unit_ids"] if str(u).startswith("DEMO_")]
    code, out, _ = run_cli(capsys, "export", "--format", "csv", str(tmp_path / "out.csv"), "--json", "-q")
    assert json.loads(out)["demo_left_out"] == demo_crops


def test_a_workspace_of_the_demo_alone_still_exports_and_trains_on_it(ws, tmp_path):
    load_demo(ws, count=DEMO_COUNT)
    crops = len(rows_in_chars(ws))
    assert demo_data(ws).names == DEMO_COUNT and not demo_data(ws).left_out
    assert demo_crops_left_out(ws) == frozenset()
    info = export_dataset(ws, "zip", tmp_path / "demo.zip")
    assert info["crops"] == crops and info["demo_left_out"] == 0

    from hwocr.ui.training import scan_class_folders

    assert scan_class_folders(ws).total == crops and scan_class_folders(ws).demo_left_out == 0
    # One real name: from now on the demo's crops stay out of what the job reads.
    add_name(ws, "R1", "AB")
    harvest(ws)
    summary = scan_class_folders(ws)
    assert summary.total == 2 and summary.demo_left_out == crops
    assert any(f"{crops} demo crops are left out" in w for w in summary.warnings())


def test_training_reads_no_demo_crop_beside_real_names(ws):
    load_demo(ws, count=DEMO_COUNT)
    add_name(ws, "R1", "AB", status="needs_review")  # a real name: the demo's crops now stay out
    add_letter_crops(ws, "AB", 2)
    left_out = demo_crops_left_out(ws)
    assert left_out and all("DEMO_" in p for p in left_out)

    from hwocr.train import load_class_folders

    _x, y, info = load_class_folders(ws.dataset_dir, exclude={ws.root / p for p in left_out})
    assert info.left_out == len(left_out)
    assert sorted(y) == ["A", "A", "B", "B"]
    assert not [p for p in info.paths if "DEMO_" in p]


def test_demo_remove_leaves_no_demo_rows_or_files_and_says_so_twice(capsys, ws):
    assert run_cli(capsys, "demo", "--count", str(DEMO_COUNT), "-q")[0] == 0
    real_id = add_name(ws, "R1", "AB")
    harvest(ws)
    real_image = ws.get_name(real_id).image_path
    demo_images = [r["image_path"] for r in ws.query("SELECT image_path FROM names WHERE unit_id LIKE 'DEMO%'")]
    assert len(demo_images) == DEMO_COUNT

    code, out, _ = run_cli(capsys, "demo", "--remove")
    assert code == 0
    assert out.startswith(f"removed the demo data: {DEMO_COUNT} names, ")
    assert not ws.query("SELECT 1 FROM names WHERE unit_id LIKE 'DEMO%'")
    assert not ws.query("SELECT 1 FROM chars c JOIN names n ON n.id = c.name_id WHERE n.unit_id LIKE 'DEMO%'")
    assert not ws.query("SELECT 1 FROM imports")
    assert not _demo_files(ws)
    assert files_in_dataset(ws) == rows_in_chars(ws) and len(rows_in_chars(ws)) == 2
    assert not any((ws.root / p).exists() for p in demo_images)
    assert not (ws.root / DEMO_FOLDER).exists()
    assert (ws.root / real_image).is_file() and ws.get_name(real_id).status == "matched"
    assert demo_data(ws).names == 0

    code, out, _ = run_cli(capsys, "demo", "--remove")
    assert code == 0 and out.strip() == "no demo data to remove"
    code, out, _ = run_cli(capsys, "check", "--json")
    assert code == 0 and json.loads(out)["reconcile"]["stray_files_removed"] == 0


def test_a_real_csv_with_demo_ids_is_not_the_demo(capsys, ws, tmp_path):
    from hwocr.demo import generate_demo

    csv_path, _ = generate_demo(tmp_path / "mine", count=3, seed=1)
    code, _out, err = run_cli(capsys, "import", str(csv_path), "-q")
    assert code == 0 and "demo" not in err
    assert demo_data(ws).names == 0
    assert not remove_demo(ws).anything
    assert len(ws.query("SELECT 1 FROM names")) == 3


def test_a_demo_loaded_before_it_had_its_own_import_name_is_recognised(ws):
    from hwocr.demo import generate_demo
    from hwocr.pipeline import import_csv

    csv_path, _ = generate_demo(ws.root / DEMO_FOLDER, count=3, seed=1)
    import_csv(ws, csv_path, images_root=csv_path.parent)  # what `demo` recorded until now: names.csv
    assert demo_data(ws).names == 3
    assert remove_demo(ws).names == 3


# --- pages --------------------------------------------------------------------------------


def test_home_removes_the_demo_data_in_one_click(ws):
    load_demo(ws, count=DEMO_COUNT)
    at = no_exception(open_page(HOME).run())
    assert "synthetic demo names" in "\n".join(m.value for m in at.markdown)
    at.button(key=state.HOME_DEMO_REMOVE).click().run()
    no_exception(at)
    assert not ws.query("SELECT 1 FROM names") and not rows_in_chars(ws) and not files_in_dataset(ws)
    assert any("Removed the demo data" in s.value for s in at.success)
    # An empty workspace again: the demo can be loaded anew, and there is nothing to remove.
    keys = [b.key for b in at.button]
    assert state.HOME_DEMO_BUTTON in keys and state.HOME_DEMO_REMOVE not in keys


def test_home_shows_no_remove_button_without_demo_data(ws):
    add_name(ws, "R1", "AB")
    at = no_exception(open_page(HOME).run())
    assert state.HOME_DEMO_REMOVE not in [b.key for b in at.button]


def test_import_page_warns_about_the_demo_and_removes_it_first(ws):
    load_demo(ws, count=DEMO_COUNT)
    at = no_exception(open_page(IMPORT).run())
    assert any(f"holds the {DEMO_COUNT} demo names" in w.value for w in at.warning)
    at.button(key=state.IMPORT_REMOVE_DEMO).click().run()
    no_exception(at)
    assert demo_data(ws).names == 0
    assert not [w for w in at.warning if "demo names" in w.value]
    assert state.IMPORT_REMOVE_DEMO not in [b.key for b in at.button]
