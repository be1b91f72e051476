"""Reading words and names: classifier-guided segmentation, forced alignment, lexicon.

:mod:`hwocr.cut` gives each text line as *parts* (strokes with their dots, accents and
bars), left to right. Reading chooses which runs of consecutive parts are one character,
and where to cut through a part that holds touching letters:

* **candidates**: every boundary between parts, and inside a part wider than a letter
  the valleys of its own column profile (the thin places where touching letters meet);
* **segments**: every run of up to ``read_max_atoms`` pieces between two candidates
  that is not too wide for one character and holds no wide gap; each segment's ink
  alone (a gray crop with every other stroke erased) is prepared like any glyph, and
  **all segments of all lines are classified in one batch** by the fast predictor;
* **a dynamic programme** picks the boundaries, and the letters, that maximise the sum
  over characters of: the log of the classifier's probability of the letter, a prior
  on the letter's width at the writer's scale (an I is narrow or has serifs, a W wide;
  the scale is re-estimated from the answer and the programme run again), a penalty
  for a character much shorter than the line (a fragment), one for every gap merged
  inside a character (dearer the wider), and the price of every cut through ink (plus
  a little per stroke cut). Small fragments may be left out at a price.

With a known text the same lattice gives **forced alignment** (:func:`align_guided`):
exactly one segment per letter, scored by that letter's probability; the import
pipeline uses it to repair names the geometric aligner could not settle.

A **lexicon** snaps a line to an entry when the entry explains the image nearly as well
as the free reading: entries are shortlisted by a weighted edit distance to the
reading (substituting a letter costs how much less likely the classifier found it),
each shortlisted entry is forced onto the same lattice, and the best one is taken when
its score is within ``read_snap_cost + read_snap_cost_per_letter * letters`` of the
free reading's. Both the raw reading and the matched entry are kept.

Which images are cleaned first: ``clean=True`` treats the image as a name cut from a
form (as import does: the printed NOM/PRENOM label, form lines, neighbouring rows and
specks removed, one line); ``clean=False`` reads the ink as it is (a canvas drawing, a
photo or scan of a word or of several lines). The default, ``clean=None``, decides from
the image (:func:`hwocr.formdetect.detect_form`: a thin pen, a form field's strip shape,
and the form parts the cleaning finds and removes); the :class:`Reading` says whether it
was cleaned and why (``cleaned``, ``clean_reason``). The Recognize page passes ``False``
for drawings and Auto (None), Clean or Don't clean for uploads; ``python -m hwocr read``
detects, ``--clean`` / ``--no-clean`` force it.

**No handwriting** is an answer, not an error: blank paper, a scan of only the printed
label (the cleaning removes it whole) and a strip cut through the letters (nearly all its
cleaned ink runs into the top or bottom edge, :func:`hwocr.formdetect.no_handwriting`)
give an empty :class:`Reading` whose ``reason`` says why, never a confident wrong name.
The command line reports such an image as its ``{path, error}`` entry. An image that
cannot be decoded still raises :class:`~hwocr.errors.ImageError`.

The classifier is anything with the small :class:`hwocr.classifier.Classifier` protocol
(labels, charset mask, batch probabilities): the product passes a
:class:`hwocr.recognize.Recognizer`, whose ``read`` calls :func:`read_image`, so this
module does not depend on the model code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from hwocr.boxes import Box
from hwocr.classifier import Classifier
from hwocr.config import DEFAULTS
from hwocr.context import case_from_geometry, letter_digit_runs
from hwocr.cut import Cutting, TextLine, cut_ink, drawing_ink
from hwocr.errors import ImageError, InputError
from hwocr.formdetect import NO_HANDWRITING, clean_form, detect_form, no_handwriting, printed_label_read
from hwocr.images import load_gray
from hwocr.namelm import END, LETTERS, SYMBOL_INDEX, SYMBOLS, NameLM
from hwocr.namelm import shipped as shipped_lm
from hwocr.preprocess import CleanedName
from hwocr.text import letters_of, normalize_transcription

_NEG = -1e9


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadChar:
    """One character read: its box in the image, the letter, the classifier's
    probability of that letter, and the best few ``(label, probability)`` pairs."""

    box: Box
    label: str
    confidence: float
    top: tuple[tuple[str, float], ...]
    line: int = 0

    def to_json(self) -> dict:
        return {"box": self.box.to_list(), "label": self.label, "confidence": round(self.confidence, 4),
                "top": [[label, round(p, 4)] for label, p in self.top], "line": self.line}


@dataclass(frozen=True)
class LexiconMatch:
    """The lexicon entry closest to a line, and whether the reading was snapped to it."""

    entry: str
    """As it is written in the lexicon."""
    cost: float
    """How much worse the entry explains the image than the free reading (score units
    of the dynamic programme, roughly nats; 0 when the reading is the entry)."""
    snapped: bool
    """Whether the line's text is the entry (the cost was low enough)."""
    chars: tuple[ReadChar, ...]
    """The entry's letters forced onto the image: one box per letter."""
    runner_up: str | None = None
    runner_up_cost: float | None = None

    def to_json(self) -> dict:
        return {"entry": self.entry, "cost": round(self.cost, 3), "snapped": self.snapped,
                "runner_up": self.runner_up,
                "runner_up_cost": None if self.runner_up_cost is None else round(self.runner_up_cost, 3),
                "chars": [c.to_json() for c in self.chars]}


