"""The character model: its architecture, its files on disk and a fast way to call it.

A model version is a folder (a *bundle*)::

    model.keras     the Keras model, weights only in effect (no optimizer state)
    labels.json     the class of each output unit, in order, e.g. ["A", ..., "9"]
    metrics.json    how it was trained and how well it did
    model.tflite    optional: the same model for TensorFlow Lite, the fast CPU path;
                    ignored (the Keras model answers) when absent or not matching
    model.tflite.json  the SHA-256 of model.keras and model.tflite (and of
                    model.q8.tflite), written by save_bundle once the first two were
                    checked to give the same numbers
    model.q8.tflite optional: the same model with its weights quantised to 8 bits
                    (TFLite dynamic-range quantisation), about 3x faster on a CPU and a
                    quarter of the size; segmentation's guided repair and vetting use
                    it (same results on the dev names), reading never does

Loading for inference is fast when model.tflite.json vouches for the pair and the
LiteRT runtime (``ai-edge-litert``) is installed: only the flatbuffer is read and run,
TensorFlow is not imported (a fifth of a second instead of five), and the Keras model is
loaded the first time something asks for ``bundle.model`` (training, fine-tuning).

Input is what :func:`hwocr.glyph.prepare_glyph` makes: float32 ``(N, S, S, 1)``, ink 1.0
on 0.0. TensorFlow is imported on first use, so importing this module is cheap.

GPU: nothing here pins a device. With a TensorFlow build that sees a GPU
(``pip install tensorflow[and-cuda]``) training and inference run there by
TensorFlow's default placement; the shipped requirements install the CPU build.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import threading
import uuid
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from hwocr.config import DEFAULTS
from hwocr.errors import ModelError

MODEL_FILE = "model.keras"
TFLITE_FILE = "model.tflite"
TFLITE_MANIFEST = "model.tflite.json"
Q8_FILE = "model.q8.tflite"
LABELS_FILE = "labels.json"
METRICS_FILE = "metrics.json"

#: Batches are zero-padded up to one of these sizes (then to multiples of the last) so
#: the compiled graph and oneDNN's kernels see a handful of shapes, not one per call.
_BUCKETS = (1, 8, 16, 32, 64, 128, 256)
#: Rows per TFLite call on a large batch (see _TfliteRunner).
_SLICE = 64
#: A TFLite slice is zero-padded to a multiple of this many rows, not to a bucket: the
#: interpreter reallocates for a new row count in about 40 µs, while the bucket's padding
#: cost up to as much again as the rows themselves (a lattice of 34 segments ran as 64
#: rows: 3.7 ms against 1.6 ms for 32, the 8-bit model, one thread, 2026-12-05).
_TFLITE_ROWS = 8


#: Threads each TFLite interpreter uses; None: up to 4, one per core. A worker process
#: among several (segmentation, one per core) sets 1: two interpreters of two threads
#: each on two cores spin against each other.
_INTERPRETER_THREADS: int | None = None


def set_interpreter_threads(n: int | None) -> None:
    """Threads for interpreters created from now on in this process (None: the default)."""
    global _INTERPRETER_THREADS
    _INTERPRETER_THREADS = None if n is None else max(1, int(n))


def interpreter_threads() -> int:
    return _INTERPRETER_THREADS or min(4, os.cpu_count() or 1)


def tf_modules():
    """``(tensorflow, keras)``, imported on first use with TensorFlow's C++ chatter
    turned down."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    return tf, keras


