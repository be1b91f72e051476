"""Between image pixels and the review canvas: scale, drawing, and back.

The name images are small (about 388x36), so the canvas shows them enlarged. The
background is drawn on the server at exactly the canvas size and shown with
``background_image_fit="stretch"`` (no scaling in the browser): the image enlarged with
crisp pixels, under a strip of ``top`` pixels of grey where the boxes' letter chips fit
above the boxes instead of covering the ink. So canvas ``(x, y)`` is image
``(x / scale_x, (y - top) / scale_y)``, and a box survives the round trip image ->
canvas -> image unchanged.
No Streamlit here: the conversions are plain functions the tests check directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from hwocr.boxes import Box
from hwocr.errors import InputError
from hwocr.workspace import LabeledBox

#: The canvas is at most this wide and this tall (CSS pixels); the image is scaled to fit.
CANVAS_MAX_WIDTH = 1040
CANVAS_MAX_HEIGHT = 320
#: Strip above the image for the letter chips of boxes that start at the image's top.
CHIP_STRIP = 24
STRIP_GRAY = 236
BOX_STROKE = "#e8590c"
BOX_STROKE_WIDTH = 2


@dataclass(frozen=True)
class CanvasGeometry:
    image_width: int
    image_height: int
    width: int           # canvas size in CSS pixels
    height: int          # ... including the strip above the image
    top: int = 0         # the strip: the image starts this many canvas pixels down

    @property
    def scale_x(self) -> float:
        return self.width / self.image_width

    @property
    def scale_y(self) -> float:
        return (self.height - self.top) / self.image_height


def geometry_for(image_width: int, image_height: int, *, max_width: int = CANVAS_MAX_WIDTH,
                 max_height: int = CANVAS_MAX_HEIGHT, top: int = CHIP_STRIP) -> CanvasGeometry:
    """The largest canvas within the limits that keeps the image's aspect ratio."""
    if image_width <= 0 or image_height <= 0:
        raise InputError(f"the image has no pixels ({image_width}x{image_height})")
    scale = min(max_width / image_width, max_height / image_height)
    width = max(1, round(image_width * scale))
    height = max(1, round(image_height * scale))
    return CanvasGeometry(image_width, image_height, width, height + top, top)


def background_png(gray: np.ndarray, geometry: CanvasGeometry) -> bytes:
    """The canvas background: the chip strip, then the image enlarged with
    nearest-neighbour pixels (crisp edges, so a box can be put on the exact pixel)."""
    big = cv2.resize(gray, (geometry.width, geometry.height - geometry.top), interpolation=cv2.INTER_NEAREST)
    if geometry.top:
        strip = np.full((geometry.top, geometry.width), STRIP_GRAY, np.uint8)
        big = np.vstack([strip, big])
    ok, buf = cv2.imencode(".png", big)
    if not ok:  # pragma: no cover
        raise InputError("the name image could not be encoded")
    return buf.tobytes()


def to_canvas_boxes(boxes: Iterable[LabeledBox], geometry: CanvasGeometry) -> list[dict[str, Any]]:
    """Image-pixel boxes as ``CanvasResult.boxes``-shaped dicts (input of ``boxes_to_drawing``)."""
    sx, sy = geometry.scale_x, geometry.scale_y
    return [
        {
            "label": item.label,
            "left": item.box.x0 * sx,
            "top": geometry.top + item.box.y0 * sy,
            "width": item.box.width * sx,
            "height": item.box.height * sy,
        }
        for item in boxes
    ]


def from_canvas_boxes(canvas_boxes: Iterable[Mapping[str, Any]], geometry: CanvasGeometry) -> list[LabeledBox]:
    """``CanvasResult.boxes`` (canvas pixels) back to image pixels, clipped to the image.

    Edges are rounded to the nearest image pixel; boxes that end up empty (a stray click)
    are dropped; letters are upper-cased, and left empty when the person gave none (the
    accept then says which box lacks a letter).
    """
    sx, sy = geometry.scale_x, geometry.scale_y
    out: list[LabeledBox] = []
    for b in canvas_boxes:
        left, top = float(b.get("left", 0)), float(b.get("top", 0)) - geometry.top
        width, height = float(b.get("width", 0)), float(b.get("height", 0))
        box = Box.from_seq([left / sx, top / sy, (left + width) / sx, (top + height) / sy])
        box = box.clip(geometry.image_width, geometry.image_height)
        if box.width < 1 or box.height < 1:
            continue
        out.append(LabeledBox(box, str(b.get("label") or "").strip().upper()))
    out.sort(key=lambda lb: (lb.box.x0, lb.box.y0))
    return out


def boxes_from_override(items: Sequence[Sequence[Any]]) -> list[LabeledBox]:
    """``[[x0, y0, x1, y1, label], ...]`` in image pixels (the session-state override)."""
    return [LabeledBox.from_json(item) for item in items]


def transcription_letters(text: str | None) -> str:
    """The letters a typed transcription stands for ("Jean-Luc" -> "JEANLUC"); "" if none."""
    from hwocr.text import letters_of, normalize_transcription

    normalized, _ = normalize_transcription(text)
    return letters_of(normalized or "")


def letters_in_order(text: str, boxes: Sequence[LabeledBox]) -> list[LabeledBox]:
    """The boxes, left to right, relabelled with the transcription's letters in order.

    Extra boxes keep their letter; missing letters are simply not assigned.
    """
    letters = transcription_letters(text)
    ordered = sorted(boxes, key=lambda lb: (lb.box.x0, lb.box.y0))
    return [LabeledBox(lb.box, letters[i] if i < len(letters) else lb.label) for i, lb in enumerate(ordered)]


def default_letter(transcription: str, boxes: Sequence[LabeledBox]) -> str:
    """The letter a new box most likely needs: the first letter of the transcription that
    no box has yet (else its first letter, else A)."""
    from hwocr.config import ALL_CLASSES

    letters = [ch for ch in transcription_letters(transcription) if ch in ALL_CLASSES]
    have = [b.label for b in boxes]
    for ch in letters:
        if ch in have:
            have.remove(ch)
        else:
            return ch
    return letters[0] if letters else ALL_CLASSES[0]