@dataclass(frozen=True)
class LineReading:
    box: Box
    text: str
    """The entry when snapped to the lexicon, else ``raw_text``."""
    raw_text: str
    """The classifier's own reading; a space where the gap is as wide as a word space,
    a hyphen where one is drawn."""
    chars: tuple[ReadChar, ...]
    lexicon_match: LexiconMatch | None = None


@dataclass(frozen=True)
class Reading:
    """What :meth:`hwocr.recognize.Recognizer.read` returns."""

    text: str
    """Lines joined by newlines; each line its lexicon entry when snapped."""
    raw_text: str
    """The same without the lexicon."""
    chars: tuple[ReadChar, ...]
    """Every character read, line by line, left to right (the raw reading's boxes)."""
    lines: tuple[LineReading, ...]
    width: int
    height: int
    cleaned: bool = False
    """Whether the form label and lines were removed before reading."""
    clean_reason: str = ""
    """Why it was, or was not, cleaned: the form detector's verdict, or the caller's choice."""
    reason: str | None = None
    """Why nothing was read (no handwriting found: blank, only the printed label, the
    letters cut by the image's edges); None when the ink was read."""

    @property
    def lexicon_match(self) -> LexiconMatch | None:
        """The lexicon match of a one-line reading (None with no lexicon or several lines)."""
        return self.lines[0].lexicon_match if len(self.lines) == 1 else None

    def to_json(self) -> dict:
        match = self.lexicon_match
        return {
            "text": self.text,
            "raw_text": self.raw_text,
            "chars": [c.to_json() for c in self.chars],
            "lexicon_match": None if match is None else match.to_json(),
            "lines": [{"box": ln.box.to_list(), "text": ln.text, "raw_text": ln.raw_text,
                       "lexicon_match": None if ln.lexicon_match is None else ln.lexicon_match.to_json()}
                      for ln in self.lines],
            "width": self.width,
            "height": self.height,
            "cleaned": self.cleaned,
            "clean_reason": self.clean_reason,
            "reason": self.reason,
        }


