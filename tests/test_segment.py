"""Segmentation by projection histograms: exact cuts on tiny hand-made masks, and
properties that must hold for any mask."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hwocr.boxes import Box
from hwocr.segment import column_runs, segment


def blank(h: int = 10, w: int = 20) -> np.ndarray:
    return np.zeros((h, w), np.uint8)


def test_three_blocks_give_exactly_those_boxes():
    ink = blank()
    ink[2:8, 1:4] = 255
    ink[3:9, 7:10] = 255
    ink[1:5, 14:18] = 255
    seg = segment(ink)
    assert seg.boxes == (Box(1, 2, 4, 8), Box(7, 3, 10, 9), Box(14, 1, 18, 5))
    assert seg.cuts == ((4 + 7) // 2, (10 + 14) // 2)
    assert seg.col_profile.dtype == np.int32 and seg.row_profile.dtype == np.int32
    assert seg.col_profile.tolist() == [0, 6, 6, 6, 0, 0, 0, 6, 6, 6, 0, 0, 0, 0, 4, 4, 4, 4, 0, 0]
    assert seg.row_profile.tolist() == [0, 4, 7, 10, 10, 6, 6, 6, 3, 0]


def test_a_one_column_gap_separates_unless_bridged():
    ink = blank()
    ink[2:8, 3:6] = 255
    ink[2:8, 7:9] = 255  # column 6 is empty
    assert segment(ink).boxes == (Box(3, 2, 6, 8), Box(7, 2, 9, 8))
    assert segment(ink, min_gap=2).boxes == (Box(3, 2, 9, 8),)


def test_each_piece_is_trimmed_by_its_own_rows():
    ink = blank(12, 12)
    ink[1:3, 1:3] = 255  # a dot high up ...
    ink[6:11, 2:4] = 255  # ... over a stem: one piece from the dot to the stem's foot
    ink[8:10, 7:10] = 255  # a low flat piece
    assert segment(ink).boxes == (Box(1, 1, 4, 11), Box(7, 8, 10, 10))


def test_columns_with_a_stray_pixel_count_as_empty_with_tolerance():
    ink = blank()
    ink[2:8, 2:5] = 255
    ink[5, 5:8] = 255  # a thin joining stroke: one pixel per column
    ink[2:8, 8:11] = 255
    assert segment(ink).boxes == (Box(2, 2, 11, 8),)
    assert segment(ink, empty_max=1).boxes == (Box(2, 2, 5, 8), Box(8, 2, 11, 8))


def test_small_pieces_can_be_dropped():
    ink = blank()
    ink[2:8, 2:5] = 255
    ink[4, 10] = 255
    assert segment(ink).boxes == (Box(2, 2, 5, 8), Box(10, 4, 11, 5))
    assert segment(ink, min_piece_pixels=2).boxes == (Box(2, 2, 5, 8),)


def test_empty_and_odd_inputs():
    seg = segment(blank())
    assert seg.boxes == () and seg.cuts == () and seg.col_profile.sum() == 0
    assert segment(np.zeros((0, 0), np.uint8)).boxes == ()
    assert segment(np.zeros((3, 3, 3), np.uint8)).boxes == ()
    # bool and 0/1 masks are ink too
    ink = blank()
    ink[1:4, 1:4] = 1
    assert segment(ink).boxes == (Box(1, 1, 4, 4),)
    assert segment(ink.astype(bool)).boxes == (Box(1, 1, 4, 4),)


def test_ink_touching_every_edge():
    ink = np.full((5, 7), 255, np.uint8)
    assert segment(ink).boxes == (Box(0, 0, 7, 5),)
    assert segment(ink).cuts == ()


@pytest.mark.parametrize(
    ("profile", "min_gap", "expected"),
    [
        ([0, 1, 1, 0, 2, 0, 0, 3], 1, [(1, 3), (4, 5), (7, 8)]),
        ([0, 1, 1, 0, 2, 0, 0, 3], 2, [(1, 5), (7, 8)]),
        ([0, 1, 1, 0, 2, 0, 0, 3], 3, [(1, 8)]),
        ([5, 5], 1, [(0, 2)]),
        ([0, 0, 0], 1, []),
        ([], 1, []),
    ],
)
def test_column_runs(profile, min_gap, expected):
    assert column_runs(np.array(profile, np.int32), min_gap=min_gap) == expected


@settings(max_examples=150, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 24), st.integers(1, 48)), elements=st.sampled_from([0, 0, 0, 255])),
    st.integers(1, 4),
    st.integers(0, 2),
)
def test_boxes_are_inside_sorted_disjoint_and_tight(ink, min_gap, empty_max):
    seg = segment(ink, min_gap=min_gap, empty_max=empty_max)
    h, w = ink.shape
    assert len(seg.col_profile) == w and len(seg.row_profile) == h
    assert seg.col_profile.tolist() == (ink > 0).sum(axis=0).tolist()
    assert len(seg.cuts) == max(0, len(seg.boxes) - 1)
    for box in seg.boxes:
        assert 0 <= box.x0 < box.x1 <= w and 0 <= box.y0 < box.y1 <= h
        inside = ink[box.y0 : box.y1, box.x0 : box.x1] > 0
        # tight: ink on every side of the box
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
    for a, b in zip(seg.boxes, seg.boxes[1:]):
        assert a.x1 <= b.x0  # sorted and disjoint
        assert a.x1 <= seg.cuts[seg.boxes.index(a)] <= b.x0
    if empty_max == 0 and min_gap == 1:
        # every ink column is in exactly one piece
        covered = np.zeros(w, bool)
        for box in seg.boxes:
            covered[box.x0 : box.x1] = True
        assert covered.tolist() == (ink > 0).any(axis=0).tolist()


def _reference_pieces(ink, min_gap, empty_max, min_piece_pixels):
    """What segment computes, written with the public column_runs and OpenCV's
    boundingRect (the array code the compiled kernel replaced)."""
    import cv2

    mask = (ink > 0).astype(np.uint8)
    col = mask.sum(axis=0)
    out = []
    for x0, x1 in column_runs(col, min_gap=min_gap, empty_max=empty_max):
        bx, by, bw, bh = cv2.boundingRect(mask[:, x0:x1])
        if bw == 0 or bh == 0 or (min_piece_pixels > 1 and int(col[x0:x1].sum()) < min_piece_pixels):
            continue
        out.append((x0 + bx, by, x0 + bx + bw, by + bh))
    return out


@settings(max_examples=150, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 24), st.integers(1, 48)), elements=st.sampled_from([0, 0, 0, 7, 255])),
    st.integers(0, 4),
    st.integers(-1, 2),
    st.integers(0, 6),
)
def test_pieces_are_the_column_runs_trimmed_to_their_ink(ink, min_gap, empty_max, min_piece_pixels):
    seg = segment(ink, min_gap=min_gap, empty_max=empty_max, min_piece_pixels=min_piece_pixels)
    got = [(b.x0, b.y0, b.x1, b.y1) for b in seg.boxes]
    assert got == _reference_pieces(ink, min_gap, empty_max, min_piece_pixels)
    assert seg.row_profile.tolist() == (ink > 0).sum(axis=1).tolist()
    assert seg.col_profile.dtype == np.int32 and seg.row_profile.dtype == np.int32


def test_segment_mask_on_a_hand_made_mask():
    from hwocr import segment_kernels

    mask = np.array(
        [
            [0, 1, 0, 0, 0, 1, 1, 0],
            [0, 1, 0, 1, 0, 0, 1, 0],
            [0, 0, 0, 1, 0, 0, 0, 0],
        ],
        np.uint8,
    )
    col, row, pieces = segment_kernels.segment_mask(mask, 1, 0, 1)
    assert col.tolist() == [0, 2, 0, 2, 0, 1, 2, 0] and row.tolist() == [3, 3, 1]
    assert pieces.tolist() == [[1, 0, 2, 2], [3, 1, 4, 3], [5, 0, 7, 2]]
    # gaps of one column bridged; pieces of fewer than 3 pixels dropped
    assert segment_kernels.segment_mask(mask, 2, 0, 1)[2].tolist() == [[1, 0, 7, 3]]
    assert segment_kernels.segment_mask(mask, 1, 0, 3)[2].tolist() == [[5, 0, 7, 2]]
