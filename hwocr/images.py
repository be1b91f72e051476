"""Decode any image input to one canonical form: a 2-D gray uint8 array, dark ink on
light paper.

Accepted inputs: a path, raw bytes, a PIL image, or a numpy array (gray, gray+alpha, RGB,
RGBA; uint8, uint16, bool or float in [0, 1]). Transparent pixels are composited on
white, EXIF orientation is applied, 16-bit and CMYK images are converted, animated
images give their first frame, and light-on-dark input is inverted. Anything that is
not an image, is truncated, empty or absurdly large raises :class:`ImageError` with the
reason.
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings
from pathlib import Path
from typing import Union

import numpy as np

from hwocr.config import DEFAULTS
from hwocr.errors import ImageError

ImageSource = Union[str, Path, bytes, bytearray, memoryview, np.ndarray, "PIL.Image.Image"]  # noqa: F821

# Magic bytes of the formats we accept, checked before any decoder sees the data.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)

_OBJECT_REPR = re.compile(r" ?<[\w.]+ object at 0x[0-9a-fA-F]+>")

EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "gif": ".gif", "bmp": ".bmp", "tiff": ".tif", "webp": ".webp"}


def sniff_image_type(data: bytes) -> str | None:
    """The image format named by the first bytes of ``data``, or None if it is not one."""
    head = bytes(data[:16])
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    return None


def describe_non_image(data: bytes) -> str:
    """A short human description of bytes that are not an image, for error messages."""
    if not data:
        return "the file is empty (0 bytes)"
    head = bytes(data[:512]).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "the content is an HTML page, not an image"
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "the content is an SVG drawing, not a PNG, JPEG, GIF, BMP, TIFF or WebP image"
    if head.startswith((b"{", b"[")):
        return "the content is JSON or text, not an image"
    if head.startswith(b"%pdf"):
        return "the content is a PDF, not an image"
    if head.startswith(b"pk\x03\x04"):
        return "the content is a zip archive, not an image"
    return "the content is not a PNG, JPEG, GIF, BMP, TIFF or WebP image"


def _pil_reason(exc: BaseException) -> str:
    # Pillow names the buffer object ("<_io.BytesIO object at 0x…>"): noise that would
    # keep identical failures from grouping together.
    return _OBJECT_REPR.sub("", str(exc)).strip() or type(exc).__name__


def check_image_header(data: bytes, *, max_pixels: int | None = None) -> tuple[int, int]:
    """The cheap check: ``(width, height)`` from the header, refusing non-images and bombs."""
    max_pixels = DEFAULTS.max_image_pixels if max_pixels is None else max_pixels
    if sniff_image_type(data) is None:
        raise ImageError(describe_non_image(data))
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
    except Image.DecompressionBombError:
        raise ImageError(f"the image is more than the limit of {max_pixels:,} pixels") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad headers
        raise ImageError(f"the image cannot be decoded: {_pil_reason(exc)}") from None
    if width <= 0 or height <= 0:
        raise ImageError("the image has no pixels")
    if width * height > max_pixels:
        raise ImageError(f"the image is {width}x{height} pixels, more than the limit of {max_pixels:,}")
    return width, height


def _jpeg_frame(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, colour components) from a JPEG's frame header, or None."""
    i, n = 2, len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        seg_len = (data[i + 2] << 8) | data[i + 3]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = (data[i + 5] << 8) | data[i + 6]
            width = (data[i + 7] << 8) | data[i + 8]
            return (width, height, data[i + 9]) if width and height else None
        i += 2 + seg_len
    return None


def _decode_plain_jpeg(data: bytes, max_pixels: int) -> np.ndarray | None:
    """OpenCV's decoder for the common case: a complete gray or YCbCr JPEG without EXIF
    rotation. Import decodes every scan, and Pillow's general path (modes, EXIF, alpha)
    costs several times the whole segmentation of a name. Anything unusual returns
    None and goes to Pillow, which also words the errors."""
    frame = _jpeg_frame(data)
    if frame is None or frame[0] * frame[1] > max_pixels or frame[2] not in (1, 3):
        return None
    head = data[: 64 * 1024]
    if b"Exif\x00\x00" in head and (b"\x01\x12" in head or b"\x12\x01" in head):
        return None  # may carry an orientation: Pillow applies it
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return None  # truncated: OpenCV would fill the rest with gray, Pillow refuses it
    import cv2

    gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if gray is None or gray.size == 0:
        return None
    return ensure_dark_ink(gray)


