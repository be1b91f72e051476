"""Match the pieces of a segmented name with the letters of its transcription.

Names are mostly hand-printed in comb boxes, so usually each piece is one letter. When
the counts differ, the usual causes are a letter broken into two pieces (an accent or a
dot beside it, a stroke that did not close), two letters touching (one piece for two
letters) and a drawn hyphen (a small flat piece that is no letter).

The aligner treats all of these at once as a choice of letter boundaries. Candidates
are every gap between pieces and every valley of the vertical projection inside a
piece. A dynamic programme picks exactly ``len(letters) - 1`` of them, minimising:

* each letter's width against the width expected for that letter (an ``I`` is narrow
  or has serifs, a ``W`` is wide) at the writer's own scale, and its height against
  the writing's height;
* every gap left inside a letter (a merge), dearer the wider the gap;
* every cut through a piece: a base price plus the strokes it cuts;
* a space or hyphen of the transcription expects a real gap at that place.

When the counts match and every piece has a plausible width, the one-piece-per-letter
answer is taken without running the programme (most names; it is also the fast path).
The cost of the answer, letter by letter, gives the confidence. One piece per letter is
``matched``; anything else that is sure enough is ``repaired``; the rest goes to a person
(``needs_review``) with the best guess as a starting point; ``failed`` is for names with
nothing to align.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import cv2
import numpy as np

from hwocr.boxes import Box
from hwocr.config import DEFAULTS
from hwocr.images import load_gray
from hwocr.preprocess import CleanedName, clean_name_image, stroke_width
from hwocr.segment import Segmentation, column_extents, segment
from hwocr.text import (
    UNREADABLE_MARKERS,
    gap_after,
    letters_of,
    normalize_transcription,
)

Status = Literal["matched", "repaired", "needs_review", "failed"]

#: Width of each hand-printed capital relative to the writer's typical letter:
#: (median ratio, spread of its log), measured on the real names whose pieces matched
#: their letters one for one. Unlisted characters are average.
LETTER_WIDTH: dict[str, tuple[float, float]] = {
    "A": (0.96, 0.15), "B": (1.06, 0.13), "C": (1.03, 0.16), "D": (1.04, 0.14),
    "E": (1.00, 0.15), "F": (1.01, 0.14), "G": (1.06, 0.15), "H": (0.95, 0.14),
    "J": (1.00, 0.25), "K": (0.97, 0.15), "L": (0.92, 0.18), "M": (1.09, 0.15),
    "N": (1.00, 0.18), "O": (1.06, 0.15), "P": (0.94, 0.19), "Q": (1.11, 0.15),
    "R": (0.99, 0.15), "S": (0.96, 0.17), "T": (1.14, 0.19), "U": (0.96, 0.14),
    "V": (1.00, 0.18), "W": (1.34, 0.15), "X": (1.05, 0.16), "Y": (1.00, 0.15),
    "Z": (1.07, 0.15),
}
#: Characters written either as a bare stroke or with serifs: two width modes.
NARROW_OR_WIDE: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "I": ((0.30, 0.45), (0.95, 0.20)),
    "1": ((0.30, 0.45), (0.80, 0.25)),
}
_AVERAGE = (1.0, 0.20)
#: log of each letter's median width ratio (and of the average one), computed once.
_LOG_WIDTH: dict[str, float] = {ch: math.log(m) for ch, (m, _) in LETTER_WIDTH.items()}
_LOG_AVERAGE = math.log(_AVERAGE[0])


@dataclass(frozen=True)
class Alignment:
    status: Status
    confidence: float
    """0..1: how sure the aligner is that every box holds exactly its letter."""
    boxes: tuple[Box, ...]
    """One per letter of ``letters``, in order, in the original image's coordinates;
    empty when the status is failed."""
    letters: str
    reason: str
    """One line for a reviewer, e.g. "7 pieces for 6 letters; merged the 2 pieces of letter 3 (E)"."""


@dataclass(frozen=True)
class NameAnalysis:
    cleaned: CleanedName
    segmentation: Segmentation
    alignment: Alignment


def analyze_name(image, transcription: str) -> NameAnalysis:
    """Decode, clean, segment and align one name image.

    ``image`` is anything :func:`hwocr.images.load_gray` accepts; decoding problems raise
    :class:`~hwocr.errors.ImageError`, everything after that never raises.
    """
    gray = load_gray(image)
    cleaned = clean_name_image(gray)
    seg = segment(cleaned.ink)
    return NameAnalysis(cleaned, seg, align(cleaned, seg, transcription))


# --------------------------------------------------------------------------------------


def _normalize(transcription: object) -> tuple[str | None, str | None]:
    """:func:`normalize_transcription`, with a shortcut for what most transcriptions
    already are: plain capitals and digits (normalising leaves those unchanged, and
    they hold no separator, so they are their own letters). The full normalisation
    (Unicode forms, ligatures, separators) costs more than aligning a whole name."""
    if (
        type(transcription) is str
        and transcription.isascii()
        and transcription.isalnum()
        and transcription.isupper()
        and transcription not in UNREADABLE_MARKERS
    ):
        return transcription, None
    return normalize_transcription(transcription)


def _failed(letters: str, reason: str) -> Alignment:
    return Alignment("failed", 0.0, (), letters, reason)


def align(cleaned: CleanedName, seg: Segmentation, transcription: str) -> Alignment:
    """One box per letter of the transcription, with a status and a confidence."""
    try:
        return _align(cleaned, seg, transcription)
    except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError, cv2.error, MemoryError) as exc:
        # Odd input must not stop an import of 100,000 names; say what happened.
        norm, _ = normalize_transcription(transcription)
        return _failed(letters_of(norm) if norm else "", f"alignment error: {type(exc).__name__}: {exc}")


@lru_cache(maxsize=128)
def _letter_prior(ch: str) -> tuple[float, float, float, float]:
    """(mean log width, spread) of a letter's two width modes (single-mode letters
    repeat theirs), the writer's own spread included."""
    spread0 = DEFAULTS.align_width_spread
    if ch in NARROW_OR_WIDE:
        (a, sa), (b, sb) = NARROW_OR_WIDE[ch]
    else:
        a, sa = LETTER_WIDTH.get(ch, _AVERAGE)
        b, sb = a, sa
    return math.log(a), math.hypot(sa, spread0), math.log(b), math.hypot(sb, spread0)


