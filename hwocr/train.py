"""Training as pure functions: class folders in, a trained model and its report out.

The job runner and the Train page call these; nothing here knows about jobs, the
workspace database or Streamlit. Everything the model sees went through
:func:`hwocr.glyph.prepare_glyph`, and the per-epoch augmentation below works on those
prepared glyphs, so training and inference share one preprocessing path.

Progress and cancellation are callbacks: ``on_epoch(epoch, logs, eta_s)`` after each
epoch, ``should_stop()`` polled after every batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from hwocr.charsets import fold_matrix, label_of_folder
from hwocr.config import ALL_CLASSES, CHARSETS, DEFAULTS
from hwocr.errors import DatasetError, ImageError, ModelError
from hwocr.glyph import prepare_glyph
from hwocr.model import FastPredictor, ModelBundle, build_model, copy_model, load_bundle, replace_head, tf_modules

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


@dataclass(frozen=True)
class FolderInfo:
    """What :func:`load_class_folders` read and what it left out, and why."""

    root: Path
    counts: dict[str, int]  # images used per class, in class order
    paths: tuple[str, ...]  # source file of each sample, in sample order
    skipped: tuple[tuple[str, str], ...]  # (path, reason) for every file not used
    ignored_folders: tuple[str, ...]  # folders under root that name no class
    single_image_classes: tuple[str, ...]  # classes with one image: trained, never validated
    left_out: int = 0  # files the caller asked to leave out (``exclude``), e.g. the demo's crops

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, eq=False)
class TrainResult:
    """A finished (or cancelled) training run."""

    model: object  # keras.Model
    labels: tuple[str, ...]
    history: dict[str, list[float]]  # per-epoch loss, accuracy, val_loss, val_accuracy
    val_accuracy: float | None  # None when nothing was held out
    per_class_accuracy: dict[str, float | None]  # None for classes absent from validation
    confusion: np.ndarray  # [true, predicted] counts over the validation set, label order
    samples_per_s: float
    epochs_run: int
    train_time_s: float
    train_count: int
    val_count: int
    cancelled: bool = False
    class_weights: dict[str, float] = field(default_factory=dict)
    charset: str = "alnum"  # what validation answers competed within (see dataset_charset)

    def metrics(self) -> dict:
        """The JSON-ready summary that goes into metrics.json."""
        return {
            "val_accuracy": self.val_accuracy,
            "charset": self.charset,
            "per_class_accuracy": dict(self.per_class_accuracy),
            "epochs": self.epochs_run,
            "train_count": self.train_count,
            "val_count": self.val_count,
            "training_time_s": round(self.train_time_s, 1),
            "samples_per_s": round(self.samples_per_s, 1),
            "cancelled": self.cancelled,
            "input_size": DEFAULTS.model_input_size,
            "ink_box": DEFAULTS.model_ink_box,
            "history": {k: [round(float(v), 5) for v in vs] for k, vs in self.history.items()},
        }


# --- class folders ------------------------------------------------------------------


def load_class_folders(
    root: Path | str,
    *,
    progress: Callable[[int, int], None] | None = None,
    exclude: Collection[Path] = frozenset(),
) -> tuple[np.ndarray, np.ndarray, FolderInfo]:
    """Read ``root/A/*.png``, ``root/B/…``, ``root/0/…``, ``root/a_lower/…``: every
    image through :func:`prepare_glyph`.

    Returns ``(x, y, info)``: x float32 ``(N, S, S)``, y the label string of each
    sample, info what was used and skipped. Files that are not images, cannot be decoded
    or hold no ink are skipped and reported; folders that name no class (A–Z, 0–9,
    ``a_lower`` … ``z_lower``, see :func:`hwocr.charsets.folder_name`) are ignored and
    reported: a folder named ``a`` is not the small a (on a case-insensitive disk it
    would be the same folder as ``A``). ``progress(done, total)`` is called as files
    are read (about a millisecond each). Files in ``exclude`` are not read (``info.left_out`` counts
    them). Raises :class:`DatasetError` when root is missing, holds no usable image, or
    fewer than two classes.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset folder")
    xs: list[np.ndarray] = []
    ys: list[str] = []
    paths: list[str] = []
    skipped: list[tuple[str, str]] = []
    ignored: list[str] = []
    counts: dict[str, int] = {}
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError as exc:
        raise DatasetError(f"{root}: cannot list the dataset folder ({exc.strerror or exc})") from None
    class_files: list[tuple[str, list[Path]]] = []
    excluded = {Path(p) for p in exclude}
    left_out = 0
    for folder in sorted(folders, key=_folder_rank):
        label = label_of_folder(folder.name)
        if label is None:
            if not folder.name.startswith("."):
                ignored.append(folder.name)
            continue
        try:
            files = sorted(folder.iterdir())
        except OSError as exc:
            raise DatasetError(f"{folder}: cannot list the class folder ({exc.strerror or exc})") from None
        if excluded:
            kept = [f for f in files if f not in excluded]
            left_out += len(files) - len(kept)
            files = kept
        class_files.append((label, files))
    total = sum(len(files) for _, files in class_files)
    done = 0
    for label, files in class_files:
        n = 0
        for path in files:
            done += 1
            if progress is not None and (done % 200 == 0 or done == total):
                progress(done, total)
            if path.is_dir():
                skipped.append((str(path), "a folder inside a class folder"))
                continue
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append((str(path), "not an image file"))
                continue
            try:
                xs.append(prepare_glyph(path))
            except ImageError as exc:
                skipped.append((str(path), str(exc)))
                continue
            ys.append(label)
            paths.append(str(path))
            n += 1
        if n:
            counts[label] = n
    if not xs:
        besides = f" besides the {left_out} left out" if left_out else ""
        raise DatasetError(f"{root}: no usable character images in the class folders{besides}")
    if len(counts) < 2:
        only = next(iter(counts))
        raise DatasetError(f"{root}: only class {only} has images; training needs at least two classes")
    info = FolderInfo(
        root=root,
        counts=counts,
        paths=tuple(paths),
        skipped=tuple(skipped),
        ignored_folders=tuple(ignored),
        single_image_classes=tuple(c for c, n in counts.items() if n == 1),
        left_out=left_out,
    )
    return np.stack(xs), np.array(ys), info


def _folder_rank(folder: Path) -> tuple[int, str]:
    """Class folders in model order (A–Z, 0–9, a_lower–z_lower), then the others by name."""
    label = label_of_folder(folder.name)
    return (_class_rank(label) if label is not None else len(ALL_CLASSES), folder.name)


def _class_rank(label: str) -> int:
    try:
        return ALL_CLASSES.index(label)
    except ValueError:
        return len(ALL_CLASSES)


def order_labels(labels) -> tuple[str, ...]:
    """Labels in model order: A–Z, 0–9, a–z, then anything else alphabetically."""
    return tuple(sorted(set(labels), key=lambda c: (_class_rank(c), c)))


# --- evaluation within a charset -------------------------------------------------------


#: Smallest first, so :func:`dataset_charset` names the tightest one that fits.
_CHARSET_ORDER = ("letters", "digits", "alnum", "lower", "cased", "all")


def dataset_charset(labels) -> str:
    """The smallest charset that holds every label, tried in the order ``letters``
    (A–Z), ``digits``, ``alnum``, ``lower`` (a–z), ``cased`` (A–Z and a–z), ``all``.
    Labels in no charset (a workspace's own classes) always compete; beside them the
    data is no names-only or digits-only set, so the answer is at least ``alnum``.

    A dataset of names is read with ``charset="letters"``, so a model scored on it must
    not lose points for answering "1" to an I or "0" to an O: classes the data can never
    hold are out of the competition, for the new model and the active one alike.
    """
    present = {str(v) for v in labels}
    known = present & set(ALL_CLASSES)
    order = _CHARSET_ORDER if known == present else _CHARSET_ORDER[2:]
    return next(name for name in order if known <= set(CHARSETS[name]))


def charset_predictions(probs: np.ndarray, labels: Sequence[str], charset: str) -> np.ndarray:
    """Index into ``labels`` of the most probable class of each row of ``probs``, among
    the classes ``charset`` allows (what ``Recognizer.classify`` answers with that
    charset). Labels outside every charset (a
    workspace's own classes) always compete."""
    if charset not in CHARSETS:
        raise ModelError(f"unknown charset {charset!r}: use one of {', '.join(CHARSETS)}")
    matrix = fold_matrix(labels, charset, keep_unknown=True)
    folded = np.asarray(probs, np.float64) @ matrix
    allowed = matrix.sum(axis=0) > 0
    return np.where(allowed, folded, -np.inf).argmax(axis=1)


def present_classes(cm: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """The confusion matrix cut down to the classes that occur in it, as a true class or
    as an answer (so every row still sums to its class's validation count), in label
    order. A names dataset gives a 26x26 picture (or less), not 36x36."""
    cm = np.asarray(cm)
    keep = np.flatnonzero((cm.sum(axis=1) + cm.sum(axis=0)) > 0)
    return cm[np.ix_(keep, keep)], tuple(labels[i] for i in keep)


# --- splits, weights, augmentation ---------------------------------------------------


def split_validation(
    y: np.ndarray, fraction: float, *, groups: Sequence | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)``. With ``groups`` (a writer, or the name image a crop
    came from) whole groups go to one side, so validation never sees a hand it trained
    on. Without, each class gives ``round(n * fraction)`` samples (at least one when it
    has two or more; a class with one sample is only trained on)."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    n = len(y)
    if fraction <= 0 or n < 2:
        return np.arange(n), np.zeros(0, int)
    val_mask = np.zeros(n, bool)
    if groups is not None:
        groups = np.asarray(groups)
        if len(groups) != n:
            raise DatasetError(f"{len(groups)} groups for {n} samples")
        unique = np.unique(groups)
        rng.shuffle(unique)
        target = fraction * n
        taken = 0
        for g in unique:
            if taken >= target:
                break
            members = groups == g
            val_mask |= members
            taken += int(members.sum())
        if val_mask.all():  # one group: nothing left to train on
            val_mask[:] = False
    else:
        for label in np.unique(y):
            idx = np.flatnonzero(y == label)
            if len(idx) < 2:
                continue
            k = min(len(idx) - 1, max(1, round(len(idx) * fraction)))
            val_mask[rng.choice(idx, k, replace=False)] = True
    return np.flatnonzero(~val_mask), np.flatnonzero(val_mask)


def balanced_class_weights(y_index: np.ndarray, num_classes: int, *, cap: float = 10.0) -> np.ndarray:
    """Per-class weights ``n / (k * n_c)`` clipped to ``[1/cap, cap]``: a class with
    few samples (Q, X, W in names) counts as much as a common one (E, A) without a
    handful of samples dominating the loss. Absent classes get weight 0."""
    counts = np.bincount(y_index, minlength=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    weights[present] = np.clip(weights[present], 1.0 / cap, cap)
    # Keep the mean weight per sample at one so the learning rate means the same thing.
    mean = (weights[y_index]).mean() if len(y_index) else 1.0
    return weights / max(mean, 1e-12)


def jitter_glyphs(x: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Small random affine changes of prepared glyphs ``(N, S, S)``: rotation up to ~8
    degrees, shear, scale 0.88–1.06, shift up to 1.5 px. Mild on purpose: prepare_glyph
    already normalised size, position and stroke width; this only keeps the model from
    memorising exact pixels."""
    n, s = x.shape[0], x.shape[1]
    out = np.empty_like(x)
    angles = np.deg2rad(rng.normal(0, 4.0 * strength, n).clip(-8, 8))
    shears = rng.normal(0, 0.08 * strength, n).clip(-0.2, 0.2)
    scales = rng.uniform(1 - 0.12 * strength, 1 + 0.06 * strength, n)
    shifts = rng.uniform(-1.5 * strength, 1.5 * strength, (n, 2))
    c = (s - 1) / 2.0
    for i in range(n):
        a, sh, sc = angles[i], shears[i], scales[i]
        lin = sc * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ np.array([[1.0, sh], [0.0, 1.0]])
        offset = np.array([c, c]) + shifts[i] - lin @ np.array([c, c])
        m = np.hstack([lin, offset[:, None]]).astype(np.float32)
        out[i] = cv2.warpAffine(x[i], m, (s, s), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return out


# --- training ------------------------------------------------------------------------


def train(
    x: np.ndarray,
    y: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
    val: tuple[np.ndarray, Sequence[str]] | None = None,
    val_fraction: float | None = None,
    groups: Sequence | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    base_model=None,
    class_weight: str | Mapping[str, float] | None = "balanced",
    augment: bool | float = True,
    learning_rate: float | None = None,
    charset: str | None = None,
    on_epoch: Callable[[int, dict, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    seed: int = 0,
) -> TrainResult:
    """Train a character model on prepared glyphs.

    x: float32 ``(N, S, S)`` or ``(N, S, S, 1)`` from :func:`prepare_glyph`; y: the
    label string of each. ``labels`` fixes the output classes (default: the classes in
    y, A–Z then 0–9; with ``base_model``, its labels plus any new ones). Validation is
    ``val`` if given, else a split of x by ``val_fraction`` (default
    ``DEFAULTS.train_val_fraction``; 0 for none), by ``groups`` when given.

    ``base_model`` (a :class:`~hwocr.model.ModelBundle` or a bundle folder) fine-tunes
    that model at a lower learning rate; if the label set grew, only its last layer is
    replaced. ``class_weight``: "balanced" (default), None, or a ``{label: weight}``
    mapping. ``augment``: True, False, or a jitter strength (1.0 = True).
    ``charset``: the classes validation answers compete within (default
    :func:`dataset_charset` of the training and validation labels), so a fine-tuned
    36-class model is scored on letter crops as the letters charset reads them.
    ``on_epoch(epoch, logs, eta_s)`` is called after each epoch (1-based) with
    ``loss``, ``accuracy`` and, when validating, ``val_loss``, ``val_accuracy``.
    ``should_stop()`` is polled after every batch; when it returns True training stops
    at once and the result has ``cancelled=True``.
    """
    _, keras = tf_modules()
    epochs = DEFAULTS.train_epochs if epochs is None else int(epochs)
    batch_size = DEFAULTS.train_batch_size if batch_size is None else int(batch_size)
    val_fraction = DEFAULTS.train_val_fraction if val_fraction is None else float(val_fraction)
    if epochs < 1:
        raise DatasetError("training needs at least one epoch")
    x = _as_glyphs(x, "x")
    y = np.asarray([str(v) for v in y])
    if len(x) != len(y):
        raise DatasetError(f"{len(x)} images but {len(y)} labels")
    if len(x) == 0:
        raise DatasetError("no training images")

    base = None
    if base_model is not None:
        base = base_model if isinstance(base_model, ModelBundle) else load_bundle(base_model)
    if labels is None:
        labels = order_labels(set(y) | (set(base.labels) if base else set()))
        if base is not None and set(labels) == set(base.labels):
            labels = base.labels
    labels = tuple(labels)
    unknown = sorted(set(y) - set(labels))
    if unknown:
        raise DatasetError(f"labels {', '.join(unknown)} are not among the model's classes")
    if len(labels) < 2:
        raise DatasetError("training needs at least two classes")
    index = {c: i for i, c in enumerate(labels)}

    if val is not None:
        xv = _as_glyphs(val[0], "validation x")
        yv = np.asarray([str(v) for v in val[1]])
        if len(xv) != len(yv):
            raise DatasetError(f"{len(xv)} validation images but {len(yv)} labels")
        bad = sorted(set(yv) - set(labels))
        if bad:
            raise DatasetError(f"validation labels {', '.join(bad)} are not among the model's classes")
        xt, yt = x, y
    else:
        tr, va = split_validation(y, val_fraction, groups=groups, seed=seed)
        xt, yt, xv, yv = x[tr], y[tr], x[va], y[va]
    yt_i = np.array([index[c] for c in yt], np.int32)
    yv_i = np.array([index[c] for c in yv], np.int32)
    charset = dataset_charset(np.concatenate([yt, yv])) if charset is None else charset
    # Fails now, not after an hour of training, when the charset leaves no class to answer.
    charset_predictions(np.zeros((1, len(labels))), labels, charset)

    if class_weight == "balanced":
        weights = balanced_class_weights(yt_i, len(labels))
    elif class_weight is None:
        weights = np.ones(len(labels))
    elif isinstance(class_weight, Mapping):
        weights = np.array([float(class_weight.get(c, 1.0)) for c in labels])
    else:
        raise DatasetError(f"class_weight must be 'balanced', None or a mapping, not {class_weight!r}")
    sample_weight = weights[yt_i].astype(np.float32)

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    if base is None:
        model = build_model(len(labels))
        lr = DEFAULTS.train_learning_rate if learning_rate is None else learning_rate
    else:
        model = copy_model(base.model)
        if tuple(base.labels) != labels:
            old = {c: i for i, c in enumerate(base.labels)}
            kernel, bias = model.layers[-1].get_weights()
            model = replace_head(model, len(labels))
            # Classes the base model knew keep their output weights; new ones start fresh.
            new_kernel, new_bias = model.layers[-1].get_weights()
            for c, i in index.items():
                if c in old:
                    new_kernel[:, i] = kernel[:, old[c]]
                    new_bias[i] = bias[old[c]]
            model.layers[-1].set_weights([new_kernel, new_bias])
        lr = DEFAULTS.train_finetune_learning_rate if learning_rate is None else learning_rate

    steps_per_epoch = max(1, -(-len(xt) // batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=epochs * steps_per_epoch, alpha=0.05)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    stopper = _StopCallback(keras, should_stop)
    history: dict[str, list[float]] = {}
    seen = 0
    fit_time = 0.0
    started = time.perf_counter()
    epochs_run = 0
    has_val = len(xv) > 0
    for epoch in range(epochs):
        batch = jitter_glyphs(xt, rng, float(augment)) if augment else xt
        t0 = time.perf_counter()
        stopper.batches = 0
        fit = model.fit(
            batch[..., None],
            yt_i,
            sample_weight=sample_weight,
            batch_size=batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=True,
            verbose=0,
            callbacks=[stopper],
        )
        fit_time += time.perf_counter() - t0
        seen += min(len(xt), stopper.batches * batch_size)
        if stopper.stopped:
            break
        epochs_run = epoch + 1
        logs = {k: float(v[-1]) for k, v in fit.history.items()}
        if has_val:
            logs.update(_evaluate(model, xv, yv_i, labels, charset))
        for k, v in logs.items():
            history.setdefault(k, []).append(v)
        elapsed = time.perf_counter() - started
        eta = elapsed / epochs_run * (epochs - epochs_run)
        if on_epoch is not None:
            on_epoch(epochs_run, dict(logs), eta)
        if should_stop is not None and should_stop():
            stopper.stopped = True
            break

    train_time = time.perf_counter() - started
    confusion = np.zeros((len(labels), len(labels)), np.int64)
    if has_val:
        predicted = charset_predictions(FastPredictor(model)(xv), labels, charset)
        np.add.at(confusion, (yv_i, predicted), 1)
    per_class: dict[str, float | None] = {}
    for i, c in enumerate(labels):
        total = confusion[i].sum()
        per_class[c] = float(confusion[i, i] / total) if total else None
    val_accuracy = float(np.trace(confusion) / confusion.sum()) if has_val else None
    return TrainResult(
        model=model,
        labels=labels,
        history=history,
        val_accuracy=val_accuracy,
        per_class_accuracy=per_class,
        confusion=confusion,
        samples_per_s=seen / fit_time if fit_time > 0 else 0.0,
        epochs_run=epochs_run,
        train_time_s=train_time,
        train_count=len(xt),
        val_count=len(xv),
        cancelled=stopper.stopped,
        class_weights={c: round(float(w), 4) for c, w in zip(labels, weights)},
        charset=charset,
    )


def _as_glyphs(x, what: str) -> np.ndarray:
    x = np.asarray(x, np.float32)
    size = DEFAULTS.model_input_size
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (size, size):
        raise DatasetError(f"{what} must be prepared glyphs of shape (N, {size}, {size}), not {x.shape}")
    return x


def _evaluate(model, xv: np.ndarray, yv_i: np.ndarray, labels: Sequence[str], charset: str) -> dict[str, float]:
    probs = FastPredictor(model)(xv)
    # The loss stays over every output (it is what training minimises); the accuracy is
    # the one the final report gives, within the charset.
    p = np.clip(probs[np.arange(len(yv_i)), yv_i], 1e-7, 1.0)
    return {
        "val_loss": float(-np.log(p).mean()),
        "val_accuracy": float((charset_predictions(probs, labels, charset) == yv_i).mean()),
    }


class _StopCallback:
    """Keras callback that counts batches and stops when should_stop() says so."""

    def __new__(cls, keras, should_stop):
        class Stop(keras.callbacks.Callback):
            def __init__(self) -> None:
                super().__init__()
                self.should_stop = should_stop
                self.stopped = False
                self.batches = 0

            def on_train_batch_end(self, batch, logs=None):
                self.batches += 1
                if self.should_stop is not None and self.should_stop():
                    self.stopped = True
                    self.model.stop_training = True

        return Stop()


# --- confusion matrix picture --------------------------------------------------------


def confusion_png(cm: np.ndarray, labels: Sequence[str], *, cell: int = 22, present_only: bool = True) -> bytes:
    """A PNG of the confusion matrix: rows are the true class, columns the predicted
    one, each cell shaded by its share of its row (diagonal green, errors red), counts
    written in the cells. With ``present_only`` (default) only the classes that occur in
    the matrix are drawn (:func:`present_classes`); an empty matrix keeps every class."""
    cm = np.asarray(cm)
    k = len(labels)
    if cm.shape != (k, k):
        raise ValueError(f"confusion matrix of shape {cm.shape} for {k} labels")
    if present_only and cm.any():
        cm, labels = present_classes(cm, labels)
        k = len(labels)
    margin = cell + 28
    size_w = margin + k * cell + 8
    size_h = margin + k * cell + 8
    img = np.full((size_h, size_w, 3), 255, np.uint8)
    rows = cm.sum(axis=1, keepdims=True).astype(np.float64)
    share = np.divide(cm, rows, out=np.zeros(cm.shape, np.float64), where=rows > 0)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for i in range(k):
        for j in range(k):
            x0, y0 = margin + j * cell, margin + i * cell
            v = share[i, j]
            if v > 0:
                if i == j:
                    color = (int(255 - 155 * v), int(255 - 60 * v), int(255 - 155 * v))  # BGR green
                else:
                    v = min(1.0, 0.25 + v)
                    color = (int(255 - 200 * v), int(255 - 200 * v), 255)  # red
                cv2.rectangle(img, (x0, y0), (x0 + cell - 1, y0 + cell - 1), color, -1)
            if cm[i, j]:
                text = str(int(cm[i, j])) if cm[i, j] < 1000 else f"{cm[i, j] / 1000:.0f}k"
                scale = 0.28 if len(text) > 2 else 0.33
                (tw, th), _ = cv2.getTextSize(text, font, scale, 1)
                cv2.putText(img, text, (x0 + (cell - tw) // 2, y0 + (cell + th) // 2), font, scale, (0, 0, 0), 1,
                            cv2.LINE_AA)
        cv2.putText(img, str(labels[i]), (6, margin + i * cell + cell - 6), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, str(labels[i]), (margin + i * cell + 5, margin - 8), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for t in range(k + 1):
        cv2.line(img, (margin, margin + t * cell), (margin + k * cell, margin + t * cell), (210, 210, 210), 1)
        cv2.line(img, (margin + t * cell, margin), (margin + t * cell, margin + k * cell), (210, 210, 210), 1)
    cv2.putText(img, "true", (2, margin - 8), font, 0.35, (90, 90, 90), 1, cv2.LINE_AA)
    ok, buf = cv2.imencode(".png", img)
    if not ok:  # pragma: no cover
        raise ModelError("the confusion matrix could not be drawn")
    return buf.tobytes()
