"""Stroke rendering and raster distortion: deterministic, y flipped, readable."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from hwocr.errors import DatasetError
from hwocr.glyph import prepare_glyph
from hwocr.render import (
    CLEAN_STYLE,
    add_i_dot,
    distort_raster,
    is_fragment,
    load_unipen,
    random_style,
    render_strokes,
)

# A "T" in UNIPEN coordinates (y up): the bar is at the top, y = 100.
T_STROKES = [[[0, 100], [60, 100]], [[30, 100], [30, 0]]]


def test_same_seed_same_pixels_other_seed_other_pixels():
    a = render_strokes(T_STROKES, seed=7)
    b = render_strokes(T_STROKES, seed=7)
    c = render_strokes(T_STROKES, seed=8)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    assert random_style(3) == random_style(3)


def test_y_axis_is_flipped():
    img = render_strokes(T_STROKES)  # clean style: black on white
    ink = img < 128
    rows = ink.sum(axis=1)
    top, bottom = rows[: len(rows) // 4].max(), rows[-len(rows) // 4 :].max()
    # The bar (many ink pixels in a row) is at the top of the picture, the stem alone below.
    assert top > 3 * bottom


def test_clean_style_is_dark_ink_on_light_paper():
    img = render_strokes(T_STROKES, CLEAN_STYLE)
    assert img.dtype == np.uint8 and img.ndim == 2
    assert img.max() >= CLEAN_STYLE.paper - 1 and img.min() <= CLEAN_STYLE.ink + 1
    assert abs(img.shape[0] - (CLEAN_STYLE.height_px + CLEAN_STYLE.pen_px + 2 * CLEAN_STYLE.margin_px)) <= 4


@pytest.mark.parametrize("seed", range(12))
def test_random_styles_stay_readable(seed):
    """Whatever the style, the glyph still has ink and the T's bar stays on top."""
    glyph = prepare_glyph(render_strokes(T_STROKES, seed=seed))
    rows = (glyph > 0.5).sum(axis=1)
    nz = np.flatnonzero(rows)
    assert rows[nz[0] : nz[0] + 4].max() > rows[nz[-1] - 3 : nz[-1] + 1].max()


def test_style_ranges():
    styles = [random_style(s) for s in range(300)]
    heights = [s.height_px for s in styles]
    pens = [s.pen_px / s.height_px for s in styles]
    assert min(heights) >= 14 and max(heights) <= 110
    assert min(pens) < 0.05 and max(pens) > 0.12  # hairlines and fat brushes both occur
    assert all(s.paper - s.ink >= 100 for s in styles)


def test_single_point_stroke_is_a_dot_and_empty_strokes_fail():
    img = render_strokes([[[5, 5]], [[0, 0], [0, 40]]])
    assert (img < 128).any()
    with pytest.raises(ValueError):
        render_strokes([[], []])


def test_distort_raster_is_deterministic_and_keeps_ink():
    base = np.full((28, 28), 255, np.uint8)
    base[4:24, 12:16] = 0
    a, b = distort_raster(base, 5), distort_raster(base, 5)
    np.testing.assert_array_equal(a, b)
    glyph = prepare_glyph(a)
    ys, xs = np.nonzero(glyph > 0.5)
    assert np.ptp(ys) > 2 * np.ptp(xs)  # still a tall bar


def test_load_unipen_from_a_small_file(tmp_path):
    rows = [
        {"label": "T", "source": "x", "writer": "x:1", "quality": "OK", "strokes": T_STROKES},
        {"label": "I", "source": "x", "writer": "x:2", "quality": "?", "strokes": [[[0, 0], [0, 50]]]},
        {"label": "E", "source": "x", "writer": "x:2", "quality": "?", "strokes": [[]]},  # no points: dropped
    ]
    path = tmp_path / "unipen_1b_uppercase_strokes.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    data = load_unipen(tmp_path)
    assert list(data.labels) == ["T", "I"] and list(data.writers) == ["x:1", "x:2"]
    sub = data.subset(np.array([1]))
    assert len(sub) == 1 and sub.labels[0] == "I"
    with pytest.raises(DatasetError):
        load_unipen(tmp_path / "missing")


def test_real_unipen_letters_render(unipen_dir):
    data = load_unipen(unipen_dir, limit=30)
    assert len(data) == 30
    for strokes in data.strokes:
        assert prepare_glyph(render_strokes(strokes, seed=1)).max() == 1.0


def test_dotted_i_has_a_dot_above_a_shorter_stem():
    stem = [[[10, 0], [10, 100]]]
    for seed in range(8):
        strokes = add_i_dot(stem, seed)
        assert len(strokes) == 2
        body, dot = strokes
        assert body[:, 1].max() < 90  # the stem shrank
        assert dot[:, 1].min() > body[:, 1].max()  # the dot is above it (y up)
        glyph = prepare_glyph(render_strokes(strokes, seed=seed))
        assert glyph.max() == 1.0
    np.testing.assert_array_equal(add_i_dot(stem, 3)[1], add_i_dot(stem, 3)[1])


@pytest.mark.parametrize(
    "strokes, label, expected",
    [
        ([[[0, 0], [1, 50], [0, 100]]], "H", True),  # one straight bar labelled H: a fragment
        ([[[0, 0], [1, 50], [0, 100]]], "I", False),  # the same bar is a fine I
        ([[[0, 100], [0, 0], [60, 0]]], "L", False),  # bent: a real L
        (T_STROKES, "T", False),  # two strokes
        ([[[0, 0], [50, 0]]], "T", True),  # a lone crossbar
    ],
)
def test_is_fragment(strokes, label, expected):
    assert is_fragment(strokes, label) is expected
