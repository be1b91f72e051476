"""Streamlit pieces the pages are built from: the box editor, the segmenter's view of a
name, audit tiles, crop thumbnails, charts, a pager and a progress bar.

Pictures are drawn by :mod:`hwocr.ui.render` and cached by what identifies their
content (a name's id and version, a crop's path), so a rerun redraws nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from hwocr.align import analyze_name
from hwocr.config import ALL_CLASSES, DIGITS, LETTERS, LOWER
from hwocr.errors import HwocrError
from hwocr.images import load_gray
from hwocr.progress import Snapshot
from hwocr.ui import render
from hwocr.ui.box_editor import box_editor as editor
from hwocr.ui.canvas import CanvasGeometry, transcription_letters
from hwocr.workspace import (
    CharRecord,
    LabeledBox,
    NameRecord,
    Workspace,
    labeled_boxes_from_json,
    labeled_boxes_to_json,
)

_MARKDOWN_SPECIALS = set("\\`*_{}[]()#+-.!|<>~:$")


def md(text: object) -> str:
    """``text`` (a unit id, a CSV cell, a reason) escaped for st.markdown: shown as typed,
    never interpreted as formatting or links."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in str(text))


_ACTIVE_MARKDOWN = set("\\`[]<>$#")


def inert(text: object) -> str:
    """A message (an error, a flash) made safe for st.error/st.success and friends, which
    render markdown: links, images, colours, code and math from a CSV cell, a zip entry or
    a server's answer are shown as typed. Lighter than :func:`md`, so that ordinary words
    and punctuation read as written."""
    # A bare URL still shows as a link to itself (GFM autolinks text after the escapes
    # are resolved): it cannot hide where it leads, load anything or run script.
    return "".join("\\" + ch if ch in _ACTIVE_MARKDOWN else ch for ch in str(text))


#: The browser tab's icon, shipped with the app. Streamlit turns a ``:material/…:`` page
#: icon into a link to fonts.gstatic.com, which an offline (or firewalled) browser cannot
#: fetch; a local SVG file is inlined as a ``data:`` URL instead.
FAVICON = Path(__file__).with_name("favicon.svg")


def page_setup(title: str, icon: str = ":material/draw:", *, sidebar: str = "auto") -> None:
    """Title, layout and the app's own favicon. ``icon`` names the page's Material icon
    (what st.navigation shows, from the font bundled with Streamlit); it is not the
    favicon, which would be fetched from the internet."""
    _leave_pages_directory_mode()
    st.set_page_config(page_title=f"{title} · hwocr", page_icon=FAVICON if FAVICON.is_file() else None,
                       layout="wide", initial_sidebar_state=sidebar)


def _leave_pages_directory_mode() -> None:
    """Route through app.py's st.navigation even on a server's very first request.

    Streamlit decides per process whether the app uses the old pages/ folder convention:
    until some session has run app.py (which calls st.navigation), a first visit straight
    to /Review runs pages/2_Review.py on its own, with an "app" entry in the sidebar. The
    first such run switches the flag off and reruns, so app.py builds the navigation.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a future Streamlit without the flag
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


# --- name images ----------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=512)
def _gray_of(path: str, version: int) -> np.ndarray:
    return load_gray(path)


def name_gray(ws: Workspace, record: NameRecord) -> np.ndarray:
    """The stored image of a name, gray (cached per name version). Raises HwocrError."""
    return _gray_of(str(ws.image_path_of(record)), record.version)


@st.cache_data(show_spinner=False, max_entries=64)
def _natural_png(path: str, version: int) -> bytes:
    """The name at its own size as PNG (a few kB): the browser enlarges it, crisp."""
    return render.png(_gray_of(path, version))


def box_editor(
    ws: Workspace,
    record: NameRecord,
    geometry: CanvasGeometry,
    initial: Sequence[LabeledBox],
    *,
    new_label: str,
    key: str,
) -> list[LabeledBox]:
    """The name in the box editor with its boxes; returns the boxes as they are now,
    in image pixels. New boxes get ``new_label``. ``geometry`` gives the image's size
    (the editor scales and zooms in the browser)."""
    image = _natural_png(str(ws.image_path_of(record)), record.version)
    return editor(image, geometry.image_width, geometry.image_height, initial, new_label=new_label, key=key)


@st.cache_data(show_spinner=False, max_entries=256)
def _analysis_png(path: str, version: int, transcription: str, width: int, height: int) -> bytes | str:
    try:
        analysis = analyze_name(path, transcription)
    except HwocrError as exc:
        return str(exc)
    seg = analysis.segmentation
    picture = render.analysis_picture(analysis.cleaned.ink, seg.col_profile, seg.row_profile, seg.cuts, seg.boxes,
                                      width=width, height=height)
    return render.png(picture)


def analysis_panel(ws: Workspace, record: NameRecord, geometry: CanvasGeometry) -> None:
    """The kept ink with the column and row projections and the cuts, on the canvas's x scale."""
    result = _analysis_png(str(ws.image_path_of(record)), record.version, record.transcription or "",
                           geometry.width, geometry.height - geometry.top)
    if isinstance(result, str):
        st.warning(inert(f"The segmenter's view is not available: {result}"))
        return
    st.image(result, width="content", output_format="PNG")


