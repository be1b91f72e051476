"""One character image in, one model input out: the only preprocessing the character
model ever sees, shared by training, inference and the CSV export so they cannot drift.

The steps, in order:

1. decode anything :func:`hwocr.images.load_gray` accepts (path, bytes, PIL, gray / RGB /
   RGBA array; RGBA composited on white; light-on-dark inverted) to dark ink on paper;
2. shrink huge inputs to ``DEFAULTS.glyph_work_side`` (a character needs no more);
3. flatten the paper: the local paper level is a morphological closing of the image, so
   shadows and gradients of phone photos drop out, and ink is whatever is clearly darker
   than its own neighbourhood (Otsu on that difference; an image whose darkest ink is
   less than ``DEFAULTS.glyph_min_contrast`` gray levels below its paper is blank);
   specks much smaller than the main ink are dropped;
4. crop to the ink and upsample the crop to 4x the target box, where the stroke width is
   measured (the ridge of the distance transform) and clamped into
   ``[glyph_stroke_min_frac, glyph_stroke_max_frac]`` of the box by a dilation or a mild
   erosion — so a 1 px pen line on a scan and a 20 px brush on the canvas arrive alike;
5. fit the long side into the ink box keeping the aspect ratio (a tall bar stays a tall
   bar), downsample with area averaging (anti-aliased edges, ink core exactly 1.0) and
   centre the bounding box in the square output.

Centring is by bounding box, not centre of mass: it is what the segmenter's boxes give,
and it keeps letters whose mass is lopsided (F, P, L, 7) where the writer put them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from hwocr.config import DEFAULTS
from hwocr.errors import ImageError
from hwocr.images import ImageSource, load_gray

#: The stroke work happens at this multiple of the output resolution.
_HIRES = 4


def prepare_glyph(image: ImageSource) -> np.ndarray:
    """The model input for one character: float32 ``(S, S)`` in ``[0, 1]``, ink = 1.0
    on a 0.0 background (MNIST polarity), S = ``DEFAULTS.model_input_size``.

    Raises :class:`ImageError` ("no ink found") for blank input, and whatever
    :func:`load_gray` raises for input that is not an image.
    """
    return render_glyph(load_gray(image), DEFAULTS.model_input_size, DEFAULTS.model_ink_box)


def prepare_batch(images: Iterable[ImageSource]) -> np.ndarray:
    """:func:`prepare_glyph` over many images: float32 ``(N, S, S, 1)``.

    An image that fails names its position in the batch: ``image 3: no ink found``.
    """
    size = DEFAULTS.model_input_size
    out = []
    for index, image in enumerate(images):
        try:
            out.append(prepare_glyph(image))
        except ImageError as exc:
            raise ImageError(f"image {index}: {exc}") from None
    if not out:
        return np.zeros((0, size, size, 1), np.float32)
    return np.stack(out)[..., None]


def to_export_28(image: ImageSource) -> np.ndarray:
    """A 28x28 uint8 crop, white ink on black, for the Kaggle A–Z CSV export; the same
    path as :func:`prepare_glyph` with the MNIST 20-in-28 framing."""
    glyph = render_glyph(load_gray(image), DEFAULTS.export_size, DEFAULTS.export_ink_box)
    return np.clip(glyph * 255.0 + 0.5, 0, 255).astype(np.uint8)


def render_glyph(gray: np.ndarray, size: int, ink_box: int) -> np.ndarray:
    """The fit-and-centre core on an already decoded gray image (dark ink on paper)."""
    if ink_box < 2 or ink_box > size:
        raise ValueError(f"ink box {ink_box} must lie in 2..{size}")
    soft = ink_map(gray)
    hires = _normalise_strokes(_upsample(soft, ink_box * _HIRES), ink_box * _HIRES)
    return _fit_and_centre(hires, size, ink_box)


def ink_map(gray: np.ndarray) -> np.ndarray:
    """Soft ink strength of ``gray`` (uint8, dark ink on paper), cropped to the ink:
    float32, exactly 0.5 on the ink/paper threshold, 1.0 well inside strokes, 0.0 off the
    kept ink. Raises ImageError("no ink found") when nothing is clearly darker than paper.
    """
    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.size == 0:
        raise ImageError("a glyph needs a non-empty 2-D gray image")
    gray = _shrink(gray.astype(np.uint8, copy=False), DEFAULTS.glyph_work_side)
    diff = _ink_difference(gray)
    # A light blur before deciding keeps sensor noise and JPEG ringing under the contrast
    # bar while a 1 px line keeps about half of its contrast.
    smooth = cv2.GaussianBlur(diff, (3, 3), 0.6)
    contrast = cv2.minMaxLoc(smooth)[1]
    if contrast < DEFAULTS.glyph_min_contrast:
        raise ImageError("no ink found")
    _clip_in_place(smooth, 0.0, 255.0)
    otsu, _ = cv2.threshold(smooth.astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    threshold = max(float(otsu), 0.25 * contrast, DEFAULTS.glyph_min_contrast / 2.0)
    mask = _drop_specks(diff > threshold)
    if mask is None:
        raise ImageError("no ink found")
    x0, y0, w, h = cv2.boundingRect(mask)
    soft = _clip_in_place(diff[y0 : y0 + h, x0 : x0 + w] * (0.5 / threshold), 0.0, 1.0)
    # Only ink near kept blobs survives: dropped specks must not return on upsampling.
    near = cv2.dilate(mask[y0 : y0 + h, x0 : x0 + w], _SQUARE3)
    np.multiply(soft, near, out=soft)  # soft[near == 0] = 0: near is 0/1
    return soft.astype(np.float32, copy=False)


_SQUARE3 = np.ones((3, 3), np.uint8)


def _clip_in_place(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``np.clip(values, low, high)`` in place, without np.clip's Python-level overhead
    (the same numbers: these arrays hold no NaN)."""
    np.maximum(values, low, out=values)
    return np.minimum(values, high, out=values)


