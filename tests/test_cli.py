"""The command line: JSON contracts, exit codes, one-line errors, resumable import."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hwocr.cli import main
from hwocr.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


def run_cli(capsys, *args: str) -> tuple[int, dict | str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except json.JSONDecodeError:
        return code, out, err


def run_subprocess(*args: str, env_ws: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hwocr", *args], cwd=REPO, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HWOCR_WORKSPACE": str(env_ws)},
    )


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory) -> Path:
    from hwocr.demo import generate_demo

    csv_path, _ = generate_demo(tmp_path_factory.mktemp("demo"), count=12, seed=3)
    return csv_path


def test_import_segment_harvest_export_status_json(capsys, demo_csv, workspace_dir, tmp_path):
    code, imp, err = run_cli(capsys, "import", str(demo_csv), "--json")
    assert code == 0, err
    assert (imp["rows"], imp["added"], imp["skipped"], imp["layout"]) == (12, 12, 0, "original")
    assert imp["fetch"]["fetched"] == 12 and imp["fetch"]["failed"] == 0
    assert "fetching images" in err  # the progress bar goes to stderr

    code, seg, _ = run_cli(capsys, "segment", "--json")
    assert code == 0
    assert {"names", "matched", "repaired", "needs_review", "failed"} <= set(seg)
    assert seg["names"] == 12
    assert seg["matched"] + seg["repaired"] + seg["needs_review"] + seg["failed"] == 12
    assert seg["this_run"]["processed"] == 12

    code, har, _ = run_cli(capsys, "harvest", "--json")
    assert code == 0
    ws = Workspace(workspace_dir)
    assert har["crops"] == sum(ws.class_counts().values()) > 0

    code, again, _ = run_cli(capsys, "harvest", "--json")
    assert (again["written"], again["crops"]) == (0, har["crops"])

    out = tmp_path / "crops.zip"
    code, exp, _ = run_cli(capsys, "export", "--format", "zip", str(out), "--json")
    assert code == 0 and exp["crops"] == har["crops"]
    with zipfile.ZipFile(out) as zf:
        assert len(zf.namelist()) == har["crops"] + 1

    out_csv = tmp_path / "crops.csv"
    run_cli(capsys, "export", "--format", "csv", str(out_csv), "--json")
    rows = list(csv.reader(out_csv.open()))
    assert len(rows) == har["crops"] and all(len(r) == 785 for r in rows)
    assert all(0 <= int(r[0]) < 36 for r in rows)

    out_npz = tmp_path / "crops.npz"
    run_cli(capsys, "export", "--format", "npz", str(out_npz), "--json")
    data = np.load(out_npz)
    assert data["images"].shape == (har["crops"], 28, 28) and data["images"].dtype == np.uint8

    code, st, _ = run_cli(capsys, "status", "--json")
    assert st["names"] == 12 and st["crops"] == har["crops"]
    assert st["active_model"]["name"].startswith("base")


def test_second_import_fetches_only_what_is_missing(capsys, demo_csv, workspace_dir):
    run_cli(capsys, "import", str(demo_csv), "--json", "--no-fetch")
    ws = Workspace(workspace_dir)
    assert ws.status_counts()["pending"] == 12
    code, first, _ = run_cli(capsys, "import", str(demo_csv), "--json")
    assert (first["added"], first["already_present"], first["fetch"]["fetched"]) == (0, 12, 12)
    code, second, _ = run_cli(capsys, "import", str(demo_csv), "--json")
    assert second["fetch"]["attempted"] == 0


def test_import_reports_missing_images_and_exits_3(capsys, tmp_path, workspace_dir):
    (tmp_path / "images").mkdir()
    csv_path = tmp_path / "names.csv"
    csv_path.write_text("unit_id,image_url,transcription,first_or_last\nA1,images/none.jpg,LEA,first\n"
                        "A2,../../etc/passwd,PAUL,first\nA3,file:///etc/passwd,ZOE,first\nA4,images/x.jpg,,first\n")
    code, imp, _ = run_cli(capsys, "import", str(csv_path), "--json")
    assert code == 3
    reasons = {f["unit_id"]: f["reason"] for f in imp["fetch"]["failures"]}
    assert set(reasons) == {"A1", "A2", "A3"}
    assert "no such file" in reasons["A1"]
    assert imp["skipped"] == 1
    ws = Workspace(workspace_dir)
    assert ws.get_name_by_unit("A4").reason == "no transcription"
    assert not list((workspace_dir / "images").rglob("*.*"))


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["import", "/nonexistent/names.csv"], 2, "hwocr: /nonexistent/names.csv: no such file"),
        (["export", "--format", "zip", "out.zip"], 1, "hwocr: the class folders are empty"),
    ],
)
def test_bad_input_is_one_line_without_traceback(args, code, message, workspace_dir):
    proc = run_subprocess(*args, env_ws=workspace_dir)
    assert proc.returncode == code
    assert proc.stderr.startswith(message)
    assert proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_missing_column_is_named(tmp_path, workspace_dir):
    bad = tmp_path / "bad.csv"
    bad.write_text("unit_id,transcription\n1,LEA\n")
    proc = run_subprocess("import", str(bad), env_ws=workspace_dir)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert "image_url" in proc.stderr


def test_demo_if_empty_loads_once(capsys, workspace_dir):
    code, first, _ = run_cli(capsys, "demo", "--count", "9", "--json")
    assert code == 0 and first["generated"] == 9
    code, second, _ = run_cli(capsys, "demo", "--if-empty", "--json")
    assert second == {"skipped": True, "reason": "the workspace already has names"}
    assert Workspace(workspace_dir).status_counts()["pending"] == 0


def test_check_reports_integrity(capsys, workspace_dir):
    code, out, _ = run_cli(capsys, "check", "--json")
    assert code == 0 and out["integrity"] == "ok"


def test_no_command_prints_help():
    assert main([]) == 2
