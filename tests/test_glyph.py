"""prepare_glyph: one preprocessing path for every input, checked on hand-made images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hwocr.config import DEFAULTS
from hwocr.errors import ImageError
from hwocr.glyph import (
    ink_bbox,
    prepare_batch,
    prepare_glyph,
    stroke_width,
    to_export_28,
)
from hwocr.images import encode_png

S = DEFAULTS.model_input_size
BOX = DEFAULTS.model_ink_box


def letter_l(size: int = 100, thickness: int = 6, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """An "L" drawn in black on white, off-centre on purpose."""
    img = np.full((size, size), 255, np.uint8)
    ox, oy = offset
    pts = np.array([[20 + ox, 15 + oy], [20 + ox, 80 + oy], [60 + ox, 80 + oy]], np.int32)
    cv2.polylines(img, [pts], False, 0, thickness, cv2.LINE_AA)
    return img


def test_output_shape_range_and_polarity():
    glyph = prepare_glyph(letter_l())
    assert glyph.shape == (S, S)
    assert glyph.dtype == np.float32
    assert glyph.min() == 0.0 and glyph.max() == 1.0
    # Ink is white on black: the corners are background, the stroke core is 1.
    assert glyph[0, 0] == 0.0 and glyph[-1, -1] == 0.0
    assert (glyph > 0.99).sum() > 20


def test_ink_fills_the_box_and_is_centred():
    glyph = prepare_glyph(letter_l(offset=(25, -10)))
    x0, y0, x1, y1 = ink_bbox(glyph)
    w, h = x1 - x0, y1 - y0
    assert max(w, h) in (BOX, BOX + 1)
    # Centred by bounding box: equal margins up to a pixel of rounding.
    assert abs(x0 - (S - x1)) <= 1
    assert abs(y0 - (S - y1)) <= 1


def test_position_in_the_input_does_not_matter():
    a = prepare_glyph(letter_l(offset=(0, 0)))
    b = prepare_glyph(letter_l(offset=(30, 15)))
    assert np.abs(a - b).max() < 0.05


def test_dark_on_light_equals_light_on_dark():
    img = letter_l()
    np.testing.assert_array_equal(prepare_glyph(img), prepare_glyph(255 - img))


def test_rgba_transparent_background_equals_white_background():
    coverage = 255 - letter_l()  # 255 where the pen was
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[..., 3] = coverage  # black ink, transparent paper
    on_white = np.repeat(letter_l()[..., None], 3, axis=2)
    np.testing.assert_allclose(prepare_glyph(rgba), prepare_glyph(on_white), atol=1e-6)


@pytest.mark.parametrize("kind", ["path", "bytes", "rgb", "gray"])
def test_every_input_kind_gives_the_same_glyph(kind, tmp_path):
    img = letter_l()
    expected = prepare_glyph(img)
    if kind == "path":
        path = tmp_path / "l.png"
        path.write_bytes(encode_png(img))
        source = path
    elif kind == "bytes":
        source = encode_png(img)
    elif kind == "rgb":
        source = np.repeat(img[..., None], 3, axis=2)
    else:
        source = img
    np.testing.assert_array_equal(prepare_glyph(source), expected)


def test_aspect_ratio_is_kept_for_a_tall_thin_bar():
    img = np.full((120, 120), 255, np.uint8)
    img[20:100, 55:63] = 0  # 80 tall, 8 wide
    x0, y0, x1, y1 = ink_bbox(prepare_glyph(img), level=0.5)
    h, w = y1 - y0, x1 - x0
    assert h >= BOX - 1
    assert w <= 5 and w * 4 < h


def test_aspect_ratio_is_kept_for_a_wide_bar():
    img = np.full((120, 120), 255, np.uint8)
    img[55:63, 10:110] = 0
    x0, y0, x1, y1 = ink_bbox(prepare_glyph(img), level=0.5)
    assert x1 - x0 >= BOX - 1 and (y1 - y0) * 4 < (x1 - x0)


@pytest.mark.parametrize(
    "blank",
    [
        np.full((40, 40), 255, np.uint8),
        np.zeros((40, 40), np.uint8),
        np.full((64, 48), 128, np.uint8),
        np.zeros((30, 30, 4), np.uint8),  # fully transparent
        np.clip(200 + np.random.default_rng(0).normal(0, 3, (80, 80)), 0, 255).astype(np.uint8),
    ],
    ids=["white", "black", "gray", "transparent", "noisy-paper"],
)
def test_no_ink_raises(blank):
    with pytest.raises(ImageError, match="no ink found"):
        prepare_glyph(blank)


def test_uneven_photo_background_is_flattened():
    clean = letter_l(size=200, thickness=10)
    yy, xx = np.mgrid[0:200, 0:200]
    shading = 230 - 0.5 * xx - 0.3 * yy  # a shadow darker than the ink contrast at one corner
    photo = np.where(clean < 128, shading - 110, shading)
    photo = np.clip(photo + np.random.default_rng(1).normal(0, 4, photo.shape), 0, 255).astype(np.uint8)
    a, b = prepare_glyph(clean) > 0.5, prepare_glyph(photo) > 0.5
    iou = (a & b).sum() / (a | b).sum()
    assert iou > 0.7


def test_thin_and_thick_strokes_end_up_alike():
    thin = np.full((400, 400), 255, np.uint8)
    cv2.polylines(thin, [np.array([[80, 60], [80, 320], [240, 320]], np.int32)], False, 0, 2, cv2.LINE_AA)
    thick = np.full((400, 400), 255, np.uint8)
    cv2.polylines(thick, [np.array([[80, 60], [80, 320], [240, 320]], np.int32)], False, 0, 60, cv2.LINE_AA)
    # Same shape, so total ink is proportional to stroke width: 30x apart before.
    ink_thin, ink_thick = prepare_glyph(thin).sum(), prepare_glyph(thick).sum()
    assert 1.0 < ink_thick / ink_thin < 2.5
    for img in (thin, thick):
        assert 1.0 <= stroke_width((prepare_glyph(img) > 0.5).astype(np.uint8)) <= 4.0


def test_small_specks_do_not_move_the_box():
    img = letter_l()
    with_speck = img.copy()
    with_speck[2, 97] = 0
    np.testing.assert_array_equal(prepare_glyph(with_speck), prepare_glyph(img))


def test_tiny_low_resolution_crop_still_works():
    img = cv2.resize(letter_l(thickness=8), (12, 12), interpolation=cv2.INTER_AREA)
    glyph = prepare_glyph(img)
    x0, y0, x1, y1 = ink_bbox(glyph)
    assert max(x1 - x0, y1 - y0) >= BOX - 1


def test_prepare_batch_shape_and_error_names_the_image():
    batch = prepare_batch([letter_l(), 255 - letter_l()])
    assert batch.shape == (2, S, S, 1)
    assert prepare_batch([]).shape == (0, S, S, 1)
    with pytest.raises(ImageError, match=r"image 1: no ink found"):
        prepare_batch([letter_l(), np.full((20, 20), 255, np.uint8)])


def test_export_28_is_white_on_black_uint8():
    out = to_export_28(letter_l())
    assert out.shape == (DEFAULTS.export_size, DEFAULTS.export_size) and out.dtype == np.uint8
    assert out[0, 0] == 0 and out.max() == 255
    ys, xs = np.nonzero(out > 25)
    assert max(np.ptp(ys), np.ptp(xs)) + 1 in (DEFAULTS.export_ink_box, DEFAULTS.export_ink_box + 1)
