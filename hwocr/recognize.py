"""Recognising characters: the public API for notebooks, scripts, the CLI and the pages.

    from hwocr.recognize import Recognizer
    rec = Recognizer.load()                       # the active model (models/base for now)
    rec.classify(images, charset="letters")       # each image is ONE character

Images may be paths, bytes, PIL images or gray / RGB / RGBA arrays, dark ink on light or
the reverse; a single image or a list. All of a call's images are classified in one
batch through the model's compiled fast path (no ``model.predict`` per call).

``charset`` restricts the answer to ``letters`` (A–Z), ``digits`` (0–9) or ``alnum``:
the softmax is masked to those classes and renormalised, so confidences stay
probabilities among the allowed answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwocr.config import CHARSETS, DEFAULTS
from hwocr.errors import InputError, ModelError
from hwocr.glyph import prepare_batch
from hwocr.images import ImageSource
from hwocr.model import ModelBundle, load_bundle
from hwocr.read import read_image


@dataclass(frozen=True)
class Prediction:
    """One character's answer: the best label, its probability among the allowed
    classes, and the best few ``(label, probability)`` pairs, best first (the first is
    the label itself)."""

    label: str
    confidence: float
    top: tuple[tuple[str, float], ...]


def resolve_active_model_dir() -> Path:
    """The folder of the model that answers when none is named: the default
    workspace's active version, or the shipped base model when there is none."""
    from hwocr.versions import active_model_dir

    return active_model_dir()


class Recognizer:
    """A loaded character model and the charset logic around it. Load once, reuse:
    loading costs about a second, a batch a few milliseconds."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self.labels: tuple[str, ...] = tuple(bundle.labels)
        self._masks: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, path: Path | str | None = None) -> Recognizer:
        """The model bundle at ``path``, or the active model when None."""
        directory = Path(path) if path is not None else resolve_active_model_dir()
        rec = cls(load_bundle(directory))
        rec.bundle.predictor.warm_up()
        return rec

    @property
    def path(self) -> Path | None:
        return self.bundle.path

    @property
    def metrics(self) -> dict:
        return self.bundle.metrics

    def charset_mask(self, charset: str) -> np.ndarray:
        """Boolean mask over ``labels`` of the classes ``charset`` allows."""
        if charset not in CHARSETS:
            raise InputError(f"unknown charset {charset!r}: use one of {', '.join(CHARSETS)}")
        mask = self._masks.get(charset)
        if mask is None:
            allowed = set(CHARSETS[charset])
            mask = np.array([label in allowed for label in self.labels])
            if not mask.any():
                raise ModelError(f"this model knows no {charset} (its classes: {''.join(self.labels)})")
            self._masks[charset] = mask
        return mask

    def probabilities(self, glyphs: np.ndarray, charset: str = "alnum") -> np.ndarray:
        """Class probabilities ``(N, len(labels))`` for prepared glyphs, zero outside
        ``charset`` and renormalised within it."""
        mask = self.charset_mask(charset)
        probs = self.bundle.predict_proba(glyphs).astype(np.float64)
        probs[:, ~mask] = 0.0
        total = probs.sum(axis=1, keepdims=True)
        # A softmax that underflowed everywhere allowed: spread evenly, don't divide by 0.
        uniform = mask / mask.sum()
        return np.where(total > 0, probs / np.maximum(total, 1e-300), uniform)

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
        for row, idx in zip(probs, order):
            top = tuple((self.labels[i], float(row[i])) for i in idx)
            out.append(Prediction(label=top[0][0], confidence=top[0][1], top=top))
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

    def read(self, image: ImageSource, charset: str = "letters", lexicon=None, *, clean: bool = False,
             top_k: int | None = None):
        """Read a word, a line or several lines: a :class:`hwocr.read.Reading` with the
        text and one box, label, confidence and runner-ups per character.

        ``lexicon`` (entries, or a :class:`hwocr.read.Lexicon`) snaps a line to the
        closest entry when that explains the image nearly as well; ``clean=True`` first
        removes a printed label, form lines and specks as import does (for name images
        cut from forms).
        """
        return read_image(self, image, charset, lexicon, clean=clean, top_k=top_k)


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