@st.cache_data(show_spinner=False, max_entries=2048)
def _audit_png(path: str, version: int, boxes_json: str, width: int) -> bytes:
    gray = _gray_of(path, version)
    return render.png(render.name_with_boxes(gray, labeled_boxes_from_json(boxes_json), width=width))


def name_tile(ws: Workspace, record: NameRecord, *, width: int = 480) -> None:
    """A name with its boxes and letters drawn, or a short note when its image is gone."""
    try:
        data = _audit_png(str(ws.image_path_of(record)), record.version, labeled_boxes_to_json(record.boxes), width)
    except HwocrError as exc:
        st.warning(inert(f"{record.unit_id}: {exc}"))
        return
    st.image(data, width="stretch", output_format="PNG")


def boxes_summary(boxes: Sequence[LabeledBox], transcription: str) -> None:
    """What the boxes spell against the transcription, and their exact pixels on demand."""
    read = "".join(b.label or "?" for b in boxes)
    want = transcription_letters(transcription)
    left, right = st.columns([3, 2], vertical_alignment="center")
    if read == want:
        left.markdown(f":green[Boxes read **{read or '—'}** — same as the transcription.]")
    else:
        left.markdown(f":orange[Boxes read **{read or '—'}** ({len(boxes)}), the transcription has "
                      f"**{want or '—'}** ({len(want)}).]")
    with right.expander("Boxes in image pixels"):
        st.markdown(" · ".join(f"`{b.label or '?'}` {b.box.x0}–{b.box.x1} × {b.box.y0}–{b.box.y1}" for b in boxes)
                    or "no boxes")


# --- crops ---------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=20_000)
def _thumb(path: str, size: int) -> bytes | None:
    try:
        return render.png(render.square_thumbnail(load_gray(path), size))
    except HwocrError:
        return None


def crop_thumbnail(ws: Workspace, relpath: str, *, size: int = 72, caption: str | None = None) -> None:
    data = _thumb(str(ws.resolve(relpath)), size)
    if data is None:
        st.caption(f"missing file {relpath.rsplit('/', 1)[-1]}")
    else:
        st.image(data, caption=caption, width=size, output_format="PNG")


#: How each origin of a crop reads to a person.
CROP_ORIGINS = {
    "auto": "auto (segmented and accepted without review)",
    "verified": "verified (accepted, moved or checked by a person)",
    "canvas": "canvas (drawn on the Recognize page)",
    "upload": "upload (an image given on the Recognize page)",
}


def crop_details_md(crop: CharRecord, source: Any | None) -> str:
    """Where a crop comes from, as markdown lines: the name (unit_id) and which of its
    letters, the box in the name image's pixels, and its origin. ``source``: the
    :class:`~hwocr.store.queries.CropSource` of a crop cut from a name, else None."""
    lines = [f"**Crop #{crop.id}** · class `{crop.label}`"]
    if source is not None:
        letter = ""
        if crop.idx is not None:
            letter = f", letter {crop.idx + 1}"
            if source.transcription:
                letter += f" of “{md(source.transcription)}”"
        lines.append(f"From **{md(source.unit_id)}**{letter}")
    elif crop.name_id is None:
        lines.append("Not cut from a name")
    else:
        lines.append(f"From name id {crop.name_id} (no longer in the workspace)")
    if crop.box is not None:
        b = crop.box
        lines.append(f"Box x {b.x0}–{b.x1}, y {b.y0}–{b.y1} px ({b.x1 - b.x0}×{b.y1 - b.y0})")
    lines.append(f"Origin: {CROP_ORIGINS.get(crop.origin, md(crop.origin))}")
    lines.append(f"File: {md(crop.path)}")
    return "  \n".join(lines)


# --- import preview ------------------------------------------------------------------


def preview_rows(rows: Sequence[Any]) -> None:
    """The first rows of a CSV: the image (or its URL), id, transcription and any problem."""
    widths = [3, 1.3, 1.6, 2.6]
    header = st.columns(widths)
    for col, title in zip(header, ["image", "unit_id (line)", "transcription", "source · note"]):
        col.caption(title)
    for r in rows:
        c_img, c_id, c_text, c_note = st.columns(widths, vertical_alignment="center")
        if r.thumbnail:
            c_img.image(r.thumbnail, width="stretch", output_format="PNG")
        else:
            c_img.caption("(no preview)")
        # CSV cells are shown as plain text: they are data, never markdown.
        c_id.text(f"{r.unit_id}\nline {r.line}")
        c_text.text(r.transcription or "—")
        c_note.text(r.source if not r.note else f"{r.source}\n⚠ {r.note}")