def decode_image(data: bytes, *, max_pixels: int | None = None, max_bytes: int | None = None) -> np.ndarray:
    """Decode encoded image bytes to gray uint8, dark ink on light paper."""
    max_pixels = DEFAULTS.max_image_pixels if max_pixels is None else max_pixels
    max_bytes = DEFAULTS.max_image_bytes if max_bytes is None else max_bytes
    data = bytes(data)
    if len(data) > max_bytes:
        raise ImageError(f"the file is {len(data):,} bytes, more than the limit of {max_bytes:,}")
    kind = sniff_image_type(data)
    if kind is None:
        raise ImageError(describe_non_image(data))
    if kind == "jpeg":
        fast = _decode_plain_jpeg(data, max_pixels)
        if fast is not None:
            return fast
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            # Our own pixel limit below is the guard; PIL's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width <= 0 or height <= 0:
                raise ImageError("the image has no pixels")
            if width * height > max_pixels:
                raise ImageError(
                    f"the image is {width}x{height} pixels, more than the limit of {max_pixels:,}"
                )
            img.seek(0)  # first frame of an animation
            img.load()
            img = ImageOps.exif_transpose(img)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        # Pillow refuses claimed sizes far beyond its own limit before we can read them.
        raise ImageError(f"the image is more than the limit of {max_pixels:,} pixels") from None
    except (OSError, ValueError, SyntaxError, EOFError, Image.UnidentifiedImageError) as exc:
        reason = _pil_reason(exc)
        if "truncated" in reason.lower():
            raise ImageError("the image file is truncated") from None
        raise ImageError(f"the image cannot be decoded: {reason}") from None
    return _pil_to_gray(img)


def _pil_to_gray(img) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        return ensure_dark_ink(_stretch_to_uint8(arr))
    if mode == "1":
        return ensure_dark_ink(np.asarray(img.convert("L"), dtype=np.uint8))
    if mode == "P":
        img = img.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif mode not in ("L", "RGB", "RGBA"):
        # LA, La, RGBa, PA (alpha to flatten) and any other mode: through RGBA.
        img = img.convert("RGBA")
    return to_gray(np.asarray(img))


def _stretch_to_uint8(arr: np.ndarray) -> np.ndarray:
    arr = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.full(arr.shape, 255, np.uint8)
    if lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0
    elif lo >= 0.0 and hi <= 255.0:
        lo, hi = 0.0, 255.0
    elif lo >= 0.0 and hi <= 65535.0:
        lo, hi = 0.0, 65535.0
    # Halved first: hi - lo of float extremes would overflow to inf and give NaN pixels.
    scaled = (arr * 0.5 - lo * 0.5) * (255.0 / (hi * 0.5 - lo * 0.5))
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