# --- lexicon ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Lexicon:
    """Entries to snap readings to, prepared once: each entry's letters (normalised
    like a transcription: upper case, accents dropped, separators ignored)."""

    entries: tuple[str, ...]
    letters: tuple[str, ...]

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> Lexicon:
        seen: dict[str, str] = {}
        for raw in entries:
            if raw is None:
                continue
            norm, _ = normalize_transcription(str(raw))
            if not norm:
                continue
            letters = letters_of(norm)
            if letters and letters not in seen:
                seen[letters] = norm
        return cls(tuple(seen.values()), tuple(seen.keys()))

    @classmethod
    def from_file(cls, path: Path | str) -> Lexicon:
        """One entry per line; blank lines and lines starting with # are ignored."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError as exc:
            raise InputError(f"{path}: cannot read the lexicon ({exc.strerror or exc})") from None
        lex = cls.from_entries(line.strip() for line in text.splitlines()
                               if line.strip() and not line.lstrip().startswith("#"))
        if not lex.entries:
            raise InputError(f"{path}: the lexicon has no entries")
        return lex

    def __len__(self) -> int:
        return len(self.entries)


def as_lexicon(lexicon: Lexicon | Iterable[str] | None) -> Lexicon | None:
    if lexicon is None or isinstance(lexicon, Lexicon):
        return lexicon
    if isinstance(lexicon, str):
        raise InputError("a lexicon is a list of entries, not one string")
    return Lexicon.from_entries(lexicon)


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

    @property
    def bounds(self) -> int:
        return len(self.atoms) + 1


def _typical_width(line: TextLine) -> float:
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
                  cut_wide: float | None = None) -> Lattice:
    """Atoms, boundaries and segments of one line (no classifier yet)."""
    d = DEFAULTS
    h = line.height
    scale = _typical_width(line) if scale is None else scale
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
    max_w = min(d.read_max_width_letters * scale, d.read_max_width * h)
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
                if box.width > max_w:
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
    from hwocr.glyph import _fit_and_centre, _normalise_strokes, _upsample

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


def classify_lattices(rec: Classifier, cutting: Cutting, lattices: Sequence[Lattice], charset: str) -> None:
    """Every segment of every lattice, classified in ONE batch (fills ``glyphs`` and
    ``probs``; a segment without ink gets no glyph and zero probabilities)."""
    glyphs, owners = [], []
    for li, lat in enumerate(lattices):
        strength = line_ink_strength(cutting, lat.line)
        lat.glyphs = [None if strength is None else segment_glyph(lat, s, strength) for s in range(len(lat.seg_box))]
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


# --- scoring --------------------------------------------------------------------------


def _class_priors(labels: Sequence[str]) -> np.ndarray:
    """(4, classes): mean and spread of the log width in each of two modes."""
    from hwocr.align import _letter_prior

    return np.array([_letter_prior(ch) if ch.isalpha() else _digit_prior(ch) for ch in labels], float).T


def _digit_prior(ch: str) -> tuple[float, float, float, float]:
    from hwocr.align import _letter_prior

    if ch == "1":
        return _letter_prior("1")
    spread = math.hypot(0.2, DEFAULTS.align_width_spread)
    mean = math.log(0.85)
    return mean, spread, mean, spread


def score_table(lat: Lattice, labels: Sequence[str], charset_mask: np.ndarray, scale: float) -> np.ndarray:
    """(segments, classes): the programme's score of reading each segment as each class."""
    d = DEFAULTS
    mu1, sd1, mu2, sd2 = _class_priors(labels)
    widths = np.array([b.width for b in lat.seg_box], float)
    rel = np.log(np.maximum(widths, 1.0) / scale)[:, None]
    z = np.minimum(np.abs(rel - mu1) / sd1, np.abs(rel - mu2) / sd2)
    # Whatever the scale, a character is rarely much wider than tall.
    heights = np.array([b.height for b in lat.seg_box], float)
    wide = np.maximum(np.log(np.maximum(widths, 1.0) / np.maximum(heights, 0.5 * lat.line.height))
                      - math.log(d.align_max_aspect), 0.0)
    fixed = lat.seg_fixed + lat.seg_gap / (d.read_gap_scale * scale) + 0.5 * (wide / 0.25) ** 2
    # A floor: the model is over-confident, and one letter it is sure about must not
    # outweigh all the others (a lexicon entry with one letter off stays in reach).
    logp = np.log(np.maximum(lat.probs, d.read_min_probability))
    table = d.read_class_weight * logp - d.read_width_weight * 0.5 * z * z - fixed[:, None] + d.read_letter_bonus
    table[:, ~charset_mask] = _NEG
    missing = np.array([g is None for g in lat.glyphs])
    if missing.any():
        table[missing] = _NEG
    return table


@dataclass(frozen=True)
class _Path:
    score: float
    segments: tuple[int, ...]
    classes: tuple[int, ...]


def _free_path(lat: Lattice, table: np.ndarray) -> _Path | None:
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
    if not np.isfinite(F[-1]) or F[-1] <= _NEG / 2:
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
    return _Path(float(F[-1]), tuple(reversed(segs)), tuple(reversed(classes)))


def resolve_lm(lm: NameLM | bool | None, labels: Sequence[str], mask: np.ndarray) -> NameLM | None:
    """The names model to read with: None when switched off, or when the charset holds
    anything but upper-case letters (digits, small letters: the model knows neither)."""
    if lm is None or lm is False:
        return None
    if not all(labels[i] in LETTERS for i in np.flatnonzero(mask)):
        return None
    return shipped_lm() if lm is True else lm


