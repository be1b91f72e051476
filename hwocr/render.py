"""Pen strokes to pictures of paper, and raster images to plausible variants of
themselves: the augmentation that lets a model trained on tablet letters read a phone
photo of a form and a mouse drawing on the canvas.

Strokes are UNIPEN style: a list of strokes, each a sequence of ``(x, y)`` points with
the y axis pointing **up**; the renderer flips y. Everything random is drawn from a
``numpy.random.Generator`` (or a seed), so the same seed gives the same pixels.

What varies (:func:`random_style`): the glyph's size in pixels (14 px, like a letter on
a low-resolution form scan, up to 110 px, like the canvas), pen width from a hairline to
a fat brush, slant, rotation, aspect, a smooth elastic wobble of the strokes, ink and
paper gray levels, a paper gradient, blur, sensor noise and JPEG compression.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from hwocr.errors import DatasetError

Strokes = Sequence[Sequence[Sequence[float]]]

#: Sub-pixel precision of cv2 drawing calls: coordinates carry this many fraction bits.
_SHIFT = 4


@dataclass(frozen=True)
class RenderStyle:
    """How one glyph is drawn. Distances are in output pixels unless named a fraction."""

    height_px: float = 48.0  # height of the ink before slant and rotation
    pen_px: int = 3  # line width
    slant: float = 0.0  # horizontal shear, x += slant * height above the baseline
    rotation_deg: float = 0.0
    aspect: float = 1.0  # horizontal stretch
    elastic: float = 0.0  # amplitude of the wobble as a fraction of the glyph size
    elastic_phase: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)
    ink: int = 20
    paper: int = 245
    gradient: float = 0.0  # paper brightness change across the image, in gray levels
    gradient_angle: float = 0.0
    blur_sigma: float = 0.0
    noise_sigma: float = 0.0
    jpeg_quality: int = 0  # 0: not compressed
    margin_px: int = 4
    noise_seed: int = 0


#: A plain rendering: black pen on white paper, no distortion. Used for validation.
CLEAN_STYLE = RenderStyle()


def random_style(rng: np.random.Generator | int | None) -> RenderStyle:
    """A random :class:`RenderStyle` spanning form scans, pen on paper and canvas."""
    rng = np.random.default_rng(rng)
    height = float(np.exp(rng.uniform(np.log(14.0), np.log(110.0))))
    pen_frac = float(np.exp(rng.uniform(np.log(0.025), np.log(0.17))))
    paper = int(rng.uniform(165, 256))
    ink = int(rng.uniform(0, max(1, paper - 100)))
    pen = max(1, round(pen_frac * height))
    blur = float(rng.uniform(0.3, 1.0)) if rng.random() < 0.3 else 0.0
    if pen == 1:
        # A blurred hairline is fainter than any real pen; keep its contrast readable.
        blur = min(blur, 0.5)
        ink = min(ink, paper - 130)
    return RenderStyle(
        height_px=height,
        pen_px=pen,
        slant=float(np.clip(rng.normal(0.0, 0.18), -0.45, 0.45)),
        rotation_deg=float(np.clip(rng.normal(0.0, 5.0), -12.0, 12.0)),
        aspect=float(np.exp(rng.uniform(np.log(0.6), np.log(1.35)))),
        elastic=float(rng.uniform(0.0, 0.05)),
        elastic_phase=tuple(float(v) for v in rng.uniform(0, 2 * np.pi, 4)),
        ink=ink,
        paper=paper,
        gradient=float(rng.uniform(0, 60)) if rng.random() < 0.2 else 0.0,
        gradient_angle=float(rng.uniform(0, 2 * np.pi)),
        blur_sigma=blur,
        noise_sigma=float(rng.uniform(1.0, 9.0)) if rng.random() < 0.4 else 0.0,
        jpeg_quality=int(rng.uniform(30, 90)) if rng.random() < 0.2 else 0,
        margin_px=int(rng.integers(0, 8)),
        noise_seed=int(rng.integers(0, 2**31 - 1)),
    )


def stroke_arrays(strokes: Strokes) -> list[np.ndarray]:
    """Strokes as float64 ``(n, 2)`` arrays with y flipped to point down; empty strokes
    are dropped."""
    out = []
    for stroke in strokes:
        pts = np.asarray(stroke, np.float64).reshape(-1, 2)
        if len(pts):
            out.append(pts * np.array([1.0, -1.0]))
    return out


def render_strokes(strokes: Strokes, style: RenderStyle | None = None, *, seed: int | None = None) -> np.ndarray:
    """Draw ``strokes`` (y up) as a gray uint8 image, dark ink on paper.

    With ``style`` None, ``seed`` picks a :func:`random_style` (and None gives
    :data:`CLEAN_STYLE`). Raises ValueError when the strokes hold no points.
    """
    if style is None:
        style = CLEAN_STYLE if seed is None else random_style(seed)
    arrays = stroke_arrays(strokes)
    if not arrays:
        raise ValueError("the strokes hold no points")
    arrays = _densify(arrays, step=_point_step(arrays))
    arrays = _transform(arrays, style)
    return _draw(arrays, style)


def _point_step(arrays: list[np.ndarray]) -> float:
    allpts = np.concatenate(arrays)
    span = float(np.ptp(allpts, axis=0).max())
    return max(span / 40.0, 1e-6)


def _densify(arrays: list[np.ndarray], step: float) -> list[np.ndarray]:
    """Insert points so no segment is longer than ``step``: the elastic wobble then
    bends lines instead of only moving their corners."""
    out = []
    for pts in arrays:
        if len(pts) < 2:
            out.append(pts)
            continue
        seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        if cum[-1] <= 0:
            out.append(pts[:1])
            continue
        n = max(2, int(np.ceil(cum[-1] / step)) + 1)
        t = np.linspace(0.0, cum[-1], n)
        t = np.union1d(t, cum)  # keep the original corners
        out.append(np.stack([np.interp(t, cum, pts[:, 0]), np.interp(t, cum, pts[:, 1])], axis=1))
    return out


def _transform(arrays: list[np.ndarray], style: RenderStyle) -> list[np.ndarray]:
    allpts = np.concatenate(arrays)
    lo = allpts.min(axis=0)
    span = np.ptp(allpts, axis=0)
    # Dots and dashes (zero height) are scaled by their width instead.
    ref = span[1] if span[1] > 0.05 * span[0] else max(span[0], 1e-6)
    scale = style.height_px / max(ref, 1e-6)
    centre = lo + span / 2.0
    angle = np.deg2rad(style.rotation_deg)
    cos, sin = np.cos(angle), np.sin(angle)
    size = style.height_px
    out = []
    for pts in arrays:
        p = (pts - centre) * scale
        # y points down here: height above the centre is -y.
        p[:, 0] = p[:, 0] * style.aspect - style.slant * p[:, 1]
        p = np.stack([cos * p[:, 0] - sin * p[:, 1], sin * p[:, 0] + cos * p[:, 1]], axis=1)
        if style.elastic > 0:
            a, b, c, d = style.elastic_phase
            u, v = p[:, 0] / size, p[:, 1] / size
            amp = style.elastic * size
            p = p + amp * np.stack(
                [np.sin(2.1 * v + a) * np.cos(1.3 * u + b), np.sin(1.7 * u + c) * np.cos(2.3 * v + d)], axis=1
            )
        out.append(p)
    return out


def _draw(arrays: list[np.ndarray], style: RenderStyle) -> np.ndarray:
    allpts = np.concatenate(arrays)
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    pad = style.pen_px / 2.0 + style.margin_px + 1
    w = int(np.ceil(hi[0] - lo[0] + 2 * pad))
    h = int(np.ceil(hi[1] - lo[1] + 2 * pad))
    # Ink is drawn as white on black, then mapped to paper and ink levels.
    canvas = np.zeros((max(h, 1), max(w, 1)), np.uint8)
    factor = 1 << _SHIFT
    polylines = []
    for pts in arrays:
        q = np.round((pts - lo + pad) * factor).astype(np.int32)
        if len(q) == 1 or np.all(q == q[0]):
            radius = max(1, round(style.pen_px / 2.0))
            cv2.circle(canvas, tuple(int(v) for v in q[0]), radius * factor, 255, -1, cv2.LINE_AA, _SHIFT)
        else:
            polylines.append(q.reshape(-1, 1, 2))
    if polylines:
        cv2.polylines(canvas, polylines, False, 255, int(style.pen_px), cv2.LINE_AA, _SHIFT)
    return _paper(canvas, style)


def _paper(alpha: np.ndarray, style: RenderStyle) -> np.ndarray:
    h, w = alpha.shape
    paper = np.full((h, w), float(style.paper), np.float32)
    if style.gradient:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = (xx * np.cos(style.gradient_angle) + yy * np.sin(style.gradient_angle)) / max(h, w)
        paper = paper - style.gradient * (t - t.min())
    a = alpha.astype(np.float32) / 255.0
    image = paper * (1.0 - a) + float(style.ink) * a
    return finish(image, style)


def finish(image: np.ndarray, style: RenderStyle) -> np.ndarray:
    """Blur, noise and JPEG of a float gray image, as a camera or scanner would."""
    if style.blur_sigma > 0:
        image = cv2.GaussianBlur(image, (0, 0), style.blur_sigma)
    if style.noise_sigma > 0:
        noise = np.random.default_rng(style.noise_seed).normal(0.0, style.noise_sigma, image.shape)
        image = image + noise.astype(np.float32)
    out = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    if style.jpeg_quality:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(style.jpeg_quality)])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out


def add_i_dot(strokes: Strokes, rng: np.random.Generator | int | None) -> list[np.ndarray]:
    """An uppercase "I" turned into the dotted "i" many people print inside capitals
    (French forms are full of them): the stem shrunk into the lower part of the height
    and a dot above it, a point, a short dash or a small ring. Strokes in and out are y
    up."""
    rng = np.random.default_rng(rng)
    arrays = [np.asarray(s, np.float64).reshape(-1, 2) for s in strokes if len(s)]
    allpts = np.concatenate(arrays)
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    height = max(hi[1] - lo[1], 1e-6)
    keep = rng.uniform(0.68, 0.86)  # the stem's share of the full height
    out = []
    for pts in arrays:
        p = pts.copy()
        p[:, 1] = lo[1] + (p[:, 1] - lo[1]) * keep
        out.append(p)
    top = max(out, key=lambda p: p[:, 1].max())
    x = float(top[np.argmax(top[:, 1]), 0]) + rng.normal(0.0, 0.04) * height
    y = lo[1] + keep * height + rng.uniform(0.08, 0.22) * height
    kind = rng.random()
    if kind < 0.25:  # a small ring, as some people draw their dots
        r = rng.uniform(0.03, 0.07) * height
        t = np.linspace(0.0, 2 * np.pi, 11)
        out.append(np.stack([x + r * np.cos(t), y + r * np.sin(t)], axis=1))
    elif kind < 0.6:  # the short dash of a quick pen
        length, angle = rng.uniform(0.02, 0.08) * height, rng.uniform(-0.8, 0.8)
        out.append(np.array([[x, y], [x + length * np.cos(angle), y + length * np.sin(angle)]]))
    else:
        out.append(np.array([[x, y]]))
    return out


#: Characters one straight stroke can be.
ONE_STROKE_CLASSES = frozenset("Il1i")


def is_fragment(strokes: Strokes, label: str) -> bool:
    """Whether a sample labelled ``label`` is one straight stroke, which only an I can
    (or l, 1 and an undotted i) be: UNIPEN's segmentation sometimes kept one stroke of a letter (a bar labelled H, T,
    F, E…). Trained on, such samples teach the model that a bar is anything."""
    if label in ONE_STROKE_CLASSES:
        return False
    arrays = [np.asarray(s, np.float64).reshape(-1, 2) for s in strokes if len(s)]
    if len(arrays) != 1 or len(arrays[0]) < 2:
        return False
    pts = arrays[0]
    span = float(np.ptp(pts, axis=0).max())
    chord = pts[-1] - pts[0]
    length = float(np.linalg.norm(chord))
    if span == 0 or length < 0.5 * span:
        return False
    unit = chord / length
    off_line = np.abs(unit[0] * (pts[:, 1] - pts[0, 1]) - unit[1] * (pts[:, 0] - pts[0, 0]))
    return float(off_line.max()) < 0.1 * span


def distort_raster(gray: np.ndarray, rng: np.random.Generator | int | None) -> np.ndarray:
    """A random variant of a raster glyph (gray uint8, dark ink on paper): resampled to a
    random ink height, sheared, rotated, stretched, thickened or thinned, then given
    random paper, blur, noise and JPEG like :func:`render_strokes`.

    Used for MNIST digits and for crops from the class folders.
    """
    rng = np.random.default_rng(rng)
    style = random_style(rng)
    ink = 1.0 - gray.astype(np.float32) / 255.0  # 1 = ink
    ys, xs = np.nonzero(ink > 0.2)
    if ys.size:
        ink = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = ink.shape
    scale = style.height_px / max(h, 1)
    pad = style.margin_px + 2
    # Affine: scale, aspect, shear and rotation about the centre of the ink.
    angle = np.deg2rad(style.rotation_deg)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lin = rot @ np.array([[style.aspect, -style.slant], [0.0, 1.0]]) * scale
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64) - [w / 2, h / 2]
    moved = corners @ lin.T
    out_w = int(np.ceil(np.ptp(moved[:, 0]))) + 2 * pad
    out_h = int(np.ceil(np.ptp(moved[:, 1]))) + 2 * pad
    offset = np.array([out_w / 2, out_h / 2]) - lin @ np.array([w / 2, h / 2])
    matrix = np.hstack([lin, offset[:, None]]).astype(np.float32)
    warped = cv2.warpAffine(ink, matrix, (max(out_w, 1), max(out_h, 1)), flags=cv2.INTER_LINEAR, borderValue=0.0)
    change = rng.integers(-1, 2)  # thinner, same, thicker by one pixel at this size
    if change:
        kernel = np.ones((2, 2), np.uint8)
        morphed = (cv2.dilate if change > 0 else cv2.erode)(warped, kernel)
        if change > 0 or np.count_nonzero(morphed > 0.5) > 0.5 * np.count_nonzero(warped > 0.5):
            warped = morphed
    image = style.paper * (1.0 - warped) + style.ink * warped
    return finish(image.astype(np.float32), style)


# --- UNIPEN -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class StrokeSet:
    """Letters as strokes: ``labels[i]`` drawn by ``writers[i]`` as ``strokes[i]``."""

    labels: np.ndarray  # str, one character each
    writers: np.ndarray  # str, "source:writer"
    sources: np.ndarray  # str, the contributing institution
    strokes: tuple  # each a list of strokes (y up)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> StrokeSet:
        index = np.asarray(index)
        return replace(
            self,
            labels=self.labels[index],
            writers=self.writers[index],
            sources=self.sources[index],
            strokes=tuple(self.strokes[i] for i in index),
        )


#: The UNIPEN letters as pen strokes, in the shared data's ``unipen_uppercase`` folder.
STROKES_FILE = "unipen_1b_uppercase_strokes.jsonl.gz"


def load_unipen(path: Path, limit: int | None = None) -> StrokeSet:
    """Read ``unipen_1b_uppercase_strokes.jsonl.gz`` (or the folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / STROKES_FILE
    if not path.is_file():
        raise DatasetError(f"{path}: UNIPEN strokes not found")
    labels, writers, sources, strokes = [], [], [], []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                rec = json.loads(line)
                if not any(len(s) for s in rec["strokes"]):
                    continue
                labels.append(rec["label"])
                writers.append(rec["writer"])
                sources.append(rec["source"])
                strokes.append(rec["strokes"])
                if limit is not None and len(labels) >= limit:
                    break
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{path}: cannot read UNIPEN strokes ({exc})") from None
    return StrokeSet(np.array(labels), np.array(writers), np.array(sources), tuple(strokes))