def _shrink(gray: np.ndarray, max_side: int) -> np.ndarray:
    h, w = gray.shape
    if max(h, w) <= max_side:
        return gray
    scale = max_side / max(h, w)
    return cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _ink_difference(gray: np.ndarray) -> np.ndarray:
    """How much darker than the local paper each pixel is (float32, >= 0)."""
    h, w = gray.shape
    k = max(5, round(0.25 * max(h, w)) | 1)
    # Pad with the paper level so ink touching the crop edge still has paper in reach
    # of the closing; the 90th percentile is paper for any glyph that is mostly paper.
    counts = np.bincount(gray.ravel(), minlength=256).cumsum()
    paper = int(counts.searchsorted(0.9 * counts[-1]))
    pad = k // 2 + 1
    padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=paper)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    background = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel)[pad:-pad, pad:-pad]
    return background.astype(np.float32) - gray.astype(np.float32)


def _drop_specks(mask: np.ndarray) -> np.ndarray | None:
    """The ink mask (uint8 0/1) without blobs much smaller than the largest, or None."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    min_area = max(2.0, DEFAULTS.glyph_min_blob_frac * float(areas.max()))
    keep = np.zeros(count, np.uint8)
    keep[1:] = areas >= min_area
    if not keep.any():
        return None
    return keep[labels]


def _upsample(soft: np.ndarray, long_side: int) -> np.ndarray:
    """Binary ink at ``long_side`` on the long side, aspect kept, from the soft map."""
    # One pixel of empty border so interpolation sees the edge of the ink.
    soft = cv2.copyMakeBorder(soft, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0.0)
    h, w = soft.shape
    scale = long_side / max(h - 2, w - 2)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_LINEAR if scale >= 1.0 else cv2.INTER_AREA
    return (cv2.resize(soft, size, interpolation=interpolation) > 0.5).astype(np.uint8)


def stroke_width(binary: np.ndarray) -> float:
    """Typical stroke width of a binary image, in pixels: twice the median distance
    from the stroke's centre line (the ridge of the distance transform) to the paper.
    Junctions and end caps barely move a median, so this holds for thin lines and fat
    brush strokes alike (to about half a pixel)."""
    binary = np.asarray(binary)
    if not binary.any():
        return 0.0
    padded = cv2.copyMakeBorder((binary > 0).astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)
    ridge = (dist > 0) & (dist >= cv2.dilate(dist, _SQUARE3))
    return max(1.0, 2.0 * _median32(dist[ridge]) - 0.5)


def _median32(values: np.ndarray) -> float:
    """``float(np.median(values))`` of a non-empty float32 vector without NaNs, bit for
    bit (the middle value, or the float32 mean of the two middle ones), at a fraction of
    np.median's cost on the few hundred values a glyph has."""
    n = values.size
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    p = np.partition(values, (k - 1, k))
    return float((p[k - 1] + p[k]) / np.float32(2))


