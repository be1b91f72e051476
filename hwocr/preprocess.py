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

Names are small images with a few dozen components. The pixels are touched by a
handful of OpenCV calls and by one pass that finds the ink's horizontal runs; the
components, and every decision about them, are worked out from the runs by compiled
kernels (:mod:`hwocr.preprocess_kernels`, numba).

The result keeps the input untouched and gives a 0/255 mask of the ink that was kept,
plus a list of what was removed and why, which the review page draws.
"""

from __future__ import annotations

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


def _contrast(gray: np.ndarray) -> np.ndarray:
    """Darkness below the local paper level (a wide dilation, which wipes thin strokes
    out and so estimates the paper under them)."""
    h, w = gray.shape
    k = int(min(max(min(h, w) // 3, 3), 41)) | 1
    return cv2.subtract(cv2.dilate(gray, _rect(k, k)), gray)


def _weak_and_strong(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Masks of possible ink (0/255) and certain ink (0/1), or None when there is none.

    Ink is measured as darkness below the local paper level (:func:`_contrast`). Pixels
    dark enough for Otsu's threshold are certain ink; fainter ones are possible ink,
    kept only where they touch certain ink (hysteresis), which keeps pencil strokes
    whole without letting JPEG ringing in. (:func:`clean_name_image` finds the same
    thresholds, and the ink as runs, in ``preprocess_kernels.contrast_runs``.)
    """
    d = DEFAULTS
    contrast = _contrast(gray)
    if cv2.minMaxLoc(contrast)[1] < d.ink_min_contrast:
        return None
    otsu, above_otsu = cv2.threshold(contrast, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    strong_t = max(float(otsu), float(d.ink_min_contrast))
    weak_t = strong_t * d.ink_weak_fraction
    if strong_t == otsu:
        return _masks(contrast, weak_t, None)[0], above_otsu  # Otsu's own 0/1 output is that very threshold
    return _masks(contrast, weak_t, strong_t)


def _masks(contrast: np.ndarray, weak_t: float, strong_t: float | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Possible ink (0/255: above weak_t) and, unless strong_t is None, certain ink (0/1:
    above strong_t). Ink is what lies above the threshold (Otsu's threshold is the last
    paper value)."""
    weak = cv2.threshold(contrast, weak_t, 255, cv2.THRESH_BINARY)[1]
    if strong_t is None:
        return weak, None
    return weak, cv2.threshold(contrast, strong_t, 1, cv2.THRESH_BINARY)[1]


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
    m = np.asarray(ink)
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2:
        return 1.0
    if m.dtype != np.uint8:
        m = (m > 0).astype(np.uint8) * 255
    area = cv2.countNonZero(m)
    if area == 0:
        return 1.0
    # A run starts where ink follows paper (saturating subtraction keeps only those).
    runs = cv2.countNonZero(cv2.subtract(m[:, 1:], m[:, :-1])) + cv2.countNonZero(m[:, 0])
    runs += cv2.countNonZero(cv2.subtract(m[1:, :], m[:-1, :])) + cv2.countNonZero(m[0, :])
    return max(1.0, area / max(runs, 1))


# --------------------------------------------------------------------------------------
# form lines


def _line_length(w: int, sw: float) -> int:
    """The shortest horizontal form line: longer than any handwritten stroke."""
    return max(round(w * DEFAULTS.line_min_width_fraction), round(12 * sw), 8)


def _horizontal_lines(ink: np.ndarray, hlen: int, row_count: np.ndarray) -> np.ndarray | None:
    """Pixels of horizontal lines at least ``hlen`` long (hlen < the image's width);
    ``row_count``: the ink pixels of each row."""
    # The kernel is one row high, so the opening works on each row alone, and a row
    # keeps nothing unless it holds at least the part of the kernel that cannot hang
    # over the image edge (hlen - hlen // 2 pixels, with the anchor in the middle). Only
    # the rows from the first to the last such row need the (costly) morphology.
    rows = (row_count >= hlen - hlen // 2).nonzero()[0]
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    opened = cv2.morphologyEx(ink[r0:r1], cv2.MORPH_OPEN, _rect(hlen, 1))
    if not cv2.countNonZero(opened):
        return None
    lines = np.zeros_like(ink)
    lines[r0:r1] = opened
    return lines


def _boxes(stats: np.ndarray, which: list[int]) -> list[Box]:
    """The boxes of the components ``which`` (rows of x, y, width, height, area)."""
    rows = stats.tolist()
    out = []
    for i in which:
        x, y, cw, ch, _ = rows[i]
        out.append(trusted_box(x, y, x + cw, y + ch))
    return out


# --------------------------------------------------------------------------------------


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
    # Possible and certain ink (as _weak_and_strong finds them), as runs of pixels.
    from hwocr import preprocess_kernels as k  # here, not at the top: numba takes half a second to import

    contrast = _contrast(np.ascontiguousarray(gray))
    weak_t, strong_t, runs, run_strong, row_count, outline = k.contrast_runs(
        contrast, d.ink_min_contrast, d.ink_weak_fraction
    )
    if not len(runs):
        return _empty(original)
    sw = max(1.0, int(row_count.sum()) / max(outline, 1))  # stroke_width() of the possible ink
    removed: list[Removed] = []

    # 1. long horizontal form lines: remove only their pixels, so a letter that crosses
    #    a line keeps its strokes.
    hlen = _line_length(w, sw)
    if hlen < w and row_count.max() >= hlen:  # else no row holds that much ink: no line
        weak, strong = _masks(contrast, weak_t, strong_t)
        lines = _horizontal_lines(weak, hlen, row_count)
        if lines is not None:
            line_runs, line_strong, _, _ = k.scan_runs(lines, lines)
            line_stats = k.label_runs(line_runs, line_strong, h, w)[0]
            removed.extend(_removed(b, "line") for b in _boxes(line_stats, range(len(line_stats))))
            weak = cv2.subtract(weak, lines)
            strong = cv2.bitwise_and(strong, cv2.bitwise_not(lines) // 255)
            runs, run_strong, _, _ = k.scan_runs(weak, strong)

    # 2.-6. the components (runs joined 8-connectedly; faint marks touching no sure ink
    #    are noise), then the handwriting band, the printed label, what lies outside the
    #    band, specks, and what stands apart at either end (hwocr.preprocess_kernels).
    status, gone, ink = k.clean_components(runs, run_strong, h, w, sw, round(sw), d.max_components, k.clean_rules(d))
    if status == 1:
        # Thousands of marks: a page of text or a noisy photo, not a name. Nothing kept.
        removed.append(Removed(Box(0, 0, w, h), "other_text"))
    elif len(gone):
        removed.extend(
            _removed(trusted_box(x0, y0, x1, y1), REMOVED_KINDS[kind]) for kind, x0, y0, x1, y1 in gone.tolist()
        )
    return CleanedName(gray=original, ink=ink, removed=tuple(removed))