def _width_prior(letters: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per letter arrays: mean and spread of the log width in each of two modes."""
    table = np.array([_letter_prior(ch) for ch in letters], float).reshape(-1, 4)
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3]


def _median(values: list[float]) -> float:
    v = sorted(values)
    m = len(v)
    return 0.5 * (v[(m - 1) // 2] + v[m // 2])


def _scale_from(widths, letters: str) -> float:
    """The writer's typical letter width (log), from letters whose width says it best."""
    return _scale_from_logs([math.log(max(float(x), 1.0)) for x in widths], letters)


def _scale_from_logs(log_widths: list[float], letters: str) -> float:
    """:func:`_scale_from`, given the log of each width (at least 1)."""
    logs = [lw - _LOG_WIDTH.get(ch, _LOG_AVERAGE) for lw, ch in zip(log_widths, letters) if ch not in NARROW_OR_WIDE]
    return _median(logs or log_widths)


def _confidence(costs: np.ndarray) -> float:
    d = DEFAULTS
    excess = np.maximum(costs - d.align_free_cost, 0.0)
    # np.maximum.reduce and np.add.reduce / size are what ndarray.max() and .mean() compute.
    worst, mean = float(np.maximum.reduce(excess)), float(np.add.reduce(excess) / excess.size)
    return float(math.exp(-d.align_conf_per_cost * worst - d.align_conf_per_total * mean))


def _align(cleaned: CleanedName, seg: Segmentation, transcription: str) -> Alignment:
    d = DEFAULTS
    norm, why = _normalize(transcription)
    if norm is None:
        return _failed("", why or "no transcription")
    letters = norm if norm is transcription else letters_of(norm)
    n = len(letters)
    if n > d.align_max_letters:
        return _failed(letters, f"{n} letters is more than the {d.align_max_letters} a name can have")
    ink = np.asarray(cleaned.ink)
    if ink.ndim != 2 or ink.size == 0:
        return _failed(letters, "the image has no pixels")
    h, w = ink.shape
    pieces = []
    objects = []  # the Box of each piece, reused when a piece is a letter
    for b in seg.boxes:
        a0, b0, a1, b1 = b.x0, b.y0, b.x1, b.y1
        if a0 < 0 or b0 < 0 or a1 > w or b1 > h:
            a0, b0, a1, b1 = min(max(a0, 0), w), min(max(b0, 0), h), min(max(a1, 0), w), min(max(b1, 0), h)
            b = Box(a0, b0, a1, b1)
        if a1 > a0 and b1 > b0:
            pieces.append((a0, b0, a1, b1))
            objects.append(b)
    if not pieces:
        return _failed(letters, "no handwriting found in the image")
    if len(pieces) > d.align_max_pieces:
        return _failed(letters, f"{len(pieces)} pieces: too many for a name")
    col = np.asarray(seg.col_profile)
    if col.shape != (w,):
        col = np.count_nonzero(ink, axis=0)
    col = col.astype(np.int64)

    # Ink of each piece: the cumulative profile read at its two ends only.
    cum = col.cumsum()
    inks = [int(cum[a1 - 1] - (cum[a0 - 1] if a0 else 0)) for a0, _, a1, _ in pieces]
    most = max(inks)
    solid = [p for p, v in zip(pieces, inks) if v * 10 >= 3 * most]
    text_h = _median([p[3] - p[1] for p in solid])
    top = _median([p[1] for p in solid])
    bottom = _median([p[3] for p in solid])

    # Drawn hyphens: small flat strokes around mid-height. No letter looks like that, so
    # they are dropped whatever the transcription says (a space may be drawn as one).
    lo, hi = top + 0.2 * (bottom - top), bottom - 0.1 * (bottom - top)
    dash_h, dash_w0, dash_w1 = d.dash_max_height * text_h, d.dash_min_width * text_h, 1.5 * text_h
    dash = [
        (b1 - b0) <= dash_h
        and (a1 - a0) * 5 >= (b1 - b0) * 6
        and dash_w0 <= (a1 - a0) <= dash_w1
        and lo < (b0 + b1) / 2.0 < hi
        for a0, b0, a1, b1 in pieces
    ]
    if all(dash):
        dash = [False] * len(pieces)
    n_dash = sum(dash)
    kept = [p for p, is_dash in zip(pieces, dash) if not is_dash]
    n_pieces = len(pieces)

    head = f"{n_pieces} piece{'s' if n_pieces != 1 else ''} for {n} letter{'s' if n != 1 else ''}"
    if n_dash:
        head += f"; ignored {'a hyphen stroke' if n_dash == 1 else f'{n_dash} hyphen strokes'}"

    # The fast path: one piece per letter, every width plausible.
    if len(kept) == n:
        log_kw = [math.log(max(p[2] - p[0], 1)) for p in kept]
        log_scale = _scale_from_logs(log_kw, letters)
        costs_list = []
        min_h = d.align_min_height * text_h  # _height_cost for one letter, inlined (most names come here)
        for (a0, b0, a1, b1), ch, lw in zip(kept, letters, log_kw):
            m1, s1, m2, s2 = _letter_prior(ch)
            lw -= log_scale
            z = min(abs(lw - m1) / s1, abs(lw - m2) / s2)
            low = math.log(max(b1 - b0, 1.0) / min_h)
            costs_list.append(0.5 * z * z + (0.5 * (low / 0.25) ** 2 if low < 0 else 0.0))
        worst = max(costs_list)
        if worst <= d.align_identity_max_cost:
            conf = 1.0 - d.align_identity_slope * max(0.0, worst - d.align_free_cost)
            out = tuple(o for o, is_dash in zip(objects, dash) if not is_dash)
            return _finish(letters, out, costs_list, conf, head, [], [], identity=True)

    prior = _width_prior(letters)
    kp = np.array(kept, np.int64).reshape(-1, 4)
    kx0, ky0, kx1, ky1 = kp[:, 0], kp[:, 1], kp[:, 2], kp[:, 3]
    kinks = np.array([v for v, is_dash in zip(inks, dash) if not is_dash], float)
    dash_boxes = [p for p, is_dash in zip(pieces, dash) if is_dash]

    # Everything else: the dynamic programme over boundaries. The ink as a fresh 0/255
    # mask, the form stroke_width and column_extents take without converting it.
    if ink.dtype == np.uint8:
        binary = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY)[1]
    else:
        binary = np.where(ink > 0, 255, 0).astype(np.uint8)
    if n_dash:
        cut_cols = np.ones(w, bool)
        for a, _, b, _ in dash_boxes:
            cut_cols[a:b] = False
        binary[:, ~cut_cols] = 0
        col = np.where(cut_cols, col, 0)
    ink_cols = int(np.count_nonzero(col))
    if ink_cols < n:
        return _failed(letters, f"{head}: {ink_cols} columns of ink cannot hold {n} letters")
    sw = stroke_width(binary)
    seps = gap_after(norm)
    mean_rel = sum(LETTER_WIDTH.get(ch, (0.5 if ch in NARROW_OR_WIDE else 1.0, 0))[0] for ch in letters)
    log_scale = math.log(ink_cols / mean_rel)
    columns = _columns(binary, col)
    solution = None
    for _ in range(2):
        scale = math.exp(log_scale)
        fragment = (kinks < d.align_fragment_ink * _median(kinks.tolist())) | (ky1 - ky0 < 0.5 * text_h) | (
            kx1 - kx0 < d.align_min_part_width * scale
        )
        cut_min = d.align_cut_min_width if kx0.size < n else d.align_cut_min_width_surplus
        bounds = _boundaries(kx0, kx1, fragment, col, sw, scale, cut_min)
        if bounds["start"].size > d.align_max_boundaries:
            return _failed(letters, f"{head}: too many places to cut ({bounds['start'].size})")
        found = _solve(bounds, columns, binary.shape, letters, prior, seps, log_scale, text_h, sw)
        if found is None:
            break
        solution = (bounds, found)
        new_scale = _scale_from(found[2], letters)
        if abs(new_scale - log_scale) < d.align_rescale_above:
            break
        log_scale = new_scale
    if solution is None:
        return _failed(letters, f"{head}: cannot place {n} letters in them")
    bounds, (chosen, costs, _widths, margin) = solution
    kinds = bounds["kind"]
    kind_list = kinds.tolist()
    merges: list[tuple[int, int]] = []
    splits: list[int] = []
    for k in range(n):
        i, j = chosen[k], chosen[k + 1]
        inner_gaps = kind_list[i + 1 : j].count(_GAP)
        if inner_gaps:
            merges.append((k, inner_gaps + 1))
        if kind_list[j] == _CUT:
            splits.append(k)
    out = _letter_boxes(binary, kept, bounds["start"][np.array(chosen[1:-1], np.int64)].tolist(), n)
    if out is None:
        return _failed(letters, f"{head}: a letter came out empty")
    identity = not merges and not splits
    if identity:
        # One piece per letter won although some width is unusual: as sure as the best
        # repair is worse.
        conf = 1.0 - math.exp(-margin / d.align_margin_scale)
        if float(np.maximum.reduce(costs)) > d.align_letter_max_cost:
            conf = min(conf, 0.5)  # a piece too small or too odd to be a whole letter
    else:
        # The base price of a cut steers the choice towards gaps; once a cut is the best
        # answer it is no evidence against it, so it does not lower the confidence.
        evidence = costs - np.where(kinds[np.array(chosen[1:])] == _CUT, d.align_cut_base, 0.0)
        conf = _confidence(evidence)
    return _finish(letters, out, costs, conf, head, merges, splits, identity=identity)