def lm_path(lat: Lattice, table: np.ndarray, labels: Sequence[str], lm: NameLM,
            weight: float | None = None) -> _Path | None:
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
    weight = d.read_lm_weight if weight is None else weight
    free = _free_path(lat, table)
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
    sym = np.array([SYMBOL_INDEX.get(label, -1) if label != END else -1 for label in labels])
    cands: list[list[tuple[int, float, int]]] = [[] for _ in range(n_seg)]
    best_cls = table.argmax(axis=1)
    for s in np.flatnonzero(allowed).tolist():
        row = table[s]
        top = row[best_cls[s]]
        if top <= _NEG / 2:
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
                    history = hyp[1] + SYMBOLS[k]
                    key = history[-keep:]
                    if key not in here or v > here[key][0]:
                        here[key] = (v, history, hyp, s, c)
        if len(here) > beam_width:
            here = dict(sorted(here.items(), key=lambda kv: -kv[1][0])[:beam_width])
        beams[j] = here
    end = SYMBOL_INDEX[END]
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
    return _Path(float(score), tuple(reversed(segs)), tuple(reversed(classes)))


def _forced_path(lat: Lattice, table: np.ndarray, class_ids: Sequence[int], *, want_path: bool = True) -> _Path | None:
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
    if not np.isfinite(F[-1]) or F[-1] <= _NEG / 2:
        return None
    if not want_path:
        return _Path(float(F[-1]), (), tuple(class_ids))
    segs = []
    j = B - 1
    for k in range(len(class_ids) - 1, -1, -1):
        back = backs[k]
        while back[j] <= -2:  # atoms left out after letter k
            j = -2 - int(back[j])
        s = int(back[j])
        segs.append(s)
        j = int(seg_i[s])
    return _Path(float(F[-1]), tuple(reversed(segs)), tuple(class_ids))


def _rescale(lat: Lattice, path: _Path, labels: Sequence[str]) -> float | None:
    """The writer's letter width implied by a reading (log), or None."""
    from hwocr.align import NARROW_OR_WIDE

    priors = _class_priors(labels)
    logs = [math.log(max(lat.seg_box[s].width, 1)) - priors[0, c]
            for s, c in zip(path.segments, path.classes) if labels[c] not in NARROW_OR_WIDE]
    if not logs:
        return None
    return float(np.median(logs))


def _solve(lat: Lattice, labels: Sequence[str], mask: np.ndarray, scale: float, find_path
           ) -> tuple[_Path | None, float, np.ndarray]:
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
               scale: float) -> tuple[_Path | None, float, np.ndarray]:
    """The free reading, with the scale re-estimated from the answer."""
    return _solve(lat, labels, mask, scale, _free_path)


def solve_forced(lat: Lattice, labels: Sequence[str], mask: np.ndarray, scale: float, class_ids: Sequence[int]
                 ) -> tuple[_Path | None, float, np.ndarray]:
    """Forced alignment of ``class_ids``, with the scale re-estimated from the answer."""
    return _solve(lat, labels, mask, scale, lambda lat_, table: _forced_path(lat_, table, class_ids))


# --- reading ----------------------------------------------------------------------------


def _chars_of(lat: Lattice, path: _Path, labels: Sequence[str], mask: np.ndarray, line_no: int,
              top_k: int) -> list[ReadChar]:
    k = min(top_k, int(mask.sum()))
    out = []
    for s, c in zip(path.segments, path.classes):
        row = lat.probs[s]
        order = np.argsort(-row, kind="stable")[:k]
        top = tuple((labels[i], float(row[i])) for i in order)
        out.append(ReadChar(lat.seg_box[s], labels[c], float(row[c]), top, line_no))
    return out