def _normalise_strokes(binary: np.ndarray, box: int) -> np.ndarray:
    if not binary.any():
        raise ImageError("no ink found")
    width = stroke_width(binary)
    lo = DEFAULTS.glyph_stroke_min_frac * box
    hi = DEFAULTS.glyph_stroke_max_frac * box
    if width < lo:
        # An odd elliptic kernel of side k widens a stroke by k - 1 pixels.
        k = 2 * round((lo - width) / 2.0) + 1
        if k > 1:
            # Room around the ink, or strokes on the crop's edge only grow inwards.
            binary = cv2.copyMakeBorder(binary, k, k, k, k, cv2.BORDER_CONSTANT, value=0)
            binary = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    elif width > hi:
        k = 2 * round((width - hi) / 2.0) + 1
        if k > 1:
            binary = cv2.copyMakeBorder(binary, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
            thinner = cv2.erode(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
            # Mild only: an erosion that eats most of the ink would break the letter.
            if np.count_nonzero(thinner) >= 0.4 * np.count_nonzero(binary):
                binary = thinner
    return binary


def _fit_and_centre(binary: np.ndarray, size: int, ink_box: int) -> np.ndarray:
    x0, y0, w, h = cv2.boundingRect(binary)
    if w == 0 or h == 0:
        raise ImageError("no ink found")
    crop = binary[y0 : y0 + h, x0 : x0 + w].astype(np.float32)
    h, w = crop.shape
    scale = ink_box / max(h, w)
    out_w, out_h = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_AREA)
    glyph = np.zeros((size, size), np.float32)
    top, left = (size - out_h) // 2, (size - out_w) // 2
    glyph[top : top + out_h, left : left + out_w] = small
    return _clip_in_place(glyph, 0.0, 1.0)


def ink_bbox(glyph: np.ndarray, level: float = 0.1) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of the pixels of a prepared glyph above ``level``
    (exclusive end), for tests and diagnostics."""
    ys, xs = np.nonzero(np.asarray(glyph) > level)
    if ys.size == 0:
        raise ImageError("no ink found")
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def mosaic(glyphs: Sequence[np.ndarray], columns: int = 16) -> np.ndarray:
    """Prepared glyphs tiled into one uint8 image (white ink on black), for eyeballing."""
    glyphs = [np.asarray(g, np.float32).reshape(g.shape[0], g.shape[1]) for g in glyphs]
    if not glyphs:
        return np.zeros((1, 1), np.uint8)
    s = glyphs[0].shape[0]
    rows = (len(glyphs) + columns - 1) // columns
    sheet = np.zeros((rows * (s + 1), columns * (s + 1)), np.float32)
    for i, g in enumerate(glyphs):
        r, c = divmod(i, columns)
        sheet[r * (s + 1) : r * (s + 1) + s, c * (s + 1) : c * (s + 1) + s] = g
    return np.clip(sheet * 255 + 0.5, 0, 255).astype(np.uint8)
