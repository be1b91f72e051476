"""What a character's neighbours in a line say about it: its case and its kind.

The classifier sees each character alone, prepared to the same size, so a small ``o``
and a capital ``O`` are the same picture, and a ``2`` can be a ``Z``. The line knows
better:

* **case from geometry**: the letters whose capital and small forms share one shape
  (c o s u v w x z, and p y whose small forms hang below the line) take their case from
  how far they rise above the line's baseline, against the line's x-height (measured on
  letters that are small whatever their shape: a e m n r) and cap height (capitals of
  their own shape, digits, ascenders b d f h k l t). ``k`` is left to the classifier: a
  small k is as tall as a capital. Where the line gives a measure, a e m n r take their
  case from their height too: their two forms differ in shape, but a hand that writes a
  small e like an E still writes it at x-height.
* **digits stand tall**: a digit is written as tall as a capital, so one that stands no
  taller than the line's small letters is a letter (sy5tem, sn0w): part of case from
  geometry.
* **letters and digits**: a word is mostly runs of one kind; a small price for
  switching kind between neighbours (a prior over runs, solved by Viterbi over the two
  kinds) turns a ``Z`` between digits into a ``2`` and a ``0`` between letters into an
  ``O`` when the classifier found both nearly as likely, and leaves a confident answer
  alone.

Both work on a line's characters after the reading has chosen its segments; each
character's full probability row (over the model's labels, within the charset) comes
with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from statistics import median
from typing import Protocol

import numpy as np

from hwocr.boxes import Box
from hwocr.charsets import SAME_SHAPE
from hwocr.config import DEFAULTS


class ReadChar(Protocol):
    """What this module needs of a character read (hwocr.read.ReadChar, a frozen
    dataclass: the functions return copies made with dataclasses.replace)."""

    box: Box
    label: str
    confidence: float
    top: tuple[tuple[str, float], ...]

#: Same-shape letters whose case their height decides (k is not among them: see above).
CASE_BY_HEIGHT = frozenset("cosuvwxzpy")
#: Small letters of x-height whatever their shape: the x-height's witnesses.
X_HEIGHT_LETTERS = frozenset("aemnr")
#: Small letters that rise to about the cap height.
ASCENDERS = frozenset("bdfhklt")
#: Letters whose small form hangs below the baseline: not the baseline's witnesses.
DESCENDERS = frozenset("gjpqy")
#: A line's cap height and x-height are two measures only when the first is this many
#: times the second; closer, they are one height read twice.
CAP_OVER_X_HEIGHT = 1.15


def _rise(char: ReadChar, baseline: float) -> float:
    return baseline - char.box.y0


def _descends(char: ReadChar, baseline: float) -> bool:
    """Whether a character's ink hangs below the baseline as a small p or y does."""
    return char.box.y1 - baseline > DEFAULTS.read_case_descent * max(char.box.height, 1)


def line_metrics(chars: Sequence[ReadChar]) -> tuple[float | None, float | None, float | None]:
    """``(baseline, x_height, cap_height)`` of a line from its characters' boxes
    (image rows, y down); x-height or cap height None when no character witnesses it."""
    bottoms = [c.box.y1 for c in chars if c.label.lower() not in DESCENDERS]
    if not bottoms:
        return None, None, None
    baseline = float(median(bottoms))
    small = [_rise(c, baseline) for c in chars if c.label in X_HEIGHT_LETTERS]
    # Capitals A E M N R witness the cap height only when nothing else does: their case
    # is itself decided by height (case_from_geometry), and an e written like an E at
    # x-height must not pull the cap height down to its own.
    tall = [_rise(c, baseline) for c in chars
            if c.label in ASCENDERS or c.label.isdigit()
            or (c.label.isupper() and c.label.lower() not in CASE_BY_HEIGHT | X_HEIGHT_LETTERS)]
    tall = tall or [_rise(c, baseline) for c in chars if c.label.isupper() and c.label.lower() in X_HEIGHT_LETTERS]
    return baseline, (float(median(small)) if small else None), (float(median(tall)) if tall else None)


def case_threshold(chars: Sequence[ReadChar], baseline: float, x_height: float | None,
                   cap_height: float | None) -> float | None:
    """How far above the baseline a same-shape letter must rise to be a capital, or None
    when the line cannot tell (every letter the same height, no witness)."""
    d = DEFAULTS
    if x_height and cap_height and cap_height > CAP_OVER_X_HEIGHT * x_height:
        return math.exp((1 - d.read_case_blend) * math.log(x_height) + d.read_case_blend * math.log(cap_height))
    if x_height:
        return d.read_case_over_x_height * x_height
    if cap_height:
        return d.read_case_of_cap_height * cap_height
    # Only same-shape letters: capitals stand out only if some are clearly taller.
    rises = [_rise(c, baseline) for c in chars if c.label.lower() in CASE_BY_HEIGHT]
    if len(rises) >= 2 and min(rises) < d.read_case_of_cap_height * max(rises):
        return d.read_case_of_cap_height * max(rises)
    return None


