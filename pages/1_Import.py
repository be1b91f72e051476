"""Import: a names CSV and its images into the workspace, then cut into letters.

Upload a CSV (and a zip of the images), or name files on the server. The page shows what
it detected and the first rows before anything is written; Start fetches the images,
segments the names and fills the class folders, with a progress bar, and ends with a
summary and the list of what failed and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import streamlit as st

from hwocr.config import DEFAULTS
from hwocr.dataset import demo_data, remove_demo
from hwocr.errors import HwocrError, InputError
from hwocr.store import imports as import_rows
from hwocr.ui import resources, state, tables, widgets
from hwocr.ui.imports import NO_IMAGES_GIVEN, exposure_warning, preview, run_import, save_upload, server_csv

widgets.page_setup("Import", ":material/upload_file:")
ws = resources.workspace()

st.title("Import")
resources.show_flashes()
if exposed := exposure_warning(st.get_option("server.address")):
    st.warning(widgets.inert(exposed), icon=":material/public:")

demo = demo_data(ws)
if demo.present:
    st.warning(f"This workspace holds the {demo.names} demo names. Names you import now sit beside them: exports "
               "and training leave the demo's crops out once real names are here, but Review and the Dataset page "
               "still show them. Remove the demo data first to start clean.", icon=":material/science:")
    if st.button("Remove the demo data first", key=state.IMPORT_REMOVE_DEMO, icon=":material/delete:"):
        try:
            removed = remove_demo(ws, actor="import page")
        except HwocrError as exc:
            st.error(widgets.inert(exc))
        else:
            text = removed.summary()
            resources.flash("success", text[:1].upper() + text[1:] + ".")
            st.rerun()

mode = st.segmented_control(
    "Where are the files?", ["upload", "server"], default="upload", required=True, key=state.IMPORT_MODE,
    format_func=lambda m: {"upload": "Upload from this computer", "server": "Files on the server"}[m],
)


class Chosen(NamedTuple):
    csv_path: Path
    images_root: Path | None
    record_name: str         # what the import is recorded under
    shown_name: str          # what messages call the CSV
    uploaded: bool           # uploads: never show a server path, never look beside the CSV


def chosen_files() -> Chosen | None:
    """The CSV and its images as the person gave them, with uploads saved in the workspace."""
    if mode == "upload":
        c1, c2 = st.columns(2)
        # No type filter: the browser would refuse a wrong file with its reason in a tooltip only;
        # save_upload says what the file is instead, as an error line.
        csv_file = c1.file_uploader("Names CSV", key=state.IMPORT_CSV_UPLOAD,
                                    help="A .csv with unit_id, image_url, transcription[, first_or_last] — "
                                         "or FILENAME, IDENTITY")
        zip_file = c2.file_uploader("Images (optional .zip)", key=state.IMPORT_ZIP_UPLOAD,
                                    help="Needed when the CSV names image files instead of URLs")
        if csv_file is None:
            st.info("Choose a CSV to see what will be imported.")
            return None
        csv_path = save_upload(ws, csv_file.name, csv_file.getvalue(), kind="csv")
        root = save_upload(ws, zip_file.name, zip_file.getvalue(), kind="zip") if zip_file is not None else None
        # Recorded under the stored name (content-addressed, so two different "names.csv"
        # keep their failures apart); messages say the name the person chose.
        return Chosen(csv_path, root, csv_path.name, Path(csv_file.name).name or csv_path.name, True)
    c1, c2 = st.columns(2)
    csv_text = c1.text_input("CSV file on the server", key=state.IMPORT_CSV_PATH,
                             placeholder="/data/names/names.csv")
    root_text = c2.text_input("Images folder or .zip (optional)", key=state.IMPORT_IMAGES_PATH,
                              placeholder="default: the CSV's folder")
    if not csv_text.strip():
        st.info("Give the path of a CSV on the server to see what will be imported.")
        return None
    csv_path, note = server_csv(csv_text, ws)
    if note:
        st.info(widgets.inert(note), icon=":material/folder_open:")
    root = Path(root_text.strip()).expanduser() if root_text.strip() else None
    if root is not None and not root.exists():
        raise InputError(f"{root}: no such folder or zip file on the server")
    return Chosen(csv_path, root.resolve() if root else None, csv_path.name, csv_path.name, False)


try:
    chosen = chosen_files()
    shown = (preview(chosen.csv_path, chosen.images_root, name=chosen.shown_name, beside_csv=not chosen.uploaded)
             if chosen else None)
except HwocrError as exc:
    st.error(widgets.inert(exc))
    chosen = shown = None
    failed = True
else:
    failed = False

if shown is not None:
    st.subheader("What was detected")
    st.markdown(
        f"Layout **{shown.layout}** · encoding **{shown.encoding}** · **{shown.delimiter}**-separated · columns "
        + ", ".join(f"`{theirs}` → {ours}" for ours, theirs in shown.columns.items())
    )
    where = ""
    if shown.relative_sources and shown.images_root is not None:
        # An upload's images are the zip the person chose, not a path on this server.
        where = (" Image files are read from the uploaded zip." if chosen.uploaded
                 else f" Image files are read from `{shown.images_root}`.")
    st.caption(f"The first {len(shown.rows)} rows, as they will be imported.{where}")
    widgets.preview_rows(shown.rows)
    blocked = shown.images_missing and shown.files_only
    if blocked:
        st.error(NO_IMAGES_GIVEN)
    elif shown.images_missing:
        st.warning(NO_IMAGES_GIVEN + " Until then, the rows that name files will be recorded as failed.")
    elif any(r.note.startswith("image") for r in shown.rows):
        st.warning("Some of the first rows' images cannot be read (see the note column). They will be recorded as "
                   "failed; give the right images folder or zip to import them.")

    if not blocked:
        segment = st.checkbox("Cut into letters and fill the class folders after fetching", value=True,
                              key=state.IMPORT_SEGMENT)
        connections = None
        if not shown.files_only:
            narrow, _ = st.columns([1, 3])
            connections = narrow.number_input(
                "Downloads at once", min_value=1, max_value=DEFAULTS.download_concurrency_max,
                value=DEFAULTS.download_concurrency, step=1, key=state.IMPORT_CONNECTIONS,
                help="How many image URLs are fetched at the same time. Each download mostly waits for the "
                     "server: at 60 ms an answer, 16 fetch about 250 images a second. Raise it when the server "
                     "allows many connections; lower it when it refuses some (the failures say so).")
        if st.session_state.pop(state.IMPORT_RUNNING, False):
            # The last run was cut short: by Stop, or by leaving the page while it ran.
            st.info("The import was stopped. Everything fetched, cut and harvested until then is kept; "
                    "press Start import again to carry on where it stopped.", icon=":material/pause_circle:")
        if st.button("Start import", key=state.IMPORT_START, type="primary", icon=":material/play_arrow:"):
            st.button("Stop", key=state.IMPORT_STOP, icon=":material/stop:",
                      help="Stop after the current batch; Start import carries on from there")
            progress = widgets.stage_progress(
                {"fetch": "Fetching images", "segment": "Cutting into letters", "harvest": "Filling class folders"})
            st.session_state[state.IMPORT_RUNNING] = True
            try:
                st.session_state[state.IMPORT_RESULT] = run_import(
                    ws, chosen.csv_path, csv_name=chosen.record_name, images_root=chosen.images_root,
                    segment=segment, progress=progress, connections=connections)
            except HwocrError as exc:
                st.error(widgets.inert(exc))
            st.session_state.pop(state.IMPORT_RUNNING, None)

outcome = st.session_state.get(state.IMPORT_RESULT)
if outcome is not None:
    st.subheader(f"Result of importing {widgets.inert(outcome.csv_name)}")
    r1, r2, r3, r4, r5 = st.columns(5)
    r1.metric("Rows", f"{outcome.rows:,}")
    r2.metric("New names", f"{outcome.added:,}", help=f"{outcome.already_present:,} were already in the workspace")
    r3.metric("Images fetched", f"{outcome.fetched:,}")
    r4.metric("Fetch failed", f"{outcome.fetch_failed:,}")
    r5.metric("Skipped rows", f"{outcome.skipped:,}", help="No usable transcription (empty, UNREADABLE, …)")
    if outcome.duplicates:
        st.caption(f"{outcome.duplicates:,} unit_id(s) appear more than once in the CSV; each was imported once.")
    if outcome.segment is not None:
        seg = outcome.segment["this_run"]
        st.markdown(
            f"Segmented {seg['processed']:,} names: **{seg['matched']:,}** matched, **{seg['repaired']:,}** "
            f"repaired, **{seg['needs_review']:,}** to review, **{seg['failed']:,}** failed; "
            f"{outcome.harvested:,} crops written to the class folders."
        )
        if seg["needs_review"]:
            st.page_link("pages/2_Review.py", label="Review the names that need a person", icon=":material/rule:")
    if outcome.failures:
        st.markdown(f"**{len(outcome.failures):,} names did not make it**, with the reason:")
        st.dataframe(tables.failure_rows(outcome.failures), hide_index=True)
        st.download_button(
            "Download the failures as CSV", tables.failures_csv(outcome.failures),
            file_name=f"{Path(outcome.csv_name).stem}_failures.csv", mime="text/csv", on_click="ignore",
            icon=":material/download:",
        )
    else:
        st.success("Every row was imported.")

if chosen is None and not failed and outcome is None and (history := ws.read(import_rows.recent, 10)):
    # What a person arriving here sees before choosing a file: what is in the workspace already.
    st.subheader("Imported so far")
    st.dataframe(tables.import_history(history), hide_index=True,
                 column_config={c: st.column_config.NumberColumn(format="localized")
                                for c in ("rows", "new names", "skipped rows", "repeated unit_ids")})
