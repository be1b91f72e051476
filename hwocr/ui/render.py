"""Pictures for the pages, drawn with OpenCV: no Streamlit here, so tests and the
benchmark can call them directly and the pages only display PNG bytes.

* a name with its boxes and their letters (the audit grid),
* what the segmenter saw: the kept ink, the column profile under it with the cuts and
  the row profile beside it, drawn on the review canvas's x scale so they line up,
* square thumbnails of crops (the dataset gallery) and of import previews.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from hwocr.boxes import Box
from hwocr.workspace import LabeledBox

_BOX_BGR = (12, 89, 232)        # orange, the canvas's box colour
_CUT_BGR = (40, 40, 220)        # red
_BAR_BGR = (140, 110, 60)       # steel blue
_TEXT_BGR = (30, 30, 30)
_PANEL_BG = (250, 250, 250)


def png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - only invalid arrays fail
        raise ValueError("image could not be encoded")
    return buf.tobytes()


def _bgr(gray: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR) if gray.ndim == 2 else gray.copy()


def _scaled(gray: np.ndarray, scale: float) -> np.ndarray:
    h, w = gray.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_NEAREST if scale >= 1 else cv2.INTER_AREA)


def name_with_boxes(gray: np.ndarray, boxes: Sequence[LabeledBox], *, width: int = 560, max_height: int = 110,
                    context: float = 0.12) -> np.ndarray:
    """The name scaled to ``width`` px with each box outlined and its letter in a strip above.

    Letters sit above their box, not on the ink, so a wrong letter is easy to spot. The
    picture keeps the boxes plus ``context`` of the image width on either side (a letter
    the boxes missed still shows) and drops the empty paper beyond, so the letters are big.
    """
    h, w = gray.shape[:2]
    if boxes:
        margin = round(context * w)
        x_from = max(0, min(b.box.x0 for b in boxes) - margin)
        x_to = min(w, max(b.box.x1 for b in boxes) + margin)
        gray = gray[:, x_from:x_to]
        boxes = [LabeledBox(Box(b.box.x0 - x_from, b.box.y0, b.box.x1 - x_from, b.box.y1), b.label) for b in boxes]
        w = x_to - x_from
    scale = min(width / max(w, 1), max_height / max(h, 1))
    body = _bgr(_scaled(gray, scale))
    bh, bw = body.shape[:2]
    strip = 26
    canvas = np.full((bh + strip, max(width, bw), 3), 255, np.uint8)
    canvas[strip:, :bw] = body
    for item in boxes:
        b = item.box
        x0, x1 = round(b.x0 * scale), round(b.x1 * scale) - 1
        y0, y1 = round(b.y0 * scale) + strip, round(b.y1 * scale) - 1 + strip
        cv2.rectangle(canvas, (x0, y0), (max(x0, x1), max(y0, y1)), _BOX_BGR, 2)
        label = item.label or "?"
        (tw, _th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.7, 2)
        cx = (x0 + x1) // 2
        cv2.putText(canvas, label, (int(cx - tw / 2), strip - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.7, _BOX_BGR, 2,
                    cv2.LINE_AA)
    return canvas


ROW_PANEL = 80    # width of the row-profile panel right of the ink
COL_PANEL = 72    # height of the column-profile panel under the ink


def analysis_picture(
    ink: np.ndarray,
    col_profile: np.ndarray,
    row_profile: np.ndarray,
    cuts: Sequence[int],
    boxes: Sequence[Box],
    *,
    width: int,
    height: int,
) -> np.ndarray:
    """What the segmenter saw, drawn ``width`` px wide so it lines up with the canvas.

    Top left: the kept ink (black on white) with the segmenter's pieces outlined; right of
    it the row profile (ink pixels per row); under it the column profile (ink pixels per
    column) with the cuts between pieces as red lines.
    """
    ih, iw = ink.shape[:2]
    sx, sy = width / max(iw, 1), height / max(ih, 1)
    out = np.full((height + COL_PANEL, width + ROW_PANEL, 3), _PANEL_BG, np.uint8)
    shown = cv2.resize(255 - ink, (width, height), interpolation=cv2.INTER_NEAREST)
    out[:height, :width] = _bgr(shown)
    for b in boxes:
        cv2.rectangle(out, (int(b.x0 * sx), int(b.y0 * sy)), (int(b.x1 * sx) - 1, int(b.y1 * sy) - 1),
                      _BAR_BGR, 1)
    # Column profile: one bar per image column, bottom-aligned.
    col = np.asarray(col_profile, dtype=np.float64)
    top_c = max(float(col.max()) if col.size else 0.0, 1.0)
    base = height + COL_PANEL - 4
    span = COL_PANEL - 14
    for x, v in enumerate(col):
        if v <= 0:
            continue
        x0, x1 = round(x * sx), max(round((x + 1) * sx) - 1, round(x * sx))
        cv2.rectangle(out, (x0, int(base - v / top_c * span)), (x1, base), _BAR_BGR, -1)
    for c in cuts:
        xc = round(c * sx)
        cv2.line(out, (xc, height), (xc, height + COL_PANEL - 1), _CUT_BGR, 1)
        cv2.line(out, (xc, 0), (xc, height - 1), _CUT_BGR, 1, cv2.LINE_4)
    # Row profile: one bar per image row, left-aligned.
    row = np.asarray(row_profile, dtype=np.float64)
    top_r = max(float(row.max()) if row.size else 0.0, 1.0)
    for y, v in enumerate(row):
        if v <= 0:
            continue
        y0, y1 = round(y * sy), max(round((y + 1) * sy) - 1, round(y * sy))
        cv2.rectangle(out, (width + 4, y0), (width + 4 + int(v / top_r * (ROW_PANEL - 10)), y1), _BAR_BGR, -1)
    cv2.line(out, (width, 0), (width, height + COL_PANEL), (200, 200, 200), 1)
    cv2.line(out, (0, height), (width + ROW_PANEL, height), (200, 200, 200), 1)
    cv2.putText(out, "columns", (4, height + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, _TEXT_BGR, 1, cv2.LINE_AA)
    cv2.putText(out, "rows", (width + 6, height + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, _TEXT_BGR, 1, cv2.LINE_AA)
    return out


def square_thumbnail(gray: np.ndarray, size: int = 64, *, pad: int = 3) -> np.ndarray:
    """The crop fitted (aspect kept) into a white ``size`` square, enlarged if small."""
    h, w = gray.shape[:2]
    inner = size - 2 * pad
    scale = inner / max(h, w, 1)
    small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.full((size, size), 255, np.uint8)
    sh, sw = small.shape[:2]
    y, x = (size - sh) // 2, (size - sw) // 2
    out[y : y + sh, x : x + sw] = small
    return out


def fit_width(gray: np.ndarray, width: int) -> np.ndarray:
    """Scaled to ``width`` pixels wide (aspect kept)."""
    _h, w = gray.shape[:2]
    return _scaled(gray, width / max(w, 1))


# --- a reading (the Recognize page) -----------------------------------------------------

_READ_STRIP_TOP = 36       # room for the letters above boxes that start at the image's top
_READ_STRIP_BOTTOM = 22    # ... and for the confidences under boxes that end at its bottom
_SURE_BGR = (60, 150, 40)       # green: 90 % and more
_UNSURE_BGR = (0, 150, 230)     # amber: 50-90 %
_DOUBT_BGR = (40, 40, 210)      # red: under 50 %


def confidence_bgr(confidence: float) -> tuple[int, int, int]:
    """Green when the model is sure (90 % and more), amber from 50 %, red below."""
    if confidence >= 0.9:
        return _SURE_BGR
    return _UNSURE_BGR if confidence >= 0.5 else _DOUBT_BGR


def reading_overlay(gray: np.ndarray, chars: Sequence[tuple[Box, str, float]], *, width: int = 1000,
                    max_height: int = 420, selected: int | None = None, keep_columns: bool = True,
                    margin: int = 16) -> np.ndarray:
    """What the reader saw, as the classic tutorial draws it: the image scaled to fit
    ``width`` x ``max_height`` (small name images enlarged), each character's box
    coloured by its confidence, its letter above the box and the confidence under it.
    The ``selected`` character (an index into ``chars``) gets a thick orange box.

    Paper more than ``margin`` pixels above and below the characters is left out, and
    left and right of them too unless ``keep_columns`` (a drawing keeps every column,
    so the picture lines up with the canvas it came from)."""
    if chars:
        h, w = gray.shape[:2]
        y_from = max(0, min(b.y0 for b, _, _ in chars) - margin)
        y_to = min(h, max(b.y1 for b, _, _ in chars) + margin)
        x_from, x_to = 0, w
        if not keep_columns:
            x_from = max(0, min(b.x0 for b, _, _ in chars) - margin)
            x_to = min(w, max(b.x1 for b, _, _ in chars) + margin)
        gray = gray[y_from:y_to, x_from:x_to]
        chars = [(Box(b.x0 - x_from, b.y0 - y_from, b.x1 - x_from, b.y1 - y_from), label, p) for b, label, p in chars]
    h, w = gray.shape[:2]
    scale = min(width / max(w, 1), max_height / max(h, 1))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # Smooth when enlarging (a small scanned name), area-averaged when shrinking.
    body = _bgr(cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR if scale >= 1 else cv2.INTER_AREA))
    bh, bw = body.shape[:2]
    top, bottom = _READ_STRIP_TOP, _READ_STRIP_BOTTOM
    out = np.full((bh + top + bottom, bw, 3), 255, np.uint8)
    out[top : top + bh] = body
    font = cv2.FONT_HERSHEY_SIMPLEX
    for index, (box, label, confidence) in enumerate(chars):
        colour = confidence_bgr(confidence)
        x0, x1 = round(box.x0 * scale), max(round(box.x1 * scale) - 1, round(box.x0 * scale))
        y0 = round(box.y0 * scale) + top
        y1 = max(round(box.y1 * scale) - 1 + top, y0)
        if index == selected:
            cv2.rectangle(out, (x0 - 3, y0 - 3), (x1 + 3, y1 + 3), _BOX_BGR, 4)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, 2)
        cx = (x0 + x1) / 2
        text = label or "?"
        (tw, th), _ = cv2.getTextSize(text, font, 0.9, 2)
        ty = max(th + 4, y0 - 8)
        tx = int(min(max(cx - tw / 2, 0), bw - tw))
        cv2.putText(out, text, (tx, ty), font, 0.9, colour, 2, cv2.LINE_AA)
        pct = f"{confidence * 100:.0f}%"
        (pw, ph), _ = cv2.getTextSize(pct, font, 0.45, 1)
        py = min(out.shape[0] - 5, y1 + ph + 7)
        px = int(min(max(cx - pw / 2, 0), bw - pw))
        cv2.putText(out, pct, (px, py), font, 0.45, colour, 1, cv2.LINE_AA)
    cv2.rectangle(out, (0, 0), (out.shape[1] - 1, out.shape[0] - 1), (215, 215, 215), 1)
    return out
