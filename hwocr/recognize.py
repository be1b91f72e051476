"""Recognising characters: the public API for notebooks, scripts, the CLI and the pages.

    from hwocr.recognize import Recognizer
    rec = Recognizer.load()                       # the active model (models/base for now)
    rec.classify(images, charset="letters")       # each image is ONE character

Images may be paths, bytes, PIL images or gray / RGB / RGBA arrays, dark ink on light or
the reverse; a single image or a list. All of a call's images are classified in one
batch through the model's compiled fast path (no ``model.predict`` per call).

``charset`` restricts the answer to ``letters`` (A–Z), ``digits`` (0–9), ``alnum``
(A–Z 0–9), ``lower`` (a–z), ``cased`` (A–Z a–z) or ``all`` (the 62 classes): the
softmax is masked to those classes and renormalised (:mod:`hwocr.charsets`), so
confidences stay probabilities among the allowed answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwocr.charsets import SAME_SHAPE, fold_matrix, fold_probabilities
from hwocr.config import DEFAULTS
from hwocr.glyph import prepare_batch
from hwocr.images import ImageSource
from hwocr.model import ModelBundle, load_bundle
from hwocr.read import read_image
from hwocr.versions import active_model_dir


@dataclass(frozen=True)
class Prediction:
    """One character's answer: the best label, its probability among the allowed
    classes, and the best few ``(label, probability)`` pairs, best first (the first is
    the label itself). When the best is a letter whose capital and small forms share a
    shape (c/C, o/O …) and the charset allows both, ``top`` holds both cases: alone, a
    character cannot tell its case (a word can: :meth:`Recognizer.read`)."""

    label: str
    confidence: float
    top: tuple[tuple[str, float], ...]


def resolve_active_model_dir() -> Path:
    """The folder of the model that answers when none is named: the default
    workspace's active version, or the shipped base model when there is none."""
    return active_model_dir()