def build_model(num_classes: int, input_shape: Sequence[int] | None = None):
    """A small VGG-style CNN for one character.

    Five 3x3 convolutions (24, 48, 64, 64, 160 filters), each stage ending in a 2x2 max
    pool, bring 32x32 down to 2x2x160; then a 384-unit dense layer with dropout and the
    softmax. About 0.44 M parameters (62 classes) and 8.5 M multiply-adds per glyph.

    Why this shape: the 36-class model (16, 32, 64, 64, 128 filters, 256 units) underfit
    a little, and with 62 classes (small letters share their capitals' shapes, digits
    theirs) the wider one read more on writers it never saw, 8 epochs against 7
    (capitals 95.3% vs 95.0%, small letters 90.9% vs 90.7%, 47-class merged 86.3% vs
    85.7%), while fine-tuning still runs at about 1,700 glyphs/s on two busy CPU cores
    (≥ 1,000 asked). Batch normalisation was measured and left out: on CPU it halved
    training speed. XLA (jit_compile) was slower on CPU too.
    """
    if num_classes < 2:
        raise ModelError(f"a classifier needs at least 2 classes, not {num_classes}")
    size = DEFAULTS.model_input_size
    input_shape = tuple(input_shape) if input_shape is not None else (size, size, 1)
    _, keras = tf_modules()
    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="glyph")
    x = inputs
    for block, filters in enumerate(((24,), (48,), (64, 64), (160,))):
        for i, f in enumerate(filters):
            x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"conv{block + 1}_{i + 1}")(x)
        x = layers.MaxPooling2D(name=f"pool{block + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.15, name="drop1")(x)
    x = layers.Dense(384, activation="relu", name="dense")(x)
    x = layers.Dropout(0.3, name="drop2")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="hwocr_char_cnn")


def replace_head(model, num_classes: int):
    """``model`` with its last Dense layer swapped for a fresh one of ``num_classes``
    units: fine-tuning onto a different label set keeps every other weight."""
    _, keras = tf_modules()
    features = model.layers[-2].output
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classes")(features)
    return keras.Model(model.inputs, outputs, name=model.name)


def copy_model(model):
    """An uncompiled copy with the same weights (no optimizer state rides along)."""
    # Not keras.models.clone_model: it carries the compiled optimizer (and its state,
    # twice the weights' size on disk) over to the clone.
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


def to_tflite(model, quantised: bool = False) -> bytes | None:
    """The model as a TensorFlow Lite flatbuffer (float32, same numbers to ~1e-6; with
    ``quantised``, weights in 8 bits by dynamic-range quantisation), or None when this
    TensorFlow cannot convert it."""
    tf, _ = tf_modules()
    try:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if quantised:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        # The converter prints its SavedModel signature on stdout; keep CLI output clean.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bytes(converter.convert())
    except Exception:  # noqa: BLE001 - any converter failure just means "no fast file"
        return None


def _tflite_interpreter(content: bytes):
    """An XNNPACK-backed TFLite interpreter, or None where TFLite is unavailable."""
    tf, _ = tf_modules()
    try:
        with warnings.catch_warnings():
            # tf.lite.Interpreter announces its move to the ai-edge-litert package; it
            # still ships with and works in the pinned TensorFlow.
            warnings.simplefilter("ignore")
            interpreter = tf.lite.Interpreter(model_content=content, num_threads=interpreter_threads())
            with _native_stderr_quiet():
                interpreter.allocate_tensors()
        return interpreter
    except Exception:  # noqa: BLE001 - a missing or broken TFLite runtime: use TensorFlow
        return None


@contextlib.contextmanager
def _native_stderr_quiet():
    """Silence what C++ code writes straight to file descriptor 2 meanwhile: TensorFlow
    Lite announces "Created TensorFlow Lite XNNPACK delegate for CPU" every time its
    tensors are allocated, which would litter the command line's output."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def _litert_interpreter_class():
    """LiteRT's Interpreter (the standalone TensorFlow Lite runtime, ``ai-edge-litert``),
    or None when that package is not installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except Exception:  # noqa: BLE001 - not installed, or a broken wheel: the TensorFlow path answers
        return None
    return Interpreter


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


