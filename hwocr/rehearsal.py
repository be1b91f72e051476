"""Rehearsal: glyphs of every class the model knows, mixed into every fine-tuning.

Fine-tuned on nothing but a workspace's name crops, the base model drifts towards them:
it reads paper names better, but it forgets some of the canvas-style letters it was built
on, and the digits most of all, because names hold none (with letters and digits
competing it read fewer than half of the held-out digits). Mixing in about as many
glyphs of the model's classes as the workspace has crops, balanced over the classes,
keeps that knowledge; docs/BENCHMARKS.md gives the figures with and without.

Where the glyphs come from:

* ``shipped``: the rehearsal set shipped beside the base model
  (``models/base/rehearsal.npz``: 200 glyphs of each of the 62 classes, drawn from
  UNIPEN training writers and MNIST training digits, CC BY 4.0 and MIT; see the README),
  so an ordinary install rehearses the way the developers' machines do;
* ``shared``: the base model's own training data, when it is on this machine
  (``$HWOCR_SHARED_DATA`` or ``../shared/data``): UNIPEN letters of the *training*
  writers drawn from their strokes, half plainly and half with a random pen and paper,
  and MNIST training digits, half as they are and half re-drawn — never a validation
  writer or a held-out digit;
* ``synthetic``: otherwise, letters and digits drawn with OpenCV's Hershey fonts,
  slanted, rotated and wobbled as the demo names are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwocr.config import ALL_CLASSES, DEFAULTS, shipped_models_dir
from hwocr.errors import HwocrError

SOURCES = ("auto", "shipped", "shared", "synthetic")


@dataclass(frozen=True, eq=False)
class Rehearsal:
    glyphs: np.ndarray  # float32 (N, S, S), as prepare_glyph makes them
    labels: np.ndarray  # str (N,)
    source: str  # where they came from, in words

    def __len__(self) -> int:
        return len(self.labels)


def class_counts(n: int, classes) -> dict[str, int]:
    """``n`` glyphs shared out over ``classes`` (those hwocr knows, in A–Z, 0–9, a–z order)
    as evenly as they go: the first ``n % k`` classes get one more."""
    ordered = [c for c in ALL_CLASSES if c in set(classes)]
    if not ordered or n <= 0:
        return {}
    each, extra = divmod(int(n), len(ordered))
    counts = {c: each + (1 if i < extra else 0) for i, c in enumerate(ordered)}
    return {c: k for c, k in counts.items() if k}


def shared_data_available(data_dir: Path | str | None = None) -> bool:
    # Lazy: OpenCV.
    from hwocr.basemodel import MNIST_FILE, UNIPEN_DIR, shared_data_dir
    from hwocr.render import STROKES_FILE

    root = shared_data_dir(data_dir)
    return (root / UNIPEN_DIR / STROKES_FILE).is_file() and (root / MNIST_FILE).is_file()


def shipped_rehearsal_path() -> Path:
    from hwocr.basemodel import REHEARSAL_FILE  # lazy: OpenCV

    return shipped_models_dir() / "base" / REHEARSAL_FILE


def shipped_glyphs(counts: dict[str, int], seed: int = 0,
                   path: Path | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """``counts[label]`` glyphs of each class from the shipped rehearsal set (as many as
    it holds, at random), or None when there is no such file or it cannot be read."""
    path = shipped_rehearsal_path() if path is None else Path(path)
    try:
        with np.load(path) as npz:
            glyphs, labels = npz["glyphs"], npz["labels"].astype(str)
    except (OSError, ValueError, KeyError):
        return None
    rng = np.random.default_rng(seed + 15485863)
    picked = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in counts.items()]
                            or [np.zeros(0, int)]).astype(int)
    if not len(picked):
        return None
    return glyphs[picked].astype(np.float32) / 255.0, labels[picked]


def synthetic_glyphs(counts: dict[str, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hand-printed-looking characters drawn with OpenCV's Hershey fonts, prepared."""
    # Lazy: OpenCV.
    from hwocr.demo import render_letter
    from hwocr.glyph import prepare_glyph

    rng = np.random.default_rng(seed + 104729)
    glyphs, labels = [], []
    for label, k in counts.items():
        for _ in range(k):
            mask = render_letter(label, rng, int(rng.integers(24, 64)), int(rng.integers(0, 2)))
            glyphs.append(prepare_glyph(255 - mask))
            labels.append(label)
    return np.stack(glyphs).astype(np.float32), np.array(labels)


def load_shared_data(data_dir: Path | str | None = None):
    """The base model's data (:class:`hwocr.basemodel.BaseData`) when it is on this
    machine and readable, else None."""
    if not shared_data_available(data_dir):
        return None
    from hwocr.basemodel import load_base_data  # lazy: OpenCV

    try:
        return load_base_data(data_dir)
    except (HwocrError, OSError, ValueError):
        return None


def rehearsal_glyphs(n: int, classes, *, seed: int = 0, source: str = "auto",
                     data_dir: Path | str | None = None, data=None) -> Rehearsal:
    """``n`` glyphs balanced over ``classes`` (those outside the 62 are ignored): with
    ``source="auto"`` from the shipped rehearsal set, else from the shared training data
    when it is here, else synthetic.
    ``data``: the shared data already loaded (:func:`load_shared_data`), to read it once."""
    if source not in SOURCES:
        raise ValueError(f"rehearsal source must be one of {', '.join(SOURCES)}, not {source!r}")
    counts = class_counts(n, classes)
    if not counts:
        size = DEFAULTS.model_input_size
        return Rehearsal(np.zeros((0, size, size), np.float32), np.zeros(0, str), "none")
    note = ""
    if source in ("auto", "shipped"):
        drawn = shipped_glyphs(counts, seed=seed)
        if drawn is not None:
            return Rehearsal(*drawn, f"the rehearsal set shipped with the base model ({shipped_rehearsal_path().name})")
        if source == "shipped":
            raise FileNotFoundError(f"{shipped_rehearsal_path()}: no shipped rehearsal set")
    if source in ("auto", "shared"):
        if data is not None or shared_data_available(data_dir):
            from hwocr.basemodel import load_base_data, rehearsal_sample, shared_data_dir  # lazy: OpenCV

            try:
                x, y = rehearsal_sample(data if data is not None else load_base_data(data_dir), counts, seed=seed)
            except (HwocrError, OSError, ValueError) as exc:
                if source == "shared":
                    raise
                note = f" (the shared data could not be read: {exc})"
            else:
                return Rehearsal(x, y, f"UNIPEN training writers and MNIST training digits from "
                                       f"{shared_data_dir(data_dir)}")
        elif source == "shared":
            raise FileNotFoundError("the shared training data (UNIPEN strokes and MNIST digits) is not on this machine")
        else:
            note = " (the shared training data is not on this machine)"
    x, y = synthetic_glyphs(counts, seed=seed)
    return Rehearsal(x, y, "letters and digits drawn with OpenCV's Hershey fonts" + note)
