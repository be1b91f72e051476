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
    _code, first, _ = run_cli(capsys, "import", str(demo_csv), "--json")
    assert (first["added"], first["already_present"], first["fetch"]["fetched"]) == (0, 12, 12)
    _code, second, _ = run_cli(capsys, "import", str(demo_csv), "--json")
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


# --- read -------------------------------------------------------------------------------

needs_base_model = pytest.mark.skipif(not (REPO / "models" / "base" / "model.keras").is_file(),
                                      reason="no shipped base model in models/base")


def drawn_word_png(path: Path, text: str) -> Path:
    import cv2

    img = np.full((120, 60 * len(text) + 40), 255, np.uint8)
    x = 20
    for ch in text:
        (w, th), _ = cv2.getTextSize(ch, cv2.FONT_HERSHEY_SIMPLEX, 2.0, 8)
        cv2.putText(img, ch, (x, 60 + th // 2), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 0, 8, cv2.LINE_AA)
        x += w
    cv2.imwrite(str(path), img)
    return path


@needs_base_model
def test_read_json_contract_lexicon_and_partial_failure(capsys, tmp_path, workspace_dir):
    hello = drawn_word_png(tmp_path / "hello.png", "HELLO")
    digits = drawn_word_png(tmp_path / "year.png", "2024")
    blank = tmp_path / "blank.png"
    import cv2

    cv2.imwrite(str(blank), np.full((50, 100), 255, np.uint8))
    lexicon = tmp_path / "names.txt"
    lexicon.write_text("hello\nworld\n")
    code, out, err = run_cli(capsys, "read", str(hello), str(blank), "--lexicon", str(lexicon), "--json")
    assert code == 3  # one image read, one failed
    assert [o["path"] for o in out] == [str(hello), str(blank)]
    first = out[0]
    assert first["text"] == first["raw_text"] == "HELLO"
    assert first["lexicon_match"]["entry"] == "HELLO" and first["lexicon_match"]["snapped"]
    assert [c["label"] for c in first["chars"]] == list("HELLO")
    assert all(len(c["box"]) == 4 and 0 < c["confidence"] <= 1 and c["top"][0][0] == c["label"] for c in first["chars"])
    assert out[1] == {"path": str(blank), "error": "no handwriting found in the image"}
    assert err.strip() == f"hwocr: {blank}: no handwriting found in the image"

    code, out, _ = run_cli(capsys, "read", str(digits), "--charset", "digits", "--json")
    assert code == 0 and out[0]["text"] == "2024"


@needs_base_model
def test_read_human_output_and_clean_names(capsys, tmp_path, workspace_dir, names_dir):
    hello = drawn_word_png(tmp_path / "hello.png", "HELLO")
    code, out, _ = run_cli(capsys, "read", str(hello))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{hello}: HELLO"
    assert lines[1].split()[::2] == list("HELLO")  # each letter with its confidence
    # A name from a form: --clean removes the printed label before reading.
    import csv as _csv

    with open(names_dir / "names.csv", newline="") as fh:
        row = next(r for r in _csv.DictReader(fh) if r["unit_id"] == "VALIDATION_0001")
    code, out, _ = run_cli(capsys, "read", str(names_dir / row["image_url"]), "--clean", "--json")
    text = out[0]["text"]
    assert code == 0 and out[0]["cleaned"] is True
    assert len(text) == 5 and sum(a != b for a, b in zip(text, "BILEL")) <= 1  # not "NOM..." first


def test_read_bad_input_is_one_line_without_traceback(tmp_path, workspace_dir):
    proc = run_subprocess("read", str(tmp_path / "missing.png"), "--lexicon", str(tmp_path / "nope.txt"),
                          env_ws=workspace_dir)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"hwocr: {tmp_path / 'nope.txt'}: cannot read the lexicon")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    proc = run_subprocess("read", str(tmp_path / "missing.png"), "--charset", "greek", env_ws=workspace_dir)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "usage:" not in proc.stderr
    assert proc.stderr == "hwocr: unknown charset 'greek': use one of letters, digits, alnum, lower, cased, all\n"


def test_summaries_write_large_counts_with_thousands_separators(capsys, tmp_path, workspace_dir):
    path = tmp_path / "big.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["unit_id", "image_url", "transcription", "first_or_last"])
        w.writerows([f"U{i:05d}", f"images/U{i:05d}.png", "MARTIN", "last"] for i in range(1200))
    code, out, _err = run_cli(capsys, "import", str(path), "--no-fetch", "-q")
    assert code == 0
    assert out.splitlines()[:2] == [
        "big.csv: 1,200 rows (original layout, utf-8)",
        "  1,200 new names, 0 already in the workspace, 0 skipped (no usable transcription), "
        "0 duplicate unit_id(s) kept once",
    ]


def test_import_connections_sets_the_downloads_in_flight(capsys, workspace_dir, tmp_path, monkeypatch):
    """``import --connections N`` keeps N downloads in flight, no more: at a server's
    latency that is what sets the import's rate."""
    import io

    from PIL import Image

    from tests.httpserver import LocalServer, image

    buf = io.BytesIO()
    Image.new("L", (120, 40), 230).save(buf, "PNG")
    monkeypatch.setenv("HWOCR_ALLOW_PRIVATE_URLS", "127.0.0.1")
    with LocalServer() as server:
        url = server.route("/name.png", image(buf.getvalue(), "image/png", delay=0.15))
        csv_path = tmp_path / "urls.csv"
        with csv_path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["unit_id", "image_url", "transcription", "first_or_last"])
            for i in range(12):
                w.writerow([f"u{i}", f"{url}?n={i}", "ANNA", "first"])
        code, imp, err = run_cli(capsys, "import", str(csv_path), "--connections", "3", "--json")
        assert code == 0, err
        assert imp["fetch"]["fetched"] == 12
        assert server.max_in_flight == 3


@pytest.mark.parametrize("value", ["0", "-2", "257"])
def test_import_connections_out_of_range_is_one_line(capsys, tmp_path, demo_csv, value):
    fresh = tmp_path / "ws"
    code, _, err = run_cli(capsys, "import", str(demo_csv), "-w", str(fresh), "--connections", value)
    assert code == 2
    assert err.strip() == f"hwocr: --connections must be between 1 and 256, not {value}"
    assert not fresh.exists()  # refused before anything was made
