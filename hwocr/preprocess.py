"""Clean a name image: binarize it and remove everything that is not the handwritten name.

What gets removed is recognised by what it looks like, not by where a particular form
happens to put it, because the images come in many sizes and layouts:

* **form lines**: a horizontal one is longer than any handwritten stroke, so an opening
  with a long flat kernel finds it and only its pixels are removed (a letter that
  crosses the line keeps its strokes); a vertical one is a tall, thin, straight stroke
  standing apart at either end of the name;
* **the printed label** ("NOM :", "PRENOM :") ends with a colon, two small compact
  dots stacked one above the other, with dense printed text to their left; the colon
  and everything left of it goes (the word, the small rotated digits and the short
  form line at the far left edge);
* **the handwriting is the dominant band of ink**: the rows are split into bands and
  the band with the most ink near the middle of the image wins; printed text above or
  below it (a "PRENOM" heading, "DATE DE NAISSANCE") and fragments of the neighbouring
  rows cut by the top or bottom edge fall outside it;
  a tall letter can stretch the band into a neighbouring row, so what lies clearly
  above the typical letter's top or below its bottom goes too;
* **specks** are tiny components far from any stroke, and blots standing apart at
  either end; a dot or an accent right above a letter is kept, because the crop of
  that letter should show it whole.

Names are small images with a few dozen components, so the decisions are made on plain
lists of component boxes; the pixels are touched by a handful of OpenCV calls.

The result keeps the input untouched and gives a 0/255 mask of the ink that was kept,
plus a list of what was removed and why, which the review page draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from hwocr.boxes import Box, trusted_box
from hwocr.config import DEFAULTS

REMOVED_KINDS = ("label", "line", "speck", "border", "other_text")


@dataclass(frozen=True)
class Removed:
    """One thing removed from the image, and why (kind is one of REMOVED_KINDS)."""

    box: Box
    kind: str


def _removed(box: Box, kind: str) -> Removed:
    """``Removed(box, kind)`` without the frozen dataclass's guarded ``__init__`` (the
    same object; a name removes about ten things, so this is a few µs a name)."""
    r = object.__new__(Removed)
    r.__dict__.update(box=box, kind=kind)
    return r


@dataclass(frozen=True)
class CleanedName:
    gray: np.ndarray
    """The input gray image, untouched (uint8, dark ink on light paper)."""
    ink: np.ndarray
    """uint8 mask of the handwriting that was kept: 255 = ink, 0 = paper."""
    removed: tuple[Removed, ...]

    @property
    def band(self) -> tuple[int, int]:
        """Rows [top, bottom) holding the kept ink; (0, 0) when nothing was kept."""
        rows = np.flatnonzero(self.ink.any(axis=1))
        if rows.size == 0:
            return (0, 0)
        return (int(rows[0]), int(rows[-1]) + 1)


# --------------------------------------------------------------------------------------
# binarization


@lru_cache(maxsize=64)
def _rect(kw: int, kh: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_RECT, (kw, kh))


def _weak_and_strong(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Masks of possible ink (0/255) and certain ink (0/1), or None when there is none.

    Ink is measured as darkness below the local paper level (a wide dilation, which
    wipes thin strokes out and so estimates the paper under them). Pixels dark enough
    for Otsu's threshold are certain ink; fainter ones are possible ink, kept only where
    they touch certain ink (hysteresis), which keeps pencil strokes whole without letting
    JPEG ringing in.
    """
    h, w = gray.shape
    d = DEFAULTS
    k = int(min(max(min(h, w) // 3, 3), 41)) | 1
    paper = cv2.dilate(gray, _rect(k, k))
    contrast = cv2.subtract(paper, gray)
    if cv2.minMaxLoc(contrast)[1] < d.ink_min_contrast:
        return None
    otsu, above_otsu = cv2.threshold(contrast, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    strong_t = max(float(otsu), float(d.ink_min_contrast))
    weak_t = strong_t * d.ink_weak_fraction
    # Ink is what lies above the threshold (Otsu's threshold is the last paper value).
    _, weak = cv2.threshold(contrast, weak_t, 255, cv2.THRESH_BINARY)
    if strong_t == otsu:
        strong = above_otsu  # Otsu's own 0/1 output is that very threshold
    else:
        _, strong = cv2.threshold(contrast, strong_t, 1, cv2.THRESH_BINARY)
    return weak, strong


def _hysteresis(labels: np.ndarray, n: int, strong: np.ndarray) -> np.ndarray:
    """Per label: does the component hold certain ink? (label 0, paper, never does)."""
    has = np.bincount(labels[strong.view(bool)], minlength=n) > 0
    has[0] = False
    return has


def binarize(gray: np.ndarray) -> np.ndarray:
    """Gray uint8 (ink dark) to a 0/255 ink mask, robust to JPEG noise and faint pencil."""
    parts = _weak_and_strong(gray)
    if parts is None:
        return np.zeros_like(gray)
    weak, strong = parts
    n, labels = cv2.connectedComponents(weak, connectivity=8)
    keep = _hysteresis(labels, n, strong)
    return np.where(keep, 255, 0).astype(np.uint8)[labels]


def stroke_width(ink: np.ndarray) -> float:
    """Typical pen width in pixels: ink area over half its outline (the number of
    horizontal plus vertical ink runs), which for an elongated stroke is its thickness."""
    return _stroke_width_and_area(ink)[0]


def _stroke_width_and_area(ink: np.ndarray) -> tuple[float, int | None]:
    """:func:`stroke_width`, and the number of ink pixels of a uint8 mask (None for a
    mask too small to measure)."""
    m = np.asarray(ink)
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2:
        return 1.0, None
    if m.dtype != np.uint8:
        m = (m > 0).astype(np.uint8) * 255
    area = cv2.countNonZero(m)
    if area == 0:
        return 1.0, 0
    # A run starts where ink follows paper (saturating subtraction keeps only those).
    runs = cv2.countNonZero(cv2.subtract(m[:, 1:], m[:, :-1])) + cv2.countNonZero(m[:, 0])
    runs += cv2.countNonZero(cv2.subtract(m[1:, :], m[:-1, :])) + cv2.countNonZero(m[0, :])
    return max(1.0, area / max(runs, 1)), area


# --------------------------------------------------------------------------------------
# components


class _Components:
    """Connected components: ``labels`` (component i has label i + 1) and, as plain
    lists (names have a few dozen components, so list code beats array calls), each
    one's box and pixel count."""

    __slots__ = ("labels", "x", "y", "w", "h", "area", "x1", "y1", "n", "_small_labels")

    def __init__(self, labels: np.ndarray, stats: np.ndarray) -> None:
        self.labels = labels
        cols = stats[1:].T.tolist() if len(stats) > 1 else [[], [], [], [], []]
        self.x, self.y, self.w, self.h, self.area = cols
        self.x1 = [a + b for a, b in zip(self.x, self.w)]
        self.y1 = [a + b for a, b in zip(self.y, self.h)]
        self.n = len(self.x)
        self._small_labels = None

    def box(self, i: int) -> Box:
        return trusted_box(self.x[i], self.y[i], self.x1[i], self.y1[i])

    def mask_of(self, keep: list[bool]) -> np.ndarray:
        """0/255 mask of the components flagged in ``keep``."""
        flags = np.array(keep, bool)
        if self.n < 256:
            if self._small_labels is None:
                self._small_labels = self.labels.astype(np.uint8)
            lut = np.zeros(256, np.uint8)
            lut[1 : self.n + 1][flags] = 255
            return cv2.LUT(self._small_labels, lut)
        lut = np.zeros(self.n + 1, np.uint8)
        lut[1:][flags] = 255
        return lut[self.labels]


def _label(mask: np.ndarray, area: int | None = None) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected components with their stats. 16-bit labels when they fit: OpenCV's
    16-bit path is several times faster on the small images names come in. ``area``:
    the mask's ink pixels, when known."""
    if area is None:
        area = cv2.countNonZero(mask)
    ltype = cv2.CV_16U if area < 65535 else cv2.CV_32S
    n, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, ltype, cv2.CCL_DEFAULT)
    return n, labels, stats


def _components(mask: np.ndarray) -> _Components:
    _, labels, stats = _label(mask)
    return _Components(labels, stats)


# --------------------------------------------------------------------------------------
# form lines


def _horizontal_lines(ink: np.ndarray, sw: float) -> np.ndarray | None:
    """Pixels of long straight horizontal lines (no handwritten stroke is that long)."""
    h, w = ink.shape
    hlen = max(int(round(w * DEFAULTS.line_min_width_fraction)), int(round(12 * sw)), 8)
    if hlen >= w:
        return None
    row_ink = _row_sums(ink)
    # No row holds that much ink (the usual case): no line, no morphology needed.
    if cv2.minMaxLoc(row_ink)[1] < hlen * 255:
        return None
    # The kernel is one row high, so the opening works on each row alone, and a row
    # keeps nothing unless it holds at least the part of the kernel that cannot hang
    # over the image edge (hlen - hlen // 2 pixels, with the anchor in the middle). Only
    # the rows from the first to the last such row need the (costly) morphology.
    rows = (row_ink >= (hlen - hlen // 2) * 255).nonzero()[0]
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    opened = cv2.morphologyEx(ink[r0:r1], cv2.MORPH_OPEN, _rect(hlen, 1))
    if not cv2.countNonZero(opened):
        return None
    lines = np.zeros_like(ink)
    lines[r0:r1] = opened
    return lines


# --------------------------------------------------------------------------------------
# the printed label


@dataclass(frozen=True)
class _Colon:
    upper: int
    lower: int
    x1: int
    top: int
    bottom: int
    #: The printed text before it is a short word ("NOM", "PRENOM"), not a long caption
    #: ("CODE RNE / UAI", "DATE DE NAISSANCE") and is not cut by the image edge: this
    #: colon introduces the name.
    name_label: bool


def _find_colons(c: _Components, ok: list[bool], ink: np.ndarray, sw: float) -> list[_Colon]:
    """Printed colons that end a label, with what their label looks like.

    A printed colon is two identical, compact, nearly square dots stacked one above the
    other, with a printed word right before it whose baseline is the lower dot's bottom
    and which is about three dots tall. A handwritten ``i`` (dot over a short stem) has
    an elongated lower part, which is mostly what tells the two apart.
    """
    h, w = ink.shape
    d = DEFAULTS
    max_side = max(3.0, d.colon_max_dot_size * sw)
    X, Y, W, H, A, X1, Y1 = c.x, c.y, c.w, c.h, c.area, c.x1, c.y1
    x_limit = w * d.label_max_x_fraction
    aspect = d.colon_max_dot_aspect
    # (max(cw, ch) <= max_side and max(cw, ch) <= aspect * min(cw, ch), written out
    # without the builtin calls: this test runs on every component of every name.)
    cand = [
        i
        for i, (k, x, a, cw, ch) in enumerate(zip(ok, X, A, W, H))
        if k
        and x < x_limit
        and cw <= max_side
        and ch <= max_side
        and a >= 2
        and (cw <= aspect * ch if cw >= ch else ch <= aspect * cw)
        and 2 * a >= cw * ch
    ]
    if len(cand) < 2:
        return []
    cand.sort(key=lambda i: 2 * X[i] + W[i])
    pairs = []
    for ai, a in enumerate(cand):
        ca = 2 * X[a] + W[a]
        la = max(W[a], H[a])
        for b in cand[ai + 1 :]:
            size = max(la, W[b], H[b])
            if 2 * X[b] + W[b] - ca > max(2, size):
                break  # sorted by centre: the rest are further right
            up, lo = (a, b) if Y[a] < Y[b] else (b, a)
            if Y[up] == Y[lo]:
                continue
            tol = max(1, size // 2)
            gap = Y[lo] - Y1[up]
            if (
                abs(W[up] - W[lo]) <= tol
                and abs(H[up] - H[lo]) <= tol
                and A[up] <= 2 * A[lo]
                and A[lo] <= 2 * A[up]
                and gap >= 1
                and 3 * gap >= size
                and gap <= 2.5 * size + 1
            ):
                pairs.append((up, lo, size))
    found: list[_Colon] = []
    for ia, ib, sz in pairs:
        x0 = min(X[ia], X[ib])
        top, bottom = Y[ia], Y1[ib]
        # The right end of the ink left of the colon, on its rows.
        wx1 = max((x1 for k, x1, y, y1 in zip(ok, X1, Y, Y1) if k and x1 <= x0 and y1 > top and y < bottom),
                  default=None)
        if wx1 is None:
            continue
        if x0 - wx1 > 3 * sz + 1:
            continue
        # The word's last letter: the ink in a narrow window right before the colon
        # (the word may be merged with digits or a form line further left).
        # (Sums, not maxima: OpenCV's row-wise REDUCE_MAX is unoptimised and many times
        # slower; a sum of ink is non-zero exactly where the maximum is.)
        rows = _row_sums(ink[:, max(0, wx1 - 2 * sz) : wx1]).nonzero()[0]
        run = next(((r0, r1) for r0, r1 in _runs(rows, 1) if r0 < bottom and r1 > top), None)
        if run is None:
            continue
        if abs(run[1] - bottom) > max(1, sz // 2):
            continue
        if not (2.5 * sz <= run[1] - run[0] <= 6.0 * sz + 1):
            continue
        # How far the printed text runs left of the colon (its letters and words are
        # closer together than two dots).
        xs = _column_sums(ink[run[0] : run[1], :wx1]).nonzero()[0]
        breaks = (xs[1:] - xs[:-1] > 2 * sz + 1).nonzero()[0]
        start = int(xs[breaks[-1] + 1]) if breaks.size else int(xs[0])
        # A caption cut by the image edge belongs to a neighbouring row of the form.
        is_name = (wx1 - start) <= d.label_max_word_heights * (run[1] - run[0]) and 0 < run[0] and run[1] < h
        found.append(_Colon(ia, ib, max(X1[ia], X1[ib]), top, bottom, bool(is_name)))
    return found


# --------------------------------------------------------------------------------------
# the handwriting band


def _runs(idx: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """Sorted indices grouped into runs [start, end), bridging gaps of up to ``min_gap``."""
    if idx.size == 0:
        return []
    breaks = (idx[1:] - idx[:-1] > min_gap).nonzero()[0].tolist()
    v = idx.tolist()
    starts = [v[0]] + [v[k + 1] for k in breaks]
    ends = [v[k] + 1 for k in breaks] + [v[-1] + 1]
    return list(zip(starts, ends))


# Small arrays are the rule here, where numpy's Python-level helpers (np.flatnonzero,
# np.cumsum, np.diff, ndarray.max, ...) cost several times the C methods and ufuncs they
# wrap; the code below calls those directly (a.nonzero()[0], a.cumsum(), a[1:] - a[:-1]).


def _row_sums(mask: np.ndarray) -> np.ndarray:
    """Ink per row of a 0/255 mask, times 255 (int32)."""
    return cv2.reduce(mask, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()


def _column_sums(mask: np.ndarray) -> np.ndarray:
    """Ink per column of a 0/255 mask, times 255 (int32)."""
    return cv2.reduce(mask, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()


def _bands(profile: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """Runs of rows with ink, joining runs separated by at most ``min_gap`` empty rows.

    Rows with only a trace of ink (a form line or one stroke reaching across) do not
    join two bands: they count as empty.
    """
    values = profile.tolist()
    floor = DEFAULTS.band_valley_fraction * max(values, default=0)
    bands: list[tuple[int, int]] = []
    start = last = -1
    for y, v in enumerate(values):
        if v > floor:
            if start < 0:
                start = y
            elif y - last > min_gap:
                bands.append((start, last + 1))
                start = y
            last = y
    if start >= 0:
        bands.append((start, last + 1))
    return bands


def _looks_printed(band_ink: np.ndarray) -> bool:
    """Printed text is packed: letters one or two pixels apart and heavy for their size.
    Hand-printed names in comb boxes leave wide gaps and use thinner strokes."""
    xs = _column_sums(band_ink).nonzero()[0]
    if xs.size < 4:
        return False
    height = band_ink.shape[0]
    d = DEFAULTS
    if cv2.countNonZero(band_ink) < d.printed_min_density * height * xs.size:
        return False
    gaps = xs[1:] - xs[:-1]
    gaps = np.sort(gaps[gaps > 1]) - 1
    if gaps.size < 2:
        return False
    median = 0.5 * (gaps[(gaps.size - 1) // 2] + gaps[gaps.size // 2])
    return float(median) <= max(2.0, d.printed_max_gap * height)


def _dominant_band(weights: np.ndarray, ink: np.ndarray, sw: float, labels: list[tuple[int, int]]) -> tuple[int, int]:
    """The band of rows most likely to hold the name: much ink, near the middle, not cut
    by an edge, not packed like printed text, and starting with the name's printed label
    when the form has one."""
    d = DEFAULTS
    h = ink.shape[0]
    bands = _bands(weights, max(1, int(round(sw))))
    if len(bands) <= 1:
        return bands[0] if bands else (0, 0)
    cum = [0.0] + weights.cumsum().tolist()
    scored = []
    for y0, y1 in bands:
        off = ((y0 + y1) / 2.0 - h / 2.0) / max(h * d.band_centre_sigma, 1.0)
        score = (cum[y1] - cum[y0]) * math.exp(-0.5 * off * off)
        if y0 == 0 or y1 == h:
            score *= d.band_edge_penalty
        labelled = any(top < y1 and bottom > y0 for top, bottom in labels)
        if labelled:
            score *= d.band_label_boost
        scored.append([score, labelled, y0, y1])
    # Printed-looking bands lose weight. That only ever lowers a score, so only the
    # current leader needs the (slower) look, until a leader passes it.
    looked = set()
    while True:
        best = max(scored, key=lambda t: t[0])
        key = (best[2], best[3])
        if best[1] or key in looked:
            return key
        looked.add(key)
        if not _looks_printed(ink[best[2] : best[3]]):
            return key
        best[0] *= d.band_printed_penalty


# --------------------------------------------------------------------------------------


def _median_int(values: list[int]) -> float:
    v = sorted(values)
    return 0.5 * (v[(len(v) - 1) // 2] + v[len(v) // 2])


def _empty(gray: np.ndarray) -> CleanedName:
    return CleanedName(gray=gray, ink=np.zeros(gray.shape[:2], np.uint8), removed=())


def clean_name_image(gray: np.ndarray) -> CleanedName:
    """Binarize a name image and keep only the handwritten name. Never raises on odd input."""
    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.size == 0:
        shape = gray.shape[:2] if gray.ndim >= 2 else (0, 0)
        return CleanedName(gray=gray, ink=np.zeros(shape, np.uint8), removed=())
    original = gray
    if gray.dtype != np.uint8:
        gray = np.clip(np.nan_to_num(gray.astype(np.float64)), 0, 255).astype(np.uint8)
    h, w = gray.shape
    if h < 3 or w < 3:
        return _empty(original)
    d = DEFAULTS
    parts = _weak_and_strong(np.ascontiguousarray(gray))
    if parts is None:
        return _empty(original)
    weak, strong = parts
    sw, area = _stroke_width_and_area(weak)
    removed: list[Removed] = []

    # 1. long horizontal form lines: remove only their pixels, so a letter that crosses
    #    a line keeps its strokes.
    lines = _horizontal_lines(weak, sw)
    if lines is not None:
        lc = _components(lines)
        removed.extend(Removed(lc.box(i), "line") for i in range(lc.n))
        weak = cv2.subtract(weak, lines)
        strong = cv2.bitwise_and(strong, cv2.bitwise_not(lines) // 255)
        area = None  # no longer the ink's

    n_lab, labels, stats = _label(weak, area)
    if n_lab - 1 > d.max_components:
        # Thousands of marks: a page of text or a noisy photo, not a name. Nothing kept.
        removed.append(Removed(Box(0, 0, w, h), "other_text"))
        return CleanedName(gray=original, ink=np.zeros((h, w), np.uint8), removed=tuple(removed))
    c = _Components(labels, stats)
    n = c.n
    if n == 0:
        return CleanedName(gray=original, ink=np.zeros((h, w), np.uint8), removed=tuple(removed))
    keep = _hysteresis(labels, n_lab, strong)[1:].tolist()  # faint marks touching no sure ink are noise
    n_keep = sum(keep)
    if n_keep == 0:
        return CleanedName(gray=original, ink=np.zeros((h, w), np.uint8), removed=tuple(removed))
    ink = weak if n_keep == n else c.mask_of(keep)
    X, Y, W, H, A, X1, Y1 = c.x, c.y, c.w, c.h, c.area, c.x1, c.y1
    # (The per-component passes below zip the lists rather than index them, and compute
    # their bounds once: they run over every component of every name.)

    def drop(i: int, kind: str | None = None) -> None:
        """Remove component i, recorded as ``kind`` or, when None, as a border fragment,
        a speck or other text by its place and size."""
        if kind is None:
            if Y[i] == 0 or Y1[i] == h:
                kind = "border"
            else:
                kind = "speck" if A[i] <= d.speck_max_area else "other_text"
        removed.append(_removed(trusted_box(X[i], Y[i], X1[i], Y1[i]), kind))
        keep[i] = False

    # 2. the handwriting band. Components cut by the top or bottom edge are mostly
    #    fragments of the neighbouring rows of the form, so they only vote when little
    #    else is there.
    big_area = max(d.speck_max_area, 2.0 * sw * sw)
    big = [k and a >= big_area for k, a in zip(keep, A)]
    inner = [b and y > 0 and y1 < h for b, y, y1 in zip(big, Y, Y1)]
    inner_area = sum(a for a, f in zip(A, inner) if f)
    voters = inner if inner_area and inner_area >= 0.3 * sum(a for a, f in zip(A, big) if f) else big
    n_voters = sum(voters)
    vote_mask = ink if n_voters in (0, n_keep) else c.mask_of(voters)
    weights = cv2.reduce(vote_mask, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() / 255.0
    colons = _find_colons(c, keep, ink, sw)
    y0, y1 = _dominant_band(weights, ink, sw, [(k.top, k.bottom) for k in colons if k.name_label])
    band_h = max(1, y1 - y0)

    # 3. the printed label: a colon on the band's rows, and everything left of it. The
    #    label starts the line, so the leftmost colon is the label's (a broken letter of
    #    the name further right can look like one too).
    in_band = [k for k in colons if k.bottom > y0 and k.top < y1]
    named = [k for k in in_band if k.name_label] or in_band
    label_x1 = min((k.x1 for k in named), default=-1)
    if label_x1 >= 0:
        label_end = 2 * (label_x1 + 1)
        for i in [i for i, (k, x, cw) in enumerate(zip(keep, X, W)) if k and 2 * x + cw < label_end]:
            drop(i, "label")

    # 4. components outside the band, except dots and accents right above a letter.
    # At least half of it on the band's rows: 2 * overlap >= height (no overlap can
    # pass, heights being at least 1, so the overlap needs no clamping at 0; and the
    # conditional expressions spare two min/max calls per component).
    inside = [
        2 * ((b if b < y1 else y1) - (t if t > y0 else y0)) >= ch  # noqa: FURB136
        for t, b, ch in zip(Y, Y1, H)
    ]
    small_h, small_w = d.accent_max_band * band_h, 0.4 * band_h
    small = [ch <= small_h and cw <= small_w for ch, cw in zip(H, W)]
    accent_top = y0 - d.accent_max_band * band_h
    near = [
        i
        for i, (k, sm, ins, t, b) in enumerate(zip(keep, small, inside, Y, Y1))
        if k and sm and not ins and t > 0 and b >= accent_top and t <= y1
    ]
    if near:
        anchors = [i for i, (k, ins, sm) in enumerate(zip(keep, inside, small)) if k and ins and not sm]
        pad = max(2, int(round(sw)))
        for i in near:
            if any(X[a] - pad < X1[i] and X1[a] + pad > X[i] for a in anchors):
                inside[i] = True
    for i in [i for i, (k, ins) in enumerate(zip(keep, inside)) if k and not ins]:
        drop(i)

    # 4b. the band can reach into a neighbouring row through one tall letter; what lies
    #     clearly above the letters' tops or below their bottoms (the typical letter's,
    #     not the tallest one's), or is cut by the image edge just beyond them, is not
    #     part of the name, except dots and accents.
    letters = [i for i, (k, a, ch) in enumerate(zip(keep, A, H)) if k and a >= big_area and ch * 3 >= band_h]
    if len(letters) >= 3:
        core_top = _median_int([Y[i] for i in letters])
        core_bottom = _median_int([Y1[i] for i in letters])
        core_h = max(1, core_bottom - core_top)
        tol = max(1.0, d.core_margin * core_h)
        gap = max(2.0, d.core_gap * core_h)
        anchors = [i for i in letters if Y[i] < core_bottom and Y1[i] > core_top]
        pad = max(2, int(round(sw)))
        # Clearly apart from the letters, or cut by the image edge right beyond them
        # (a letter's own top bar sits at the letters' top, not apart from it).
        above_y, above_tol = core_top - gap, core_top + tol
        below_y, below_tol = core_bottom + gap, core_bottom - tol
        for i, (k, t, b) in enumerate(zip(keep, Y, Y1)):
            if not k:
                continue
            above = b < above_y or (t == 0 and b <= above_tol)
            below = t > below_y or (b == h and t >= below_tol)
            if not (above or below):
                continue
            if (
                above
                and H[i] <= d.accent_max_band * 1.5 * core_h
                and W[i] <= 0.6 * core_h
                and b >= core_top - core_h
                and any(X[a] - pad < X1[i] and X1[a] + pad > X[i] for a in anchors)
            ):
                continue  # a dot or an accent over its letter
            drop(i)

    # 5. specks inside the band: tiny, compact and far from any stroke (the short stem
    #    of a small "i" is not compact; its dot is close to the stem).
    tiny_area = max(d.speck_max_area, sw * sw * d.speck_max_area_strokes)
    tiny_side = max(2.0, d.speck_max_side_band * band_h)
    tiny = [
        i for i, (k, a, cw, ch) in enumerate(zip(keep, A, W, H)) if k and a <= tiny_area and max(cw, ch) <= tiny_side
    ]
    if tiny:
        tiny_set = set(tiny)
        strokes = [i for i, k in enumerate(keep) if k and i not in tiny_set]
        reach = max(2.0, d.speck_reach_band * band_h)
        lone = []
        for i in tiny:
            near_stroke = any(
                max(0, X[j] - X1[i], X[i] - X1[j]) <= reach * 0.25 and max(0, Y[j] - Y1[i], Y[i] - Y1[j]) <= reach
                for j in strokes
            )
            if not near_stroke:
                lone.append(i)
        for i in lone:
            drop(i, "speck")

    # 6. things standing apart at either end of the name: vertical form lines (tall,
    #    thin, straight) and blots (short).
    order = sorted((i for i, k in enumerate(keep) if k), key=X.__getitem__)
    if len(order) >= 2:
        min_gap = d.vline_min_gap_band * band_h

        def stands_apart(end: int) -> str | None:
            tall = H[end] >= d.vline_min_band * band_h or (Y[end] == 0 and Y1[end] == h)
            thin = W[end] <= max(3.0, d.vline_max_width_strokes * sw)
            straight = A[end] >= d.vline_min_fill * W[end] * H[end]
            if tall and thin and straight:
                return "line"
            if H[end] <= d.blot_max_band * band_h and W[end] <= d.blot_max_band * band_h:
                return "speck"
            return None

        while len(order) >= 2:
            left, right = order[0], order[-1]
            if X[order[1]] - X1[left] >= min_gap and (kind := stands_apart(left)):
                drop(left, kind)
                order.pop(0)
                continue
            if X[right] - max(X1[i] for i in order[:-1]) >= min_gap and (kind := stands_apart(right)):
                drop(right, kind)
                order.pop()
                continue
            break

    return CleanedName(gray=original, ink=c.mask_of(keep), removed=tuple(removed))
