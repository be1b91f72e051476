"""Dataset: the class folders. Counts per class, a paged gallery of each class where bad
crops are deleted or moved to the right class, an optional "what the model doubts
most" order, and exports (zip of folders, Kaggle-style CSV, npz).
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from hwocr.config import ALL_CLASSES
from hwocr.dataset import EXPORT_FORMATS, delete_crops, export_dataset, list_crops, relabel_crops
from hwocr.errors import HwocrError
from hwocr.store import queries
from hwocr.ui import resources, state, widgets
from hwocr.ui.disagreement import rank_by_doubt

widgets.page_setup("Dataset", ":material/grid_view:")
ws = resources.workspace()
actor = resources.reviewer_id()

st.title("Dataset")
resources.show_flashes()

counts = resources.class_counts(ws)
st.markdown(f"**{sum(counts.values()):,} crops** in `{ws.dataset_dir}`")
widgets.class_chart(widgets.charted_classes(counts), height=180)


def class_title(c: str) -> str:
    # "a" and "A" side by side in a list are easy to mix up: say which one is small.
    return f"{c} (small)" if c.islower() else c


SORTS = ["Oldest first", "Model disagreement"]
c1, c2 = st.columns(2, vertical_alignment="bottom")
# The class and page are kept in the address (?class=M&page=3): a reload stays there. With
# none, the page opens on the first class that has crops rather than an empty A.
widgets.from_address(state.DATASET_CLASS, "class", ALL_CLASSES,
                     next((c for c in ALL_CLASSES if counts.get(c)), ALL_CLASSES[0]))
label = c1.selectbox("Class", ALL_CLASSES, key=state.DATASET_CLASS,
                     format_func=lambda c: f"{class_title(c)}  ({counts.get(c, 0):,} crop"
                                           f"{'' if counts.get(c, 0) == 1 else 's'})")
sort = c2.segmented_control("Order", SORTS, default=SORTS[0], required=True, key=state.DATASET_SORT,
                            help="Model disagreement: the crops whose label the active model finds least likely "
                                 "come first — the likeliest mistakes.")
total = counts.get(label, 0)
info_col, pager_col = st.columns([1, 1], vertical_alignment="center")
widgets.to_address("class", label, None)
with pager_col:
    pages = widgets.page_count(total, state.DATASET_PER_PAGE)
    first = widgets.address_value("page", [str(n) for n in range(1, pages + 1)], 1, parse=int)
    offset = widgets.pager(total, state.DATASET_PER_PAGE, key=state.DATASET_PAGE, first=first)
    widgets.to_address("page", offset // state.DATASET_PER_PAGE + 1, 1)


@st.cache_data(show_spinner="The model is looking at every crop of the class…", max_entries=8)
def doubts(root: str, label: str, signature: tuple, model_key: str):
    """Crop ids of the class, most doubted first, with the model's opinion (cached until the
    class or the active model changes)."""
    return rank_by_doubt(ws, resources.recognizer(ws), label, queries.crop_ids_and_paths(ws, label))


def select_crops(crop_ids: list[int], on: bool) -> None:
    # A callback: it runs before the checkboxes are drawn, the only time their state may change.
    for crop_id in crop_ids:
        st.session_state[state.dataset_select_key(crop_id)] = on


def remove_dated_exports(folder: Path) -> None:
    """Delete the dated copies (hwocr_dataset_YYYYMMDD_HHMMSS.fmt) that this page wrote
    on every click before it kept one file per format."""
    for path in folder.glob("hwocr_dataset_*"):
        if re.fullmatch(r"hwocr_dataset_\d{8}_\d{6}\.(zip|csv|npz)", path.name):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass  # someone else's file rights: leave it, the export itself succeeded


opinions: dict[int, object] = {}
if sort == "Model disagreement" and total:
    model, why = None, "the model code is not installed"
    try:
        model = resources.recognizer(ws)
    except HwocrError as exc:
        why = str(exc)
    if model is None:
        st.info(f"No character model can be used yet ({why}), so the crops are shown oldest first.")
        crops = list_crops(ws, label, offset=offset, limit=state.DATASET_PER_PAGE)
    else:
        try:
            ranked = doubts(str(ws.root), label, queries.class_signature(ws, label), resources.active_model_key(ws))
        except HwocrError as exc:
            st.error(widgets.inert(exc))
            ranked = []
        page = ranked[offset : offset + state.DATASET_PER_PAGE]
        opinions = {d.crop_id: d for d in page}
        crops = queries.crops_by_ids(ws, [d.crop_id for d in page])
else:
    crops = list_crops(ws, label, offset=offset, limit=state.DATASET_PER_PAGE)

if not crops:
    st.info(f"No crops in class {label} yet." if not total else "Nothing on this page.")
else:
    info_col.caption(f"{offset + 1:,}–{offset + len(crops):,} of {total:,} crops of {label}. Tick crops to delete "
                     "them or move them to another class.")
    sources = queries.crop_sources(ws, [c.id for c in crops])
    for crop, cell in zip(crops, widgets.grid(len(crops), 12)):
        with cell:
            d = opinions.get(crop.id)
            widgets.crop_thumbnail(ws, crop.path)
            st.checkbox(f"#{crop.id}", key=state.dataset_select_key(crop.id))
            if d is not None:
                # A caption, not the checkbox's label: in a tile a label is cut to "0…", a caption wraps.
                st.caption(f"{d.p_label:.2f} → {d.predicted or '?'}")
            with st.popover("", icon=":material/info:", type="tertiary", help="Where this crop comes from"):
                st.markdown(widgets.crop_details_md(crop, sources.get(crop.id)))
                if d is not None:
                    guess = f"{d.predicted} ({d.confidence:.2f})" if d.predicted else "nothing (it cannot read it)"
                    st.markdown(f"The model gives {label} a probability of {d.p_label:.2f}; its best guess is {guess}.")

    selected = [cid for key, on in st.session_state.items() if on and (cid := state.dataset_crop_id(key)) is not None
                and cid in {c.id for c in crops}]
    a1, a2, a3, a4, a5 = st.columns([1.2, 1.2, 1.6, 1, 1], vertical_alignment="bottom")
    a1.button("Select page", key=state.DATASET_SELECT_PAGE, width="stretch",
              on_click=select_crops, args=([c.id for c in crops], True))
    a2.button("Clear selection", key=state.DATASET_CLEAR_SELECTION, width="stretch",
              on_click=select_crops, args=([c.id for c in crops], False))
    # All 62 classes: a small letter is its own class (stored in dataset/a_lower/ …).
    target = a3.selectbox("Move selected to class", [c for c in ALL_CLASSES if c != label],
                          key=state.DATASET_RELABEL_TO, format_func=class_title)
    if a4.button(f"Move {len(selected)}", key=state.DATASET_RELABEL, disabled=not selected, width="stretch",
                 icon=":material/drive_file_move:"):
        try:
            moved = relabel_crops(ws, selected, target, actor=actor)
        except HwocrError as exc:
            st.error(widgets.inert(exc))
        else:
            resources.flash("success", f"Moved {moved} crop(s) from {label} to {target}.")
            for cid in selected:
                st.session_state.pop(state.dataset_select_key(cid), None)
            st.rerun()
    if a5.button(f"Delete {len(selected)}", key=state.DATASET_DELETE, disabled=not selected, width="stretch",
                 icon=":material/delete:",
                 help="A crop cut from a name sends that name back to the review queue, with its other crops."):
        try:
            deleted = delete_crops(ws, selected, actor=actor)
        except HwocrError as exc:
            st.error(widgets.inert(exc))
        else:
            resources.flash("success", f"Deleted {deleted} crop(s); their names are back in the review queue.")
            for cid in selected:
                st.session_state.pop(state.dataset_select_key(cid), None)
            st.rerun()

st.subheader("Export")
e1, e2 = st.columns([1, 3], vertical_alignment="bottom")
fmt = e1.selectbox("Format", EXPORT_FORMATS, key=state.DATASET_EXPORT_FORMAT,
                   format_func=lambda f: {"zip": "zip of class folders", "csv": "Kaggle-style CSV (28x28)",
                                          "npz": "numpy npz (28x28)"}[f])
if e2.button("Prepare the export", key=state.DATASET_EXPORT, icon=":material/package_2:"):
    # One file per format, replaced atomically by each preparation: clicking again must not
    # pile up copies of the whole dataset in the workspace (the CLI writes where it is told).
    out = ws.exports_dir / f"hwocr_dataset.{fmt}"
    with st.spinner("Writing the export…"):
        try:
            info = export_dataset(ws, fmt, out)
        except HwocrError as exc:
            st.error(widgets.inert(exc))
        else:
            st.session_state[state.DATASET_EXPORT_RESULT] = (str(out), info)
            remove_dated_exports(ws.exports_dir)

exported = st.session_state.get(state.DATASET_EXPORT_RESULT)
if exported is not None:
    path, info = exported
    st.caption(f"{info['crops']:,} crops, {info['bytes']:,} bytes, saved as `{path}`")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        st.error(widgets.inert(f"The export file cannot be read back: {exc.strerror or exc}"))
    else:
        st.download_button("Download", data, file_name=path.rsplit("/", 1)[-1], on_click="ignore",
                           icon=":material/download:", type="primary")
