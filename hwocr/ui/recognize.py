"""What the Recognize page does, without Streamlit: decode what was drawn or uploaded,
read it once per distinct input, lay the reading out for the page, and add a corrected
character's crop to the class folders.

A reading is identified by a key made of everything it depends on (the image's pixels,
the charset, the lexicon, the cleaning, the model version). The page keeps the last one
in session state and reads again only when the key changes, so clicking in the teach
form never re-runs the classifier; the key also names the reading's teach widgets and
remembers which of its characters were added, so none is added twice.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hwocr import namelm
from hwocr.charsets import folder_name
from hwocr.config import ALL_CLASSES, CHARSETS, LOWER
from hwocr.dataset import add_crop, crop_gray
from hwocr.errors import HwocrError, ImageError, InputError
from hwocr.images import load_gray
from hwocr.store import queries
from hwocr.workspace import CharRecord, Workspace

log = logging.getLogger(__name__)

#: The charset choices, as the page names them (widest first).
CHARSET_LABELS = {
    "all": "Everything (A–Z a–z 0–9)",
    "cased": "Capitals and small letters",
    "alnum": "Capitals and digits",
    "letters": "Capitals",
    "lower": "Small letters",
    "digits": "Digits",
}
#: What each charset reads, for the caption under the canvas.
CHARSET_READS = {
    "all": "capitals, small letters and digits, mixed as you write them",
    "cased": "capitals and small letters, in the case you write them",
    "alnum": "capitals and digits (a small letter is read as its capital)",
    "letters": "capitals (a small letter is read as its capital)",
    "lower": "small letters (a capital is read as its small letter)",
    "digits": "digits",
}
#: Charsets a model answers only if it has small-letter classes (62 classes, not 36).
NEEDS_LOWER = frozenset({"all", "cased", "lower"})
#: The charset a reading falls back to when the model lacks what was asked, widest first.
FALLBACKS = ("all", "alnum", "letters", "digits")
SOURCE_LABELS = {"draw": "Draw", "upload": "Upload an image"}
#: Whether an upload is cleaned as a name cut from a form: the option shown, and the
#: reader's ``clean`` (None: the form detector decides, hwocr.formdetect).
CLEAN_CHOICES = {"Auto": None, "Clean": True, "Don't clean": False}
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp"]

#: The drawing area, in CSS pixels: room for a word of big letters.
CANVAS_WIDTH = 960
CANVAS_HEIGHT = 300
STROKE_MIN, STROKE_MAX, STROKE_DEFAULT = 4, 30, 12
#: A pixel darker than this counts as ink when deciding whether there is anything to read.
INK_LEVEL = 160
#: At most this many distinct transcriptions from the workspace make the lexicon.
LEXICON_MAX_ENTRIES = 50_000
#: How many runner-up letters the table shows per character.
RUNNER_UPS = 3


# --- the charset ---------------------------------------------------------------------------


def knows_lower(labels: Iterable[str] | None) -> bool:
    """Whether a model with these class labels has small letters (a 62-class model)."""
    return labels is not None and any(label in LOWER for label in labels)


def serves(charset: str, labels: Iterable[str] | None) -> bool:
    """Whether a model with these labels can answer ``charset``: one without small
    letters (36 classes) answers no charset that keeps them. Unknown labels (no model
    yet): assume it can, the reading says what is wrong."""
    if labels is None:
        return True
    return charset not in NEEDS_LOWER or knows_lower(labels)


def default_charset(labels: Iterable[str] | None) -> str:
    """The page's starting charset for a model with these labels."""
    # People write lower case and digits mixed ("hello", "R2D2"), so the page reads
    # everything when the model knows small letters; the case of the shapes both cases
    # share (c/C, o/O, s/S, …) is then decided by the letter's height on the line
    # (hwocr.read), not by the classifier. A 36-class model reads capitals and digits.
    return "all" if knows_lower(labels) else "alnum"


def effective_charset(charset: str, labels: Iterable[str] | None) -> str:
    """``charset``, or the widest one the model serves when it cannot answer it (a
    36-class model asked for small letters reads ``alnum``)."""
    if serves(charset, labels):
        return charset
    labels = tuple(labels or ())
    return next(c for c in FALLBACKS if serves(c, labels))


def fallback_note(asked: str, used: str, n_classes: int) -> str | None:
    """The caption saying that ``used`` was read instead of ``asked``, or None."""
    if asked == used:
        return None
    return (f"The active model ({n_classes} classes) knows no small letters, so this reads "
            f"“{CHARSET_LABELS[used]}” instead of “{CHARSET_LABELS[asked]}”. "
            "Train or activate a 62-class model to read small letters.")


