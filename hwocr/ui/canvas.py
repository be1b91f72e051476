"""Between image pixels and the review canvas: scale, drawing, and back.

The name images are small (about 388x36), so the canvas shows them enlarged. The
background is drawn on the server at exactly the canvas size and shown with
``background_image_fit="stretch"`` (no scaling in the browser): the image enlarged with
crisp pixels, under a strip of ``top`` pixels of grey where the boxes' letter chips fit
above the boxes instead of covering the ink. So canvas ``(x, y)`` is image
``(x / scale_x, (y - top) / scale_y)``, and a box survives the round trip image ->
canvas -> image unchanged.
The conversions are plain functions the tests check directly.

Also here: the Recognize page's pen canvas (:func:`pen_canvas`), a small components-v2
pad to write on that sends its picture the moment the pen lifts (see the section below
for why not streamlit-drawable-canvas). Streamlit is imported only when it is drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from hwocr.boxes import Box
from hwocr.config import ALL_CLASSES
from hwocr.errors import InputError
from hwocr.text import letters_of, normalize_transcription
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
    letters = [ch for ch in transcription_letters(transcription) if ch in ALL_CLASSES]
    have = [b.label for b in boxes]
    for ch in letters:
        if ch in have:
            have.remove(ch)
        else:
            return ch
    return letters[0] if letters else ALL_CLASSES[0]


# --- the Recognize page's pen canvas ----------------------------------------------------------
#
# Why not streamlit-drawable-canvas for writing: it sends the drawing through a fixed
# 200 ms debounce after the pen lifts (its frontend's ``sender``), which alone took most
# of the 300 ms a reading may take to show. This pad is a plain 2D canvas: strokes are
# drawn as the pointer moves and the picture (PNG, canvas pixels, black on white) is sent
# the moment the pen lifts. Undo, redo and clear are three small buttons over its top
# right corner. The drawing lives in the browser; a rerun only updates the pen width.

PEN_COMPONENT_NAME = "hwocr_pen_canvas"
_pen_component: Any = None

_PEN_CSS = """
.hpc-host { position: relative; display: inline-block; }
.hpc-canvas { display: block; border: 1px solid #d0d0d0; touch-action: none; cursor: crosshair;
  background: #fff; }
.hpc-tools { position: absolute; top: -34px; right: 0; display: flex; gap: 2px; background: #fff;
  border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.15); padding: 2px 4px; }
