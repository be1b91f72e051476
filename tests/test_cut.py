"""Cutting drawings into lines, parts and pieces (hwocr.cut), on hand-made stroke images.

Every character is drawn on a canvas of its own first, so its expected box is the
bounding box of the ink actually drawn (not a number typed by hand that the cutter's
own rounding could match by accident); the characters are then put on one page.
"""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np
import pytest

from hwocr.boxes import Box
from hwocr.cut import cut_image, cut_ink
from hwocr.errors import ImageError

H, W = 160, 480
INK = 255  # strokes are drawn white on a black work canvas, then inverted to paper


def blank() -> np.ndarray:
    return np.zeros((H, W), np.uint8)


def ink_box(canvas: np.ndarray) -> Box:
    ys, xs = np.nonzero(canvas)
    return Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def page(*chars: np.ndarray, specks: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
    """Dark ink on white paper: the union of the characters, plus single-pixel specks."""
    ink = np.zeros((H, W), np.uint8)
    for c in chars:
        ink |= c
    for x, y in specks:
        ink[y, x] = INK
    return 255 - ink


# --- characters, each with its top-left corner at (x, y), 40 px tall, 5 px strokes ----


def char_i(x: int, y: int) -> np.ndarray:
    c = blank()
    cv2.rectangle(c, (x, y + 10), (x + 4, y + 39), INK, -1)   # stem
    cv2.circle(c, (x + 2, y + 2), 3, INK, -1)                  # dot, 4 px above the stem
    return c


def char_j(x: int, y: int) -> np.ndarray:
    c = blank()
    cv2.rectangle(c, (x + 12, y + 10), (x + 16, y + 39), INK, -1)
    cv2.rectangle(c, (x, y + 35), (x + 16, y + 39), INK, -1)   # the hook, touching the stem
    cv2.circle(c, (x + 14, y + 2), 3, INK, -1)
    return c


def char_e(x: int, y: int) -> np.ndarray:
    """An E whose three bars do not touch the stem (a 3 px gap)."""
    c = blank()
    cv2.rectangle(c, (x, y), (x + 4, y + 39), INK, -1)
    for by in (y, y + 18, y + 35):
        cv2.rectangle(c, (x + 8, by), (x + 24, by + 4), INK, -1)
    return c


def char_f(x: int, y: int) -> np.ndarray:
    c = blank()
    cv2.rectangle(c, (x, y), (x + 4, y + 39), INK, -1)
    for by in (y, y + 18):
        cv2.rectangle(c, (x + 8, by), (x + 24, by + 4), INK, -1)
    return c


def char_x_apart(x: int, y: int) -> np.ndarray:
    """An X whose two strokes miss each other: the / stops short of the crossing and
    the \\ starts below it (7 px of paper between them), both over the same columns."""
    c = blank()
    cv2.line(c, (x + 28, y + 2), (x + 10, y + 17), INK, 4)   # upper /
    cv2.line(c, (x + 2, y + 21), (x + 22, y + 38), INK, 4)   # lower \\
    return c


def char_bar(x: int, y: int, w: int = 24) -> np.ndarray:
    """A one-stroke character: an L."""
    c = blank()
    cv2.rectangle(c, (x, y), (x + 4, y + 39), INK, -1)
    cv2.rectangle(c, (x, y + 35), (x + w, y + 39), INK, -1)
    return c


def char_o(x: int, y: int) -> np.ndarray:
    c = blank()
    cv2.ellipse(c, (x + 14, y + 20), (12, 18), 0, 0, 360, INK, 5)
    return c


def boxes_of(image) -> list[Box]:
    cutting = cut_image(image)
    return list(cutting.boxes)


# --- tests ----------------------------------------------------------------------------------


def test_i_and_j_keep_their_dots():
    chars = [char_bar(20, 40), char_i(70, 40), char_j(110, 40), char_o(160, 40)]
    cutting = cut_image(page(*chars))
    assert len(cutting.lines) == 1
    assert list(cutting.boxes) == [ink_box(c) for c in chars]
    # The dots are parts of their letters, not letters of their own.
    assert len(cutting.lines[0].parts) == 4


def test_detached_bars_of_e_and_f_join_their_stems():
    chars = [char_e(20, 40), char_f(70, 40), char_o(120, 40), char_e(170, 40)]
    cutting = cut_image(page(*chars))
    assert list(cutting.boxes) == [ink_box(c) for c in chars]
    # Each E is four components (stem and three bars) in one part.
    parts = cutting.lines[0].parts
    assert [len(p.components) for p in parts] == [4, 3, 1, 4]


def test_x_drawn_as_two_strokes_is_one_piece_of_two_parts():
    chars = [char_bar(20, 40), char_x_apart(70, 40), char_o(120, 40)]
    cutting = cut_image(page(*chars))
    line = cutting.lines[0]
    assert list(cutting.boxes) == [ink_box(c) for c in chars]
    # Parts keep the two strokes apart (the reader decides); pieces merge them.
    assert len(line.parts) == 4 and len(line.pieces) == 3
    x_parts = line.parts[1:3]
    assert all(p.box.x0 >= 70 and p.box.x1 <= 102 for p in x_parts)


def test_two_lines_read_top_to_bottom_left_to_right():
    top = [char_bar(40, 15), char_o(90, 15), char_e(140, 15)]
    bottom = [char_o(20, 100), char_i(70, 100), char_f(100, 100), char_bar(150, 100)]
    # Draw the bottom line first: the order must come from geometry, not drawing order.
    cutting = cut_image(page(*bottom, *top))
    assert len(cutting.lines) == 2
    assert [p.box for p in cutting.lines[0].pieces] == [ink_box(c) for c in top]
    assert [p.box for p in cutting.lines[1].pieces] == [ink_box(c) for c in bottom]
    assert cutting.lines[0].box.y1 < cutting.lines[1].box.y0


def test_specks_are_ignored():
    chars = [char_bar(20, 40), char_o(70, 40), char_i(120, 40)]
    specks = ((5, 5), (300, 120), (60, 100), (400, 30))
    cutting = cut_image(page(*chars, specks=specks))
    assert list(cutting.boxes) == [ink_box(c) for c in chars]


def test_hyphen_is_a_dash_not_a_character():
    dash = blank()
    cv2.rectangle(dash, (60, 58), (83, 62), INK, -1)  # flat, at mid-height, apart
    chars = [char_bar(20, 40), char_o(100, 40)]
    cutting = cut_image(page(*chars, dash))
    assert list(cutting.boxes) == [ink_box(c) for c in chars]
    assert cutting.lines[0].dashes == (ink_box(dash),)


def test_boxes_lie_inside_the_image_sorted_and_disjoint():
    chars = [char_bar(10, 30), char_e(50, 30), char_x_apart(100, 30), char_i(150, 30), char_o(180, 30)]
    cutting = cut_image(page(*chars))
    boxes = list(cutting.boxes)
    assert len(boxes) == 5
    for a, b in pairwise(boxes):
        assert a.x1 <= b.x0
    assert all(0 <= b.x0 < b.x1 <= W and 0 <= b.y0 < b.y1 <= H for b in boxes)
    assert set(np.unique(cutting.ink)) <= {0, 255}


def test_light_ink_on_dark_and_rgb_give_the_same_cut():
    chars = [char_bar(20, 40), char_o(70, 40)]
    gray = page(*chars)
    rgb = np.dstack([gray] * 3)
    assert boxes_of(255 - gray) == boxes_of(rgb) == boxes_of(gray) == [ink_box(c) for c in chars]


@pytest.mark.parametrize("image", [np.full((60, 200), 255, np.uint8), np.zeros((60, 200), np.uint8)])
def test_blank_image_is_a_clear_image_error(image):
    with pytest.raises(ImageError, match="no handwriting found"):
        cut_image(image)


def test_specks_only_is_a_clear_image_error():
    with pytest.raises(ImageError, match="no handwriting found"):
        cut_image(page(specks=((5, 5), (100, 50))))


def test_cut_ink_of_an_empty_mask_has_no_lines():
    gray = np.full((40, 40), 255, np.uint8)
    cutting = cut_ink(gray, np.zeros_like(gray))
    assert cutting.lines == () and cutting.boxes == ()