def _line_text(chars: Sequence[ReadChar], dashes: Sequence[Box], scale: float) -> str:
    """The characters with a space at word-wide gaps and a hyphen where one is drawn."""
    if not chars:
        return ""
    gaps = [b.box.x0 - a.box.x1 for a, b in pairwise(chars)]
    positive = sorted(g for g in gaps if g > 0)
    typical = positive[len(positive) // 2] if positive else 0
    if len(chars) >= 3:
        space = max(DEFAULTS.read_space_gap * scale, 2.0 * typical)
    else:
        space = DEFAULTS.read_space_gap * scale * 1.5
    out = [chars[0].label]
    for a, b, g in zip(chars, chars[1:], gaps):
        if any(a.box.center_x < dash.center_x < b.box.center_x for dash in dashes):
            out.append("-")
        elif g >= space:
            out.append(" ")
        out.append(b.label)
    return "".join(out)


def read_cutting(rec: Classifier, cutting: Cutting, charset: str = "letters",
                 lexicon: Lexicon | Iterable[str] | None = None, *, top_k: int | None = None,
                 case_geometry: bool = True, lm: NameLM | bool | None = True) -> Reading:
    """Read every line of an already cut image. Each line's letters and digits, and the
    case of its same-shape letters, are settled from the line (:mod:`hwocr.context`;
    ``case_geometry=False`` leaves the case to the classifier).

    ``lm``: the names language model weighed into every reading (:func:`lm_path`):
    True for the shipped one, a :class:`hwocr.namelm.NameLM` (e.g. with a workspace's
    transcriptions, :func:`hwocr.namelm.for_workspace`), False or None for none. It
    applies under the ``letters`` charset only (upper-case A-Z; the model knows no
    case and no digits)."""
    mask = rec.charset_mask(charset)
    labels = rec.labels
    lex = as_lexicon(lexicon)
    lm_model = resolve_lm(lm, labels, mask)
    find_path = _free_path if lm_model is None else (lambda lat_, table_: lm_path(lat_, table_, labels, lm_model))
    top_k = DEFAULTS.recognize_top_k if top_k is None else max(1, int(top_k))
    lattices = [build_lattice(cutting, line) for line in cutting.lines]
    classify_lattices(rec, cutting, lattices, charset)
    lines = []
    for line_no, lat in enumerate(lattices):
        path, scale, table = _solve(lat, labels, mask, _typical_width(lat.line), find_path)
        if path is None:
            continue
        chars = _chars_of(lat, path, labels, mask, line_no, top_k)
        rows = [lat.probs[s] for s in path.segments]
        chars = letter_digit_runs(chars, rows, labels, mask)
        if case_geometry:
            chars = case_from_geometry(chars, rows, labels, mask)
        raw = _line_text(chars, lat.line.dashes, scale)
        match = None
        if lex is not None:
            # Entries are weighed against the classifier's own reading (the model's
            # reading scores on another scale), so snapping is as without the model.
            free = path if lm_model is None else _free_path(lat, table)
            match = _match_lexicon(lat, table, free, lex, labels, mask, line_no, top_k) if free else None
        text = match.entry if match is not None and match.snapped else raw
        lines.append(LineReading(lat.line.box, text, raw, tuple(chars), match))
    h, w = cutting.gray.shape[:2]
    return Reading(
        text="\n".join(ln.text for ln in lines),
        raw_text="\n".join(ln.raw_text for ln in lines),
        chars=tuple(c for ln in lines for c in ln.chars),
        lines=tuple(lines),
        width=int(w),
        height=int(h),
        cleaned=cutting.cleaned,
    )


def read_image(rec: Classifier, image, charset: str = "letters", lexicon: Lexicon | Iterable[str] | None = None,
               *, clean: bool | None = None, top_k: int | None = None, case_geometry: bool = True,
               lm: NameLM | bool | None = True) -> Reading:
    """Decode, cut and read one image (see the module notes for ``clean``: None decides
    from the image). An image with no handwriting gives an empty reading whose
    ``reason`` says why; one that cannot be decoded raises :class:`ImageError`. ``lm``:
    the names model (letters charset only; see :mod:`hwocr.namelm`)."""
    rec.charset_mask(charset)  # an unknown charset fails before any decoding
    lex = as_lexicon(lexicon)
    gray = load_gray(image)
    with single_threaded_opencv():
        ink, cleaned, clean_reason, problem = ink_to_read(gray, clean)
        if problem is None:
            cutting = cut_ink(gray, ink, cleaned=cleaned, single_line=cleaned)
            if cutting.lines:
                reading = read_cutting(rec, cutting, charset, lex, top_k=top_k, case_geometry=case_geometry,
                                       lm=lm)
                problem = None if clean is False else printed_label_read(letters_of(reading.raw_text), ink)
                if problem is None:
                    return replace(reading, clean_reason=clean_reason)
            else:
                problem = NO_HANDWRITING
    h, w = gray.shape[:2]
    return Reading("", "", (), (), int(w), int(h), cleaned, clean_reason, problem)


def ink_to_read(gray: np.ndarray, clean: bool | None) -> tuple[np.ndarray, bool, str, str | None]:
    """``(ink, cleaned, why cleaned or not, why there is nothing to read or None)`` for a
    gray image: cleaned as a form's name when ``clean`` says so, or, with ``clean=None``,
    when :func:`hwocr.formdetect.detect_form` finds it is one."""
    if clean is None:
        verdict = detect_form(gray)
        label = "label" in verdict.evidence
        problem = no_handwriting(verdict.ink, cleaned=verdict.is_form, label=label)
        if problem is None and not verdict.is_form and verdict.cleaned is not None \
                and cv2.countNonZero(verdict.cleaned.ink):
            # A strip that is no form may still be one cut through the letters: its
            # cleaned ink (edge fragments of other rows gone) tells.
            problem = no_handwriting(verdict.cleaned.ink, cleaned=True)
        return verdict.ink, verdict.is_form, verdict.reason, problem
    if clean:
        cleaned = clean_form(gray)
        label = any(r.kind == "label" for r in cleaned.removed)
        return (cleaned.ink, True, "cleaned as a name cut from a form, as asked",
                no_handwriting(cleaned.ink, cleaned=True, label=label))
    ink = drawing_ink(gray)
    return ink, False, "read as it is, as asked", no_handwriting(ink, cleaned=False)


@contextmanager
def single_threaded_opencv() -> Iterator[None]:
    """OpenCV on one thread for the duration: reading makes a few hundred calls on
    images of a few thousand pixels, where OpenCV's thread pool costs more than it
    saves (a 10-letter drawing reads in about 2/3 of the time on two busy cores). The
    setting is process-wide; another thread working meanwhile only runs a little slower."""
    before = cv2.getNumThreads()
    if before == 1:
        yield
        return
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


# --- lexicon matching -------------------------------------------------------------------


def _shortlist(read_logp: np.ndarray, lex: Lexicon, labels: Sequence[str], mask: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` entries closest to a reading by a weighted edit distance:
    substituting reading character i by letter c costs how much less likely the
    classifier found c than its best guess; inserting or dropping a letter costs
    ``read_lexicon_indel``. All entries at once, one numpy row per entry."""
    index = {label: i for i, label in enumerate(labels)}
    usable = [e for e, letters in enumerate(lex.letters) if all(ch in index and mask[index[ch]] for ch in letters)]
    if not usable:
        return []
    m = read_logp.shape[0]
    n_max = max(len(lex.letters[e]) for e in usable)
    E = len(usable)
    ids = np.zeros((E, n_max), np.int64)
    lengths = np.zeros(E, np.int64)
    for r, e in enumerate(usable):
        letters = lex.letters[e]
        ids[r, : len(letters)] = [index[ch] for ch in letters]
        lengths[r] = len(letters)
    indel = DEFAULTS.read_lexicon_indel
    sub = read_logp.max(axis=1, keepdims=True) - read_logp  # (m, classes), >= 0
    prev = np.arange(n_max + 1, dtype=float)[None, :].repeat(E, axis=0) * indel
    for i in range(m):
        cur = np.empty_like(prev)
        cur[:, 0] = (i + 1) * indel
        cost_i = np.minimum(sub[i][ids], 30.0)  # (E, n_max)
        for j in range(1, n_max + 1):
            cur[:, j] = np.minimum(np.minimum(prev[:, j] + indel, cur[:, j - 1] + indel),
                                   prev[:, j - 1] + cost_i[:, j - 1])
        prev = cur
    final = prev[np.arange(E), lengths]
    order = np.argsort(final, kind="stable")[:k]
    return [usable[r] for r in order]


def _match_lexicon(lat: Lattice, table: np.ndarray, free: _Path, lex: Lexicon, labels: Sequence[str],
                   mask: np.ndarray, line_no: int, top_k: int) -> LexiconMatch | None:
    d = DEFAULTS
    if not free.segments:
        return None
    read_logp = np.log(np.maximum(lat.probs[list(free.segments)], 1e-9))
    read_logp[:, ~mask] = -30.0
    shortlist = _shortlist(read_logp, lex, labels, mask, d.read_lexicon_shortlist)
    if not shortlist:
        return None
    index = {label: i for i, label in enumerate(labels)}
    scored = []
    for e in shortlist:
        ids = [index[ch] for ch in lex.letters[e]]
        p = _forced_path(lat, table, ids, want_path=False)
        if p is not None:
            scored.append((free.score - p.score, e, ids))
    if not scored:
        return None
    scored.sort(key=lambda t: t[0])
    cost, e, ids = scored[0]
    path = _forced_path(lat, table, ids)
    chars = tuple(_chars_of(lat, path, labels, mask, line_no, top_k)) if path is not None else ()
    n = len(ids)
    snapped = cost <= d.read_snap_cost + d.read_snap_cost_per_letter * n
    runner = scored[1] if len(scored) > 1 else None
    return LexiconMatch(
        entry=lex.entries[e], cost=float(max(cost, 0.0)), snapped=bool(snapped), chars=chars,
        runner_up=lex.entries[runner[1]] if runner else None,
        runner_up_cost=float(max(runner[0], 0.0)) if runner else None,
    )


# --- forced alignment for the import pipeline ---------------------------------------------


@dataclass(frozen=True)
class GuidedAlignment:
    """A transcription forced onto a name image with the classifier's help."""

    boxes: tuple[Box, ...]
    """One per letter, in the image's coordinates; empty when no alignment exists."""
    letters: str
    probabilities: tuple[float, ...]
    """The classifier's probability of each letter in its box (letters charset)."""
    readings: tuple[str, ...]
    """The classifier's best letter in each box."""
    score: float
    """Score of the forced alignment (higher is better)."""
    free_score: float
    """Score of the free reading on the same lattice (an upper bound of ``score``)."""
    free_text: str
    """What the classifier reads without the transcription."""

    @property
    def gap(self) -> float:
        """How much worse the transcription explains the image than the free reading."""
        return max(0.0, self.free_score - self.score)


def align_guided(rec: Classifier, cleaned: CleanedName, letters: str, *,
                 charset: str = "letters") -> GuidedAlignment | None:
    """Force ``letters`` onto a cleaned name image; None when it cannot be placed (no
    ink, a letter the model does not know, fewer candidate pieces than letters)."""
    if not letters:
        return None
    labels = rec.labels
    index = {label: i for i, label in enumerate(labels)}
    if any(ch not in index for ch in letters):
        return None
    mask = rec.charset_mask(charset)
    cutting = cut_ink(cleaned.gray, cleaned.ink, cleaned=True, single_line=True)
    if not cutting.lines:
        return None
    line = cutting.lines[0]
    ids = [index[ch] for ch in letters]
    # The writer's scale from the ink and the letters it must hold (as the aligner does).
    from hwocr.align import LETTER_WIDTH, NARROW_OR_WIDE

    cols = int(np.count_nonzero(cutting.ink[line.box.y0 : line.box.y1].any(axis=0)))
    rel = sum(LETTER_WIDTH.get(ch, (0.5 if ch in NARROW_OR_WIDE else 0.9, 0))[0] for ch in letters)
    scale = max(2.0, cols / max(rel, 0.5))
    lat = build_lattice(cutting, line, scale=scale, cut_wide=DEFAULTS.read_cut_wide_forced)
    if lat.bounds - 1 + 0 < 1:
        return None
    classify_lattices(rec, cutting, [lat], charset)
    path, scale, table = solve_forced(lat, labels, mask, scale, ids)
    if path is None:
        return None
    free = _free_path(lat, table)
    probs = tuple(float(lat.probs[s, c]) for s, c in zip(path.segments, path.classes))
    readings = tuple(labels[int(np.argmax(lat.probs[s]))] for s in path.segments)
    free_text = "".join(labels[c] for c in free.classes) if free is not None else ""
    return GuidedAlignment(
        boxes=tuple(lat.seg_box[s] for s in path.segments), letters=letters, probabilities=probs,
        readings=readings, score=path.score, free_score=free.score if free is not None else path.score,
        free_text=free_text,
    )
