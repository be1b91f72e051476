"""Compiled kernel (numba) behind :func:`hwocr.segment.segment`: the pieces of an ink
mask by its vertical projection, in one pass over the pixels.

Importing this module imports numba and loads the compiled code (see
:mod:`hwocr.kernel_tools`): the caller imports it lazily.
"""

from __future__ import annotations

import numpy as np

from hwocr.kernel_tools import compiled


@compiled
def segment_mask(mask, min_gap, empty_max, min_piece_pixels):
    """The pieces of a uint8 mask (non-zero is ink) by its vertical projection, as
    :func:`hwocr.segment.segment` defines them.

    Returns the ink per column and per row (int32) and the pieces (k x 4 int64: x0, y0,
    x1, y1): runs of columns holding more than ``empty_max`` pixels, runs fewer than
    ``min_gap`` empty columns apart joined, each trimmed to its ink on both axes, and
    dropped when it holds no ink or fewer than ``min_piece_pixels`` pixels.
    """
    h, w = mask.shape
    col = np.zeros(w, np.int32)
    row = np.zeros(h, np.int32)
    top = np.full(w, h, np.int64)
    bottom = np.full(w, -1, np.int64)
    for y in range(h):
        count = 0
        for x in range(w):
            if mask[y, x] != 0:
                col[x] += 1
                count += 1
                if top[x] == h:
                    top[x] = y
                bottom[x] = y
        row[y] = count
    # Runs of full columns [start, end), bridged across gaps narrower than min_gap.
    starts = np.empty(w // 2 + 1, np.int64)
    ends = np.empty(w // 2 + 1, np.int64)
    nr = 0
    x = 0
    while x < w:
        if col[x] <= empty_max:
            x += 1
            continue
        a = x
        while x < w and col[x] > empty_max:
            x += 1
        if nr and min_gap > 1 and a - ends[nr - 1] < min_gap:
            ends[nr - 1] = x
        else:
            starts[nr] = a
            ends[nr] = x
            nr += 1
    boxes = np.empty((nr, 4), np.int64)
    nb = 0
    for r in range(nr):
        x0 = -1
        x1 = -1
        y0 = h
        y1 = -1
        pixels = 0
        for x in range(starts[r], ends[r]):
            if col[x] > 0:
                if x0 < 0:
                    x0 = x
                x1 = x + 1
                pixels += col[x]
                if top[x] < y0:
                    y0 = top[x]
                if bottom[x] + 1 > y1:
                    y1 = bottom[x] + 1
        if x0 < 0:
            continue
        if min_piece_pixels > 1 and pixels < min_piece_pixels:
            continue
        boxes[nb, 0] = x0
        boxes[nb, 1] = y0
        boxes[nb, 2] = x1
        boxes[nb, 3] = y1
        nb += 1
    return col, row, boxes[:nb]
