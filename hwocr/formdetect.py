"""Is this image a name cut from a form? And is there any handwriting in it at all?

Reading (:mod:`hwocr.read`) cleans an image first when it is a name cut from a form:
the printed "NOM :" / "PRENOM :" label, the form lines and the ends of neighbouring rows
are otherwise read as letters. Whether it is one is decided from what the image looks
like, with the measurements the cleaning itself makes (:mod:`hwocr.preprocess`), so the
two cannot disagree about what a label or a form line is:

* **the pen**: a scanned form is written with a pen a few pixels wide; strokes wider
  than ``form_max_pen_width`` (:func:`hwocr.preprocess.stroke_width`) are a drawing (the
  Recognize page's canvas pen is 4 to 30 px), never a form;
* **the shape**: a form field is a long, low strip (``form_min_aspect``); an image of
  another shape is a form only when it holds a printed name label, and then it is a
  scan of the label (with or without a name after it), looked for as the cleaning looks
  for it, on the image padded with paper into a strip;
* **what the cleaning removes** (:func:`hwocr.preprocess.clean_name_image`): the printed
  label at the left, long horizontal form lines or vertical ones, printed text above or
  below the name, and ink of neighbouring rows cut by the top or bottom edge. A strip
  with none of these is read as it is (cleaning it would change nothing that matters).

The second question comes after the first: the ink that would be read may hold no
handwriting (blank paper; only the printed label, which the cleaning removed whole; a
strip cut through the letters, where nearly all the ink runs into the top or bottom
edge). Reading then gives an empty :class:`hwocr.read.Reading` with the reason instead
of a confident wrong name. A label scanned on its own can be too small for the cleaning
to find; its reading gives it away (:func:`printed_label_read`).

Pure functions of the gray image; every threshold is in :class:`hwocr.config.Defaults`
under "form detection".
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hwocr.config import DEFAULTS
from hwocr.preprocess import CleanedName, binarize, clean_name_image, stroke_width
from hwocr.text import edit_distance

NO_HANDWRITING = "no handwriting found in the image"

# What the cleaning removed that only a form has, as a person would name it.
_EVIDENCE = {
    "label": "the printed label at the left",
    "line": "form lines",
    "other_text": "printed text above or below the name",
    "border": "neighbouring rows cut by the edge",
}


@dataclass(frozen=True, eq=False)
class FormVerdict:
    """Whether an image is a name cut from a form (and so is cleaned before reading)."""

    is_form: bool
    reason: str
    """Why, in words: what was found, or what rules it out."""
    evidence: tuple[str, ...]
    """The form's parts found (keys of the cleaning's removed kinds: ``label``,
    ``line``, ``other_text``, ``border``); empty when not a form."""
    pen_width: float
    """Typical stroke width of the ink, in pixels (0 without ink)."""
    aspect: float
    """Width over height of the image."""
    ink: np.ndarray
    """0/255 ink to read: the cleaned handwriting of a form, else the binarized image."""
    cleaned: CleanedName | None = None
    """The cleaning's result when it was worked out (always, for a thin pen)."""

    def to_json(self) -> dict:
        return {"is_form": self.is_form, "reason": self.reason, "evidence": list(self.evidence),
                "pen_width": round(self.pen_width, 2), "aspect": round(self.aspect, 2)}


def detect_form(gray: np.ndarray) -> FormVerdict:
    """Decide whether a gray uint8 image (dark ink on light paper) is a name cut from
    a form. Never raises on odd input (an empty or blank image is not a form)."""
    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.size == 0:
        return FormVerdict(False, "no ink", (), 0.0, 0.0, np.zeros(gray.shape[:2], np.uint8))
    gray = np.ascontiguousarray(gray, np.uint8)
    d = DEFAULTS
    h, w = gray.shape
    aspect = w / h
    ink = binarize(gray)
    if not cv2.countNonZero(ink):
        return FormVerdict(False, "no ink", (), 0.0, aspect, ink)
    pen = stroke_width(ink)
    if pen > d.form_max_pen_width:
        return FormVerdict(False, f"not a form: strokes {pen:.0f} px wide are a drawing, not a scanned form",
                           (), pen, aspect, ink)
    if aspect < d.form_min_aspect:
        cleaned = clean_form(gray)
        if any(r.kind == "label" for r in cleaned.removed):
            return FormVerdict(True, f"a form's printed name label ({w}x{h} px, not a strip)", ("label",),
                               pen, aspect, cleaned.ink, cleaned)
        return FormVerdict(False, f"not a form: {w}x{h} px is not the long, low strip of a form field",
                           (), pen, aspect, ink, cleaned)
    cleaned = clean_name_image(gray)
    found = tuple(kind for kind in _EVIDENCE if any(_counts(r, kind, w) for r in cleaned.removed))
    if not found:
        return FormVerdict(False, "not a form: no printed label, form lines or neighbouring rows found",
                           (), pen, aspect, ink, cleaned)
    return FormVerdict(True, "a name cut from a form: " + ", ".join(_EVIDENCE[k] for k in found), found,
                       pen, aspect, cleaned.ink, cleaned)