class _TfliteRunner:
    """An allocated TFLite interpreter called on batches: its input is resized to each
    batch's row count (reallocating only when that changes) and calls are serialised
    with a lock (an interpreter is not thread-safe). Both TFLite runtimes (LiteRT and
    TensorFlow's own) give interpreters with this API.

    Large batches run as slices of ``_SLICE`` rows, each zero-padded up to a multiple of
    ``_TFLITE_ROWS`` (a few tensor shapes, not one per batch size, and little padding),
    and a slice's activations stay in the CPU's caches (a batch of 2,000
    glyphs ran 1.7x slower per glyph than slices of 64 on the 2-core VM)."""

    def __init__(self, interpreter) -> None:
        self._interpreter = interpreter
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
        self.input_shape = tuple(int(v) for v in inp["shape"][1:])
        self.classes = int(out["shape"][-1])
        self._in, self._out, self._rows = inp["index"], out["index"], int(inp["shape"][0])
        self._lock = threading.Lock()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        if n <= _SLICE and (n == 1 or n % _TFLITE_ROWS == 0):
            return self._run(x)
        out = []
        for i in range(0, n, _SLICE):
            part = x[i : i + _SLICE]
            m = len(part)
            size = m if m == 1 else -(-m // _TFLITE_ROWS) * _TFLITE_ROWS
            if size != m:
                padded = np.zeros((size, *part.shape[1:]), np.float32)
                padded[:m] = part
                part = padded
            out.append(self._run(part)[:m])
        return np.concatenate(out)

    def _run(self, x: np.ndarray) -> np.ndarray:
        interpreter = self._interpreter
        with self._lock:
            if self._rows != len(x):
                interpreter.resize_tensor_input(self._in, x.shape)
                with _native_stderr_quiet():
                    interpreter.allocate_tensors()
                self._rows = len(x)
            interpreter.set_tensor(self._in, np.ascontiguousarray(x))
            interpreter.invoke()
            return interpreter.get_tensor(self._out).copy()


def _checked_runner(model, content: bytes) -> _TfliteRunner | None:
    """A runner for ``content`` when it takes ``model``'s input, has its outputs and
    gives its numbers on a random probe: a model.tflite that is not the model.keras
    beside it must never answer. None otherwise (or where TFLite is unavailable)."""
    interpreter = _tflite_interpreter(content)
    if interpreter is None:
        return None
    runner = _TfliteRunner(interpreter)
    shape = tuple(model.input_shape[1:])
    if runner.input_shape != shape or runner.classes != int(model.output_shape[-1]):
        return None
    probe = np.random.default_rng(0).random((2, *shape)).astype(np.float32)
    try:
        got = runner(probe)
    except Exception:  # noqa: BLE001 - a flatbuffer that cannot run is not the model
        return None
    return runner if np.allclose(got, model(probe, training=False).numpy(), atol=1e-4) else None


def _in_chunks(x: np.ndarray, run) -> np.ndarray:
    """``run`` over ``x`` a bounded number of rows at a time (memory stays flat on
    huge batches), the answers concatenated."""
    chunk = _BUCKETS[-1] * 4
    return np.concatenate([run(x[i : i + chunk]) for i in range(0, len(x), chunk)])


class LitePredictor:
    """Probabilities from a bundle's ``model.tflite`` alone, run by LiteRT: the same
    numbers as :class:`FastPredictor`'s TFLite path, without importing TensorFlow."""

    backend = "tflite"

    def __init__(self, runner: _TfliteRunner) -> None:
        self._runner = runner
        self._shape = runner.input_shape
        self._classes = runner.classes

    @classmethod
    def open(cls, content: bytes, labels: Sequence[str]) -> LitePredictor | None:
        """A predictor for ``content`` when LiteRT is installed and the flatbuffer takes
        hwocr's glyphs and answers ``len(labels)`` classes; else None."""
        interpreter_class = _litert_interpreter_class()
        if interpreter_class is None:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                interpreter = interpreter_class(model_content=content, num_threads=interpreter_threads())
                with _native_stderr_quiet():
                    interpreter.allocate_tensors()
            runner = _TfliteRunner(interpreter)
        except Exception:  # noqa: BLE001 - a flatbuffer LiteRT cannot run: the Keras model answers
            return None
        size = DEFAULTS.model_input_size
        if runner.input_shape != (size, size, 1) or runner.classes != len(labels):
            return None
        return cls(runner)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _as_batch(x, self._shape)
        if len(x) == 0:
            return np.zeros((0, self._classes), np.float32)
        return self._runner(x)  # in slices of _SLICE rows

    def warm_up(self, sizes: Sequence[int] = (1, 16)) -> None:
        for n in sizes:
            self(np.zeros((n, *self._shape), np.float32))


def _as_batch(x, shape: tuple[int, ...]) -> np.ndarray:
    """Glyphs as a float32 batch ``(N, *shape)``: one glyph, or glyphs without the
    channel axis, are accepted too."""
    x = np.asarray(x, np.float32)
    if x.ndim == 2 or (x.ndim == 3 and x.shape == shape):  # one glyph
        x = x[None]
    if x.ndim == 3:  # glyphs without the channel axis
        x = x[..., None]
    if x.shape[1:] != shape:
        raise ModelError(f"the model takes glyphs of shape {shape}, not {x.shape[1:]}")
    return x


class FastPredictor:
    """Probabilities from a Keras model without ``model.predict``.

    ``model.predict`` builds a dataset and an iterator on every call (about 70 ms on a
    batch of 10 here). Two faster paths, same numbers (to ~1e-6):

    * **TFLite** (``tflite`` bytes given, CPU only): the bundle's ``model.tflite`` run by
      TensorFlow Lite's XNNPACK kernels, about 1 ms for a batch of 10 on two cores,
      4x less than the TensorFlow graph, which pays a fixed cost per op on small
      batches. Calls are serialised with a lock (an interpreter is not thread-safe).
    * **tf.function**: the Keras model traced once with a fixed input signature, batches
      zero-padded to a few bucket sizes; used for a model being trained, when TFLite is
      missing, and whenever TensorFlow sees a GPU.
    """

    def __init__(self, model, tflite: bytes | None = None) -> None:
        tf, _ = tf_modules()
        self._tf = tf
        self.model = model
        self._shape = tuple(model.input_shape[1:])
        self._classes = int(model.output_shape[-1])
        self._runner = None
        if tflite is not None and not tf.config.list_physical_devices("GPU"):
            self._runner = _checked_runner(model, tflite)

        def forward(x):
            return model(x, training=False)

        # One trace for every batch size; no autograph: there is no Python control flow.
        self._fn = tf.function(forward, input_signature=[tf.TensorSpec((None, *self._shape), tf.float32)],
                               autograph=False)

    @property
    def backend(self) -> str:
        return "tflite" if self._runner is not None else "tf.function"

    @staticmethod
    def bucket(n: int) -> int:
        for b in _BUCKETS:
            if n <= b:
                return b
        step = _BUCKETS[-1]
        return -(-n // step) * step

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _as_batch(x, self._shape)
        if len(x) == 0:
            return np.zeros((0, self._classes), np.float32)
        if self._runner is not None:
            return self._runner(x)  # in slices of _SLICE rows
        return _in_chunks(x, self._run_graph)

    def _run_graph(self, part: np.ndarray) -> np.ndarray:
        m = len(part)
        padded = np.zeros((self.bucket(m), *self._shape), np.float32)
        padded[:m] = part
        return self._fn(self._tf.constant(padded)).numpy()[:m]

    def warm_up(self, sizes: Sequence[int] = (1, 16)) -> None:
        for n in sizes:
            self(np.zeros((n, *self._shape), np.float32))


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """A loaded model version: the Keras model, its class labels (output order), the
    metrics it was saved with, and where it lives (None for one not yet saved).

    ``keras_model`` None with a ``lite`` predictor: the bundle was loaded for inference
    only; ``model`` loads the Keras file on first use."""

    keras_model: Any
    labels: tuple[str, ...]
    metrics: dict = field(default_factory=dict)
    path: Path | None = None
    tflite: bytes | None = field(default=None, repr=False)  # model.tflite, when saved
    lite: LitePredictor | None = field(default=None, repr=False)
    q8: bytes | None = field(default=None, repr=False)  # model.q8.tflite, when saved and vouched for

    @cached_property
    def model(self):
        """The Keras model (loaded now if the bundle was opened for inference only)."""
        if self.keras_model is not None:
            return self.keras_model
        if self.path is None:  # pragma: no cover - a bundle in memory always has its model
            raise ModelError("this model has no Keras file")
        return _load_keras(self.path / MODEL_FILE, self.path / LABELS_FILE, len(self.labels))

    @cached_property
    def predictor(self) -> FastPredictor | LitePredictor:
        if self.lite is not None:
            return self.lite
        return FastPredictor(self.model, self.tflite)

    def predict_proba(self, glyphs: np.ndarray) -> np.ndarray:
        """Softmax over ``labels`` for prepared glyphs ``(N, S, S[, 1])``."""
        return self.predictor(glyphs)

    @cached_property
    def quantised_predictor(self) -> FastPredictor | LitePredictor:
        """The 8-bit model (``model.q8.tflite``) where the bundle has one and LiteRT runs
        it, else :attr:`predictor`."""
        if self.q8 is not None:
            quick = LitePredictor.open(self.q8, self.labels)
            if quick is not None:
                return quick
        return self.predictor

    def quantised_proba(self, glyphs: np.ndarray) -> np.ndarray:
        """:meth:`predict_proba` by the 8-bit model when there is one: close to the float
        model's probabilities (on the 1,000 dev names segmentation gives the same
        statuses and boxes, and vetting the same decisions on all 6,139 crops), about
        three times faster."""
        return self.quantised_predictor(glyphs)


def save_bundle(directory: Path | str, model, labels: Sequence[str], metrics: dict | None = None) -> Path:
    """Write a bundle to ``directory`` atomically: everything goes into a temporary
    sibling folder that is renamed into place, so a reader never sees half a model. An
    existing bundle at ``directory`` is replaced. Returns the directory."""
    directory = Path(directory)
    labels = [str(label) for label in labels]
    units = int(model.output_shape[-1])
    if len(labels) != units:
        raise ModelError(f"{len(labels)} labels for a model with {units} outputs")
    if len(set(labels)) != len(labels):
        raise ModelError("the labels repeat a class")
    parent = directory.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as exc:
        raise ModelError(f"{directory}: cannot write the model ({exc.strerror or exc})") from None
    try:
        copy_model(model).save(tmp / MODEL_FILE)
        fast = to_tflite(model)
        if fast is not None:
            (tmp / TFLITE_FILE).write_bytes(fast)
            if _checked_runner(model, fast) is not None:
                manifest = {"keras_sha256": _sha256((tmp / MODEL_FILE).read_bytes()), "tflite_sha256": _sha256(fast)}
                quick = to_tflite(model, quantised=True)
                if quick is not None:
                    (tmp / Q8_FILE).write_bytes(quick)
                    manifest["q8_sha256"] = _sha256(quick)
                (tmp / TFLITE_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        (tmp / LABELS_FILE).write_text(json.dumps(labels) + "\n", encoding="utf-8")
        (tmp / METRICS_FILE).write_text(json.dumps(_jsonable(metrics or {}), indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")
        old = None
        if directory.exists():
            old = parent / f".{directory.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(directory, old)
        os.replace(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(f"{directory}: cannot write the model ({exc.strerror or exc})") from None
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def load_bundle(directory: Path | str) -> ModelBundle:
    """Read a bundle written by :func:`save_bundle`; any missing or damaged file is a
    one-line :class:`ModelError` naming it. A missing metrics.json is allowed (empty)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"{directory}: no model folder there")
    model_path = directory / MODEL_FILE
    labels_path = directory / LABELS_FILE
    metrics_path = directory / METRICS_FILE
    for required in (model_path, labels_path):
        if not required.is_file():
            raise ModelError(f"{required}: missing from the model folder")
    try:
        labels = json.loads(labels_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{labels_path}: not a readable JSON list of labels ({exc})") from None
    if not isinstance(labels, list) or not labels or not all(isinstance(v, str) and v for v in labels):
        raise ModelError(f"{labels_path}: must be a JSON list of class labels")
    metrics: dict = {}
    if metrics_path.is_file():
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{metrics_path}: not readable JSON ({exc})") from None
        if not isinstance(metrics, dict):
            raise ModelError(f"{metrics_path}: must hold a JSON object")
    if not zipfile.is_zipfile(model_path):
        raise ModelError(f"{model_path}: not a Keras model file (damaged or truncated)")
    tflite = None
    if (directory / TFLITE_FILE).is_file():
        try:
            tflite = (directory / TFLITE_FILE).read_bytes()
        except OSError:
            tflite = None  # only a speed-up: the Keras model answers instead
    vouched = tflite is not None and _vouched(directory, model_path, tflite)
    q8 = _vouched_q8(directory) if vouched else None
    if vouched:
        lite = LitePredictor.open(tflite, labels)
        if lite is not None:
            return ModelBundle(keras_model=None, labels=tuple(labels), metrics=metrics, path=directory,
                               tflite=tflite, lite=lite, q8=q8)
    model = _load_keras(model_path, labels_path, len(labels))
    return ModelBundle(keras_model=model, labels=tuple(labels), metrics=metrics, path=directory, tflite=tflite,
                       q8=q8)


def _load_keras(model_path: Path, labels_path: Path, classes: int):
    """The Keras model in ``model_path``, checked against hwocr's glyphs and the labels."""
    _, keras = tf_modules()
    try:
        model = keras.models.load_model(model_path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a damaged archive
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ModelError(f"{model_path}: the model cannot be loaded ({reason})") from None
    size = DEFAULTS.model_input_size
    if tuple(model.input_shape[1:]) != (size, size, 1):
        raise ModelError(f"{model_path}: takes input {tuple(model.input_shape[1:])}, "
                         f"not the ({size}, {size}, 1) glyphs hwocr prepares")
    if int(model.output_shape[-1]) != classes:
        raise ModelError(f"{labels_path}: {classes} labels for a model with {model.output_shape[-1]} outputs")
    return model


def _vouched(directory: Path, model_path: Path, tflite: bytes) -> bool:
    """Whether model.tflite.json says these very model.keras and model.tflite files were
    checked to agree when they were saved (any edit to either breaks the hashes)."""
    try:
        manifest = json.loads((directory / TFLITE_MANIFEST).read_text(encoding="utf-8"))
        return (isinstance(manifest, dict) and manifest.get("tflite_sha256") == _sha256(tflite)
                and manifest.get("keras_sha256") == _sha256(model_path.read_bytes()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False


def _vouched_q8(directory: Path) -> bytes | None:
    """``model.q8.tflite`` when model.tflite.json vouches for it (written by the same
    save as the model it quantises), else None."""
    try:
        manifest = json.loads((directory / TFLITE_MANIFEST).read_text(encoding="utf-8"))
        quick = (directory / Q8_FILE).read_bytes()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return quick if isinstance(manifest, dict) and manifest.get("q8_sha256") == _sha256(quick) else None


def add_quantised(directory: Path | str) -> bool:
    """Give a saved bundle its ``model.q8.tflite`` (a bundle saved before there was
    one, such as an older version or the shipped base model): converted from its Keras
    model, recorded in model.tflite.json. Returns whether the bundle has one now."""
    directory = Path(directory)
    if _vouched_q8(directory) is not None:
        return True
    bundle = load_bundle(directory)
    if bundle.tflite is None or not _vouched(directory, directory / MODEL_FILE, bundle.tflite):
        return False
    quick = to_tflite(bundle.model, quantised=True)
    if quick is None:
        return False
    manifest = json.loads((directory / TFLITE_MANIFEST).read_text(encoding="utf-8"))
    manifest["q8_sha256"] = _sha256(quick)
    (directory / Q8_FILE).write_bytes(quick)
    (directory / TFLITE_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return True


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value
