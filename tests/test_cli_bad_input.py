"""Bad input on the command line (issue 12): an image that cannot be read gets its own
entry and the rest are still answered (exit 3); an unknown charset, or one the model
cannot serve, is one line and a non-zero exit, never a usage block or a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwocr.config import ALL_CLASSES, ALNUM, CHARSETS
from tests.test_cli import needs_base_model, run_cli, run_subprocess


def glyph_png(path: Path, letter: str = "A") -> Path:
    """One letter drawn in black on white, as a scanned character would be."""
    import cv2

    img = np.full((100, 80), 255, np.uint8)
    cv2.putText(img, letter, (10, 80), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 0, 8, cv2.LINE_AA)
    cv2.imwrite(str(path), img)
    return path


def tiny_png(path: Path) -> Path:
    """A 2x1-pixel white PNG: decodes, but holds no ink."""
    import cv2

    cv2.imwrite(str(path), np.full((1, 2), 255, np.uint8))
    return path


def _save_model(directory: Path, labels, favourite: str | None = None) -> Path:
    """A tiny untrained bundle with ``labels``; ``favourite`` gets all the output bias,
    so it is the answer whenever the charset allows it."""
    from hwocr.model import build_model, save_bundle

    model = build_model(len(labels))
    if favourite is not None:
        head = model.layers[-1]
        kernel, bias = head.get_weights()
        bias = np.zeros_like(bias)
        bias[list(labels).index(favourite)] = 20.0
        head.set_weights([np.zeros_like(kernel), bias])
    return save_bundle(directory, model, labels, {})


@pytest.fixture(scope="module")
def model36(tmp_path_factory) -> Path:
    """A model from before lower case: the 36 capitals and digits."""
    return _save_model(tmp_path_factory.mktemp("m36") / "model", ALNUM)


@pytest.fixture(scope="module")
def model62_small_a(tmp_path_factory) -> Path:
    """A 62-class model that answers a small "a" whenever it may."""
    return _save_model(tmp_path_factory.mktemp("m62") / "model", ALL_CLASSES, favourite="a")


# --- one bad image in a batch ------------------------------------------------------------


@needs_base_model
def test_classify_batch_reports_the_bad_image_in_place_and_exits_3(capsys, tmp_path, workspace_dir):
    good = glyph_png(tmp_path / "a.png")
    bad = tiny_png(tmp_path / "tiny.png")
    code, out, err = run_cli(capsys, "classify", str(bad), str(good), "--json")
    assert code == 3
    assert [o["path"] for o in out] == [str(bad), str(good)]
    assert out[0] == {"path": str(bad), "error": "no ink found"}
    assert out[1]["label"] == "A" and 0 < out[1]["confidence"] <= 1
    assert out[1]["top"][0][0] == "A"
    assert err.splitlines() == [f"hwocr: {bad}: no ink found"]


def test_classify_bad_image_between_good_ones_subprocess(tmp_path, workspace_dir, model36):
    first, last = glyph_png(tmp_path / "b.png", "B"), glyph_png(tmp_path / "c.png", "C")
    bad = tiny_png(tmp_path / "tiny.png")
    missing = tmp_path / "missing.png"
    proc = run_subprocess("classify", str(first), str(bad), str(missing), str(last), "--model", str(model36),
                          "--json", env_ws=workspace_dir)
    assert proc.returncode == 3, proc.stderr
    import json

    out = json.loads(proc.stdout)
    assert [o["path"] for o in out] == [str(first), str(bad), str(missing), str(last)]
    assert ["label" in o for o in out] == [True, False, False, True]
    assert out[1]["error"] == "no ink found" and out[2]["error"] == "no such file"
    assert all(o["label"] in ALNUM for o in (out[0], out[3]))
    assert proc.stderr.splitlines() == [f"hwocr: {bad}: no ink found", f"hwocr: {missing}: no such file"]
    assert "Traceback" not in proc.stderr


def test_classify_human_output_keeps_the_good_images(capsys, tmp_path, workspace_dir, model36):
    good, bad = glyph_png(tmp_path / "a.png"), tiny_png(tmp_path / "tiny.png")
    code, out, err = run_cli(capsys, "classify", str(good), str(bad), "--model", str(model36))
    assert code == 3
    assert len(out.splitlines()) == 1 and out.startswith(f"{good}: ")
    assert err == f"hwocr: {bad}: no ink found\n"


def test_classify_with_no_readable_image_is_an_input_error(capsys, tmp_path, workspace_dir, model36):
    bad = tiny_png(tmp_path / "tiny.png")
    code, out, err = run_cli(capsys, "classify", str(bad), str(tmp_path / "gone.png"), "--model", str(model36),
                             "--json")
    assert code == 2
    assert out == [{"path": str(bad), "error": "no ink found"},
                   {"path": str(tmp_path / "gone.png"), "error": "no such file"}]
    assert len(err.splitlines()) == 2


@needs_base_model
def test_read_batch_reports_the_bad_image_and_reads_the_rest(capsys, tmp_path, workspace_dir):
    from tests.test_cli import drawn_word_png

    word = drawn_word_png(tmp_path / "lea.png", "LEA")
    bad = tiny_png(tmp_path / "tiny.png")
    code, out, err = run_cli(capsys, "read", str(bad), str(word), "--json")
    assert code == 3
    assert [o["path"] for o in out] == [str(bad), str(word)]
    assert set(out[0]) == {"path", "error"} and out[0]["error"]
    assert out[1]["text"] == "LEA"
    assert err.splitlines() == [f"hwocr: {bad}: {out[0]['error']}"]


# --- charsets ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["classify", "read"])
def test_unknown_charset_is_one_line_naming_the_valid_ones(command, tmp_path, workspace_dir):
    proc = run_subprocess(command, str(tmp_path / "x.png"), "--charset", "greek", env_ws=workspace_dir)
    assert proc.returncode == 2
    assert proc.stderr == ("hwocr: unknown charset 'greek': use one of "
                           "letters, digits, alnum, lower, cased, all\n")
    assert proc.stdout == ""


def test_charset_help_lists_the_six_names():
    proc = run_subprocess("classify", "--help", env_ws=Path("/nonexistent"))
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for name in CHARSETS:
        assert f"{name} (" in text, name


@pytest.mark.parametrize("command", ["classify", "read"])
def test_a_36_class_model_asked_for_lower_case_is_one_clear_line(command, tmp_path, workspace_dir, model36):
    good = glyph_png(tmp_path / "a.png")
    proc = run_subprocess(command, str(good), "--charset", "lower", "--model", str(model36), env_ws=workspace_dir)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"hwocr: {model36}: this model knows no lower")
    assert "62-class" in proc.stderr
    assert proc.stdout == ""


def test_classify_keeps_the_case_the_model_answers(capsys, tmp_path, workspace_dir, model62_small_a):
    good = glyph_png(tmp_path / "a.png")
    code, out, _ = run_cli(capsys, "classify", str(good), "--charset", "all", "--model", str(model62_small_a),
                           "--json")
    assert code == 0 and out[0]["label"] == "a" and out[0]["top"][0][0] == "a"
    code, out, _ = run_cli(capsys, "classify", str(good), "--charset", "lower", "--model", str(model62_small_a))
    assert code == 0 and out.split(": ", 1)[1].startswith("a (")
    code, out, _ = run_cli(capsys, "classify", str(good), "--charset", "letters", "--model", str(model62_small_a),
                           "--json")
    assert code == 0 and out[0]["label"] in CHARSETS["letters"]