def _height_cost(heights: np.ndarray, text_h: float) -> np.ndarray:
    low = np.log(np.maximum(heights, 1.0) / (DEFAULTS.align_min_height * text_h))
    return np.where(low < 0, 0.5 * (low / 0.25) ** 2, 0.0)


def _finish(letters, boxes, costs, conf, head, merges, splits, *, identity: bool) -> Alignment:
    d = DEFAULTS
    parts = [head]
    for k, m in merges:
        parts.append(f"merged the {m} pieces of letter {k + 1} ({letters[k]})")
    for k in splits:
        parts.append(f"split touching letters {k + 1}-{k + 2} ({letters[k]}{letters[k + 1]})")
    if identity:
        status: Status = "matched" if conf >= d.harvest_min_confidence else "needs_review"
    else:
        status = "repaired" if conf >= d.align_review_below else "needs_review"
    if status == "needs_review":
        if isinstance(costs, list):
            worst = costs.index(max(costs))  # np.argmax's first maximum (the costs are finite)
        else:
            worst = int(costs.argmax())
        if identity:
            parts.append(f"letter {worst + 1} ({letters[worst]}) has an unlikely size")
        else:
            parts.append(f"unsure about letter {worst + 1} ({letters[worst]})")
    return Alignment(status, round(conf, 4), tuple(boxes), letters, "; ".join(parts))


