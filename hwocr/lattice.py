"""The candidate-cut lattice of a text line and the best paths through it: the one
dynamic programme behind reading (:mod:`hwocr.read`) and classifier-guided alignment
(:mod:`hwocr.align_guided`).

* **atoms**: the parts :mod:`hwocr.cut` gives (strokes with their dots, accents and
  bars), and inside a part wider than a letter the slices between the valleys of its own
  column profile (the thin places where touching letters meet); **boundaries** between
  atoms, each with the price of ending a character there (a cut through ink costs);
* **segments**: every run of up to ``read_max_atoms`` atoms that is not too wide for one
  character and holds no wide gap; each segment's ink alone (a gray crop with every
  other stroke erased) is prepared like any glyph, and the segments of all lines are
  classified in one batch (:func:`classify_lattices`); the characters of a first
  reading that the classifier hesitates on are then looked at again, turned a few
  degrees both ways, and read as the mean of the three views (:func:`look_again`);
  guided repair classifies compiled copies of the glyphs instead
  (:func:`compiled_segment_glyphs`), and then the segments its answer reads exactly
  (:func:`classify_exactly`);
* **a score table** (:func:`score_table`): reading segment s as class c scores the log of
  the classifier's probability, a prior on the class's width at the writer's scale
  (:mod:`hwocr.widths`), a penalty for a character much shorter than the line, one per
  gap merged inside it (dearer the wider) and the price of the cut closing it;
* **best paths** over the boundaries, small fragments left out at a price:
  :func:`free_path` (any number of characters, each its best class: the reading),
  :func:`lm_path` (the same with a names language model), :func:`forced_path`
  (exactly a given sequence of classes, one segment each: forced alignment and lexicon
  entries); :func:`solve` runs one at the writer's scale and again at the scale its
  answer implies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import cv2
import numpy as np

from hwocr.boxes import Box
from hwocr.classifier import Classifier
from hwocr.config import DEFAULTS
from hwocr.cut import Cutting, TextLine
from hwocr.errors import ImageError
from hwocr.glyph import _fit_and_centre, _normalise_strokes, _upsample
from hwocr.namelm import END, NameLM
from hwocr.widths import NARROW_OR_WIDE, class_priors

#: The score of what cannot be: a class outside the charset, a segment without ink.
NEG = -1e9


# --- the lattice ------------------------------------------------------------------------


@dataclass(eq=False)
class _Atom:
    box: Box
    mask: np.ndarray  # bool, box-sized: this atom's ink
    part: int


@dataclass(eq=False)
class Lattice:
    """The candidate characters of one line: atoms (parts, or slices of wide parts),
    segments (runs of consecutive atoms) and their classifier probabilities."""

    line: TextLine
    atoms: list[_Atom]
    cut_cost: np.ndarray       # per boundary (len(atoms) + 1): price of ending a character there
    skip_cost: np.ndarray      # per atom: price of leaving it out (inf: it must be read)
    seg_i: np.ndarray
    seg_j: np.ndarray
    seg_box: list[Box]
    seg_gap: np.ndarray        # sum of the gaps merged inside the segment, in pixels
    seg_fixed: np.ndarray      # height and closing-cut costs
    glyphs: list[np.ndarray | None] = field(default_factory=list)
    probs: np.ndarray | None = None  # (segments, classes), 0 outside the charset
    strength: tuple[np.ndarray, int, int] | None = None  # the line's ink strength, once classified
    exact: np.ndarray | None = None  # per segment: whether its glyph is segment_glyph's (not a compiled copy)

    @property
    def bounds(self) -> int:
        return len(self.atoms) + 1


def typical_width(line: TextLine) -> float:
    """The writer's letter width guessed from the parts that look like one letter."""
    h = line.height
    widths = [p.box.width for p in line.parts if p.box.height >= 0.6 * h and 0.3 * h <= p.box.width <= 1.3 * h]
    if len(widths) >= 2:
        return float(np.median(widths))
    return 0.8 * h


def _part_mask(cutting: Cutting, part) -> np.ndarray:
    b = part.box
    sub = cutting.labels[b.y0 : b.y1, b.x0 : b.x1]
    if len(part.components) == 1:
        return sub == part.components[0]
    return np.isin(sub, part.components)