.hpc-tools button { border: 0; background: transparent; font: 14px sans-serif; padding: 3px 6px;
  cursor: pointer; color: #333; border-radius: 4px; }
.hpc-tools button:hover:not(:disabled) { background: #eee; }
.hpc-tools button:disabled { color: #bbb; cursor: default; }
"""

_PEN_JS = r"""
const pads = new WeakMap();

class Pad {
  constructor(host) {
    this.host = host;
    this.strokes = [];
    this.undone = [];
    this.current = null;
    this.width = 12;
    this.W = 0; this.H = 0;
    this.tools = document.createElement("div");
    this.tools.className = "hpc-tools";
    this.buttons = {};
    for (const [name, text, title] of [["undo", "↶", "Undo"], ["redo", "↷", "Redo"], ["clear", "✕", "Clear"]]) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = text; b.title = title; b.setAttribute("aria-label", title);
      b.className = "hpc-" + name;
      b.addEventListener("click", () => this[name]());
      this.tools.append(b);
      this.buttons[name] = b;
    }
    this.canvas = document.createElement("canvas");
    this.canvas.className = "hpc-canvas";
    this.ctx = this.canvas.getContext("2d");
    host.append(this.tools, this.canvas);
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => this.down(e));
    c.addEventListener("pointermove", (e) => this.move(e));
    c.addEventListener("pointerup", (e) => this.up(e));
    c.addEventListener("pointercancel", (e) => this.up(e));
  }
  update(data, api) {
    this.api = api;
    this.width = Number(data.stroke) || 12;
    const W = Number(data.width) || 600, H = Number(data.height) || 300;
    if (W !== this.W || H !== this.H) {
      this.W = W; this.H = H;
      this.canvas.width = W; this.canvas.height = H;
      this.canvas.style.width = W + "px"; this.canvas.style.height = H + "px";
      this.redraw();
    }
    this.refreshTools();
  }
  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * this.W / r.width, (e.clientY - r.top) * this.H / r.height];
  }
  down(e) {
    if (e.button !== undefined && e.button !== 0) return;
    this.canvas.setPointerCapture?.(e.pointerId);
    this.current = { w: this.width, pts: [this.point(e)] };
    this.drawStroke(this.current);
    e.preventDefault();
  }
  move(e) {
    if (!this.current) return;
    const pts = this.current.pts;
    pts.push(this.point(e));
    this.segment(this.current.w, pts[pts.length - 2], pts[pts.length - 1]);
  }
  up(e) {
    if (!this.current) return;
    this.strokes.push(this.current);
    this.current = null;
    this.undone = [];
    this.send();
  }
  undo() { if (this.strokes.length) { this.undone.push(this.strokes.pop()); this.redraw(); this.send(); } }
  redo() { if (this.undone.length) { this.strokes.push(this.undone.pop()); this.redraw(); this.send(); } }
  clear() { if (this.strokes.length) { this.undone = []; this.strokes = []; this.redraw(); this.send(); } }
  style(w) {
    const g = this.ctx;
    g.strokeStyle = "#000"; g.fillStyle = "#000"; g.lineWidth = w; g.lineCap = "round"; g.lineJoin = "round";
  }
  segment(w, a, b) {
    this.style(w);
    const g = this.ctx;
    g.beginPath(); g.moveTo(a[0], a[1]); g.lineTo(b[0], b[1]); g.stroke();
  }
  drawStroke(s) {
    const g = this.ctx;
    this.style(s.w);
    if (s.pts.length === 1) {
      g.beginPath(); g.arc(s.pts[0][0], s.pts[0][1], s.w / 2, 0, 2 * Math.PI); g.fill();
      return;
    }
    g.beginPath(); g.moveTo(s.pts[0][0], s.pts[0][1]);
    for (const p of s.pts.slice(1)) g.lineTo(p[0], p[1]);
    g.stroke();
  }
  redraw() {
    const g = this.ctx;
    g.fillStyle = "#fff"; g.fillRect(0, 0, this.W, this.H);
    for (const s of this.strokes) this.drawStroke(s);
  }
  refreshTools() {
    this.buttons.undo.disabled = !this.strokes.length;
    this.buttons.redo.disabled = !this.undone.length;
    this.buttons.clear.disabled = !this.strokes.length;
  }
  send() {
    this.refreshTools();
    this.seq = (this.seq || 0) + 1;
    const png = this.strokes.length ? this.canvas.toDataURL("image/png") : null;
    this.api?.setStateValue("drawing", { png, strokes: this.strokes.length, seq: this.seq });
  }
}

export default function penCanvas(component) {
  const { data, parentElement } = component;
  let pad = pads.get(parentElement);
  if (!pad || !pad.host.isConnected) {
    let host = parentElement.querySelector(".hpc-host");
    if (!host) { host = document.createElement("div"); host.className = "hpc-host"; parentElement.append(host); }
    host.replaceChildren();
    pad = new Pad(host);
    pads.set(parentElement, pad);
  }
  pad.update(data || {}, component);
}
"""


def _pen_registered() -> Any:
    """The pen canvas's mount function, registered once per process."""
    global _pen_component
    if _pen_component is None:
        import streamlit as st

        _pen_component = st.components.v2.component(
            PEN_COMPONENT_NAME, html='<div class="hpc-host"></div>', css=_PEN_CSS, js=_PEN_JS,
            isolate_styles=True,
        )
    return _pen_component


def drawing_png(value: Mapping[str, Any] | None) -> bytes | None:
    """The PNG bytes of a pen canvas's reported drawing, or None (nothing drawn, cleared,
    or not a PNG data URL)."""
    import base64
    import binascii

    url = (value or {}).get("png") if isinstance(value, Mapping) else None
    if not isinstance(url, str) or not url.startswith("data:image/png;base64,"):
        return None
    try:
        return base64.b64decode(url.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        return None


def pen_canvas(*, width: int, height: int, stroke_width: int, key: str) -> bytes | None:
    """A white pad of ``width`` x ``height`` CSS pixels to write on with the mouse (or a
    pen, or a finger); the drawing as PNG bytes (black on white, canvas pixels) once
    something is drawn, sent as soon as the pen lifts."""
    mount = _pen_registered()
    result = mount(key=key, data={"width": int(width), "height": int(height), "stroke": int(stroke_width)},
                   default={"drawing": None}, on_drawing_change=_ignore_change, width="content",
                   height="content")
    try:
        value = result.get("drawing")
    except AttributeError:  # pragma: no cover - a Streamlit whose result is not dict-like
        value = None
    return drawing_png(value)


def _ignore_change() -> None:
    """The state callback: the value is read from the return."""
