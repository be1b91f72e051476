"""How wide each hand-printed character is, relative to the writer's typical letter:
the one table of letter-width priors, shared by the geometric aligner
(:mod:`hwocr.align`), the classifier-guided one (:mod:`hwocr.align_guided`) and the
reader's lattice (:mod:`hwocr.lattice`).

Every character has a prior on the log of its width ratio (its width over the writer's
typical letter width): one mode for most letters, two for a character written either
as a bare stroke or with serifs (``I``, ``1``). The writer's own spread
(``DEFAULTS.align_width_spread``) is added to each mode's. The ratios are measured, not
tuned: ``bench/width_priors.py`` re-measures them on the ``tune`` half of the dev names
(:mod:`hwocr.devsplit`) and prints them beside these.

Two uses differ on purpose, each named here rather than hidden in its caller:

* characters not in the table: an average letter (:data:`AVERAGE`) for the aligners;
  for a *digit read by the lattice* (the reader's digit classes; no dev name holds one,
  so nothing measures them) :data:`READ_DIGIT_WIDTH`;
* the first guess of the writer's scale, before any letter is placed, counts a
  two-mode character as :data:`TWO_MODES_FIRST_GUESS` letters wide (the geometric
  aligner) or :data:`GUIDED_TWO_MODES_FIRST_GUESS` (the guided aligner, which also
  counts an unlisted character as :data:`GUIDED_UNLISTED_FIRST_GUESS`); see
  :func:`first_guess_width`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from hwocr.config import DEFAULTS

#: Width of each hand-printed capital relative to the writer's typical letter:
#: (median ratio, spread of its log), measured on the real names whose pieces matched
#: their letters one for one (``bench/width_priors.py``). Unlisted characters are average.
LETTER_WIDTH: dict[str, tuple[float, float]] = {
    "A": (0.96, 0.15), "B": (1.06, 0.13), "C": (1.03, 0.16), "D": (1.04, 0.14),
    "E": (1.00, 0.15), "F": (1.01, 0.14), "G": (1.06, 0.15), "H": (0.95, 0.14),
    "J": (1.00, 0.25), "K": (0.97, 0.15), "L": (0.92, 0.18), "M": (1.09, 0.15),
    "N": (1.00, 0.18), "O": (1.06, 0.15), "P": (0.94, 0.19), "Q": (1.11, 0.15),
    "R": (0.99, 0.15), "S": (0.96, 0.17), "T": (1.14, 0.19), "U": (0.96, 0.14),
    "V": (1.00, 0.18), "W": (1.34, 0.15), "X": (1.05, 0.16), "Y": (1.00, 0.15),
    "Z": (1.07, 0.15),
}
#: Characters written either as a bare stroke or with serifs: two width modes.
NARROW_OR_WIDE: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "I": ((0.30, 0.45), (0.95, 0.20)),
    "1": ((0.30, 0.45), (0.80, 0.25)),
}
#: A character the table does not list (the aligners).
AVERAGE = (1.0, 0.20)
#: A digit class of the reader's lattice other than ``1`` (unmeasured: no dev name has one).
READ_DIGIT_WIDTH = (0.85, 0.20)
#: A letter with two width modes counts as this wide (relative to the typical letter) in
#: the geometric aligner's first guess of the writer's scale, before any letter is placed.
TWO_MODES_FIRST_GUESS = 0.5
#: The same for the classifier-guided aligner, and how wide it counts an unlisted character.
GUIDED_TWO_MODES_FIRST_GUESS = 0.5
GUIDED_UNLISTED_FIRST_GUESS = 0.9
#: log of each letter's median width ratio (and of the average one), computed once.
LOG_WIDTH: dict[str, float] = {ch: math.log(m) for ch, (m, _) in LETTER_WIDTH.items()}
LOG_AVERAGE = math.log(AVERAGE[0])


@lru_cache(maxsize=128)
def letter_prior(ch: str) -> tuple[float, float, float, float]:
    """(mean log width, spread) of a character's two width modes (single-mode ones
    repeat theirs), the writer's own spread included; an unlisted character is
    :data:`AVERAGE`."""
    spread0 = DEFAULTS.align_width_spread
    if ch in NARROW_OR_WIDE:
        (a, sa), (b, sb) = NARROW_OR_WIDE[ch]
    else:
        a, sa = LETTER_WIDTH.get(ch, AVERAGE)
        b, sb = a, sa
    return math.log(a), math.hypot(sa, spread0), math.log(b), math.hypot(sb, spread0)


def class_prior(label: str) -> tuple[float, float, float, float]:
    """:func:`letter_prior` of a class of the reader's lattice: letters (and ``1``) as
    the aligners see them, any other class (the digits) :data:`READ_DIGIT_WIDTH`."""
    if label.isalpha() or label == "1":
        return letter_prior(label)
    mean, sd = READ_DIGIT_WIDTH
    spread = math.hypot(sd, DEFAULTS.align_width_spread)
    return math.log(mean), spread, math.log(mean), spread


def class_priors(labels: Sequence[str]) -> np.ndarray:
    """(4, classes): :func:`class_prior` of every label, as columns."""
    return np.array([class_prior(label) for label in labels], float).T


def first_guess_width(ch: str, *, two_modes: float = TWO_MODES_FIRST_GUESS, unlisted: float = AVERAGE[0]) -> float:
    """How many typical letters wide ``ch`` counts in a first guess of the writer's
    scale (the ink's width over the sum of its letters'): its median ratio, or
    ``two_modes`` for a two-mode character, or ``unlisted``."""
    if ch in LETTER_WIDTH:
        return LETTER_WIDTH[ch][0]
    return two_modes if ch in NARROW_OR_WIDE else unlisted


def log_width(ch: str) -> float:
    """log of ``ch``'s median width ratio (:data:`LOG_AVERAGE` when unlisted)."""
    return LOG_WIDTH.get(ch, LOG_AVERAGE)


_LATIN1_TABLE: np.ndarray | None = None


def letter_table(letters: str) -> np.ndarray:
    """Per letter a row: :func:`letter_prior`'s four values, :func:`log_width` and 1.0
    when it has two width modes (what the aligner's compiled kernels take). Read from a
    table of the 256 Latin-1 characters."""
    global _LATIN1_TABLE
    if _LATIN1_TABLE is None:
        _LATIN1_TABLE = _letter_rows([chr(i) for i in range(256)])
        _LATIN1_TABLE.flags.writeable = False
    try:
        codes = letters.encode("latin-1")
    except UnicodeEncodeError:
        return _letter_rows(letters)
    return _LATIN1_TABLE[np.frombuffer(codes, np.uint8)]


def _letter_rows(letters) -> np.ndarray:
    rows = [(*letter_prior(ch), LOG_WIDTH.get(ch, LOG_AVERAGE), float(ch in NARROW_OR_WIDE)) for ch in letters]
    return np.array(rows, float).reshape(-1, 6)
