"""Model-vetted harvest: the character model checks each crop of an auto-accepted name
before it goes into a class folder.

Segmentation accepts a name when its pieces line up with the transcription's letters,
but a piece can line up and still hold another letter (a C filed under P, an arch
under D, an M under N). The active model reads every crop of such a name, batched over
a whole chunk of names; a name with a crop the model strongly disputes — its own label
improbable and another letter likely — goes to the review queue instead, with a reason
a person can act on ("the model reads the 3rd letter as M (0.93), not N (0.01)").

Names a person accepted are never vetted: segmentation does not touch them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hwocr.boxes import Box
from hwocr.config import DEFAULTS, DIGITS
from hwocr.dataset import crop_gray
from hwocr.errors import HwocrError
from hwocr.review import ordinal

#: Starts the reason of a name that vetting sent to review (tests and benches count on it).
VET_MARK = "model-vetted"
#: Ends the reason of a repair below the harvest bar that vetting let through.
VET_CONFIRMED = "model-vetted repair: the model disputes none of its letters"
_CONFIRMED = re.compile(re.escape(VET_CONFIRMED) + r" \(repair confidence ([0-9]+(?:\.[0-9]+)?)")


def confirmed_reason(reason: str | None, confidence: float) -> str:
    """The reason stored for an unsure repair (its own ``reason``, geometric
    ``confidence``) that vetting files: :func:`confirmed_repair` reads it back."""
    filed = f"{VET_CONFIRMED} (repair confidence {confidence:.2f}, harvested at {DEFAULTS.harvest_min_confidence})"
    return f"{reason}; {filed}" if reason else filed


def confirmed_repair(reason: str | None) -> float | None:
    """The geometric confidence of an unsure repair that vetting filed (read from the
    reason segmentation stored), or None for any other name."""
    match = _CONFIRMED.search(reason or "")
    return float(match.group(1)) if match else None


@dataclass(frozen=True)
class Reading:
    """What the model sees in one box: its best letter and probability, and the
    probability of the box's own label."""

    box: tuple[int, int, int, int]
    label: str
    read: str
    p_read: float
    p_label: float

    def to_json(self) -> list:
        return [list(self.box), self.label, self.read, round(self.p_read, 4), round(self.p_label, 4)]

    @classmethod
    def from_json(cls, item: Sequence) -> Reading:
        box, label, read, p_read, p_label = item
        return cls(tuple(int(v) for v in box), str(label), str(read), float(p_read), float(p_label))


@dataclass(frozen=True)
class Verdict:
    """The model's word on one name: its readings of every box, and the boxes it
    disputes (0-based), with the reason in words when there is any."""

    readings: tuple[Reading, ...]
    disputed: tuple[int, ...]

    @property
    def reason(self) -> str | None:
        if not self.disputed:
            return None
        parts = [f"the {ordinal(i + 1)} letter as {r.read} ({r.p_read:.2f}), not {r.label} ({r.p_label:.2f})"
                 for i in self.disputed for r in (self.readings[i],)]
        return f"{VET_MARK}: the model reads " + "; ".join(parts)

    def to_json(self) -> str:
        return json.dumps({"reason": self.reason, "readings": [r.to_json() for r in self.readings]},
                          separators=(",", ":"))


def parse_vet(text: str | None) -> tuple[str | None, tuple[Reading, ...]]:
    """The stored ``names.vet`` column: (reason or None, readings); empty when absent or unreadable."""
    if not text:
        return None, ()
    try:
        data = json.loads(text)
        return data.get("reason"), tuple(Reading.from_json(item) for item in data.get("readings") or ())
    except (ValueError, TypeError, KeyError):
        return None, ()


def split_reason(reason: str | None, vet: str | None) -> tuple[str | None, str]:
    """A reviewed name's stored ``reason`` split into what model vetting said (its
    words after the mark, or None) and the rest (what segmentation said), so a page
    shows each once."""
    vet_reason, _ = parse_vet(vet)
    rest = reason or ""
    if vet_reason and rest.startswith(vet_reason):
        rest = rest[len(vet_reason):].lstrip("; ")
    return (vet_reason.split(": ", 1)[-1] if vet_reason else None), rest


