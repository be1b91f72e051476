"""Cut a cleaned name into pieces with the projection histograms.

This is the classic method: the vertical projection (ink pixels per column) is empty
between well-spaced letters, so each run of non-empty columns is a piece; the piece's
own horizontal projection (ink pixels per row, inside its columns) then gives its top
and bottom. Pieces are what the ink says; deciding which piece is which letter (and
merging or splitting them) is :mod:`hwocr.align`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import cv2
import numpy as np

from hwocr.boxes import Box, trusted_box
from hwocr.config import DEFAULTS


@dataclass(frozen=True)
class Segmentation:
    boxes: tuple[Box, ...]
    """Pieces, sorted left to right, disjoint, inside the image."""
    col_profile: np.ndarray
    """Ink pixels per column (int32, length = width): the vertical projection."""
    row_profile: np.ndarray
    """Ink pixels per row (int32, length = height): the horizontal projection."""
    cuts: tuple[int, ...]
    """x positions separating consecutive pieces (the middle of each gap), for plotting."""


@lru_cache(maxsize=128)
def _row_ramps(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers counted from the bottom (h..1) and from the top (1..h), one per
    pixel, as uint8 images to be masked by the ink."""
    down = np.repeat(np.arange(h, 0, -1, dtype=np.uint8)[:, None], w, axis=1)
    up = np.repeat(np.arange(1, h + 1, dtype=np.uint8)[:, None], w, axis=1)
    return down, up


def column_extents(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last ink row of every column of a 0/255 uint8 mask (or a bool mask);
    h and -1 where the column is empty.

    Masked row ramps and a column maximum instead of argmax: several times faster on
    the short, wide images names come in.
    """
    h, w = ink.shape
    if h < 255 and w * h <= 200_000:  # the ramps are cached per size: keep them small
        mask = ink if ink.dtype == np.uint8 else np.where(ink, 255, 0).astype(np.uint8)
        down, up = _row_ramps(h, w)
        # numpy's column maximum: OpenCV's REDUCE_MAX is unoptimised (several times slower).
        top = h - np.maximum.reduce(cv2.bitwise_and(down, mask), axis=0).astype(np.int64)
        bottom = np.maximum.reduce(cv2.bitwise_and(up, mask), axis=0).astype(np.int64) - 1
        return top, bottom
    binary = ink > 0
    has = binary.any(axis=0)
    top = np.where(has, binary.argmax(axis=0), h)
    bottom = np.where(has, h - 1 - binary[::-1].argmax(axis=0), -1)
    return top.astype(np.int64), bottom.astype(np.int64)


def column_runs(col_profile: np.ndarray, *, min_gap: int = 1, empty_max: int = 0) -> list[tuple[int, int]]:
    """Runs [x0, x1) of columns holding more than ``empty_max`` ink pixels (the runs
    :func:`segment` cuts a mask into; it finds them in ``segment_kernels.segment_mask``).

    Runs separated by fewer than ``min_gap`` empty columns are joined, so a stroke broken
    by a one-column crack does not become two pieces when ``min_gap`` is 2.
    """
    full = np.asarray(col_profile).ravel() > empty_max
    if full.size == 0:
        return []
    # Runs start and end where the profile, padded with an empty column on each side,
    # changes between empty and full: alternately a start and an end.
    padded = np.zeros(full.size + 2, bool)
    padded[1:-1] = full
    edges = (padded[1:] != padded[:-1]).nonzero()[0].tolist()
    starts, ends = edges[0::2], edges[1::2]
    if min_gap <= 1 or not starts:
        return list(zip(starts, ends))
    runs = [(starts[0], ends[0])]
    for a, b in zip(starts[1:], ends[1:]):
        if a - runs[-1][1] < min_gap:
            runs[-1] = (runs[-1][0], b)
        else:
            runs.append((a, b))
    return runs


def segment(
    ink: np.ndarray,
    *,
    min_gap: int | None = None,
    empty_max: int | None = None,
    min_piece_pixels: int | None = None,
) -> Segmentation:
    """Pieces of a 0/255 ink mask by the vertical projection, trimmed by their rows.

    ``min_gap``: empty columns needed to separate two pieces (a smaller gap is bridged);
    ``empty_max``: a column with at most this many ink pixels counts as empty;
    ``min_piece_pixels``: pieces with less ink are dropped (but still in the profiles).
    Never raises on a 2-D array; anything else gives an empty segmentation.
    """
    d = DEFAULTS
    min_gap = d.segment_min_gap if min_gap is None else min_gap
    empty_max = d.segment_empty_max if empty_max is None else empty_max
    min_piece_pixels = d.segment_min_piece_pixels if min_piece_pixels is None else min_piece_pixels

    mask = np.asarray(ink)
    if mask.ndim != 2:
        return Segmentation((), np.zeros(0, np.int32), np.zeros(0, np.int32), ())
    h, w = mask.shape
    if h == 0 or w == 0:
        return Segmentation((), np.zeros(w, np.int32), np.zeros(h, np.int32), ())
    if mask.dtype != np.uint8:
        mask = (np.nan_to_num(mask) > 0).astype(np.uint8)
    from hwocr import segment_kernels  # here, not at the top: numba takes half a second to import

    col_profile, row_profile, pieces = segment_kernels.segment_mask(
        np.ascontiguousarray(mask), min_gap, empty_max, min_piece_pixels
    )
    boxes = tuple([trusted_box(x0, y0, x1, y1) for x0, y0, x1, y1 in pieces.tolist()])
    cuts = tuple((a.x1 + b.x0) // 2 for a, b in pairwise(boxes))
    return Segmentation(boxes, col_profile, row_profile, cuts)
