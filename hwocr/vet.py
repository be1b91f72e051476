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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hwocr.config import DEFAULTS, DIGITS
from hwocr.dataset import crop_gray
from hwocr.errors import HwocrError
from hwocr.review import ordinal

#: Starts the reason of a name that vetting sent to review (tests and benches count on it).
VET_MARK = "model-vetted"


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
    return not any({read, label} == set(pair) for pair in DEFAULTS.vet_confusable_pairs)


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


def readings_for(vet: str | None, boxes: Sequence) -> list[Reading | None]:
    """For each of ``boxes`` (labelled boxes as a person has them now), the model's
    stored reading of that very box with that label, or None (a box moved, added or
    relabelled since the model read it, or a name it never vetted): the Review page
    shows stored readings and never runs the model on a rerun."""
    _, readings = parse_vet(vet)
    by_box = {(r.box, r.label): r for r in readings}
    return [by_box.get((tuple(int(v) for v in b.box.to_list()), str(b.label or "").upper())) for b in boxes]