def to_gray(array: np.ndarray) -> np.ndarray:
    """Any numeric image array to gray uint8 with dark ink on a light background."""
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (2, 3, 4)):
        raise ImageError(f"an image array must be HxW, HxWx3 or HxWx4, not shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError("the image has no pixels")
    if arr.shape[0] * arr.shape[1] > DEFAULTS.max_image_pixels:
        raise ImageError(
            f"the image is {arr.shape[1]}x{arr.shape[0]} pixels, more than the limit of "
            f"{DEFAULTS.max_image_pixels:,}"
        )
    if arr.dtype == np.bool_:
        arr = np.where(arr, 255, 0).astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = _stretch_to_uint8(arr)

    if arr.ndim == 2:
        return ensure_dark_ink(arr)

    channels = arr.shape[2]
    if channels in (2, 4):
        color = arr[:, :, :-1].astype(np.float32)
        alpha = arr[:, :, -1:].astype(np.float32) / 255.0
        if channels == 4 and float(alpha.max()) == 0.0:
            # Fully transparent: nothing is drawn, which is blank paper.
            return np.full(arr.shape[:2], 255, np.uint8)
        gray = _luma(color) if channels == 4 else color[:, :, 0]
        # Transparent background on white paper.
        gray = gray * alpha[:, :, 0] + 255.0 * (1.0 - alpha[:, :, 0])
        return ensure_dark_ink(np.clip(gray + 0.5, 0, 255).astype(np.uint8), transparent=bool(alpha.min() < 1.0))
    return ensure_dark_ink(np.clip(_luma(arr.astype(np.float32)) + 0.5, 0, 255).astype(np.uint8))


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114


def _median(values: np.ndarray) -> float:
    """``float(np.median(values))``, exactly, for the uint8 images decoded here: the
    mean of the two middle values of a sort. np.median's generic machinery costs more
    than the sort itself on a name's few hundred frame pixels (it runs once per image)."""
    if values.dtype != np.uint8:
        return float(np.median(values))
    v = values.flatten()  # a copy, sorted in place (np.sort adds a Python-level wrapper)
    v.sort()
    m = v.size
    return 0.5 * (float(v[(m - 1) // 2]) + float(v[m // 2]))


def ensure_dark_ink(gray: np.ndarray, *, transparent: bool = False) -> np.ndarray:
    """Invert light-on-dark images so that ink is always darker than paper.

    Paper surrounds the writing, so the median of the image's outer frame decides (a
    tight crop of a bold letter can be mostly ink, but its frame is still mostly paper).
    An image that had transparency was composited on white, which is paper by
    construction.
    """
    if transparent:
        return gray
    h, w = gray.shape[:2]
    if h >= 3 and w >= 3:
        frame = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
        if frame.dtype == np.uint8 and np.count_nonzero(frame < 129) <= (frame.size - 1) // 2:
            # Both middle values are at least 129, so is the median: plainly light paper
            # (nearly every scan), decided by one count instead of a sort.
            return gray
        paper = _median(frame)
        if paper == 127.5 or abs(paper - 128.0) < 1.0:
            paper = _median(gray)
    else:
        paper = _median(gray)
    if paper < 128.0:
        return (255 - gray).astype(np.uint8)
    return gray


def read_image_bytes(path: Path, *, max_bytes: int | None = None) -> bytes:
    max_bytes = DEFAULTS.max_image_bytes if max_bytes is None else max_bytes
    try:
        # os.open/fstat/read: five system calls where stat() + read_bytes() make about
        # ten (isatty, repeated fstat, lseek), a good part of decoding a few-kB JPEG.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            st = os.fstat(fd)
            if st.st_size > max_bytes:
                raise ImageError(
                    f"{path.name}: the file is {st.st_size:,} bytes, more than the limit of {max_bytes:,}"
                )
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError
            # Read to the end: the size is a hint (one byte more finds the end at once).
            chunks = []
            while chunk := os.read(fd, st.st_size + 1 if not chunks else 1 << 16):
                chunks.append(chunk)
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a folder, not an image") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None


def load_gray(source: ImageSource) -> np.ndarray:
    """Any accepted image input to gray uint8, dark ink on light paper."""
    if isinstance(source, np.ndarray):
        return to_gray(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return decode_image(bytes(source))
    if isinstance(source, (str, Path)):
        # A Path is used as it is: a copy would compute its string form again.
        path = source if isinstance(source, Path) else Path(source)
        try:
            return decode_image(read_image_bytes(path))
        except ImageError as exc:
            if str(exc).startswith(str(path)) or str(exc).startswith(path.name):
                raise
            raise ImageError(f"{path.name}: {exc}") from None
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a hard dependency
        Image = None
    if Image is not None and isinstance(source, Image.Image):
        return _pil_to_gray(source)
    raise ImageError(f"cannot read an image from a {type(source).__name__}")


def encode_png(gray: np.ndarray, compression: int | None = None) -> bytes:
    """PNG bytes of a gray uint8 array (lossless, for crops and stored images);
    ``compression``: zlib's level 0-9 (default: OpenCV's)."""
    import cv2

    params = [] if compression is None else [cv2.IMWRITE_PNG_COMPRESSION, int(compression)]
    ok, buf = cv2.imencode(".png", gray, params)
    if not ok:  # pragma: no cover - cv2 only fails on invalid arrays
        raise ImageError("the image could not be encoded as PNG")
    return buf.tobytes()
