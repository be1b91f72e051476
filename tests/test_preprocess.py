"""Cleaning name images: what is removed, why, and what must always hold."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hwocr.boxes import Box
from hwocr.preprocess import REMOVED_KINDS, CleanedName, binarize, clean_name_image, stroke_width


def synthetic_name(
    word: str = "MARTIN",
    *,
    label: bool = True,
    heading: bool = False,
    hline: bool = False,
    vline: bool = False,
    speck: bool = False,
) -> np.ndarray:
    """A name the way the forms look: optional printed "NOM :" label on the name's line
    (bold word, colon of two 3x3 dots), optional "PRENOM" heading above, letters 22 px
    apart, a form line under the name, a vertical form line far right, a speck."""
    h, w = (60, 300) if heading else (36, 388)
    img = np.full((h, w), 255, np.uint8)
    base = 44 if heading else 26
    x = 20
    if label:
        cv2.putText(img, "NOM", (6, base), cv2.FONT_HERSHEY_SIMPLEX, 0.42, 0, 2, cv2.LINE_8)
        img[base - 9 : base - 6, 35:38] = 0
        img[base - 3 : base, 35:38] = 0
        x = 95
    if heading:
        cv2.putText(img, "PRENOM", (30, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 0, 2, cv2.LINE_8)
    for ch in word:
        cv2.putText(img, ch, (x, base), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 0, 1, cv2.LINE_AA)
        x += 22
    if hline:
        img[base + 4, 5 : w - 5] = 0
    if vline:
        img[base - 14 : base + 2, w - 12 : w - 10] = 0
    if speck:
        img[base - 8 : base - 6, w - 60 : w - 58] = 0
    return img


def kinds(cleaned: CleanedName) -> list[str]:
    return sorted(r.kind for r in cleaned.removed)


def ink_columns(cleaned: CleanedName) -> np.ndarray:
    return np.flatnonzero(cleaned.ink.any(axis=0))


def test_printed_label_is_removed_by_its_colon():
    gray = synthetic_name()
    cleaned = clean_name_image(gray)
    assert kinds(cleaned) == ["label"] * 4  # N, OM (touching), and the colon's two dots
    labels = [r.box for r in cleaned.removed]
    assert Box(35, 17, 38, 20) in labels and Box(35, 23, 38, 26) in labels
    cols = ink_columns(cleaned)
    assert cols.min() == 96 and cols.max() == 215  # M ... N, nothing of the label
    assert cleaned.gray is gray  # untouched input


def test_without_a_colon_nothing_is_taken_for_a_label():
    cleaned = clean_name_image(synthetic_name(label=False))
    assert cleaned.removed == ()
    assert ink_columns(cleaned).min() == 21


def test_form_lines_and_specks_are_removed():
    cleaned = clean_name_image(synthetic_name(hline=True, vline=True, speck=True))
    found = {(r.kind, r.box) for r in cleaned.removed}
    assert ("line", Box(6, 30, 384, 31)) in found  # the long horizontal form line
    assert ("line", Box(376, 12, 378, 28)) in found  # the vertical line standing apart
    assert ("speck", Box(328, 18, 330, 20)) in found
    cols = ink_columns(cleaned)
    assert cols.min() == 96 and cols.max() == 215
    assert not cleaned.ink[30].any()  # the line's row is clean under the letters too


def test_printed_heading_above_the_name_is_not_the_name():
    cleaned = clean_name_image(synthetic_name(label=False, heading=True))
    assert kinds(cleaned) == ["other_text"] * 4
    rows = np.flatnonzero(cleaned.ink.any(axis=1))
    assert rows.min() == 32 and rows.max() == 43


def test_dot_of_an_i_is_kept_and_a_lone_speck_is_not():
    gray = np.full((30, 120), 255, np.uint8)
    gray[10:24, 20:30] = 0  # a letter
    gray[12:24, 50:52] = 0  # stem of an i ...
    gray[8:10, 50:52] = 0  # ... and its dot
    gray[10:24, 80:90] = 0  # a letter
    gray[15:17, 104:106] = 0  # a speck far from everything
    cleaned = clean_name_image(gray)
    assert cleaned.ink[8:10, 50:52].all()
    assert [(r.kind, r.box) for r in cleaned.removed] == [("speck", Box(104, 15, 106, 17))]


def test_binarize_keeps_faint_strokes_that_touch_dark_ones():
    gray = np.full((24, 80), 250, np.uint8)
    for x in (4, 12, 20, 28):
        gray[4:20, x : x + 3] = 20  # dark strokes
    gray[11:13, 31:45] = 160  # faint pencil continuing the last one
    gray[6:18, 60:63] = 160  # the same faintness, touching nothing dark
    ink = binarize(gray)
    assert set(np.unique(ink).tolist()) == {0, 255}
    assert ink[11:13, 31:45].all()
    assert not ink[:, 50:].any()


@pytest.mark.parametrize(
    "gray",
    [
        np.full((36, 388), 255, np.uint8),  # blank paper
        np.zeros((36, 388), np.uint8),  # all black: no contrast, no ink
        np.full((1, 1), 0, np.uint8),
        np.zeros((0, 5), np.uint8),
        np.zeros((5, 5, 3), np.uint8),  # not a gray image
        np.full((4, 4), 7.5, np.float32),
        np.array([[np.nan, 300.0], [-5.0, 0.0]]),
    ],
)
def test_odd_inputs_give_no_ink_and_do_not_raise(gray):
    cleaned = clean_name_image(gray)
    assert cleaned.ink.dtype == np.uint8
    assert not cleaned.ink.any()
    assert cleaned.removed == ()


def test_stroke_width():
    ink = np.zeros((40, 40), np.uint8)
    ink[5:35, 10:13] = 255  # a vertical stroke 3 wide
    assert stroke_width(ink) == pytest.approx(90 / 33)  # area / (30 row runs + 3 column runs)
    assert stroke_width(np.zeros((5, 5), np.uint8)) == 1.0


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 80))))
def test_cleaned_ink_is_binary_and_removed_boxes_lie_inside(gray):
    cleaned = clean_name_image(gray)
    assert cleaned.ink.shape == gray.shape and cleaned.ink.dtype == np.uint8
    assert set(np.unique(cleaned.ink).tolist()) <= {0, 255}
    assert cleaned.gray is gray
    h, w = gray.shape
    for r in cleaned.removed:
        assert r.kind in REMOVED_KINDS
        assert 0 <= r.box.x0 < r.box.x1 <= w and 0 <= r.box.y0 < r.box.y1 <= h


# --------------------------------------------------------------------------------------
# the compiled kernels behind clean_name_image (hwocr.preprocess_kernels)


def test_runs_and_components_of_a_small_mask():
    from hwocr import preprocess_kernels

    mask = np.array(
        [
            [0, 0, 0, 1, 1, 0],
            [1, 0, 0, 0, 0, 1],
            [0, 0, 1, 1, 0, 0],
        ],
        np.uint8,
    )
    strong = np.zeros_like(mask)
    strong[2, 3] = 1
    runs, run_strong, row_count, outline = preprocess_kernels.scan_runs(mask * 255, strong)
    assert runs.tolist() == [[0, 3, 5], [1, 0, 1], [1, 5, 6], [2, 2, 4]]
    assert run_strong.tolist() == [False, False, False, True]
    assert row_count.tolist() == [2, 2, 2]
    assert outline == 4 + 6  # four row runs; six pixels start a column run
    stats, has_strong, run_label = preprocess_kernels.label_runs(runs, run_strong, 3, 6)
    # (1, 0) is in the first 2x2 block, so its component comes first although the run
    # at (0, 3) comes first in raster order: OpenCV's numbering.
    assert stats.tolist() == [[0, 1, 1, 1, 1], [3, 0, 3, 2, 3], [2, 2, 2, 1, 2]]
    assert has_strong.tolist() == [False, False, True]
    assert run_label.tolist() == [1, 0, 1, 2]
    n, _, cv_stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    assert n - 1 == len(stats) and cv_stats[1:].tolist() == stats.tolist()


@pytest.mark.parametrize("seed", range(6))
def test_components_are_numbered_and_measured_as_opencv_does(seed):
    from hwocr import preprocess_kernels

    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 60)), int(rng.integers(1, 200))
    mask = ((rng.random((h, w)) < rng.uniform(0.05, 0.6)) * 255).astype(np.uint8)
    strong = (rng.random((h, w)) < 0.05).astype(np.uint8)
    runs, run_strong, row_count, _ = preprocess_kernels.scan_runs(mask, strong)
    assert row_count.tolist() == np.count_nonzero(mask, axis=1).tolist()
    stats, has_strong, run_label = preprocess_kernels.label_runs(runs, run_strong, h, w)
    n, labels, cv_stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    assert stats.tolist() == cv_stats[1:].tolist()
    want_strong = np.bincount(labels[strong.view(bool) & (mask > 0)], minlength=n)[1:] > 0
    assert has_strong.tolist() == want_strong.tolist()
    painted = preprocess_kernels.paint_runs(runs, run_label, np.ones(len(stats), bool), h, w)
    assert np.array_equal(painted, mask)
    for k, (y, x0, x1) in enumerate(runs.tolist()):
        assert (labels[y, x0:x1] == run_label[k] + 1).all()


@pytest.mark.parametrize("seed", range(8))
def test_contrast_runs_finds_the_ink_binarize_finds(seed):
    from hwocr import preprocess_kernels
    from hwocr.preprocess import _contrast, _weak_and_strong

    rng = np.random.default_rng(seed)
    gray = synthetic_name(["MARTIN", "LEA", "ZOE"][seed % 3], label=bool(seed % 2), hline=seed % 4 == 0)
    gray = np.clip(gray.astype(int) + rng.integers(-30, 31, gray.shape), 0, 255).astype(np.uint8)
    contrast = _contrast(gray)
    otsu = cv2.threshold(contrast, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0]
    hist = np.bincount(contrast.ravel(), minlength=256)
    assert preprocess_kernels.otsu_threshold(hist, contrast.size) == otsu
    weak, strong = _weak_and_strong(gray)
    _, strong_t, runs, run_strong, row_count, outline = preprocess_kernels.contrast_runs(contrast, 40, 0.5)
    assert strong_t == max(otsu, 40.0)
    want = preprocess_kernels.scan_runs(weak, strong)
    assert runs.tolist() == want[0].tolist() and run_strong.tolist() == want[1].tolist()
    assert row_count.tolist() == want[2].tolist() and outline == want[3]
    # and the outline gives stroke_width's measure
    assert max(1.0, int(row_count.sum()) / outline) == stroke_width(weak)


def test_blank_contrast_has_no_runs():
    from hwocr import preprocess_kernels

    weak_t, strong_t, runs, _, row_count, _ = preprocess_kernels.contrast_runs(np.full((5, 7), 39, np.uint8), 40, 0.5)
    assert (weak_t, strong_t) == (0.0, 0.0) and len(runs) == 0 and not row_count.any()


def test_kernels_are_compiled_in_memory_where_no_cache_can_be_written(monkeypatch):
    from hwocr import kernel_tools

    calls = []

    def fake_njit(**options):
        calls.append(options)
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x'")
        return lambda fn: ("compiled", fn)

    monkeypatch.setattr(kernel_tools, "njit", fake_njit)
    assert kernel_tools.compiled(len) == ("compiled", len)
    assert calls == [{"cache": True, "nogil": True}, {"nogil": True}]


def test_importing_the_cli_and_the_segmenter_does_not_import_numba():
    import subprocess
    import sys

    code = (
        "import sys, hwocr.cli, hwocr.align, hwocr.preprocess, hwocr.segment, hwocr.read; "
        "print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_kernel_rules_are_read_by_name_from_the_defaults():
    from dataclasses import fields, replace

    from hwocr import align_kernels, preprocess_kernels
    from hwocr.config import DEFAULTS

    names = {f.name for f in fields(DEFAULTS)}
    for rules_type, make in ((preprocess_kernels.CleanRules, preprocess_kernels.clean_rules),
                             (align_kernels.AlignRules, align_kernels.align_rules)):
        assert set(rules_type._fields) <= names
        values = make(DEFAULTS)
        assert values == tuple(float(getattr(DEFAULTS, name)) for name in rules_type._fields)
        assert make(DEFAULTS) is values  # made once per table
        other = replace(DEFAULTS, core_gap=0.5, align_height_spread=0.5)
        named = rules_type(*make(other))
        assert named != rules_type(*values)
        assert getattr(named, "core_gap", 0.5) == 0.5 and getattr(named, "align_height_spread", 0.5) == 0.5
