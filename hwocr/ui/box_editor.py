"""The Review page's box editor: a name image with its lettered character boxes, edited
with the mouse and the keyboard, as a small Streamlit components-v2 component.

Why an editor of our own instead of a fork of streamlit-drawable-canvas: that component
is a general drawing tool (fabric.js, a React build, a toolbar of modes) where a labelled
box is one object type among many. What Review needs is narrow: integer image-pixel
rectangles with one letter each, a keyboard model like Label Studio's, chips that never
cover the ink or each other, and a picture scaled with crisp pixels. Each of the bugs
people hit (Delete ignored, relabel throwing inside fabric, a lower-case chip over an
upper-case label, a fixed canvas size without zoom, a remount on every rerun) sits in the
generic layer; fixing them in a fork means carrying a fabric.js + npm build we do not
otherwise need. The editor below is one plain ES module and one stylesheet (no build
step), about as long as the patches would be, and it speaks image pixels natively.

How it behaves (the page's caption repeats the short form):

* Mouse: drag on empty paper draws a box labelled ``new_label``; click selects; drag a
  box's body moves it; drag a selected box's corner or edge resizes it; Ctrl/⌘ + wheel,
  or the − / + buttons, zoom; "Fit width" fits the name to the editor's width.
* Keys act only while the editor has focus (click it): a letter or digit relabels the
  selected box (stored and shown upper case); Delete/Backspace removes it; arrows nudge
  it one image pixel (Shift: 5); Tab / Shift+Tab cycle the selection; Escape deselects.
  While it has focus its keys never reach the page's shortcuts (A accept, S skip, …).
  To leave it: Escape, then Escape again (or click anywhere outside the editor); the
  page's single-key shortcuts work again from there.
* The name is drawn at least 160 px tall by default (nearest-pixel scaling in the
  browser, ``image-rendering: pixelated``); a wide name scrolls sideways inside the
  editor. The PNG is sent at its natural size, so the payload stays a few kilobytes.

Data flow: Python sends the image, its size, the boxes and a ``revision`` (a digest of
image and boxes unless the caller names one). The browser keeps its own copy of the
boxes while the person edits, and reports them through the component's state value
``boxes`` — ``{"revision": …, "boxes": [[x0, y0, x1, y1, label], …]}`` — only when an
edit is finished (mouse up, a key), never on mouse moves. When Python sends a different
revision (a Reset, the model's letters), the browser drops its copy for the new boxes;
otherwise a rerun changes nothing on screen. A reported value for an older revision is
ignored here, so the returned boxes are always those of the current revision.

The conversions are plain functions, tested without Streamlit (tests/test_box_editor.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hwocr.boxes import Box
from hwocr.config import ALL_CLASSES
from hwocr.workspace import LabeledBox

#: The editor's assets, shipped beside this module and read once at import.
ASSETS = Path(__file__).with_name("box_editor")
COMPONENT_NAME = "hwocr_box_editor"
#: The least height (CSS px) a name is drawn at before the person zooms.
MIN_DISPLAY_HEIGHT = 160
#: Labels a box may carry; anything else is stored as "" (the accept then asks for one).
_LABELS = frozenset(ALL_CLASSES)

_component: Any = None


# --- pure conversions -------------------------------------------------------------------


def clean_label(label: object) -> str:
    """A box's label as stored: one upper-case letter or digit, else ""."""
    text = str(label or "").strip().upper()
    return text if text in _LABELS else ""


def to_editor_boxes(boxes: Iterable[LabeledBox]) -> list[list[Any]]:
    """Boxes as the editor receives them: ``[[x0, y0, x1, y1, label], ...]`` in image pixels."""
    return [[*item.box.to_list(), clean_label(item.label)] for item in boxes]


def from_editor_boxes(items: Iterable[Sequence[Any]] | None, width: int, height: int) -> list[LabeledBox]:
    """What the editor reported, back to boxes in image pixels.

    Edges are rounded to whole pixels and clipped to the ``width`` x ``height`` image;
    boxes less than one pixel wide or tall are dropped; labels are upper-cased (and
    emptied when not a letter or digit). Sorted left to right, like the segmenter's.
    A malformed entry is skipped rather than trusted.
    """
    out: list[LabeledBox] = []
    for item in items or ():
        try:
            box = Box.from_seq([float(v) for v in item[:4]]).clip(width, height)
        except (TypeError, ValueError, IndexError):
            continue
        if box.width < 1 or box.height < 1:
            continue
        out.append(LabeledBox(box, clean_label(item[4] if len(item) > 4 else "")))
    out.sort(key=lambda lb: (lb.box.x0, lb.box.y0, lb.box.x1, lb.box.y1))
    return out


