"""What reading needs from a character classifier, and nothing more.

:mod:`hwocr.read` cuts words into characters and scores the pieces with a classifier;
:class:`hwocr.recognize.Recognizer` is the one the product uses, and it offers
:meth:`~hwocr.recognize.Recognizer.read` on top of :mod:`hwocr.read`. So that the two
do not depend on each other, reading depends on this small protocol instead (a test can
hand it a stub with fixed probabilities).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Classifier(Protocol):
    """A character classifier over a fixed tuple of labels."""

    @property
    def labels(self) -> tuple[str, ...]:
        """The class labels, in the order of the probability columns."""
        ...

    def charset_mask(self, charset: str) -> np.ndarray:
        """Boolean mask over :attr:`labels` of the classes ``charset`` allows; raises
        :class:`~hwocr.errors.InputError` for an unknown charset."""
        ...

    def probabilities(self, glyphs: np.ndarray, charset: str = "alnum") -> np.ndarray:
        """Class probabilities ``(N, len(labels))`` for prepared glyphs (``(N, S, S, 1)``
        float32, :func:`hwocr.glyph.prepare_batch`), zero outside ``charset`` and
        renormalised within it."""
        ...