# --------------------------------------------------------------------------------------
# the dynamic programme

_START, _GAP, _CUT, _END = 0, 1, 2, 3
_SMOOTH3 = np.ones(3) / 3.0  # the column profile's moving average, over three columns


def _boundaries(
    px0: np.ndarray, px1: np.ndarray, fragment: np.ndarray, col: np.ndarray, sw: float, scale: float,
    cut_min_width: float,
) -> dict[str, np.ndarray]:
    """Candidate letter boundaries, left to right: the start, every gap between pieces,
    every valley of the column profile inside a piece, the end.

    Each has ``end`` (where the letter on its left stops, exclusive), ``start`` (where
    the next letter begins), ``kind``, ``cost`` (paid when chosen: cutting a piece) and
    ``skip`` (paid when not chosen: merging two pieces across the gap).
    """
    d = DEFAULTS
    w = col.size
    margin = max(2, int(round(d.align_min_part_width * scale)))
    allowed = np.zeros(w, bool)
    # Only pieces wide enough to hold two letters are worth cutting.
    min_width = max(2 * margin, cut_min_width * scale)
    any_allowed = False
    for a, b in zip(px0.tolist(), px1.tolist()):
        if b - a > min_width:  # then the slice below is not empty
            allowed[a + margin : b - margin] = True
            any_allowed = True
    cut_x = np.zeros(0, np.int64)
    if any_allowed:
        smooth = np.convolve(col.astype(float), _SMOOTH3, mode="same")
        inner = smooth[1:-1]
        is_min = np.zeros(w, bool)
        is_min[1:-1] = (inner <= smooth[:-2]) & (inner <= smooth[2:])
        xs = (is_min & allowed).nonzero()[0]
        if xs.size:
            # A flat valley gives a run of minima: keep its middle.
            breaks = (xs[1:] - xs[:-1] > 1).nonzero()[0]
            starts = np.concatenate(([0], breaks + 1))
            ends = np.concatenate((breaks, [xs.size - 1]))
            cut_x = xs[(starts + ends) // 2]
            # A few valleys per letter the piece could hold, the deepest ones.
            piece = px0.searchsorted(cut_x, side="right") - 1
            per_letter = d.align_max_cuts_per_piece
            limits = np.maximum(per_letter, np.ceil(per_letter * (px1 - px0) / scale)).astype(np.int64)
            counts = np.bincount(piece, minlength=px0.size)
            if np.count_nonzero(counts > limits):
                depth = smooth[cut_x]
                keep_x = []
                for p in np.flatnonzero(counts).tolist():
                    sel = piece == p
                    keep_x.extend(cut_x[sel][np.argsort(depth[sel], kind="stable")[: limits[p]]].tolist())
                cut_x = np.array(sorted(keep_x), np.int64)
    gap_end = px1[:-1]
    gap_start = px0[1:]
    gap_w = (gap_start - gap_end).astype(float)
    # A dot, an accent or a broken-off stroke joins its letter across a wider gap.
    frag_gap = fragment[:-1] | fragment[1:]
    gap_scale = np.where(frag_gap, d.align_fragment_gap_scale, d.align_gap_scale) * scale
    n_gap, n_cut = gap_end.size, cut_x.size
    strokes = col[np.minimum(cut_x, w - 1)] / max(sw, 1.0)
    # One column per boundary, in the order start, gaps, cuts, end; then sorted by the
    # sort key (where the letter on the left stops; the start and end sort first and
    # last). Two tables, so that the sort is applied in two calls, not six.
    g, c = slice(1, 1 + n_gap), slice(1 + n_gap, 1 + n_gap + n_cut)
    ints = np.empty((4, n_gap + n_cut + 2), np.int64)  # sort key, end, start, kind
    ints[:, 0] = (-1, -1, px0[0], _START)
    ints[:, -1] = (w + 1, px1[-1], w, _END)
    ints[0:2, g] = gap_end
    ints[2, g] = gap_start
    ints[3, g] = _GAP
    ints[0:3, c] = cut_x
    ints[3, c] = _CUT
    floats = np.zeros((3, n_gap + n_cut + 2))  # cost, skip, width
    floats[0, c] = d.align_cut_base + d.align_cut_per_stroke * strokes
    floats[1, g] = gap_w / np.maximum(gap_scale, 1.0)
    floats[2, g] = gap_w
    order = ints[0].argsort(kind="stable")
    end, start, kind = ints[1:, order]
    cost, skip, width = floats[:, order]
    return {"end": end, "start": start, "kind": kind, "cost": cost, "skip": skip, "width": width}


def _columns(binary: np.ndarray, col: np.ndarray):
    """Per column: next and previous ink column, first and last ink row (followed by
    an empty column: h and -1), and the ink so far; shared by every run of the
    programme on one name."""
    h, w = binary.shape
    has = col > 0
    idx = np.arange(w)
    next_ink = np.minimum.accumulate(np.where(has, idx, w)[::-1])[::-1]
    prev_ink = np.maximum.accumulate(np.where(has, idx, -1))
    top_row, bottom_row = column_extents(binary)
    top_ext = np.concatenate((top_row, [h]))
    bottom_ext = np.concatenate((bottom_row, [-1]))
    cum_ink = np.concatenate(([0], col.cumsum()))
    return next_ink, prev_ink, top_ext, bottom_ext, cum_ink


@lru_cache(maxsize=64)
def _grids(B: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays of the programme over B boundaries, the same for every name with B
    (read-only): 0..B-1, i as a column, j as a row, min(i + 1, B), and the upper
    triangle (diagonal included) of a (B-1)x(B-1) matrix."""
    cols = np.arange(B)
    i_ix, j_ix = cols[:, None], cols[None, :]
    i_next = np.minimum(i_ix + 1, B)
    upper = np.triu(np.ones((B - 1, B - 1), bool))
    for a in (cols, i_next, upper):
        a.flags.writeable = False
    return cols, i_ix, j_ix, i_next, upper


def _solve(bounds, columns, shape, letters, prior, seps, log_scale, text_h, sw):
    """Cheapest choice of boundaries: (chosen boundary indices, cost per letter, width
    per letter, cost margin to the best answer of the other family: one piece per
    letter against any repair), or None when the letters cannot be placed."""
    d = DEFAULTS
    n = len(letters)
    h, w = shape
    start, end, kind = bounds["start"], bounds["end"], bounds["kind"]
    B = start.size
    next_ink, prev_ink, top_ext, bottom_ext, cum_ink = columns
    cols, i_ix, j_ix, i_next, upper = _grids(B)
    s = np.minimum(start, w - 1)  # letter spans start here (the END boundary starts nowhere)
    e = np.maximum(end, 1)  # ... and stop here (the START boundary stops nowhere)
    first = next_ink[s]  # over i
    last = prev_ink[e - 1]  # over j
    W = last[None, :].astype(float) - first[:, None] + 1.0
    valid = (j_ix > i_ix) & (end[None, :] > start[:, None]) & (W > 0)
    valid[:, 0] = False
    valid[B - 1, :] = False
    # Rows: min/max over the cells between consecutive boundaries, accumulated.
    cell_a = np.minimum(start[:-1], w - 1)
    cell_b = np.maximum(end[1:], cell_a + 1)
    reduce_idx = np.empty(2 * (B - 1), np.int64)  # [a0, b0, a1, b1, ...]
    reduce_idx[0::2] = cell_a
    reduce_idx[1::2] = cell_b
    cell_top = np.minimum.reduceat(top_ext, reduce_idx)[::2]
    cell_bottom = np.maximum.reduceat(bottom_ext, reduce_idx)[::2]
    tops = np.minimum.accumulate(np.where(upper, cell_top[None, :], h), axis=1)
    bottoms = np.maximum.accumulate(np.where(upper, cell_bottom[None, :], -1), axis=1)
    H = np.zeros((B, B))
    H[:-1, 1:] = bottoms - tops + 1
    INK = cum_ink[np.minimum(end, w)][None, :] - cum_ink[np.minimum(np.maximum(start, 0), w)][:, None]
    cum_skip = np.concatenate(([0.0], bounds["skip"].cumsum()))
    merge = np.maximum(cum_skip[j_ix] - cum_skip[i_next], 0.0)

    log_w = np.log(np.where(valid, np.maximum(W, 1.0), 1.0))
    Hs = np.where(valid, np.maximum(H, 1.0), text_h)
    shared = merge + _height_cost(Hs, text_h)
    # Whatever the writer's scale, a capital is rarely much wider than it is tall: a
    # box that is, holds two letters (this keeps the scale from following a bad answer).
    wide = np.maximum(log_w - np.log(np.maximum(Hs, 0.5 * text_h)) - math.log(d.align_max_aspect), 0.0)
    shared = shared + 0.5 * (wide / 0.25) ** 2
    shared = shared + np.where(INK < d.align_min_letter_strokes * sw * text_h * 0.5, 4.0, 0.0)
    is_cut = kind == _CUT
    narrow_gap = (kind == _GAP) & (bounds["width"] < 0.25 * math.exp(log_scale))
    piece_edge = kind != _CUT

    INF = 1e18
    # Two programmes in one: F1 keeps to one piece per letter, F2 has deviated at least
    # once (a merge or a cut). F2's best against F1's tells how sure a match is. With
    # more or fewer pieces than letters only F2 can finish, so F1 is not run.
    two = int(np.count_nonzero(piece_edge)) - 1 == n
    F1 = np.full(B, INF)
    F2 = np.full(B, INF)
    if two:
        F1[0] = 0.0
    else:
        F2[0] = 0.0
    back1 = np.zeros((n + 1, B), np.int64)
    back2 = np.zeros((n + 1, B), np.int64)
    from2 = np.zeros((n + 1, B), bool)  # F2 reached from F1 (the first deviation)
    # Every letter's cost of every span at once: LC[k, i, j].
    mu1, sd1, mu2, sd2 = (p[:, None, None] for p in prior)
    rel = log_w[None, :, :] - log_scale
    z1 = (rel - mu1) / sd1
    zz = z1 * z1
    if any(ch in NARROW_OR_WIDE for ch in letters):  # else both modes are the same
        z2 = (rel - mu2) / sd2
        zz = np.minimum(zz, z2 * z2)
    cut_close = np.where(is_cut, bounds["cost"], 0.0)
    sep_close = cut_close + np.where(is_cut, d.align_separator_cost, 0.0) + np.where(
        narrow_gap, 0.5 * d.align_separator_cost, 0.0
    )
    is_end = kind == _END
    # Boundary j closing letter k: a cut's price; a real gap wanted where the
    # transcription has a space or hyphen; only the last letter may close at the end.
    close = np.where(np.array([bool(seps[k]) for k in range(n)])[:, None], sep_close[None, :], cut_close[None, :])
    close[:-1, is_end] = INF
    close[-1, :] = np.where(is_end, 0.0, INF)
    LC = 0.5 * zz + shared[None, :, :] + close[:, None, :]
    LC[:, ~valid] = INF
    if two:
        # Spans that are exactly one piece: the one-piece-per-letter answer uses only these.
        cum_gap = np.concatenate(([0], (kind == _GAP).cumsum()))
        one_piece = piece_edge[:, None] & piece_edge[None, :] & (cum_gap[j_ix] - cum_gap[i_next] == 0)
        LC_one = np.where(one_piece[None, :, :], LC, INF)
        LC_dev = np.where(one_piece[None, :, :], INF, LC)
    for k in range(n):
        dev = F2[:, None] + LC[k]
        a_dev = dev.argmin(axis=0)
        v_dev = dev[a_dev, cols]
        if two:
            stay = F1[:, None] + LC_one[k]
            leave = F1[:, None] + LC_dev[k]
            a1 = stay.argmin(axis=0)
            a_leave = leave.argmin(axis=0)
            v_leave = leave[a_leave, cols]
            F1 = stay[a1, cols]
            take_leave = v_leave < v_dev
            F2 = np.where(take_leave, v_leave, v_dev)
            back1[k + 1] = a1
            back2[k + 1] = np.where(take_leave, a_leave, a_dev)
            from2[k + 1] = take_leave
        else:
            F2 = v_dev
            back2[k + 1] = a_dev
    best1, best2 = F1[B - 1], F2[B - 1]
    if min(best1, best2) >= INF / 2:
        return None
    # Backtrack the better of the two.
    in2 = best2 < best1
    chosen = [B - 1]
    for k in range(n, 0, -1):
        j = chosen[-1]
        if in2:
            chosen.append(int(back2[k, j]))
            in2 = not from2[k, j]
        else:
            chosen.append(int(back1[k, j]))
    chosen.reverse()
    starts, ends = np.array(chosen[:-1]), np.array(chosen[1:])
    costs = LC[np.arange(n), starts, ends]
    widths = W[starts, ends]
    margin = float(abs(best2 - best1)) if max(best1, best2) < INF / 2 else math.inf
    return chosen, costs, widths, margin


def _letter_boxes(binary: np.ndarray, pieces: list[tuple[int, int, int, int]], edges: list[int], n: int) -> list[Box] | None:
    """Tight boxes of each letter's ink, letter k owning the columns from edges[k-1] to
    edges[k]. A piece inside one letter's columns adds its box; a piece that was cut
    is divided pixel by pixel, except that a connected stroke lying almost wholly in
    one letter's columns goes to that letter whole (a slanted letter reaching over its
    neighbour's columns keeps its tail)."""
    acc: list[list[int] | None] = [None] * n

    def add(k: int, box: tuple[int, int, int, int]) -> None:
        cur = acc[k]
        if cur is None:
            acc[k] = list(box)
        else:
            cur[0], cur[1] = min(cur[0], box[0]), min(cur[1], box[1])
            cur[2], cur[3] = max(cur[2], box[2]), max(cur[3], box[3])

    edge_arr = np.asarray(edges, np.int64)
    for px0, py0, px1, py1 in pieces:
        # bisect_right on the sorted list is searchsorted(side="right"), minus the array call.
        k0 = bisect_right(edges, px0)
        k1 = bisect_right(edges, px1 - 1)
        if k0 == k1:
            add(k0, (px0, py0, px1, py1))
            continue
        sub = np.ascontiguousarray(binary[py0:py1, px0:px1]).astype(np.uint8)
        ys, xs = np.nonzero(sub)
        if ys.size == 0:
            continue
        m = k1 - k0 + 1
        local_edges = edge_arr[k0:k1] - px0
        col_letter = local_edges.searchsorted(np.arange(px1 - px0), side="right")
        nlab, labels = cv2.connectedComponentsWithAlgorithm(sub, 8, cv2.CV_16U, cv2.CCL_DEFAULT)
        pix_letter = col_letter[xs]
        lab = labels[ys, xs]
        counts = np.bincount(lab * m + pix_letter, minlength=nlab * m).reshape(nlab, m)
        major = counts.argmax(axis=1)
        share = counts[np.arange(nlab), major] / np.maximum(counts.sum(axis=1), 1)
        whole = share >= DEFAULTS.align_component_share
        final = np.where(whole[lab], major[lab], pix_letter)
        for j in range(m):
            sel = final == j
            if not np.count_nonzero(sel):
                sel = pix_letter == j  # its strokes all went to neighbours: use its columns
                if not np.count_nonzero(sel):
                    continue
            sx, sy = xs[sel], ys[sel]
            add(k0 + j, (px0 + int(sx.min()), py0 + int(sy.min()), px0 + int(sx.max()) + 1, py0 + int(sy.max()) + 1))
    if any(b is None for b in acc):
        return None
    return [Box(*b) for b in acc]