# --- the input ---------------------------------------------------------------------------


def decode(image) -> np.ndarray:
    """Anything :func:`hwocr.images.load_gray` reads, as gray uint8 with dark ink. Raises
    ImageError (one line) for a file that is not an image, is corrupt or too large."""
    gray = load_gray(image)
    if gray.ndim != 2 or gray.size == 0:
        raise ImageError("the image has no pixels")
    return gray


def has_ink(gray: np.ndarray) -> bool:
    """Whether anything is drawn: an empty or cleared canvas is all paper."""
    return gray.size > 0 and int(gray.min()) < INK_LEVEL


def parse_lexicon(text: str | None) -> tuple[str, ...]:
    """Entries typed one a line (commas also separate), blanks and duplicates dropped, in order."""
    seen: dict[str, None] = {}
    for line in (text or "").replace(",", "\n").splitlines():
        entry = line.strip()
        if entry and entry not in seen:
            seen[entry] = None
    return tuple(seen)


def workspace_transcriptions(ws: Workspace, *, limit: int = LEXICON_MAX_ENTRIES) -> tuple[str, ...]:
    """The distinct transcriptions of the workspace's names (rejected names left out),
    most frequent first."""
    return queries.transcriptions(ws, limit=limit)


def build_lexicon(workspace_entries: Iterable[str], typed: Iterable[str]):
    """A :class:`hwocr.read.Lexicon` of both lists, or None when they hold no usable entry."""
    from hwocr.read import Lexicon  # lazy: OpenCV

    lexicon = Lexicon.from_entries([*typed, *workspace_entries])
    return lexicon if len(lexicon) else None


# --- one reading ---------------------------------------------------------------------------


