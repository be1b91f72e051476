"""The align stage: match the pieces of a segmented name with the letters of its
transcription. One entry point, :func:`align`: the geometric aligner below first; then,
when a judge (a character classifier, :class:`hwocr.classifier.Classifier`) is given and
the geometric answer leaves the name to a person or is too unsure to harvest
(:func:`needs_guidance`), the classifier-guided aligner (:mod:`hwocr.align_guided`, on
the lattice of :mod:`hwocr.lattice`), whose answer is taken when it is clearly good
(:func:`guided_repair`). Model vetting's second chance for a disputed name is the same
guided aligner (:func:`realign`). Both aligners use the letter-width priors of
:mod:`hwocr.widths`.

The geometric aligner. Names are mostly hand-printed in comb boxes, so usually each
piece is one letter. When the counts differ, the usual causes are a letter broken into
two pieces (an accent or a dot beside it, a stroke that did not close), two letters
touching (one piece for two letters) and a drawn hyphen (a small flat piece that is no
letter).

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
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from hwocr.align_guided import align_guided, warm_up_glyphs
from hwocr.boxes import Box
from hwocr.classifier import Classifier
from hwocr.config import DEFAULTS, GUIDED_MARK
from hwocr.errors import HwocrError
from hwocr.images import load_gray
from hwocr.preprocess import CleanedName, clean_name_image, stroke_width
from hwocr.segment import Segmentation, column_extents, segment
from hwocr.text import (
    UNREADABLE_MARKERS,
    gap_after,
    letters_of,
    normalize_transcription,
)
from hwocr.widths import NARROW_OR_WIDE, first_guess_width, letter_table, log_width

Status = Literal["matched", "repaired", "needs_review", "failed"]
#: What :func:`align` takes as its judge: a classifier, or a function that gives one (or
#: None) when the first name needs it (an import's worker loads its model only then).
Judge = Classifier | Callable[[], "Classifier | None"]

#: The exponent of the one-piece-per-letter height cost, passed to the kernel as a value
#: so that it squares with libm's pow, as Python's ``x ** 2`` does (a literal 2.0 would
#: be compiled into a multiplication, which rounds differently).
_SQUARE = 2.0


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


def analyze_name(image, transcription: str, *, judge: Judge | None = None) -> NameAnalysis:
    """Decode, clean, segment and align one name image (``judge``: see :func:`align`).

    ``image`` is anything :func:`hwocr.images.load_gray` accepts; decoding problems raise
    :class:`~hwocr.errors.ImageError`; the geometric aligner never raises after that.
    """
    gray = load_gray(image)
    cleaned = clean_name_image(gray)
    seg = segment(cleaned.ink)
    return NameAnalysis(cleaned, seg, align(cleaned, seg, transcription, judge=judge))


def _warm_up_image(difficulty: str) -> np.ndarray:
    """A small synthetic name form (388x36, dark on light, like the real ones): the
    printed "NOM :" label, then WARM in a written-looking face, with a form line under
    it, a letter broken in two, or letters touching. Drawn here rather than borrowed from
    :mod:`hwocr.demo`, so that aligning names does not depend on the demo generator."""
    scale = 4  # drawn at 4x and shrunk: anti-aliased strokes, as in a scan
    ink = np.zeros((36 * scale, 388 * scale), np.uint8)
    cv2.putText(ink, "NOM :", (2 * scale, 23 * scale), cv2.FONT_HERSHEY_SIMPLEX, 0.42 * scale, 255,
                scale + 1, cv2.LINE_AA)
    x = 70 * scale
    step = 4 * scale if difficulty != "touching" else -4 * scale
    for i, ch in enumerate("WARM"):
        (w, h), _ = cv2.getTextSize(ch, cv2.FONT_HERSHEY_SIMPLEX, 0.75 * scale, 1)
        glyph = np.zeros((h + 4 * scale, w + 2 * scale), np.uint8)
        cv2.putText(glyph, ch, (scale, h + 2 * scale), cv2.FONT_HERSHEY_SIMPLEX, 0.75 * scale, 255,
                    2 * scale, cv2.LINE_AA)
        if difficulty == "broken" and i == 0:
            glyph[:, glyph.shape[1] // 2 - scale : glyph.shape[1] // 2 + 2 * scale] = 0
        y = 18 * scale - glyph.shape[0] // 2
        region = ink[y : y + glyph.shape[0], x : x + glyph.shape[1]]
        np.maximum(region, glyph, out=region)
        x += glyph.shape[1] + step
    if difficulty == "line":
        cv2.line(ink, (0, 31 * scale), (ink.shape[1] - 1, 31 * scale), 200, scale)
    small = cv2.resize(ink, (388, 36), interpolation=cv2.INTER_AREA)
    return (255 - small.astype(np.float32) * 0.85).astype(np.uint8)


def warm_up() -> float:
    """Make every compiled kernel of :func:`analyze_name` ready in this process: load it
    from numba's on-disk cache (about half a second) or, the first time after an install
    or an update, compile and cache it (about 30 s). Runs small synthetic names through
    every path: the printed label, a form line, one piece per letter, and the repairs of
    too many and too few pieces; and guided repair's compiled lattice glyphs
    (:func:`hwocr.align_guided.warm_up_glyphs`). Returns the seconds it took."""
    start = time.perf_counter()
    for difficulty in ("clean", "line", "broken", "touching"):
        image = _warm_up_image(difficulty)
        for transcription in ("WARM", "WAARM", "WRM"):
            analysis = analyze_name(image, transcription)
    warm_up_glyphs(analysis.cleaned)
    return time.perf_counter() - start


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


def align(cleaned: CleanedName, seg: Segmentation, transcription: str, *,
          judge: Judge | None = None) -> Alignment:
    """One box per letter of the transcription, with a status and a confidence: the
    geometric answer, or, with a ``judge`` (a classifier, or a function giving one or
    None, called only when a name needs it) and a geometric answer that
    :func:`needs_guidance`, the classifier-guided one when :func:`guided_repair` finds
    it clearly good."""
    al = align_geometric(cleaned, seg, transcription)
    if judge is None or not needs_guidance(al):
        return al
    rec = judge if hasattr(judge, "probabilities") else judge()
    if rec is None:
        return al
    return guided_repair(rec, cleaned, al) or al


def align_geometric(cleaned: CleanedName, seg: Segmentation, transcription: str) -> Alignment:
    """The geometric aligner's answer alone (never raises)."""
    try:
        return _align(cleaned, seg, transcription)
    except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError, cv2.error, MemoryError) as exc:
        # Odd input must not stop an import of 100,000 names; say what happened.
        norm, _ = normalize_transcription(transcription)
        return _failed(letters_of(norm) if norm else "", f"alignment error: {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------------------
# classifier-guided repair: the guided aligner's answer, when it is clearly good


def needs_guidance(al: Alignment) -> bool:
    """Whether the geometric answer leaves the name to a person, or is too unsure to
    be harvested: only those names pay for the classifier."""
    if not DEFAULTS.guided_repair or not al.letters:
        return False
    return al.status == "needs_review" or (al.status == "repaired" and al.confidence < DEFAULTS.harvest_min_confidence)


def guided_repair(judge: Classifier, cleaned: CleanedName, al: Alignment) -> Alignment | None:
    """The transcription of ``al`` forced onto the name with ``judge`` as the judge
    (:func:`hwocr.align_guided.align_guided`), as a ``repaired`` alignment, or None when
    that is not clearly good.

    Good means: every letter is what the model sees in its box with probability at
    least ``guided_min_probability``, and the transcription explains the image at most
    ``guided_max_gap`` worse than the model's own free reading of the same lattice
    (the free reading would say which letters the writer drew, whatever the text says).
    The name's confidence is then the least sure letter's probability, so that the
    harvest threshold means the same thing for guided and geometric repairs; it is
    taken only when that beats the geometric answer's own confidence. A name that was
    waiting for review leaves the queue only when that confidence reaches the harvest
    threshold."""
    d = DEFAULTS
    try:
        guided = align_guided(judge, cleaned, al.letters)
    except HwocrError:
        return None
    if guided is None or len(guided.boxes) != len(al.letters):
        return None
    least = min(guided.probabilities)
    if least < d.guided_min_probability or guided.gap > d.guided_max_gap or least <= al.confidence:
        return None
    worst = guided.probabilities.index(least)
    reason = (f"{al.reason}; {GUIDED_MARK}: the transcription forced onto the image by the character model "
              f"(least sure letter {worst + 1} ({al.letters[worst]}) p={least:.2f}; "
              f"{guided.gap:.1f} below the model's own reading {guided.free_text})")
    # A name taken from the review queue must be harvestable; one the model is less
    # sure about stays in the queue, with the guided boxes as the reviewer's start.
    sure = least >= d.harvest_min_confidence or al.status == "repaired"
    return Alignment("repaired" if sure else "needs_review", round(least, 4), guided.boxes, al.letters, reason)


def realign(judge: Classifier, cleaned: CleanedName, al: Alignment) -> Alignment | None:
    """Model vetting's second chance (:func:`hwocr.pipeline.vet_results`): the
    transcription forced onto a name whose crops ``judge`` disputes, as a ``repaired``
    alignment sure enough to harvest (every letter at least ``guided_min_probability``
    and the harvest threshold, within ``guided_max_gap`` of the model's own reading)
    and different from ``al``; else None."""
    d = DEFAULTS
    try:
        guided = align_guided(judge, cleaned, al.letters)
    except HwocrError:
        return None
    if guided is None or len(guided.boxes) != len(al.letters) or tuple(guided.boxes) == tuple(al.boxes):
        return None
    least = min(guided.probabilities)
    if least < max(d.guided_min_probability, d.harvest_min_confidence) or guided.gap > d.guided_max_gap:
        return None
    return Alignment("repaired", round(least, 4), tuple(guided.boxes), al.letters,
                     f"{GUIDED_MARK}: the transcription forced onto the image by the character model "
                     f"(least sure letter p={least:.2f})")


def _median(values: list[float]) -> float:
    v = sorted(values)
    m = len(v)
    return 0.5 * (v[(m - 1) // 2] + v[m // 2])


def _scale_from(widths, letters: str) -> float:
    """The writer's typical letter width (log), from letters whose width says it best."""
    return _scale_from_logs([math.log(max(float(x), 1.0)) for x in widths], letters)


def _scale_from_logs(log_widths: list[float], letters: str) -> float:
    """:func:`_scale_from`, given the log of each width (at least 1)."""
    logs = [lw - log_width(ch) for lw, ch in zip(log_widths, letters) if ch not in NARROW_OR_WIDE]
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
    pieces, objects = _pieces_within(seg.boxes, w, h)
    if not pieces:
        return _failed(letters, "no handwriting found in the image")
    if len(pieces) > d.align_max_pieces:
        return _failed(letters, f"{len(pieces)} pieces: too many for a name")
    col = np.asarray(seg.col_profile)
    if col.shape != (w,):
        col = np.count_nonzero(ink, axis=0)
    col = col.astype(np.int64)

    # Ink of each piece, the writing's height, top and bottom, and drawn hyphens: small
    # flat strokes around mid-height. No letter looks like that, so they are dropped
    # whatever the transcription says (a space may be drawn as one). With one piece
    # per letter left, the cost of each letter being its piece (the fast path below).
    from hwocr import align_kernels  # here, not at the top: numba takes half a second to import

    table = letter_table(letters)
    inks_arr, text_h, dash_arr, costs_arr = align_kernels.layout_and_identity(
        np.array(pieces, np.int64), col, table, align_kernels.align_rules(d), _SQUARE
    )
    dash = dash_arr.tolist()
    n_dash = sum(dash)
    kept = [p for p, is_dash in zip(pieces, dash) if not is_dash] if n_dash else pieces
    n_pieces = len(pieces)

    head = f"{n_pieces} piece{'s' if n_pieces != 1 else ''} for {n} letter{'s' if n != 1 else ''}"
    if n_dash:
        head += f"; ignored {'a hyphen stroke' if n_dash == 1 else f'{n_dash} hyphen strokes'}"

    # The fast path: one piece per letter, every width plausible.
    if len(kept) == n:
        costs_list = costs_arr.tolist()
        worst = max(costs_list)
        if worst <= d.align_identity_max_cost:
            conf = 1.0 - d.align_identity_slope * max(0.0, worst - d.align_free_cost)
            out = tuple(o for o, is_dash in zip(objects, dash) if not is_dash) if n_dash else tuple(objects)
            return _finish(letters, out, costs_list, conf, head, [], [], identity=True)
    return _repair(letters, norm, ink, col, pieces, kept, dash, inks_arr.tolist(), table, text_h, head)


def _pieces_within(boxes, w: int, h: int) -> tuple[list[tuple[int, int, int, int]], list[Box]]:
    """The segmentation's pieces clipped to the image, empty ones dropped: as tuples, and
    as the Box of each (reused when a piece is a letter)."""
    pieces = []
    objects = []
    for b in boxes:
        a0, b0, a1, b1 = b.x0, b.y0, b.x1, b.y1
        if a0 < 0 or b0 < 0 or a1 > w or b1 > h:
            a0, b0, a1, b1 = min(max(a0, 0), w), min(max(b0, 0), h), min(max(a1, 0), w), min(max(b1, 0), h)
            b = Box(a0, b0, a1, b1)
        if a1 > a0 and b1 > b0:
            pieces.append((a0, b0, a1, b1))
            objects.append(b)
    return pieces, objects


def _repair(letters, norm, ink, col, pieces, kept, dash, inks, table, text_h, head) -> Alignment:
    """Everything the fast path does not take: the dynamic programme over boundaries
    (:func:`_place_letters`), then which letters were merged or split, and how sure the
    answer is."""
    d = DEFAULTS
    n = len(letters)
    w = ink.shape[1]
    n_dash = len(pieces) - len(kept)
    prior = np.ascontiguousarray(table[:, :4])
    kp = np.array(kept, np.int64).reshape(-1, 4)
    kinks = np.array([v for v, is_dash in zip(inks, dash) if not is_dash], float)
    dash_boxes = [p for p, is_dash in zip(pieces, dash) if is_dash]

    # The ink as a fresh 0/255 mask, the form stroke_width and column_extents take
    # without converting it.
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
    solution = _place_letters(letters, norm, binary, col, kp, kinks, prior, ink_cols, text_h)
    if isinstance(solution, str):
        return _failed(letters, f"{head}: {solution}")
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
            conf = min(conf, d.align_odd_piece_max_confidence)  # too small or too odd to be a whole letter
    else:
        # The base price of a cut steers the choice towards gaps; once a cut is the best
        # answer it is no evidence against it, so it does not lower the confidence.
        evidence = costs - np.where(kinds[np.array(chosen[1:])] == _CUT, d.align_cut_base, 0.0)
        conf = _confidence(evidence)
    return _finish(letters, out, costs, conf, head, merges, splits, identity=identity)


def _place_letters(letters, norm, binary, col, kp, kinks, prior, ink_cols, text_h):
    """The boundaries and :func:`_solve`'s answer for the letters over the kept pieces
    ``kp`` (k x 4), at the writer's scale guessed from the ink, then once more at the
    scale the answer implies when that differs; or why the letters cannot be placed
    (a string)."""
    d = DEFAULTS
    n = len(letters)
    kx0, ky0, kx1, ky1 = kp[:, 0], kp[:, 1], kp[:, 2], kp[:, 3]
    sw = stroke_width(binary)
    seps = gap_after(norm)
    mean_rel = sum(first_guess_width(ch) for ch in letters)
    log_scale = math.log(ink_cols / mean_rel)
    columns = _columns(binary, col)
    solution = None
    for _ in range(2):
        scale = math.exp(log_scale)
        fragment = (
            (kinks < d.align_fragment_ink * _median(kinks.tolist()))
            | (ky1 - ky0 < d.align_fragment_height * text_h)
            | (kx1 - kx0 < d.align_min_part_width * scale)
        )
        cut_min = d.align_cut_min_width if kx0.size < n else d.align_cut_min_width_surplus
        bounds = _boundaries(kx0, kx1, fragment, col, sw, scale, cut_min)
        if bounds["start"].size > d.align_max_boundaries:
            return f"too many places to cut ({bounds['start'].size})"
        found = _solve(bounds, columns, binary.shape, letters, prior, seps, log_scale, text_h, sw)
        if found is None:
            break
        solution = (bounds, found)
        new_scale = _scale_from(found[2], letters)
        if abs(new_scale - log_scale) < d.align_rescale_above:
            break
        log_scale = new_scale
    if solution is None:
        return f"cannot place {n} letters in them"
    return solution


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
    margin = max(2, round(d.align_min_part_width * scale))
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


def _solve(bounds, columns, shape, letters, prior, seps, log_scale, text_h, sw):
    """Cheapest choice of boundaries: (chosen boundary indices, cost per letter, width
    per letter, cost margin to the best answer of the other family: one piece per
    letter against any repair), or None when the letters cannot be placed.

    Every letter's cost of every span between two boundaries: its width against the
    letter's width prior at the writer's scale, its height, the gaps it merges, the cut
    or the separator closing it; then two programmes in one: F1 keeps to one piece per
    letter, F2 has deviated at least once (a merge or a cut). F2's best against F1's
    tells how sure a match is. (``align_kernels.solve_boundaries``.)
    """
    d = DEFAULTS
    n = len(letters)
    h, w = shape
    next_ink, prev_ink, top_ext, bottom_ext, cum_ink = columns
    from hwocr import align_kernels  # lazy: numba, half a second

    chosen, costs, widths, margin = align_kernels.solve_boundaries(
        bounds["start"], bounds["end"], bounds["kind"], bounds["cost"], bounds["skip"], bounds["width"],
        next_ink, prev_ink, top_ext, bottom_ext, cum_ink, h, w, prior, np.array([bool(seps[k]) for k in range(n)]),
        log_scale, text_h, sw, align_kernels.align_rules(d),
    )
    if not chosen.size:
        return None
    return chosen.tolist(), costs, widths, margin


def _letter_boxes(
    binary: np.ndarray, pieces: list[tuple[int, int, int, int]], edges: list[int], n: int
) -> list[Box] | None:
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