def case_from_geometry(chars: Sequence[ReadChar], rows: Sequence[np.ndarray], labels: Sequence[str],
                       mask: np.ndarray) -> list[ReadChar]:
    """``chars`` with the case of each same-shape letter decided by its height in the
    line (where the charset allows both cases; one case for all of them when the line
    has no other letter to measure against and they are all about as tall). The
    confidence becomes the probability of the letter in either case: the classifier
    chose the shape, the line the case.

    Where the line's x-height or cap height is measured, so are a e m n r, whose two
    forms differ in shape but whose small form is x-height tall: an E-shaped e at
    x-height (some hands write e as a small E or epsilon, r as a small R) is an e, an
    ``a`` standing as tall as the capitals an A. (On bench/drawn_words.py: seed 1, where
    it was tried, 62.5% -> 64.8% words exact; seed 0 62.1% -> 63.1%.)"""
    index = {c: i for i, c in enumerate(labels)}
    chars = short_digits_are_letters(chars, rows, labels, mask)
    out = list(chars)
    baseline, x_height, cap_height = line_metrics(chars)
    if baseline is None:
        return out
    if x_height is not None:
        out = _bars_are_small(out, rows, index, mask)
    threshold = case_threshold(chars, baseline, x_height, cap_height)
    # With a measured threshold, a e m n r take their case from their height too.
    by_height = CASE_BY_HEIGHT if threshold is None else CASE_BY_HEIGHT | X_HEIGHT_LETTERS
    both_ok = [k for k, c in enumerate(chars) if c.label.lower() in by_height
               and c.label.lower() in index and c.label.upper() in index
               and mask[index[c.label.lower()]] and mask[index[c.label.upper()]]]
    hangs = {k: _descends(chars[k], baseline) for k in both_ok if chars[k].label.lower() in DESCENDERS}
    if threshold is None:
        # Same-shape letters only, all about as tall: it is one case for all of them
        # ("CUP" or "cup", never "cuP"): the one a p or y says by hanging below the line
        # or not, else the one the classifier finds likelier over the whole line.
        if len(both_ok) < 2:
            return out
        if hangs:
            capital = 2 * sum(hangs.values()) < len(hangs)
        else:
            votes = sum(math.log(max(float(rows[k][index[chars[k].label.upper()]]), 1e-6))
                        - math.log(max(float(rows[k][index[chars[k].label.lower()]]), 1e-6)) for k in both_ok)
            capital = votes > 0
    for k in both_ok:
        char, row = chars[k], rows[k]
        lo, up = char.label.lower(), char.label.upper()
        if threshold is None:
            label = up if capital else lo
        elif k in hangs:
            label = lo if hangs[k] else up
        else:
            label = up if _rise(char, baseline) > threshold else lo
        both = float(row[index[lo]] + row[index[up]])
        top = ((label, both), *((c, p) for c, p in char.top if c not in (lo, up)))
        out[k] = replace(char, label=label, confidence=both, top=top[:len(char.top)])
    if x_height is None and line_metrics(out)[1] is not None:
        # The line's small letters showed themselves only by their height (OLiviA: the
        # a was read as a capital until now): its bars are small letters too (Olivia).
        out = _bars_are_small(out, rows, index, mask)
    return out


def _bars_are_small(chars: list[ReadChar], rows: Sequence[np.ndarray], index: dict[str, int],
                    mask: np.ndarray) -> list[ReadChar]:
    """In a line of small letters, a bar read as I is an l (a capital I is as tall:
    height cannot tell them apart), and so is an L (an l whose stroke ends in a curl
    reads as an L: "heLLo", "styLe"); the first letter of a line stays the
    classifier's (Ian, Lyon, lemon)."""
    out = list(chars)
    if "l" not in index or not mask[index["l"]]:
        return out
    for k in range(1, len(out)):
        capital = out[k].label
        if capital in ("I", "L") and capital in index and mask[index[capital]]:
            both = float(rows[k][index["l"]] + rows[k][index[capital]])
            out[k] = replace(out[k], label="l", confidence=both)
    return out


