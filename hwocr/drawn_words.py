"""Words drawn from single pen-stroke letters: UNIPEN characters (capitals, lower case,
digits) composed left to right into one picture of a handwritten word, each letter at
the height its class has in handwriting. Used by ``bench/drawn_words.py`` (the
drawn-word reading benchmark) and by tests that need a word with known letters.

Heights are fractions of the cap height ``H`` (the height of a capital), measured from
the baseline (positive up):

* capitals, digits and the ascender letters ``b d f h k l t``: ``H`` tall on the baseline;
* the x-height letters ``a c e m n o r s u v w x z``: ``0.55 H`` on the baseline;
* the descender letters ``g p q y``: ``0.8 H``, top at x-height, bottom ``0.25 H`` below;
* ``i`` with its dot: ``0.75 H`` on the baseline (undotted: an x-height letter);
* ``j`` with its dot: top at ``0.75 H``, bottom ``0.25 H`` below (undotted: a descender).

Each letter keeps its aspect ratio; its size is jittered by a few per cent and its
baseline by a little, and letters are placed with clear gaps between their boxes, so
no two letters touch (the pen width is included). Strokes are y up, as in UNIPEN.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from hwocr.render import Strokes

#: Letters that reach the cap height in handwriting (with capitals and digits).
ASCENDERS = frozenset("bdfhklt")
#: Letters that stay within the x-height.
X_HEIGHT = frozenset("acemnorsuvwxz")
#: Letters that hang below the baseline from the x-height.
DESCENDERS = frozenset("gpqy")

X_HEIGHT_FRAC = 0.55
DESCENT_FRAC = 0.25
DOTTED_TOP_FRAC = 0.75

#: cv2 sub-pixel precision: coordinates carry this many fraction bits.
_SHIFT = 4


def letter_extent(label: str, strokes: Strokes | None = None) -> tuple[float, float]:
    """``(bottom, top)`` of a letter's ink as fractions of the cap height, baseline 0, y up.

    ``strokes`` tells a dotted i or j (two strokes or more) from an undotted one."""
    dotted = strokes is not None and sum(1 for s in strokes if len(s)) >= 2
    if label == "i":
        return (0.0, DOTTED_TOP_FRAC) if dotted else (0.0, X_HEIGHT_FRAC)
    if label == "j":
        return (-DESCENT_FRAC, DOTTED_TOP_FRAC if dotted else X_HEIGHT_FRAC)
    if label in X_HEIGHT:
        return 0.0, X_HEIGHT_FRAC
    if label in DESCENDERS:
        return -DESCENT_FRAC, X_HEIGHT_FRAC
    return 0.0, 1.0  # capitals, digits, ascenders (and anything else)


def _arrays(strokes: Strokes) -> list[np.ndarray]:
    out = []
    for stroke in strokes:
        pts = np.asarray(stroke, np.float64).reshape(-1, 2)
        if len(pts):
            out.append(pts)
    if not out:
        raise ValueError("a letter's strokes hold no points")
    return out


def place_letters(samples: Sequence[tuple[str, Strokes]], rng: np.random.Generator | int | None = None,
                  cap_height: float = 60.0, *, size_jitter: float = 0.08, baseline_jitter: float = 0.03,
                  gap: tuple[float, float] = (0.15, 0.3), pen_px: float = 3.5) -> list[list[np.ndarray]]:
    """Each letter's strokes moved into word coordinates: x to the right from 0, y up
    from the baseline, in pixels. Gaps between consecutive letters' boxes are drawn from
    ``gap`` (fractions of ``cap_height``) plus ``pen_px``, so the drawn ink never touches."""
    rng = np.random.default_rng(rng)
    H = float(cap_height)
    placed: list[list[np.ndarray]] = []
    x = 0.0
    for k, (label, strokes) in enumerate(samples):
        arrays = _arrays(strokes)
        pts = np.concatenate(arrays)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        w, h = hi - lo
        bottom, top = letter_extent(label, strokes)
        size = (top - bottom) * H * float(np.exp(rng.uniform(np.log(1 - size_jitter), np.log(1 + size_jitter))))
        if h > 1e-9:
            scale = size / h
        else:  # a flat stroke (a dash): make its width the size
            scale = size / max(w, 1e-9)
        # Letters sit on the baseline: keep the jittered size's bottom where its class puts it.
        base = bottom * H * (size / ((top - bottom) * H)) + float(rng.uniform(-baseline_jitter, baseline_jitter)) * H
        if k:
            x += float(rng.uniform(*gap)) * H + pen_px
        letter = [np.column_stack([(a[:, 0] - lo[0]) * scale + x, (a[:, 1] - lo[1]) * scale + base]) for a in arrays]
        placed.append(letter)
        x += w * scale
    return placed


def draw_strokes(arrays: Sequence[np.ndarray], *, pen_px: int = 3, ink: int = 20, paper: int = 255,
                 margin: float = 20.0) -> np.ndarray:
    """Draw strokes (pixels, y up) as dark anti-aliased polylines on paper: a gray uint8
    image whose ink box sits ``margin`` pixels inside every edge. One-point strokes are
    dots of the pen's width."""
    pts = np.concatenate(list(arrays))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    width = int(np.ceil(hi[0] - lo[0] + 2 * margin)) + 1
    height = int(np.ceil(hi[1] - lo[1] + 2 * margin)) + 1
    img = np.full((height, width), paper, np.uint8)
    one = 1 << _SHIFT
    for a in arrays:
        xy = np.column_stack([a[:, 0] - lo[0] + margin, hi[1] - a[:, 1] + margin])  # flip y
        fixed = np.round(xy * one).astype(np.int32)
        if len(fixed) == 1 or np.ptp(fixed, axis=0).max() == 0:
            cv2.circle(img, tuple(int(v) for v in fixed[0]), max(1, round(pen_px * one / 2)), int(ink), -1,
                       cv2.LINE_AA, _SHIFT)
        else:
            cv2.polylines(img, [fixed.reshape(-1, 1, 2)], False, int(ink), int(pen_px), cv2.LINE_AA, _SHIFT)
    return img


def compose_word(samples: Sequence[tuple[str, Strokes]], rng: np.random.Generator | int | None = None,
                 cap_height: float = 60.0, *, pen_px: int | None = None, **placement) -> np.ndarray:
    """One handwritten word as a gray uint8 image (dark ink on white) from a list of
    ``(label, strokes)``, one per character, left to right (strokes y up, any scale).

    ``pen_px`` None draws a random 3 or 4 px pen; ``placement`` goes to
    :func:`place_letters` (``size_jitter``, ``baseline_jitter``, ``gap``)."""
    if not samples:
        raise ValueError("no letters to draw")
    rng = np.random.default_rng(rng)
    pen = int(rng.integers(3, 5)) if pen_px is None else int(pen_px)
    letters = place_letters(samples, rng, cap_height, pen_px=pen, **placement)
    return draw_strokes([a for letter in letters for a in letter], pen_px=pen, margin=0.4 * cap_height)