def _valleys(mask: np.ndarray, scale: float, max_cuts: int) -> list[int]:
    """Columns (relative to the mask) where a wide part may hold two letters: the
    lowest points of its column profile, at least ``read_min_part`` letters from either
    end and from each other, deepest first.

    A valley with a flat bottom is a bar joining two letters (the foot of an L running
    into the next letter, the bars of an E touching it): the bar belongs to one of
    them, so the cut belongs at one end of the flat run, not in its middle. Both ends
    are offered, then the middle; the programme picks."""
    d = DEFAULTS
    profile = mask.sum(axis=0).astype(np.float64)
    w = profile.size
    margin = max(2, round(d.read_min_part * scale))
    if w <= 2 * margin:
        return []
    smooth = np.convolve(profile, np.ones(3) / 3.0, mode="same")
    spacing = max(2, round(d.read_cut_spacing * scale))
    # A valley's bottom: columns within a pixel of the lowest column around them.
    padded = np.pad(smooth, spacing, mode="edge")
    local_min = np.lib.stride_tricks.sliding_window_view(padded, 2 * spacing + 1).min(axis=1)
    bottom = smooth <= local_min + 1.0
    bottom[:margin] = False
    bottom[w - margin :] = False
    cands: list[tuple[float, int, int]] = []  # (depth, rank within its valley, column)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], bottom.astype(np.int8), [0]))))
    for a, b in zip(edges[::2], edges[1::2] - 1):
        depth = float(smooth[a : b + 1].min())
        # The 3-column smoothing pulls a flat bottom's ends one column in: a bar's
        # first column is a - 1, and a cut just after its last one is at b + 2.
        ends = (max(margin, a - 1), min(w - margin, b + 2))
        picks = (*ends, (a + b) // 2) if b - a >= spacing else ((a + b) // 2,)
        for rank, col in enumerate(picks):
            cands.append((depth, rank, int(col)))
    cands.sort()
    chosen: list[int] = []
    for _, _, col in cands:
        if all(abs(col - o) >= spacing for o in chosen):
            chosen.append(col)
        if len(chosen) >= max_cuts:
            break
    return sorted(chosen)


def _strokes_at(column: np.ndarray) -> int:
    """Ink runs crossed by a vertical cut through this column."""
    col = column.astype(np.int8)
    return int(np.count_nonzero(np.diff(np.concatenate(([0], col, [0]))) == 1))


def build_lattice(cutting: Cutting, line: TextLine, *, scale: float | None = None,
                  cut_wide: float | None = None, words: bool = False) -> Lattice:
    """Atoms, boundaries and segments of one line (no classifier yet). ``words``: the
    line is read with small letters (lower, cased, all), whose first guess of the
    letter width is narrower than a capital W or M: candidates may be wider
    (``read_words_max_width_letters``), and the atoms of one connected part may always
    make one candidate together, however wide (bench/drawn_words.py, words exact: seed 1,
    where it was tried, 64.8% -> 66.4%; seed 0 63.1% -> 65.1%)."""
    d = DEFAULTS
    h = line.height
    scale = typical_width(line) if scale is None else scale
    cut_wide = d.read_cut_wide if cut_wide is None else cut_wide
    atoms: list[_Atom] = []
    cut_costs = [0.0]
    for k, part in enumerate(line.parts):
        mask = _part_mask(cutting, part)
        b = part.box
        cuts = []
        if b.width > cut_wide * scale and b.height >= 0.5 * h:
            cuts = _valleys(mask, scale, min(d.read_max_cuts, max(1, round(2 * b.width / scale))))
        edges = [0, *cuts, b.width]
        for a0, a1 in pairwise(edges):
            sub = mask[:, a0:a1]
            ys, xs = np.nonzero(sub)
            if ys.size == 0:
                continue
            y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
            if atoms and atoms[-1].part == k:
                cut_costs.append(d.read_cut_base + d.read_cut_per_stroke * _strokes_at(mask[:, a0]))
            elif atoms:
                cut_costs.append(0.0)
            atoms.append(_Atom(Box(b.x0 + a0 + x0, b.y0 + y0, b.x0 + a0 + x1, b.y0 + y1), sub[y0:y1, x0:x1], k))
    cut_costs.append(0.0)
    n = len(atoms)
    skip = np.full(n, np.inf)
    for k, a in enumerate(atoms):
        if a.box.height < d.read_skip_height * h:
            skip[k] = d.read_skip_cost
    seg_i, seg_j, boxes, gaps, fixed = [], [], [], [], []
    # Wider than this is two letters side by side: at most read_max_width_letters letter
    # widths, and never more than read_max_width line heights (the scale is a guess).
    max_letters = d.read_words_max_width_letters if words else d.read_max_width_letters
    max_w = min(max_letters * scale, d.read_max_width * h)
    max_gap = d.read_max_gap * h
    for i in range(n):
        box = atoms[i].box
        right = box.x1
        gap_sum = 0.0
        for j in range(i + 1, min(n, i + d.read_max_atoms) + 1):
            if j > i + 1:
                nxt = atoms[j - 1].box
                gap = nxt.x0 - right
                if gap > max_gap:
                    break
                gap_sum += max(gap, 0)
                box = box.union(nxt)
                right = max(right, nxt.x1)
                # One connected stroke cut at its valleys may always be one letter again,
                # however wide, when reading words: a wide capital drawn in one stroke
                # (S, M, W) among small letters, or a wide small m, split in two was
                # read as two letters (Suzanne as GSuzanne, exam as exann).
                if box.width > max_w and not (words and atoms[j - 1].part == atoms[i].part):
                    break
            low = math.log(max(box.height, 1) / (DEFAULTS.align_min_height * h))
            height_cost = 0.5 * (low / 0.25) ** 2 if low < 0 else 0.0
            seg_i.append(i)
            seg_j.append(j)
            boxes.append(box)
            gaps.append(gap_sum)
            fixed.append(height_cost + cut_costs[j])
    return Lattice(line, atoms, np.array(cut_costs), skip, np.array(seg_i, np.int64), np.array(seg_j, np.int64),
                   boxes, np.array(gaps, float), np.array(fixed, float))


def line_ink_strength(cutting: Cutting, line: TextLine) -> tuple[np.ndarray, int, int] | None:
    """Soft ink strength of one line, measured as :func:`hwocr.glyph.ink_map` measures
    a character's (how much darker than the local paper: 0.5 on Otsu's ink/paper
    threshold, 1.0 inside strokes), but once for the whole line instead of once per
    candidate crop: ``(soft, x0, y0)`` with the region's offset, or None when nothing
    is clearly ink.

    The local paper is a closing as wide as a quarter of the line's height, the window
    the glyph module uses for a lone character (a quarter of its long side); the blur,
    the contrast floor and the threshold are the glyph module's. Every candidate then
    takes its own strokes out of this map: a third of the time of a read saved."""
    d = DEFAULTS
    gray = cutting.gray
    H, W = gray.shape
    m = d.crop_margin
    b = line.box
    x0, y0, x1, y1 = max(0, b.x0 - m), max(0, b.y0 - m), min(W, b.x1 + m), min(H, b.y1 + m)
    if x1 <= x0 or y1 <= y0:
        return None
    region = np.ascontiguousarray(gray[y0:y1, x0:x1], np.uint8)
    k = max(5, round(0.25 * max(y1 - y0, min(x1 - x0, 1.5 * (y1 - y0)))) | 1)
    counts = np.bincount(region.ravel(), minlength=256).cumsum()
    paper = int(np.searchsorted(counts, 0.9 * counts[-1]))
    pad = k // 2 + 1
    padded = cv2.copyMakeBorder(region, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=paper)
    background = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    diff = background[pad:-pad, pad:-pad].astype(np.float32) - region.astype(np.float32)
    smooth = cv2.GaussianBlur(diff, (3, 3), 0.6)
    contrast = float(smooth.max())
    if contrast < d.glyph_min_contrast:
        return None
    otsu, _ = cv2.threshold(np.clip(smooth, 0, 255).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    threshold = max(float(otsu), 0.25 * contrast, d.glyph_min_contrast / 2.0)
    soft = np.clip(diff * (0.5 / threshold), 0.0, 1.0).astype(np.float32, copy=False)
    return soft, x0, y0


def segment_glyph(lattice: Lattice, s: int, strength: tuple[np.ndarray, int, int]) -> np.ndarray | None:
    """The model input for segment ``s``: its own strokes (and the pixels right next to
    them) from the line's ink strength, every other stroke erased, then the glyph
    module's stroke normalisation, fit and centring. None when it holds no ink."""
    soft, ox, oy = strength
    d = DEFAULTS
    box = lattice.seg_box[s]
    m = d.crop_margin
    x0, y0 = max(ox, box.x0 - m), max(oy, box.y0 - m)
    x1, y1 = min(ox + soft.shape[1], box.x1 + m), min(oy + soft.shape[0], box.y1 + m)
    own = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for a in lattice.atoms[lattice.seg_i[s] : lattice.seg_j[s]]:
        b = a.box
        own[b.y0 - y0 : b.y1 - y0, b.x0 - x0 : b.x1 - x0] |= a.mask
    keep = cv2.dilate(own, _KERNEL3)
    crop = soft[y0 - oy : y1 - oy, x0 - ox : x1 - ox] * keep
    x, y, w, h = cv2.boundingRect((crop > 0.5).astype(np.uint8))
    if w == 0 or h == 0:
        return None
    hires_side = d.model_ink_box * 4
    try:
        hires = _normalise_strokes(_upsample(crop[y : y + h, x : x + w], hires_side), hires_side)
        return _fit_and_centre(hires, d.model_input_size, d.model_ink_box)
    except ImageError:
        return None


_KERNEL3 = np.ones((3, 3), np.uint8)


def compiled_segment_glyphs(lattice: Lattice, strength: tuple[np.ndarray, int, int],
                            resolution: float) -> tuple[list[np.ndarray | None], np.ndarray]:
    """:func:`segment_glyph` of every segment of ``lattice``, in one compiled call
    (:func:`hwocr.vet_kernels.segment_glyphs`) with the stroke work at ``resolution``
    times the model's input instead of 4: close copies of the exact glyphs, not the
    same (at 4, the same give or take rounding). A segment the kernel leaves to the
    exact path gets :func:`segment_glyph`'s glyph. Returns the glyphs (None: no ink)
    and, per segment, whether its glyph is the exact one."""
    from hwocr import vet_kernels as k  # lazy: numba
    from hwocr.kernel_tools import rules_from

    d = DEFAULTS
    soft, ox, oy = strength
    n = len(lattice.seg_box)
    if not n:
        return [], np.zeros(0, bool)
    atom_boxes = np.array([(a.box.x0, a.box.y0, a.box.x1, a.box.y1) for a in lattice.atoms], np.int64).reshape(-1, 4)
    masks = np.concatenate([a.mask.ravel() for a in lattice.atoms]).astype(np.uint8, copy=False)
    starts = np.zeros(len(lattice.atoms), np.int64)
    np.cumsum([a.mask.size for a in lattice.atoms[:-1]], out=starts[1:])
    seg_boxes = np.array([(b.x0, b.y0, b.x1, b.y1) for b in lattice.seg_box], np.int64)
    sub = float(resolution)
    glyphs, status = k.segment_glyphs(np.ascontiguousarray(soft, np.float32), ox, oy, atom_boxes, masks, starts,
                                      lattice.seg_i, lattice.seg_j, seg_boxes, d.crop_margin, d.model_input_size,
                                      d.model_ink_box, sub, rules_from(k.GlyphRules, d),
                                      k.ellipse_spans(int(2 * d.model_ink_box * sub) + 1))
    return [glyphs[s] if st == k.OK else None if st == k.NO_INK else segment_glyph(lattice, s, strength)
            for s, st in enumerate(status.tolist())], status == k.UNHANDLED


def classify_lattices(rec: Classifier, cutting: Cutting, lattices: Sequence[Lattice], charset: str, *,
                      resolution: float | None = None) -> None:
    """Every segment of every lattice, classified in ONE batch (fills ``glyphs`` and
    ``probs``; a segment without ink gets no glyph and zero probabilities).
    ``resolution``: None, the exact glyphs (:func:`segment_glyph`, what reading uses);
    a number, the compiled copies of :func:`compiled_segment_glyphs` at that stroke
    resolution (segmentation's guided repair)."""
    glyphs, owners = [], []
    for li, lat in enumerate(lattices):
        lat.strength = strength = line_ink_strength(cutting, lat.line)
        lat.exact = np.ones(len(lat.seg_box), bool)
        if strength is None:
            lat.glyphs = [None] * len(lat.seg_box)
        elif resolution is not None:
            lat.glyphs, lat.exact = compiled_segment_glyphs(lat, strength, resolution)
        else:
            lat.glyphs = [segment_glyph(lat, s, strength) for s in range(len(lat.seg_box))]
        for s, g in enumerate(lat.glyphs):
            if g is not None:
                glyphs.append(g)
                owners.append((li, s))
    n_classes = len(rec.labels)
    for lat in lattices:
        lat.probs = np.zeros((len(lat.seg_box), n_classes))
    if glyphs:
        probs = rec.probabilities(np.stack(glyphs)[..., None], charset)
        for (li, s), row in zip(owners, probs):
            lattices[li].probs[s] = row


def classify_exactly(rec: Classifier, lat: Lattice, segments: Iterable[int], charset: str) -> int:
    """Those of ``segments`` whose glyph is a compiled copy (:func:`classify_lattices`
    with a resolution) made exactly (:func:`segment_glyph`) and classified again, in one
    batch; returns how many were."""
    todo = [s for s in sorted(set(segments)) if not lat.exact[s]]
    if not todo:
        return 0
    lat.exact[todo] = True
    made = [(s, segment_glyph(lat, s, lat.strength)) for s in todo]
    lat.probs[todo] = 0.0
    for s, g in made:
        lat.glyphs[s] = g
    kept = [(s, g) for s, g in made if g is not None]
    if kept:
        probs = rec.probabilities(np.stack([g for _, g in kept])[..., None], charset)
        lat.probs[[s for s, _ in kept]] = probs
    return len(todo)


def glyph_views(glyph: np.ndarray, degrees: float) -> list[np.ndarray]:
    """A prepared glyph turned by ``+degrees`` and ``-degrees`` about the centre of its
    square (same size, paper outside), for :func:`look_again`."""
    size = glyph.shape[0]
    centre = ((size - 1) / 2.0, (size - 1) / 2.0)
    src = np.asarray(glyph, np.float32)
    return [cv2.warpAffine(src, cv2.getRotationMatrix2D(centre, angle, 1.0), (size, size),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
            for angle in (degrees, -degrees)]


def look_again(rec: Classifier, lattices: Sequence[Lattice], labels: Sequence[str], charset_mask: np.ndarray,
               charset: str) -> int:
    """A second look at the characters the classifier hesitates on: every segment of each
    line's first reading (:func:`free_path` at the writer's guessed scale) whose best
    class is below ``read_view_below`` is classified again turned both ways by
    ``read_view_degrees`` (:func:`glyph_views`), all lines in one batch, and its
    probabilities become the mean of the three views. Returns how many segments were
    looked at again.

    One view of a hand-printed letter is often sure and wrong (an open O read as a C at
    0.96, an M as an H): the mean of three is right more often and is sure and wrong
    less often (BENCHMARKS.md, "A second look"), which is what lets the names model
    weigh in where it should (:func:`lm_path` leaves letters read at ``read_lm_sure``
    or more alone). Segments read surer than ``read_view_below``, and those no first
    reading takes, keep their single view: the second look costs a few classifications
    per name, not three times the batch."""
    d = DEFAULTS
    if d.read_view_degrees <= 0:
        return 0
    todo: list[tuple[Lattice, int]] = []
    for lat in lattices:
        if lat.probs is None or not len(lat.seg_box):
            continue
        path = free_path(lat, score_table(lat, labels, charset_mask, typical_width(lat.line)))
        if path is None:
            continue
        todo.extend((lat, s) for s in path.segments
                    if lat.glyphs[s] is not None and lat.probs[s].max() < d.read_view_below)
    if not todo:
        return 0
    views = [v for lat, s in todo for v in glyph_views(lat.glyphs[s], d.read_view_degrees)]
    probs = rec.probabilities(np.stack(views)[..., None], charset)
    probs = probs.reshape(len(todo), len(views) // len(todo), -1)
    for (lat, s), extra in zip(todo, probs):
        lat.probs[s] = (lat.probs[s] + extra.sum(axis=0)) / (1 + len(extra))
    return len(todo)


# --- scoring --------------------------------------------------------------------------


def score_table(lat: Lattice, labels: Sequence[str], charset_mask: np.ndarray, scale: float) -> np.ndarray:
    """(segments, classes): the programme's score of reading each segment as each class."""
    d = DEFAULTS
    # Words with small letters (lower, cased, all): the width priors, measured on the
    # capitals of names, mislead more than they help, and the letters' strokes are further
    # apart than a name's capitals (bench/drawn_words.py, seed 1; see config).
    words = any(labels[i].islower() for i in np.flatnonzero(charset_mask))
    width_weight = d.read_words_width_weight if words else d.read_width_weight
    gap_scale = d.read_words_gap_scale if words else d.read_gap_scale
    mu1, sd1, mu2, sd2 = class_priors(labels)
    widths = np.array([b.width for b in lat.seg_box], float)
    rel = np.log(np.maximum(widths, 1.0) / scale)[:, None]
    z = np.minimum(np.abs(rel - mu1) / sd1, np.abs(rel - mu2) / sd2)
    # Whatever the scale, a character is rarely much wider than tall.
    heights = np.array([b.height for b in lat.seg_box], float)
    wide = np.maximum(np.log(np.maximum(widths, 1.0) / np.maximum(heights, 0.5 * lat.line.height))
                      - math.log(d.align_max_aspect), 0.0)
    fixed = lat.seg_fixed + lat.seg_gap / (gap_scale * scale) + 0.5 * (wide / 0.25) ** 2
    # A floor: the model is over-confident, and one letter it is sure about must not
    # outweigh all the others (a lexicon entry with one letter off stays in reach).
    logp = np.log(np.maximum(lat.probs, d.read_min_probability))
    table = d.read_class_weight * logp - width_weight * 0.5 * z * z - fixed[:, None] + d.read_letter_bonus
    table[:, ~charset_mask] = NEG
    missing = np.array([g is None for g in lat.glyphs])
    if missing.any():
        table[missing] = NEG
    return table


@dataclass(frozen=True)
class LatticePath:
    """A way through the lattice: its score, and the segments read with their classes."""

    score: float
    segments: tuple[int, ...]
    classes: tuple[int, ...]


def free_path(lat: Lattice, table: np.ndarray) -> LatticePath | None:
    """The best reading: any number of characters, each its best class."""
    best_cls = table.argmax(axis=1)
    best = table[np.arange(len(best_cls)), best_cls]
    B = lat.bounds
    F = np.full(B, -np.inf)
    F[0] = 0.0
    back: list[tuple[int, int] | None] = [None] * B  # (segment, -1) or (-1, skipped atom)
    ends: list[list[int]] = [[] for _ in range(B)]
    for s, j in enumerate(lat.seg_j.tolist()):
        ends[j].append(s)
    seg_i = lat.seg_i.tolist()
    for j in range(1, B):
        if np.isfinite(lat.skip_cost[j - 1]) and F[j - 1] - lat.skip_cost[j - 1] > F[j]:
            F[j] = F[j - 1] - lat.skip_cost[j - 1]
            back[j] = (-1, j - 1)
        for s in ends[j]:
            v = F[seg_i[s]] + best[s]
            if v > F[j]:
                F[j] = v
                back[j] = (s, -1)
    if not np.isfinite(F[-1]) or F[-1] <= NEG / 2:
        return None
    segs, classes = [], []
    j = B - 1
    while j > 0:
        s, skipped = back[j]
        if s >= 0:
            segs.append(s)
            classes.append(int(best_cls[s]))
            j = seg_i[s]
        else:
            j = skipped
    return LatticePath(float(F[-1]), tuple(reversed(segs)), tuple(reversed(classes)))


def lm_path(lat: Lattice, table: np.ndarray, labels: Sequence[str], lm: NameLM,
            weight: float | None = None) -> LatticePath | None:
    """The best reading with the names model: each character scores its ``table`` entry
    plus ``weight`` times log P_lm(letter | the letters before it), and the name's end
    log P_lm(end | its last letters); a beam of ``read_lm_beam`` readings per boundary,
    one per distinct recent history (what the model conditions on).

    The model never changes a letter the classifier is sure of, by construction: the
    characters of the reading *without* the model whose best class has probability
    ``read_lm_sure`` or more are fixed (no other segment overlapping one of them, and
    no skipping its atoms, is allowed), and on any segment whose best class is that
    sure, no other class is a candidate. Elsewhere the candidates are the best
    ``read_lm_candidates`` classes within ``read_lm_margin`` of the best, among the
    model's letters."""
    d = DEFAULTS
    if weight is None:
        weight = d.read_words_lm_weight if lm.is_words else d.read_lm_weight
    free = free_path(lat, table)
    if free is None or weight <= 0:
        return free
    probs = lat.probs
    n_seg = len(lat.seg_box)
    seg_i, seg_j = lat.seg_i, lat.seg_j
    allowed = np.ones(n_seg, bool)
    skippable = np.isfinite(lat.skip_cost)
    for s in free.segments:
        if probs[s].max() >= d.read_lm_sure:
            i, j = int(seg_i[s]), int(seg_j[s])
            allowed &= ~((seg_i < j) & (seg_j > i))
            allowed[s] = True
            skippable[i:j] = False
    sym = np.array([lm.symbol_of(label) for label in labels])
    symbols = lm.symbols
    cands: list[list[tuple[int, float, int]]] = [[] for _ in range(n_seg)]
    best_cls = table.argmax(axis=1)
    for s in np.flatnonzero(allowed).tolist():
        row = table[s]
        top = row[best_cls[s]]
        if top <= NEG / 2:
            continue
        if probs[s].max() >= d.read_lm_sure:
            order = [int(best_cls[s])]
        else:
            order = np.argsort(-row, kind="stable")[: d.read_lm_candidates].tolist()
        for c in order:
            if row[c] >= top - d.read_lm_margin and sym[c] >= 0:
                cands[s].append((c, float(row[c]), int(sym[c])))
    keep = max(1, lm.order - 1)
    ends: list[list[int]] = [[] for _ in range(lat.bounds)]
    for s in range(n_seg):
        if cands[s]:
            ends[int(seg_j[s])].append(s)
    seg_i_list = seg_i.tolist()
    # A hypothesis: (score, history, parent hypothesis, segment, class); history is the
    # letters read so far, of which the model sees the last ``keep``.
    beams: list[dict[str, tuple]] = [{} for _ in range(lat.bounds)]
    beams[0][""] = (0.0, "", None, -1, -1)
    beam_width = d.read_lm_beam
    for j in range(1, lat.bounds):
        here: dict[str, tuple] = {}
        if skippable[j - 1]:
            for key, hyp in beams[j - 1].items():
                v = hyp[0] - lat.skip_cost[j - 1]
                if key not in here or v > here[key][0]:
                    here[key] = (v, hyp[1], hyp, -1, -1)
        for s in ends[j]:
            for hyp in beams[seg_i_list[s]].values():
                logp = lm.log_next(hyp[1][-keep:])
                for c, t, k in cands[s]:
                    v = hyp[0] + t + weight * logp[k]
                    history = hyp[1] + symbols[k]
                    key = history[-keep:]
                    if key not in here or v > here[key][0]:
                        here[key] = (v, history, hyp, s, c)
        if len(here) > beam_width:
            here = dict(sorted(here.items(), key=lambda kv: -kv[1][0])[:beam_width])
        beams[j] = here
    end = symbols.index(END)
    finals = [(hyp[0] + weight * lm.log_next(hyp[1][-keep:])[end], hyp) for hyp in beams[-1].values()]
    if not finals:
        return free
    score, hyp = max(finals, key=lambda t: t[0])
    segs, classes = [], []
    while hyp is not None and hyp[2] is not None:
        if hyp[3] >= 0:
            segs.append(hyp[3])
            classes.append(hyp[4])
        hyp = hyp[2]
    return LatticePath(float(score), tuple(reversed(segs)), tuple(reversed(classes)))


def forced_path(lat: Lattice, table: np.ndarray, class_ids: Sequence[int], *,
                want_path: bool = True) -> LatticePath | None:
    """The best way to read exactly ``class_ids``, one segment each, in order (small
    fragments may be left out between them at their price)."""
    B = lat.bounds
    seg_i, seg_j = lat.seg_i, lat.seg_j
    skip = lat.skip_cost
    skippable = np.flatnonzero(np.isfinite(skip)).tolist()

    def relax_skips(F: np.ndarray, back: np.ndarray | None) -> None:
        # Left to right, so that runs of skipped atoms chain.
        for a in skippable:
            v = F[a] - skip[a]
            if v > F[a + 1]:
                F[a + 1] = v
                if back is not None:
                    back[a + 1] = -2 - a

    F = np.full(B, -np.inf)
    F[0] = 0.0
    relax_skips(F, None)
    backs = []
    for c in class_ids:
        vals = F[seg_i] + table[:, c]
        G = np.full(B, -np.inf)
        np.maximum.at(G, seg_j, vals)
        back = None
        if want_path:
            back = np.full(B, -1, np.int64)
            order = np.lexsort((vals, seg_j))  # by boundary, then by value
            last = np.flatnonzero(np.r_[seg_j[order][1:] != seg_j[order][:-1], True])
            best = order[last]
            back[seg_j[best]] = best
        relax_skips(G, back)
        backs.append(back)
        F = G
    if not np.isfinite(F[-1]) or F[-1] <= NEG / 2:
        return None
    if not want_path:
        return LatticePath(float(F[-1]), (), tuple(class_ids))
    segs = []
    j = B - 1
    for k in range(len(class_ids) - 1, -1, -1):
        back = backs[k]
        while back[j] <= -2:  # atoms left out after letter k
            j = -2 - int(back[j])
        s = int(back[j])
        segs.append(s)
        j = int(seg_i[s])
    return LatticePath(float(F[-1]), tuple(reversed(segs)), tuple(class_ids))


def _rescale(lat: Lattice, path: LatticePath, labels: Sequence[str]) -> float | None:
    """The writer's letter width implied by a reading (log), or None."""
    priors = class_priors(labels)
    logs = [math.log(max(lat.seg_box[s].width, 1)) - priors[0, c]
            for s, c in zip(path.segments, path.classes) if labels[c] not in NARROW_OR_WIDE]
    if not logs:
        return None
    return float(np.median(logs))


def solve(lat: Lattice, labels: Sequence[str], mask: np.ndarray, scale: float, find_path
          ) -> tuple[LatticePath | None, float, np.ndarray]:
    """``find_path(lat, table)`` on the score table at ``scale``, then again with the scale
    re-estimated from the answer (twice at most, while it moves enough to matter)."""
    table = score_table(lat, labels, mask, scale)
    path = find_path(lat, table)
    for _ in range(2):
        if path is None:
            break
        new = _rescale(lat, path, labels)
        if new is None or abs(new - math.log(scale)) < DEFAULTS.align_rescale_above:
            break
        scale = math.exp(new)
        table = score_table(lat, labels, mask, scale)
        path = find_path(lat, table)
    return path, scale, table


def solve_free(lat: Lattice, labels: Sequence[str], mask: np.ndarray,
               scale: float) -> tuple[LatticePath | None, float, np.ndarray]:
    """The free reading, with the scale re-estimated from the answer."""
    return solve(lat, labels, mask, scale, free_path)


def solve_forced(lat: Lattice, labels: Sequence[str], mask: np.ndarray, scale: float, class_ids: Sequence[int]
                 ) -> tuple[LatticePath | None, float, np.ndarray]:
    """Forced alignment of ``class_ids``, with the scale re-estimated from the answer."""
    return solve(lat, labels, mask, scale, lambda lat_, table: forced_path(lat_, table, class_ids))