def short_digits_are_letters(chars: Sequence[ReadChar], rows: Sequence[np.ndarray], labels: Sequence[str],
                             mask: np.ndarray) -> list[ReadChar]:
    """``chars`` with every digit that stands no taller than the line's small letters
    read as its likeliest letter instead: a digit is written as tall as a capital, so
    a 5 at x-height in a word of small letters is an s, a 0 there an o, a 2 a z
    (sy5tem, sn0w, 2est). Only in a line whose letters measure an x-height (a e m n r),
    against a threshold from its letters alone (the digits in question would pull the
    cap height down), where two small letters witness the x-height or taller letters
    stand clearly above it; the letter's case is the line's business afterwards
    (:func:`case_from_geometry`). Digits as tall as capitals (mp3, 12cm, 9am) stay."""
    out = list(chars)
    # A letter as short as the small letters is a small letter (a capital of the same
    # shape too, and its case is settled afterwards by the same height).
    small = mask & np.array([c.islower() for c in labels])
    letters_ok = small if small.any() else mask & np.array([c.isalpha() for c in labels])
    digits = [k for k, c in enumerate(chars) if c.label.isdigit()]
    if not digits or not letters_ok.any():
        return out
    letters = [c for c in chars if not c.label.isdigit()]
    baseline, x_height, cap_height = line_metrics(letters)
    if baseline is None or x_height is None:
        return out
    # The x-height must be real: two small letters witness it, or taller letters stand
    # clearly above it. One "small" letter alone may be a capital read as small (A4
    # read a4), and then the digit beside it is as tall as it.
    witnesses = sum(c.label in X_HEIGHT_LETTERS for c in letters)
    if witnesses < 2 and not (cap_height and cap_height > CAP_OVER_X_HEIGHT * x_height):
        return out
    threshold = case_threshold(letters, baseline, x_height, cap_height)
    for k in digits:
        if threshold is not None and _rise(chars[k], baseline) <= threshold:
            best = int(np.argmax(np.where(letters_ok, rows[k], -1.0)))
            out[k] = replace(chars[k], label=labels[best], confidence=float(rows[k][best]))
    return out


def _shape_groups(labels: Sequence[str], letters_ok: np.ndarray) -> list[np.ndarray]:
    """The allowed letters grouped by shape: the two cases of a same-shape letter, the
    bars I and l together, every other letter alone."""
    keys: dict[str, list[int]] = {}
    for i, c in enumerate(labels):
        if letters_ok[i]:
            key = "I" if c in "Il" else (c.upper() if c.upper() in SAME_SHAPE else c)
            keys.setdefault(key, []).append(i)
    return [np.array(v) for v in keys.values()]


def letter_digit_runs(chars: Sequence[ReadChar], rows: Sequence[np.ndarray], labels: Sequence[str],
                      mask: np.ndarray) -> list[ReadChar]:
    """``chars`` with each character's kind (letter or digit) chosen by Viterbi over the
    line: the classifier's best letter and best digit as the two emissions, a price of
    ``read_kind_switch_cost`` per change of kind between neighbours; a character whose
    best label the classifier reads at ``read_kind_sure`` or more keeps its kind."""
    out = list(chars)
    is_digit = np.array([c.isdigit() for c in labels])
    letters_ok, digits_ok = mask & ~is_digit, mask & is_digit
    if len(chars) < 2 or not letters_ok.any() or not digits_ok.any():
        return out
    floor, sure = DEFAULTS.read_min_probability, DEFAULTS.read_kind_sure
    groups = _shape_groups(labels, letters_ok)
    best = []  # per char: (best letter index, best digit index)
    emit = np.empty((len(chars), 2))
    for k, row in enumerate(rows):
        # A letter's evidence is its shape's: o and O (and a bar's I and l) together, as
        # their case is settled afterwards, against the single best digit.
        group_p = [float(row[g].sum()) for g in groups]
        g = int(np.argmax(group_p))
        li = int(groups[g][np.argmax(row[groups[g]])])
        di = int(np.argmax(np.where(digits_ok, row, -1.0)))
        best.append((li, di))
        emit[k] = np.log(np.maximum([group_p[g], row[di]], floor))
        # A character the classifier is sure of keeps its kind, as it keeps its letter
        # against the language model: the prior only settles what the model hesitates on.
        own = 0 if group_p[g] >= row[di] else 1
        if float(row[(li, di)[own]]) >= sure:
            emit[k, 1 - own] = -np.inf
    switch = DEFAULTS.read_kind_switch_cost
    score = emit[0].copy()
    back = np.zeros((len(chars), 2), np.int64)
    for k in range(1, len(chars)):
        stay, cross = score, score[::-1] - switch
        back[k] = np.where(stay >= cross, [0, 1], [1, 0])
        score = np.maximum(stay, cross) + emit[k]
    kind = int(np.argmax(score))
    for k in range(len(chars) - 1, -1, -1):
        char, row = chars[k], rows[k]
        chosen = best[k][kind]
        if labels[chosen] != char.label and char.label.isdigit() != bool(kind):
            out[k] = replace(char, label=labels[chosen], confidence=float(row[chosen]))
        kind = int(back[k][kind])
    return out