def _counts(removed, kind: str, width: int) -> bool:
    """Whether a removed thing is evidence of ``kind``: a horizontal line only when it
    runs across much of the image (a word's underline stays short of that)."""
    if removed.kind != kind:
        return False
    if kind == "line":
        b = removed.box
        return b.height > b.width or b.width >= DEFAULTS.form_min_line_fraction * width
    return True


def clean_form(gray: np.ndarray) -> CleanedName:
    """:func:`hwocr.preprocess.clean_name_image`, and for an image narrower than a form
    strip, as the strip it may have been cut from: padded with its paper on the right
    (the cleaning finds a label's colon only in the left part of a strip), the result
    cut back to the image."""
    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.size == 0:
        return clean_name_image(gray)
    h, w = gray.shape
    target = int(np.ceil(DEFAULTS.form_label_pad_aspect * h))
    if w >= DEFAULTS.form_min_aspect * h or target <= w:
        return clean_name_image(gray)
    paper = int(np.percentile(gray, 90))
    padded = cv2.copyMakeBorder(gray, 0, 0, 0, target - w, cv2.BORDER_CONSTANT, value=paper)
    cleaned = clean_name_image(padded)
    removed = tuple(r for r in cleaned.removed if r.box.x0 < w)
    return CleanedName(gray=gray, ink=np.ascontiguousarray(cleaned.ink[:, :w]), removed=removed)


def no_handwriting(ink: np.ndarray, *, cleaned: bool, label: bool = False) -> str | None:
    """Why the ink to read holds no handwriting, or None when it may.

    Blank (nothing left: blank paper, or a form's label removed whole), or, for a
    cleaned form field, sliced: the image cuts through the letters, so most of the ink
    runs into the top or bottom edge and some into both (a name's own letters stand
    clear of the edges once the neighbouring rows are removed). ``label``: the
    cleaning removed a printed label (named in the reason when nothing is left)."""
    m = (np.asarray(ink) > 0).astype(np.uint8)
    if m.ndim != 2 or not cv2.countNonZero(m):
        return f"{NO_HANDWRITING}: only the printed label" if label else NO_HANDWRITING
    if not cleaned:
        return None
    h = m.shape[0]
    stats = cv2.connectedComponentsWithStats(m, connectivity=8)[2]
    top = stats[1:, cv2.CC_STAT_TOP]
    bottom = top + stats[1:, cv2.CC_STAT_HEIGHT]
    area = stats[1:, cv2.CC_STAT_AREA]
    at_top, at_bottom = top == 0, bottom == h
    share = float(area[at_top | at_bottom].sum()) / float(area.sum())
    if at_top.any() and at_bottom.any() and share >= DEFAULTS.form_sliced_share:
        return f"{NO_HANDWRITING}: the image ({h} px tall) cuts through the letters"
    return None


def _closest_stretch(word: str, line: str) -> tuple[int, int]:
    """How far ``word`` is from the closest stretch of ``line`` (edits), and how many
    letters of ``line`` lie outside that stretch (the fewest among equally close)."""
    return min(((edit_distance(word, line[i:j]), len(line) - (j - i)) for i in range(len(line))
                for j in range(i + 1, min(len(line), i + len(word) + 1) + 1)), default=(len(word), 0))


def printed_label_read(letters: str, ink: np.ndarray) -> str | None:
    """The reason to read nothing when ``letters``, read from ``ink`` written with a
    thin (scanner's) pen, is the form's printed label itself, else None: the stretch of
    a line closest to a label word is within ``form_label_max_edits`` of it ("PRENOM :" read as
    PRENOMI, BRENOM, FIRENOMI, TRENOMM) with no more than ``form_label_extra_letters``
    other letters on that line or on any other (the edge of the row above or of the
    label's frame read as a letter or two: VO / PRENOM / R). A drawing's thick strokes
    never count: a person may write PRENOM on the canvas. ``letters``: the reading's
    letters, its lines separated by newlines."""
    d = DEFAULTS
    lines = [line for line in letters.upper().split("\n") if line]
    longest = max(map(len, d.form_label_words)) + d.form_label_max_edits + d.form_label_extra_letters
    if not lines or any(len(line) > longest for line in lines):
        return None
    matched = [k for k, line in enumerate(lines) for word in d.form_label_words
               for edits, around in [_closest_stretch(word, line)]
               if edits <= d.form_label_max_edits and around <= d.form_label_extra_letters]
    if not matched or any(len(line) > d.form_label_extra_letters for k, line in enumerate(lines) if k != matched[0]):
        return None
    if stroke_width(ink) > d.form_max_pen_width:
        return None
    return f"{NO_HANDWRITING}: only the printed label"