# --- charts and counters ----------------------------------------------------------------


def charted_classes(counts: dict[str, int]) -> dict[str, int]:
    """The classes a chart of the whole dataset shows: the capitals always, the digits
    and the small letters only where some of them have crops (36 empty bars of a
    names-only workspace would crowd out the capitals' labels)."""
    shown = [*LETTERS]
    for group in (DIGITS, LOWER):
        if any(counts.get(c, 0) for c in group):
            shown += group
    return {c: counts.get(c, 0) for c in shown}


def class_chart(counts: dict[str, int], *, height: int = 220) -> None:
    """Crops per class, A-Z then 0-9 then a-z, as a bar chart."""
    frame = pd.DataFrame({"class": list(counts), "crops": list(counts.values())})
    st.vega_lite_chart(
        frame,
        {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "class", "type": "nominal", "sort": list(ALL_CLASSES), "axis": {"labelAngle": 0}},
                # The scale is given, not measured: Streamlit draws the chart once before
                # its data arrives, and Vega warns in the browser's console of a field
                # with no extent. Not stacked: one bar a class.
                "y": {"field": "crops", "type": "quantitative", "stack": None,
                      "scale": {"domain": [0, max(1, *counts.values())], "nice": True}},
            },
        },
        height=height,
        width="stretch",
    )


def status_table(counts: dict[str, int]) -> None:
    frame = pd.DataFrame(
        {"status": [k.replace("_", " ") for k in counts], "names": list(counts.values())}
    )
    # "localized": 17,400 as the metrics above the table write it, not 17400.
    st.dataframe(frame, hide_index=True, width="content",
                 column_config={"names": st.column_config.NumberColumn(format="localized")})


# --- what a reload keeps: the address ----------------------------------------------------


def from_address(key: str, param: str, allowed: Sequence[str], default: Any,
                 parse: Callable[[str], Any] = str) -> None:
    """Before the widget keyed ``key`` first renders in a session: its value from the
    address (``?param=...``), ``parse``d, when that is one of ``allowed``, else
    ``default``. A reload starts a new session, so the address is what brings the page
    back where it was."""
    if key not in st.session_state:
        st.session_state[key] = address_value(param, allowed, default, parse)


def address_value(param: str, allowed: Sequence[str], default: Any, parse: Callable[[str], Any] = str) -> Any:
    """The address's ``?param=...``, ``parse``d, when it is one of ``allowed``; else ``default``."""
    wanted = st.query_params.get(param)
    return parse(wanted) if wanted in allowed else default


def to_address(param: str, value: Any, default: Any) -> None:
    """Keep ``value`` in the address as ``?param=value``; the default leaves it out."""
    text = None if value == default else str(value)
    if text is None:
        st.query_params.pop(param, None)
    elif st.query_params.get(param) != text:
        st.query_params[param] = text


# --- paging --------------------------------------------------------------------------


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` items fill, ``per_page`` a page (one when empty)."""
    return max(1, -(-total // per_page))


def pager(total: int, per_page: int, *, key: str, first: int = 1) -> int:
    """Numbered pages with previous/next; returns the 0-based offset of the chosen page.

    ``first``: the page a session opens on (a link's ``?page=3``). It is the widget's
    default, not written into its state beforehand: ``st.pagination`` given both logs
    a warning with a 30-line stack into the terminal of whoever started the app."""
    pages = page_count(total, per_page)
    if st.session_state.get(key, 1) > pages:
        # The count shrank (crops deleted, names sent back): stay on the last page there is.
        st.session_state[key] = pages
    page = st.pagination(pages, key=key, max_visible_pages=9, default=min(max(int(first), 1), pages))
    return (int(page) - 1) * per_page


def grid(n: int, columns: int) -> list[Any]:
    """``n`` cells laid out in rows of ``columns``."""
    cells: list[Any] = []
    for start in range(0, n, columns):
        cells.extend(st.columns(columns, gap="small")[: min(columns, n - start)])
    return cells


# --- long work in the script run --------------------------------------------------------


def stage_progress(labels: dict[str, str], *, every_s: float = 0.25,
                   units: dict[str, str] | None = None) -> Callable[[str, int, int], None]:
    """A progress bar driven by ``callback(stage, done, total)``: each stage's done of
    total, rate and time left (hwocr.progress), redrawn at most every ``every_s`` seconds
    (a callback per image would flood the browser)."""
    bar = st.progress(0.0, text="Starting…")
    last: dict[str, Any] = {"t": 0.0, "stage": None, "start": 0.0}

    def callback(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != last["stage"]:
            last.update(stage=stage, start=now, t=0.0)
        elif done < total and now - last["t"] < every_s:
            return
        last["t"] = now
        snap = Snapshot(done, total, now - last["start"])
        unit = (units or {}).get(stage, "names")
        bar.progress(snap.fraction, text=f"{labels.get(stage, stage)}: {snap.describe(unit)}")

    return callback
