"""Classifier-guided alignment: a name's transcription forced onto its image with a
character classifier as the judge, on the candidate-cut lattice of :mod:`hwocr.lattice`.

Part of the align stage (:func:`hwocr.align.align`): the geometric aligner answers
first; a name it leaves to a person, or repairs too unsurely to harvest, is forced
here, exactly one lattice segment per letter, scored by that letter's probability, and
compared with the classifier's own free reading of the same lattice (how much worse the
transcription explains the image). :mod:`hwocr.align` decides from that whether the
guided answer replaces the geometric one.

The judge is anything with the :class:`hwocr.classifier.Classifier` protocol (the
import passes its workspace's :class:`hwocr.recognize.Recognizer`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwocr.boxes import Box
from hwocr.classifier import Classifier
from hwocr.config import DEFAULTS
from hwocr.cut import cut_ink
from hwocr.lattice import (
    build_lattice,
    classify_exactly,
    classify_lattices,
    compiled_segment_glyphs,
    free_path,
    line_ink_strength,
    solve_forced,
)
from hwocr.preprocess import CleanedName
from hwocr.widths import GUIDED_TWO_MODES_FIRST_GUESS, GUIDED_UNLISTED_FIRST_GUESS, first_guess_width


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
    cols = int(np.count_nonzero(cutting.ink[line.box.y0 : line.box.y1].any(axis=0)))
    rel = sum(first_guess_width(ch, two_modes=GUIDED_TWO_MODES_FIRST_GUESS, unlisted=GUIDED_UNLISTED_FIRST_GUESS)
              for ch in letters)
    scale = max(2.0, cols / max(rel, 0.5))
    lat = build_lattice(cutting, line, scale=scale, cut_wide=DEFAULTS.read_cut_wide_forced)
    if lat.bounds - 1 + 0 < 1:
        return None
    classify_lattices(rec, cutting, [lat], charset, resolution=DEFAULTS.guided_glyph_resolution or None)
    path, _, table = solve_forced(lat, labels, mask, scale, ids)
    free = free_path(lat, table) if path is not None else None
    # With compiled copies, the segments the answer reads (forced and free) are made
    # exactly and the answer found again, until it reads only exact glyphs: its boxes,
    # probabilities and gap are then what the exact lattice gives wherever it would
    # take the same paths.
    while path is not None and classify_exactly(rec, lat, (*path.segments, *(free.segments if free else ())),
                                                charset):
        path, _, table = solve_forced(lat, labels, mask, scale, ids)
        free = free_path(lat, table) if path is not None else None
    if path is None:
        return None
    probs = tuple(float(lat.probs[s, c]) for s, c in zip(path.segments, path.classes))
    readings = tuple(labels[int(np.argmax(lat.probs[s]))] for s in path.segments)
    free_text = "".join(labels[c] for c in free.classes) if free is not None else ""
    return GuidedAlignment(
        boxes=tuple(lat.seg_box[s] for s in path.segments), letters=letters, probabilities=probs,
        readings=readings, score=path.score, free_score=free.score if free is not None else path.score,
        free_text=free_text,
    )


def warm_up_glyphs(cleaned: CleanedName) -> None:
    """Make the compiled kernel of guided repair's lattice glyphs ready in this process
    (loaded from numba's cache, or compiled the first time after an install), on one
    cleaned name and without a model: :func:`hwocr.align.warm_up` calls it, so that
    segmentation's workers do not each compile it on their first guided name."""
    if not DEFAULTS.guided_glyph_resolution:
        return
    cutting = cut_ink(cleaned.gray, cleaned.ink, cleaned=True, single_line=True)
    for line in cutting.lines[:1]:
        strength = line_ink_strength(cutting, line)
        if strength is not None:
            lat = build_lattice(cutting, line, cut_wide=DEFAULTS.read_cut_wide_forced)
            compiled_segment_glyphs(lat, strength, DEFAULTS.guided_glyph_resolution)
