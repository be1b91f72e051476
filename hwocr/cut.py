"""Cut a drawing, or an image of text, into lines and characters by its ink alone.

Connected components are the unit: a character drawn with the pen down is one
component, one drawn in several strokes is a few. They are grouped, in order:

1. **lines**: components that overlap vertically with a line's core band (the median
   top and bottom of its tall strokes) belong to it; lines read top to bottom. Small
   marks (dots, accents, bars) join the line nearest to them, the one below on a tie,
   since dots and accents sit above their letter;
2. **parts**: within a line, a small *mark* (a dot, an accent, a tick) joins the stroke
   under or beside it (the dot of an i or j); a flat *bar* joins the stroke it crosses
   or nearly touches (the detached bars of an E or F, the top of a T); a bar that
   stands apart at mid-height is a hyphen (``dashes``) and a lone speck is dropped;
3. **pieces**: parts that overlap for most of the narrower one's width are one
   character (the two strokes of an X drawn apart).

Pieces are the geometric answer (what the classic method would call characters).
Parts are what :mod:`hwocr.read` works from: it tries runs of consecutive parts, and
cuts through wide parts (touching letters), with the classifier as the judge.

Coordinates are those of the image; every box is a :class:`hwocr.boxes.Box`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from hwocr.boxes import Box
from hwocr.config import DEFAULTS
from hwocr.errors import ImageError
from hwocr.images import ImageSource, load_gray
from hwocr.preprocess import binarize, clean_name_image

PieceKind = Literal["char", "dash"]


@dataclass(frozen=True)
class Piece:
    """A group of ink components: one character, or the part of one."""

    box: Box
    components: tuple[int, ...]
    """Labels of its components in :attr:`Cutting.labels`."""


@dataclass(frozen=True)
class TextLine:
    box: Box
    """Everything the line holds, dots and hyphens included."""
    height: float
    """Typical height of its characters, in pixels (the median of its tall strokes)."""
    parts: tuple[Piece, ...]
    """Strokes with their dots, accents and bars, ordered by their centre, left to right."""
    pieces: tuple[Piece, ...]
    """Parts that overlap merged: the characters by geometry alone, left to right."""
    dashes: tuple[Box, ...] = ()
    """Hyphens: flat strokes at mid-height standing apart."""


@dataclass(frozen=True, eq=False)
class Cutting:
    gray: np.ndarray
    """The image, gray uint8, dark ink on light paper."""
    ink: np.ndarray
    """0/255 mask of the ink that was cut (after cleaning, when the image was cleaned)."""
    labels: np.ndarray
    """int32 connected-component labels of ``ink`` (0 is paper)."""
    lines: tuple[TextLine, ...]
    """Top to bottom."""
    cleaned: bool = False
    """Whether the form label and lines were removed first (:func:`clean_name_image`)."""

    @property
    def boxes(self) -> tuple[Box, ...]:
        """Every piece, line by line, left to right."""
        return tuple(p.box for line in self.lines for p in line.pieces)


def cut_image(image: ImageSource, *, clean: bool = False, single_line: bool | None = None) -> Cutting:
    """Decode ``image`` (anything :func:`hwocr.images.load_gray` reads) and cut it.

    ``clean``: the image is a name from a form; remove the printed label, form lines
    and neighbouring rows first, as import does (:func:`hwocr.preprocess.clean_name_image`);
    a cleaned name is one line. Otherwise the ink is binarized as it is (a drawing, a
    photo of a word or of several lines).

    Raises :class:`~hwocr.errors.ImageError` for an image that cannot be decoded and
    for one with nothing to read (blank paper, or specks only).
    """
    gray = load_gray(image)
    if clean:
        ink = clean_name_image(gray).ink
        cutting = cut_ink(gray, ink, cleaned=True, single_line=True if single_line is None else single_line)
    else:
        cutting = cut_ink(gray, drawing_ink(gray), single_line=bool(single_line))
    if not cutting.lines:
        raise ImageError("no handwriting found in the image")
    return cutting


def drawing_ink(gray: np.ndarray) -> np.ndarray:
    """0/255 ink mask of a gray image (dark ink on paper): darker than the local paper
    by Otsu's threshold, faint edges kept where they touch sure ink (the binarizer that
    cleans names, without the cleaning)."""
    return binarize(np.asarray(gray, np.uint8))


def cut_ink(gray: np.ndarray, ink: np.ndarray, *, cleaned: bool = False, single_line: bool = False) -> Cutting:
    """Cut a 0/255 ink mask into lines, parts and pieces (``gray`` rides along for the
    reader's crops). ``single_line`` puts all the ink in one line (a cleaned name)."""
    d = DEFAULTS
    mask = (np.asarray(ink) > 0).astype(np.uint8)
    if mask.ndim != 2 or mask.size == 0:
        return Cutting(gray, np.zeros_like(mask), np.zeros(mask.shape, np.int32), (), cleaned)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
    if n <= 1:
        return Cutting(gray, mask * 255, labels, (), cleaned)
    comps = [_Comp(i, *stats[i, :5].tolist()) for i in range(1, n)]
    biggest = max(c.area for c in comps)
    min_area = max(d.cut_speck_pixels, d.cut_speck_fraction * biggest)
    kept = [c for c in comps if c.area >= min_area]
    if len(kept) != len(comps):
        keep = np.zeros(n, np.uint8)
        keep[[c.label for c in kept]] = 1
        labels = np.where(keep[labels] > 0, labels, 0).astype(np.int32)
    if not kept:
        return Cutting(gray, np.zeros_like(mask), labels, (), cleaned)

    groups = [kept] if single_line else _group_lines(kept)
    lines = [line for line in (_cut_line(g) for g in groups) if line is not None]
    lines.sort(key=lambda ln: (ln.box.y0 + ln.box.y1, ln.box.x0))
    out_ink = np.where(labels > 0, 255, 0).astype(np.uint8)
    return Cutting(gray, out_ink, labels, tuple(lines), cleaned)


# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Comp:
    label: int
    x: int
    y: int
    w: int
    h: int
    area: int

    @property
    def x1(self) -> int:
        return self.x + self.w

    @property
    def y1(self) -> int:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2.0

    @property
    def cy(self) -> float:
        return self.y + self.h / 2.0


def _median(values) -> float:
    # statistics.median: a tenth of np.median's time on the few values of one line.
    return float(statistics.median(values))


def _reference_height(comps: list[_Comp]) -> float:
    """Height of the substantial strokes: the median of components with at least a
    quarter of the biggest one's ink (dots and bars do not drag it down)."""
    biggest = max(c.area for c in comps)
    return _median(c.h for c in comps if c.area * 4 >= biggest)


def _group_lines(comps: list[_Comp]) -> list[list[_Comp]]:
    """Components grouped into text lines (not yet ordered)."""
    ref = _reference_height(comps)
    tall = sorted((c for c in comps if c.h >= DEFAULTS.cut_tall_fraction * ref), key=lambda c: c.cy)
    small = [c for c in comps if c.h < DEFAULTS.cut_tall_fraction * ref]
    lines: list[list[_Comp]] = []
    bands: list[tuple[float, float]] = []
    for c in tall:
        best, best_overlap = -1, 0.0
        for k, (top, bottom) in enumerate(bands):
            overlap = min(c.y1, bottom) - max(c.y, top)
            need = 0.5 * min(c.h, bottom - top)
            if overlap >= need and overlap > best_overlap:
                best, best_overlap = k, overlap
        if best < 0:
            lines.append([c])
            bands.append((float(c.y), float(c.y1)))
        else:
            lines[best].append(c)
            bands[best] = (_median(m.y for m in lines[best]), _median(m.y1 for m in lines[best]))
    # Lines whose bands mostly overlap are one line (a tall letter started a band of its own).
    merged = True
    while merged and len(lines) > 1:
        merged = False
        for a in range(len(lines)):
            for b in range(a + 1, len(lines)):
                (ta, ba), (tb, bb) = bands[a], bands[b]
                if min(ba, bb) - max(ta, tb) >= 0.5 * min(ba - ta, bb - tb):
                    lines[a].extend(lines.pop(b))
                    bands.pop(b)
                    bands[a] = (_median(m.y for m in lines[a]), _median(m.y1 for m in lines[a]))
                    merged = True
                    break
            if merged:
                break
    if not lines:  # no tall strokes at all: one line of whatever there is
        return [comps]
    for c in small:
        dist = [max(top - c.cy, c.cy - bottom, 0.0) for top, bottom in bands]
        nearest = min(dist)
        # On a tie the lower line: dots and accents sit above their letter.
        candidates = [k for k, v in enumerate(dist) if v <= nearest + 1.0]
        lines[max(candidates, key=lambda k: bands[k][0])].append(c)
    return lines


def _x_overlap(a, b) -> int:
    return min(a.x1, b.x1) - max(a.x, b.x)


def _cut_line(comps: list[_Comp]) -> TextLine | None:
    """Parts, pieces and dashes of one line's components."""
    d = DEFAULTS
    if not comps:
        return None
    height = _reference_height(comps)
    limit = d.cut_mark_fraction * height
    strokes = [c for c in comps if c.h >= limit]
    flat = [c for c in comps if c.h < limit]
    if not strokes:  # nothing but bars and dots: each stands for itself
        strokes, flat = flat, []
    top = _median(c.y for c in strokes)
    bottom = _median(c.y1 for c in strokes)
    owner: dict[int, int] = {}  # flat component label -> stroke label
    loose = []
    for f in flat:
        host = _host_of(f, strokes, height)
        if host is not None:
            owner[f.label] = host.label
        else:
            loose.append(f)
    # Marks with no stroke to join: those that overlap each other go together (the dot
    # over the short stem of a small i). A group as tall as a stroke, or big enough to be
    # a small character, is one; a flat one at mid-height is a hyphen; the rest specks.
    dashes: list[Box] = []
    extra: list[list[_Comp]] = []
    for group in _overlap_groups(loose, d.cut_mark_reach * height):
        x0, y0 = min(c.x for c in group), min(c.y for c in group)
        x1, y1 = max(c.x1 for c in group), max(c.y1 for c in group)
        gw, gh, cy = x1 - x0, y1 - y0, (y0 + y1) / 2.0
        if gh >= limit:
            extra.append(group)
        elif gw >= limit and gw >= gh and top + 0.25 * (bottom - top) <= cy <= bottom - 0.1 * (bottom - top):
            dashes.append(Box(x0, y0, x1, y1))
        elif max(gw, gh) >= d.cut_small_char * height:
            extra.append(group)
    members: dict[int, list[_Comp]] = {s.label: [s] for s in strokes}
    for f in flat:
        if f.label in owner:
            members[owner[f.label]].append(f)
    parts = [_piece(m) for m in [*members.values(), *extra]]
    parts.sort(key=lambda p: (p.box.x0 + p.box.x1, p.box.y0))
    pieces = _merge_overlapping(parts)
    everything = [p.box for p in parts] + dashes
    box = everything[0]
    for b in everything[1:]:
        box = box.union(b)
    return TextLine(box, float(height), tuple(parts), tuple(pieces), tuple(sorted(dashes)))


def _host_of(f: _Comp, strokes: list[_Comp], height: float) -> _Comp | None:
    """The stroke a dot, accent or bar belongs to, or None when it stands apart."""
    d = DEFAULTS
    overlapping = [(s, _x_overlap(f, s)) for s in strokes]
    best = max(overlapping, key=lambda t: (t[1] / max(1, min(f.w, t[0].w)), -abs(t[0].cy - f.cy)))
    s, overlap = best
    if overlap > 0 and overlap >= d.cut_attach_overlap * min(f.w, s.w):
        return s
    # Nothing under or over it: the nearest stroke, if it nearly touches.
    gaps = [(max(s.x - f.x1, f.x - s.x1), s) for s in strokes]
    gap, s = min(gaps, key=lambda t: (t[0], t[1].x))
    reach = (d.cut_mark_reach if f.w < d.cut_mark_fraction * height else d.cut_bar_reach) * height
    return s if gap <= reach else None


def _overlap_groups(comps: list[_Comp], reach: float) -> list[list[_Comp]]:
    """Components grouped where they overlap horizontally or lie within ``reach``."""
    groups: list[list[_Comp]] = []
    for c in sorted(comps, key=lambda c: c.x):
        if groups:
            g = groups[-1]
            if c.x - max(m.x1 for m in g) <= reach:
                g.append(c)
                continue
        groups.append([c])
    return groups


def _piece(comps: list[_Comp]) -> Piece:
    x0 = min(c.x for c in comps)
    y0 = min(c.y for c in comps)
    x1 = max(c.x1 for c in comps)
    y1 = max(c.y1 for c in comps)
    return Piece(Box(x0, y0, x1, y1), tuple(sorted(c.label for c in comps)))


def _merge_overlapping(parts: list[Piece]) -> list[Piece]:
    """Consecutive parts that overlap for most of the narrower one's width are one piece."""
    share = DEFAULTS.cut_merge_overlap
    out: list[Piece] = []
    for p in parts:
        if out:
            q = out[-1]
            overlap = min(q.box.x1, p.box.x1) - max(q.box.x0, p.box.x0)
            if overlap > 0 and overlap >= share * min(q.box.width, p.box.width):
                out[-1] = Piece(q.box.union(p.box), tuple(sorted(q.components + p.components)))
                continue
        out.append(p)
    out.sort(key=lambda p: (p.box.x0, p.box.y0))
    return out