def reading_key(gray: np.ndarray, *, charset: str, clean: bool | None, lexicon_key: object, model_key: str) -> str:
    """Changes with anything a reading depends on; short, so it can name widgets."""
    digest = hashlib.sha1()
    digest.update(str(gray.shape).encode())
    digest.update(np.ascontiguousarray(gray).tobytes())
    digest.update(repr((charset, None if clean is None else bool(clean), lexicon_key, model_key)).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class ReadOutcome:
    """One reading of one input: the image as read (gray) and the Reading, or why not."""

    key: str
    gray: np.ndarray
    charset: str
    reading: object | None = None      # hwocr.read.Reading
    error: str | None = None


def names_lm(ws: Workspace):
    """The names model for the page's readings: the shipped one plus the workspace's
    transcriptions (rebuilt only when their number changes); the shipped one alone when
    the workspace cannot be read."""
    try:
        return namelm.for_workspace(ws)
    except (HwocrError, sqlite3.Error):
        log.exception("the workspace's transcriptions could not be added to the names model")
        return True


def read(recognizer, gray: np.ndarray, *, key: str, charset: str, lexicon=None, clean: bool | None = False,
         lm=True) -> ReadOutcome:
    """Read ``gray`` with the model. A problem with the input or the model comes back as
    ``error`` (one line for st.error), never as an exception. ``lm``: the names model
    (used under the letters charset only; see :func:`names_lm`)."""
    try:
        reading = recognizer.read(gray, charset=charset, lexicon=lexicon, clean=clean, lm=lm)
    except HwocrError as exc:
        return ReadOutcome(key, gray, charset, error=str(exc))
    except Exception as exc:  # a bug must not put a traceback on the page
        log.exception("reading failed")
        problem = f"the reader failed unexpectedly ({type(exc).__name__}); details are in the server's log"
        return ReadOutcome(key, gray, charset, error=problem)
    return ReadOutcome(key, gray, charset, reading=reading)


# --- what the page shows ---------------------------------------------------------------------


def cleaning_note(reading) -> str:
    """One line on whether the upload was cleaned as a name cut from a form, and why."""
    verdict = reading.clean_reason or ("cleaned" if reading.cleaned else "not cleaned")
    head = "Cleaned as a name cut from a form" if reading.cleaned else "Read as it is"
    return f"{head} — {verdict}."


@dataclass(frozen=True)
class SnapNote:
    """What the lexicon did to a one-line reading."""

    raw_text: str
    entry: str
    snapped: bool
    cost: float


def snap_note(reading) -> SnapNote | None:
    """The lexicon's verdict on a reading, or None without a lexicon (or several lines)."""
    match = reading.lexicon_match
    if match is None:
        return None
    return SnapNote(raw_text=reading.raw_text, entry=match.entry, snapped=match.snapped, cost=match.cost)


def overlay_chars(reading) -> list[tuple]:
    """(box, label, confidence) of each character, for :func:`hwocr.ui.render.reading_overlay`."""
    return [(c.box, c.label, c.confidence) for c in reading.chars]


def count_text(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def pct(p: float) -> str:
    if p >= 0.995:
        return f"{p * 100:.0f}%"
    if p >= 0.001:
        return f"{p * 100:.1f}%".replace(".0%", "%")
    return "<0.1%"


def char_option(index: int, char) -> str:
    """How a character is named in the teach form's selector."""
    return f"{index + 1} · {char.label} ({pct(char.confidence)})"


def char_table(reading, taught: Mapping[int, str] | None = None) -> pd.DataFrame:
    """One row per character: its number, letter, confidence, the runner-ups and what
    this tab added it to the dataset as."""
    taught = taught or {}
    rows = []
    for index, char in enumerate(reading.chars):
        others = [t for t in char.top if t[0] != char.label][:RUNNER_UPS]
        row = {"#": index + 1, "read": char.label, "confidence": float(char.confidence)}
        for rank, name in enumerate(("2nd", "3rd", "4th")[:RUNNER_UPS]):
            row[name] = f"{others[rank][0]} · {pct(others[rank][1])}" if rank < len(others) else ""
        row["added as"] = taught.get(index, "")
        rows.append(row)
    columns = ["#", "read", "confidence", *("2nd", "3rd", "4th")[:RUNNER_UPS], "added as"]
    return pd.DataFrame(rows, columns=columns)


def suggested_label(reading, index: int) -> str:
    """The label the teach form starts from: the lexicon entry's letter when the reading
    was snapped and the entry's letter sits in this very box, else what the model read."""
    char = reading.chars[index]
    match = reading.lexicon_match
    if match is not None and match.snapped:
        for forced in match.chars:
            if forced.box == char.box and valid_label(forced.label):
                return valid_label(forced.label)
    return valid_label(char.label) or char.label


def label_options(charset: str) -> list[str]:
    """The labels a crop can be added as: the charset's classes first, then the others
    (a digit read as a letter can still be filed under its digit)."""
    first = list(CHARSETS.get(charset, ALL_CLASSES))
    options = first + [c for c in ALL_CLASSES if c not in first]
    # Only the labels a crop can be filed under.
    return [c for c in options if valid_label(c) == c]


def valid_label(label: object) -> str | None:
    """``label`` as a class name (one letter A–Z or a–z, case kept, or one digit 0–9),
    or None."""
    text = str(label or "").strip()
    if text in ALL_CLASSES:
        return text
    return text.upper() if text.upper() in ALL_CLASSES else None


# --- teaching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Taught:
    """A crop added to the class folders from a reading."""

    record: CharRecord
    index: int
    read_as: str
    label: str

    @property
    def corrected(self) -> bool:
        return self.read_as != self.label


def char_crop(outcome: ReadOutcome, index: int) -> np.ndarray:
    """The character's box cut from the image as read (with the dataset's usual margin)."""
    return crop_gray(outcome.gray, outcome.reading.chars[index].box)


def teach(ws: Workspace, outcome: ReadOutcome, index: int, label: object, *, taught: Mapping[int, str],
          actor: str | None = None) -> Taught:
    """Add character ``index`` of the reading to the class folder of ``label`` (origin
    "canvas"). Raises InputError for a label that is not A–Z/0–9, a character that is
    not in the reading, or one this reading already added."""
    if outcome.reading is None:
        raise InputError("there is no reading to take a character from")
    chars = outcome.reading.chars
    if not 0 <= index < len(chars):
        raise InputError(f"character {index + 1} is not in the reading")
    clean_label = valid_label(label)
    if clean_label is None:
        raise InputError(f"{str(label)!r} is not a class: use one letter A–Z or a–z, or one digit 0–9")
    if index in taught:
        raise InputError(f"character {index + 1} was already added, as {taught[index]}")
    char = chars[index]
    note = f"recognize: read as {char.label} ({char.confidence:.3f}), box {char.box.to_list()}"
    record = add_crop(ws, char_crop(outcome, index), clean_label, origin="canvas", actor=actor, note=note)
    return Taught(record, index, char.label, clean_label)


def taught_message(done: Taught) -> str:
    where = f"dataset/{folder_name(done.label)}/"
    if done.corrected:
        return (f"Added character {done.index + 1} to {where} as {done.label} (the model read {done.read_as}). "
                "It is on the Dataset page now.")
    return f"Added character {done.index + 1} to {where} as {done.label}. It is on the Dataset page now."


def text_lines(text: str) -> Sequence[str]:
    """The lines of a reading's text, for showing each one large."""
    return text.split("\n") if text else []