def editor_revision(image_png: bytes, boxes: Iterable[LabeledBox]) -> str:
    """Names one (image, boxes) pair: the browser replaces its boxes when this changes."""
    digest = hashlib.sha1(image_png, usedforsecurity=False)
    digest.update(json.dumps(to_editor_boxes(boxes), separators=(",", ":")).encode())
    return digest.hexdigest()[:16]


def editor_data(image_png: bytes, image_width: int, image_height: int, boxes: Sequence[LabeledBox], *,
                new_label: str, revision: str) -> dict[str, Any]:
    """The JSON the browser side receives."""
    return {
        "image": "data:image/png;base64," + base64.b64encode(image_png).decode("ascii"),
        "width": int(image_width),
        "height": int(image_height),
        "boxes": to_editor_boxes(boxes),
        "newLabel": clean_label(new_label) or ALL_CLASSES[0],
        "revision": revision,
        "minHeight": MIN_DISPLAY_HEIGHT,
    }


def result_boxes(state: Mapping[str, Any] | None, revision: str, initial: Sequence[LabeledBox],
                 image_width: int, image_height: int) -> list[LabeledBox]:
    """The boxes as they are now: the browser's report when it is about this revision,
    else ``initial`` (nothing edited yet, or the server replaced the boxes since)."""
    if isinstance(state, Mapping) and state.get("revision") == revision and isinstance(state.get("boxes"), list):
        return from_editor_boxes(state["boxes"], image_width, image_height)
    return from_editor_boxes(to_editor_boxes(initial), image_width, image_height)


# --- the component ----------------------------------------------------------------------


def _registered() -> Any:
    """The component's mount function, registered once per process."""
    global _component
    if _component is None:
        import streamlit as st

        _component = st.components.v2.component(
            COMPONENT_NAME,
            html='<div class="hbe-host"></div>',
            css=_CSS,
            js=_JS,
            isolate_styles=True,
        )
    return _component


_JS = (ASSETS / "editor.js").read_text(encoding="utf-8")
_CSS = (ASSETS / "editor.css").read_text(encoding="utf-8")


def box_editor(
    image_png: bytes,
    image_width: int,
    image_height: int,
    boxes: Sequence[LabeledBox],
    *,
    new_label: str,
    key: str,
    revision: str | None = None,
) -> list[LabeledBox]:
    """Show ``image_png`` (natural size) with ``boxes`` for editing; return the boxes as
    they are now, in image pixels. New boxes get ``new_label``. ``revision`` names the
    server's boxes (default: a digest of image and boxes): a new one replaces what the
    person has on screen under the same ``key``."""
    rev = revision or editor_revision(image_png, boxes)
    mount = _registered()
    result = mount(
        key=key,
        data=editor_data(image_png, image_width, image_height, boxes, new_label=new_label, revision=rev),
        default={"boxes": None},
        on_boxes_change=_ignore,
        width="stretch",
        height="content",
    )
    try:
        state = result.get("boxes")
    except AttributeError:  # pragma: no cover - a Streamlit whose result is not dict-like
        state = None
    return result_boxes(state, rev, boxes, image_width, image_height)


def _ignore() -> None:
    """The state callback: the value is read from the return, nothing else to do."""


def reported_boxes(key: str, image_width: int, image_height: int) -> list[LabeledBox] | None:
    """The boxes the browser last reported for the editor under ``key``, read from the
    session (for a button callback, which runs before the page draws the editor again:
    an edit finished just before a click is not lost). None when nothing was reported.

    Only for keys whose initial boxes never change (the Review page gives every
    (name, version, reset) its own key), since the report's revision is not checked."""
    import streamlit as st

    try:
        value = st.session_state[key]
    except (KeyError, AttributeError):
        return None
    state = value.get("boxes") if isinstance(value, Mapping) or hasattr(value, "get") else None
    if isinstance(state, Mapping) and isinstance(state.get("boxes"), list):
        return from_editor_boxes(state["boxes"], image_width, image_height)
    return None
