"""Charsets over a model's classes: which answers a reading allows.

A charset masks the model's softmax to its classes and renormalises. Measured on the
writer-disjoint UNIPEN capitals with the 62-class model: masking reads 95.0% of them
under ``letters``; letting a small letter's probability count for its capital as well
(every pair: 92.5%; only the 11 same-shape pairs c/C … z/Z: 94.6%) reads fewer, so no
case is folded into another. The case of a same-shape letter in a word comes from its
height in the line (:mod:`hwocr.read`), not from the glyph.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hwocr.config import ALL_CLASSES, CHARSETS, LOWER
from hwocr.errors import InputError, ModelError

#: Letters whose small and capital forms are the same shape, only smaller (EMNIST
#: Balanced merges these 15 pairs; so does its 47-class score). Their case can only come
#: from the line around them: hwocr.read decides it from the letter's height.
SAME_SHAPE = frozenset("CIJKLMOPSUVWXYZ")

#: Pairs of a digit and a letter that the same strokes can draw; the reading prefers
#: the kind of character its neighbours are (hwocr.read) rather than a hard rule.
DIGIT_LOOKALIKES: dict[str, str] = {"0": "Oo", "1": "Il", "2": "Zz", "5": "Ss", "8": "B", "6": "b", "9": "gq"}


#: Charsets that only a model with small letters can serve.
NEEDS_LOWER = frozenset({"lower", "cased", "all"})


def unknown_charset(name: str) -> InputError:
    return InputError(f"unknown charset {name!r}: use one of {', '.join(CHARSETS)}")


def check_charset(name: str) -> str:
    if name not in CHARSETS:
        raise unknown_charset(name)
    return name


def counts_as(label: str, charset: str) -> str | None:
    """The answer ``label`` counts as under ``charset``: itself, or None when the
    charset does not allow it."""
    return label if label in CHARSETS[check_charset(charset)] else None


def fold_matrix(labels: Sequence[str], charset: str, *, keep_unknown: bool = False) -> np.ndarray:
    """``(len(labels), len(labels))`` 0/1 matrix ``M`` with ``probs @ M`` the
    probabilities under ``charset`` (before renormalising): row ``i`` has a 1 in the
    column of the class label ``i`` counts as (a matrix rather than a mask so that a
    charset could merge classes; none does today, see the module note).
    ``keep_unknown``: labels outside every charset (a workspace's own classes) compete
    as themselves. Raises ModelError when the model knows nothing the
    charset allows."""
    check_charset(charset)
    index = {c: i for i, c in enumerate(labels)}
    known = set(ALL_CLASSES)
    m = np.zeros((len(labels), len(labels)), np.float64)
    for i, label in enumerate(labels):
        if keep_unknown and label not in known:
            m[i, i] = 1.0
            continue
        target = counts_as(label, charset)
        if target is not None and target in index:
            m[i, index[target]] = 1.0
    allowed = set(CHARSETS[charset])
    has_lower = any(c in LOWER for c in labels)
    if charset in NEEDS_LOWER and not has_lower:
        # Reading capitals only while asked for small letters would look like a bug.
        raise ModelError(f"this model knows no {charset}: it has no small letters (its classes: "
                         f"{''.join(labels)}); it was made before lower case: pick or train a 62-class version")
    if not any(c in allowed for c in labels) and not (keep_unknown and any(c not in known for c in labels)):
        raise ModelError(f"this model knows no {charset} (its classes: {''.join(labels)})")
    return m


def fold_probabilities(probs: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``probs`` (N, C) moved through a :func:`fold_matrix` and renormalised; a row with
    nothing left spreads evenly over the allowed classes instead of dividing by zero."""
    folded = np.asarray(probs, np.float64) @ matrix
    total = folded.sum(axis=1, keepdims=True)
    allowed = matrix.sum(axis=0) > 0
    uniform = allowed / max(int(allowed.sum()), 1)
    return np.where(total > 0, folded / np.maximum(total, 1e-300), uniform)


def fold_case(label: str) -> str:
    """Case-folded score's view of a label: capitals for letters, digits unchanged."""
    return label.upper()


def merge47(label: str) -> str:
    """EMNIST-Balanced's view of a label: the 15 same-shape pairs merged into the
    capital, the other 11 small letters kept apart (47 classes)."""
    return label.upper() if label.upper() in SAME_SHAPE else label


def folder_name(label: str) -> str:
    """The class folder of ``label``: capitals and digits as themselves, a small letter
    as ``a_lower``, so no two folders differ by case only (a case-insensitive disk,
    macOS or Windows, would make ``a/`` and ``A/`` one folder)."""
    if len(label) == 1 and label.isascii() and label.islower():
        return f"{label}_lower"
    return label


def label_of_folder(name: str) -> str | None:
    """The label a class folder holds (the inverse of :func:`folder_name`), or None for
    a folder that is not a class."""
    if name.endswith("_lower") and len(name) == 7 and name[0].isascii() and name[0].islower():
        return name[0]
    if name in ALL_CLASSES and not name.islower():
        return name
    return None