def charset_for(letters: str) -> str:
    """Capitals among capitals, as names are read; digits join in when the name has any."""
    return "alnum" if any(c in DIGITS for c in letters) else "letters"


def disputes(p_label: float, p_read: float, read: str, label: str,
             max_label: float | None = None, min_other: float | None = None) -> bool:
    """Whether the model strongly disputes a crop labelled ``label``: its own label below
    ``max_label`` and another letter at least ``min_other``."""
    max_label = DEFAULTS.vet_max_label_probability if max_label is None else max_label
    min_other = DEFAULTS.vet_min_other_probability if min_other is None else min_other
    if read == label or p_label >= max_label or p_read < min_other:
        return False
    return not excused(label, read)


def excused(label: str, read: str) -> bool:
    """Whether a crop labelled ``label`` and read as ``read`` is no dispute whatever the
    probabilities: a pair the model confuses on good crops (either way), or a letter
    whose diacritic the transcription dropped read as the letter it then looks like
    (``vet_diacritic_readings``: a Ç read as G, an Ï as Y; that way only)."""
    return (any({read, label} == set(pair) for pair in DEFAULTS.vet_confusable_pairs)
            or label + read in DEFAULTS.vet_diacritic_readings)


def name_glyphs(gray: np.ndarray, boxes: Sequence, letters: str) -> np.ndarray | None:
    """The name's crops exactly as harvest cuts them (:func:`hwocr.dataset.crop_gray`),
    prepared for the model; None when one cannot be (no ink: nothing to judge)."""
    from hwocr.glyph import prepare_batch  # lazy: OpenCV

    try:
        return prepare_batch([crop_gray(gray, box) for box in boxes])
    except HwocrError:
        return None


def vet_batch(rec, names: Sequence[tuple[np.ndarray, Sequence, str]],
              max_label: float | None = None, min_other: float | None = None) -> list[Verdict | None]:
    """Verdicts for many names ``(glyphs, boxes, letters)``, their glyphs classified in
    one call per charset (segmentation's workers hold the model's 8-bit copy: the same
    decisions as the float model on every crop of the dev names, at a third of the
    cost); None for a name without glyphs."""
    out: list[Verdict | None] = [None] * len(names)
    for charset in ("letters", "alnum"):
        todo = [i for i, (g, _, letters) in enumerate(names) if g is not None and len(g)
                and charset_for(letters) == charset]
        if not todo:
            continue
        probs = rec.probabilities(np.concatenate([names[i][0] for i in todo]), charset)
        index = {c: k for k, c in enumerate(rec.labels)}
        row = 0
        for i in todo:
            _, boxes, letters = names[i]
            readings = []
            for box, label in zip(boxes, letters):
                p = probs[row]
                row += 1
                best = int(np.argmax(p))
                k = index.get(label)
                readings.append(Reading(tuple(int(v) for v in box.to_list()), label, rec.labels[best],
                                        float(p[best]), float(p[k]) if k is not None else 0.0))
            disputed = tuple(j for j, r in enumerate(readings)
                             if disputes(r.p_label, r.p_read, r.read, r.label, max_label, min_other))
            out[i] = Verdict(tuple(readings), disputed)
    return out


