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