class Recognizer:
    """A loaded character model and the charset logic around it. Load once, reuse:
    loading costs about a second, a batch a few milliseconds."""

    def __init__(self, bundle: ModelBundle, *, quantised: bool = False) -> None:
        self.bundle = bundle
        self.labels: tuple[str, ...] = tuple(bundle.labels)
        self.quantised = bool(quantised)
        self._proba = bundle.quantised_proba if quantised else bundle.predict_proba
        self._folds: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, path: Path | str | None = None, *, quantised: bool = False) -> Recognizer:
        """The model bundle at ``path``, or the active model when None. ``quantised``:
        answer with the bundle's 8-bit copy where it has one (segmentation's workers:
        three times faster, the same results on the dev names); reading uses the float
        model."""
        directory = Path(path) if path is not None else resolve_active_model_dir()
        rec = cls(load_bundle(directory), quantised=quantised)
        (rec.bundle.quantised_predictor if quantised else rec.bundle.predictor).warm_up()
        return rec

    @property
    def path(self) -> Path | None:
        return self.bundle.path

    @property
    def metrics(self) -> dict:
        return self.bundle.metrics

    def _fold(self, charset: str) -> np.ndarray:
        matrix = self._folds.get(charset)
        if matrix is None:
            matrix = self._folds[charset] = fold_matrix(self.labels, charset)
        return matrix

    def charset_mask(self, charset: str) -> np.ndarray:
        """Boolean mask over ``labels`` of the classes ``charset`` answers with."""
        return self._fold(charset).sum(axis=0) > 0

    def probabilities(self, glyphs: np.ndarray, charset: str = "alnum") -> np.ndarray:
        """Class probabilities ``(N, len(labels))`` for prepared glyphs under
        ``charset`` (:mod:`hwocr.charsets`): zero outside it, each row renormalised."""
        return fold_probabilities(self._proba(glyphs), self._fold(charset))

    def classify_glyphs(self, glyphs: np.ndarray, charset: str = "letters",
                        top_k: int | None = None) -> list[Prediction]:
        """:meth:`classify` for glyphs already made by :func:`hwocr.glyph.prepare_batch`."""
        top_k = DEFAULTS.recognize_top_k if top_k is None else max(1, int(top_k))
        glyphs = np.asarray(glyphs, np.float32)
        if len(glyphs) == 0:
            return []
        probs = self.probabilities(glyphs, charset)
        k = min(top_k, int(self.charset_mask(charset).sum()))
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        out = []
        index = {c: i for i, c in enumerate(self.labels)}
        mask = self.charset_mask(charset)
        for row, idx in zip(probs, order):
            top = tuple((self.labels[i], float(row[i])) for i in idx)
            out.append(Prediction(label=top[0][0], confidence=top[0][1],
                                  top=_with_other_case(top, row, index, mask)))
        return out

    def classify(
        self, images: ImageSource | Sequence[ImageSource], charset: str = "letters", top_k: int | None = None
    ) -> list[Prediction]:
        """One :class:`Prediction` per image (a single image gives a list of one).

        Raises :class:`~hwocr.errors.ImageError` naming the image that cannot be read
        or holds no ink, :class:`~hwocr.errors.InputError` for an unknown charset.
        """
        self.charset_mask(charset)  # an unknown charset fails before any decoding
        return self.classify_glyphs(prepare_batch(_as_list(images)), charset, top_k)

    def read(self, image: ImageSource, charset: str = "letters", lexicon=None, *, clean: bool | None = None,
             top_k: int | None = None, case_geometry: bool = True, lm=True):
        """Read a word, a line or several lines: a :class:`hwocr.read.Reading` with the
        text and one box, label, confidence and runner-ups per character.

        ``lexicon`` (entries, or a :class:`hwocr.read.Lexicon`) snaps a line to the
        closest entry when that explains the image nearly as well; ``clean=True`` first
        removes a printed label, form lines and specks as import does (for name images
        cut from forms), ``clean=False`` reads the ink as it is, and the default, None,
        cleans when the image looks like a name cut from a form
        (:mod:`hwocr.formdetect`; the reading's ``clean_reason`` says why). An image
        with no handwriting gives an empty reading whose ``reason`` says why. Under
        ``cased`` and ``all`` the case of c/C, o/O, … comes from the letter's height in
        its line (``case_geometry=False``: from the classifier alone); under ``alnum``
        and ``all`` a line's runs of letters and of digits settle a Z that may be a 2
        (:mod:`hwocr.context`). Under ``letters`` a
        character n-gram model of names weighs in where the classifier hesitates, under
        ``lower``, ``cased`` and ``all`` one of English and French words
        (:mod:`hwocr.namelm`): ``lm=True`` the shipped model for the charset, a
        :class:`hwocr.namelm.NameLM` (e.g. ``namelm.for_workspace(ws)``), or False.
        """
        return read_image(self, image, charset, lexicon, clean=clean, top_k=top_k, case_geometry=case_geometry,
                          lm=lm)


def _with_other_case(top: tuple[tuple[str, float], ...], row: np.ndarray, index: dict[str, int],
                     mask: np.ndarray) -> tuple[tuple[str, float], ...]:
    """``top`` with the other case of a same-shape best letter (c/C, o/O …) added when
    it is missing: alone, a character cannot say its case, so both are reported."""
    label = top[0][0]
    other = label.lower() if label.isupper() else label.upper()
    if label.upper() not in SAME_SHAPE or other not in index or not mask[index[other]]:
        return top
    if any(c == other for c, _ in top):
        return top
    return (*top, (other, float(row[index[other]])))


def _as_list(images) -> list:
    """A single image, or a batch of them, as a list of images."""
    if isinstance(images, np.ndarray):
        single = images.ndim == 2 or (images.ndim == 3 and images.shape[-1] in (1, 2, 3, 4))
        return [images] if single else list(images)
    if isinstance(images, (str, Path, bytes, bytearray, memoryview)):
        return [images]
    try:
        from PIL import Image

        if isinstance(images, Image.Image):
            return [images]
    except ImportError:  # pragma: no cover
        pass
    if isinstance(images, Iterable):
        return list(images)
    return [images]