def screen_glyphs(names: Sequence[tuple[np.ndarray, Sequence]],
                  resolution: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cheap copies of the glyphs of every crop of ``names`` (gray image, boxes), in
    order, made in one compiled call (:mod:`hwocr.vet_kernels`): float32 ``(N, S, S, 1)``
    and bool ``(N,)``, whether each copy was made (not when the crop holds no ink, or is
    one the copy leaves to the exact path). ``resolution``: of the stroke work, in
    multiples of the glyph's (default ``DEFAULTS.vet_screen_resolution``)."""
    import cv2  # lazy: OpenCV

    from hwocr import vet_kernels as k  # lazy: numba
    from hwocr.kernel_tools import rules_from

    size, ink_box = DEFAULTS.model_input_size, DEFAULTS.model_ink_box
    sub = float(DEFAULTS.vet_screen_resolution if resolution is None else resolution)
    # An image that is not 2-D 8-bit gray gets no copies (its crops go the exact way).
    usable = [isinstance(gray, np.ndarray) and gray.ndim == 2 and gray.dtype == np.uint8 for gray, _ in names]
    grays = [np.ascontiguousarray(gray) if ok else np.zeros((0, 0), np.uint8) for (gray, _), ok in zip(names, usable)]
    shapes = np.array([g.shape for g in grays], np.int64).reshape(-1, 2)
    offsets = np.zeros(len(grays), np.int64)
    np.cumsum(shapes[:-1, 0] * shapes[:-1, 1], out=offsets[1:])
    crops = np.array([(i, b.x0, b.y0, b.x1, b.y1) for i, (_, boxes) in enumerate(names) for b in boxes],
                     np.int64).reshape(-1, 5)
    if not len(crops):
        return np.zeros((0, size, size, 1), np.float32), np.zeros(0, bool)
    # crop_gray's margin, clipped to the image as Box.pad clips it.
    m = DEFAULTS.crop_margin
    w, h = shapes[crops[:, 0], 1], shapes[crops[:, 0], 0]  # 0 x 0 where unusable: empty crops
    crops[:, 1] = np.clip(crops[:, 1] - m, 0, w)
    crops[:, 2] = np.clip(crops[:, 2] - m, 0, h)
    crops[:, 3] = np.maximum(crops[:, 1], np.minimum(crops[:, 3] + m, w))
    crops[:, 4] = np.maximum(crops[:, 2], np.minimum(crops[:, 4] + m, h))
    rules = rules_from(k.GlyphRules, DEFAULTS)
    blur = cv2.getGaussianKernel(3, 0.6, cv2.CV_32F).ravel()
    glyphs, status = k.screen_glyphs(np.concatenate([g.ravel() for g in grays]), offsets, shapes, crops,
                                     size, ink_box, sub, rules, blur, k.ellipse_spans(int(2 * ink_box * sub) + 1))
    return glyphs[..., None], status == k.OK


def warm_up_screen() -> float:
    """Make the compiled kernel of the cheap copies ready in this process: load it from
    numba's on-disk cache, or compile and cache it the first time after an install or an
    update (about 30 s). :func:`hwocr.pipeline.segment_workspace` calls it once before
    its workers start, so that they load it instead of each compiling it at the same
    time. Returns the seconds it took."""
    start = time.perf_counter()
    gray = np.full((36, 60), 235, np.uint8)
    gray[8:28, 20:24] = 40  # one dark stroke: a crop with ink, so every stage runs
    screen_glyphs([(gray, [Box(14, 4, 30, 32)])])
    return time.perf_counter() - start


class Screened(NamedTuple):
    """The first stage of :func:`vet_screened` on a list of names, crop after crop:
    whether each is doubtful, the label's probability on its cheap copy (0.0 where no
    copy was made), and where each name's crops start (one more entry than names)."""

    doubtful: np.ndarray
    p_label: np.ndarray
    starts: np.ndarray


def screen(rec, names: Sequence[tuple[np.ndarray, Sequence, str]], min_label: float | None = None,
           resolution: float | None = None) -> Screened:
    """The first stage of :func:`vet_screened` for names ``(gray, boxes, letters)``: the
    model reads cheap copies of all their crops (:func:`screen_glyphs`), in one call per
    charset; a crop is doubtful when the model gives its label less than ``min_label``
    on the copy (default ``DEFAULTS.vet_screen_min_label_probability``), or no copy
    could be made."""
    min_label = DEFAULTS.vet_screen_min_label_probability if min_label is None else min_label
    glyphs, made = screen_glyphs([(gray, boxes) for gray, boxes, _ in names], resolution)
    counts = [len(boxes) for _, boxes, _ in names]
    if any(len(letters) != n for (_, _, letters), n in zip(names, counts)):
        raise ValueError("a name's letters must label each of its boxes")
    starts = np.zeros(len(names) + 1, np.int64)
    np.cumsum(counts, out=starts[1:])
    index = {c: k for k, c in enumerate(rec.labels)}
    cols = np.array([index.get(c, -1) for _, _, letters in names for c in letters], np.int64)
    alnum = np.repeat([charset_for(letters) == "alnum" for _, _, letters in names], counts)
    p_label = np.zeros(len(glyphs), np.float32)
    for charset, wanted in (("letters", False), ("alnum", True)):
        rows = np.flatnonzero(made & (alnum == wanted) & (cols >= 0))
        if len(rows):
            probs = rec.probabilities(glyphs[rows], charset)
            p_label[rows] = probs[np.arange(len(rows)), cols[rows]]
    return Screened(~made | (p_label < min_label), p_label, starts)


def vet_screened(rec, names: Sequence[tuple[np.ndarray, Sequence, str]], max_label: float | None = None,
                 min_other: float | None = None, min_screen: float | None = None) -> list[Verdict | None]:
    """The decisions of :func:`vet_batch` for names ``(gray, boxes, letters)``, made in
    two stages.

    1. :func:`screen`: the model reads a cheap copy of every crop, all in one call per
       charset; most crops it reads surely as their label: those are not disputed.
    2. The doubtful crops are made exactly (:func:`name_glyphs`' glyphs, what training
       saw) and read, again in one call per charset.
    3. A name with a crop that the exact reading disputes is vetted wholly the exact way
       (:func:`vet_batch` on :func:`name_glyphs`): its verdict is the one exact vetting
       gives, every reading, dispute and None (a crop with no ink) included.

    Any other name gets ``Verdict((), ())``: not disputed, and no readings (the model
    read cheap copies; only a disputed name's readings are ever stored), or None where a
    doubtful crop holds no ink by the exact path, as in exact vetting. So a crop is
    disputed only where exact vetting disputes it; what the screen can cost is a miss,
    a crop that exact vetting would dispute and whose copy the model reads surely as its
    label (none on the dev names: bench/vet_screen.py)."""
    from hwocr.glyph import prepare_glyph  # lazy: OpenCV

    first = screen(rec, names, min_screen)
    out: list[Verdict | None] = [None] * len(names)
    doubtful = np.flatnonzero(first.doubtful)
    owners = np.searchsorted(first.starts, doubtful, side="right") - 1
    picked: dict[int, list[int]] = {}
    for owner, crop in zip(owners.tolist(), doubtful.tolist()):
        picked.setdefault(owner, []).append(crop - int(first.starts[owner]))
    cleared = Verdict((), ())
    todo = []  # (name, exact glyphs of its doubtful crops, their indices)
    for i, (gray, boxes, _) in enumerate(names):
        crops = picked.get(i)
        if crops is None:
            out[i] = cleared if len(boxes) else None  # no crops: nothing to judge, as in vet_batch
            continue
        try:
            glyphs = np.stack([prepare_glyph(crop_gray(gray, boxes[j])) for j in crops])[..., None]
        except HwocrError:
            continue  # a crop with no ink: nothing to judge, as name_glyphs says
        todo.append((i, glyphs, crops))
    partial = vet_batch(rec, [(glyphs, [names[i][1][j] for j in crops], "".join(names[i][2][j] for j in crops))
                              for i, glyphs, crops in todo], max_label, min_other)
    suspects = []
    for (i, glyphs, crops), verdict in zip(todo, partial):
        if not verdict.disputed:
            out[i] = cleared
            continue
        # The rest of the name's crops made exactly too (name_glyphs' glyphs, those made
        # already reused: each crop's glyph is prepare_glyph of that crop alone).
        gray, boxes, _ = names[i]
        made = dict(zip(crops, glyphs))
        try:
            whole = np.stack([made[j] if j in made else prepare_glyph(crop_gray(gray, box))[..., None]
                              for j, box in enumerate(boxes)])
        except HwocrError:
            continue
        suspects.append((i, whole))
    exact = vet_batch(rec, [(whole, names[i][1], names[i][2]) for i, whole in suspects], max_label, min_other)
    for (i, _), verdict in zip(suspects, exact):
        out[i] = verdict
    return out


def readings_for(vet: str | None, boxes: Sequence) -> list[Reading | None]:
    """For each of ``boxes`` (labelled boxes as a person has them now), the model's
    stored reading of that very box with that label, or None (a box moved, added or
    relabelled since the model read it, or a name it never vetted): the Review page
    shows stored readings and never runs the model on a rerun."""
    _, readings = parse_vet(vet)
    by_box = {(r.box, r.label): r for r in readings}
    return [by_box.get((tuple(int(v) for v in b.box.to_list()), str(b.label or "").upper())) for b in boxes]
