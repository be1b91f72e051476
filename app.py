"""hwocr — home: the workspace at a glance, how to start, and demo data for a first look.

Run with ``python -m hwocr app`` (or ``streamlit run app.py``). The steps are the pages
in ``pages/`` (``1_Import.py``, ``2_Review.py``, ``3_Dataset.py``, ``4_Train.py``,
``5_Recognize.py``): each ``N_Title.py`` found there is served at ``/Title`` in its order.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from hwocr.contracts import WorkspaceStatus
from hwocr.dataset import remove_demo
from hwocr.errors import HwocrError
from hwocr.ui import resources, state, widgets
from hwocr.ui.imports import load_demo

PAGES_DIR = Path(__file__).resolve().parent / "pages"
PAGE_ICONS = {
    "import": ":material/upload_file:",
    "review": ":material/rule:",
    "dataset": ":material/grid_view:",
    "train": ":material/model_training:",
    "recognize": ":material/draw:",
}


def home() -> None:
    widgets.page_setup("Home", ":material/home:")
    ws = resources.workspace()

    st.title("hwocr")
    st.markdown("Handwritten names → a labelled A–Z character dataset → a recognizer.")
    resources.show_flashes()
    status = resources.status(ws)

    if status.names:
        workspace_at_a_glance(status)
        how_to_start()
        if status.demo["names"]:
            demo_in_workspace(ws, status.demo)
    else:
        # An empty workspace: what to do first, and the demo right under it.
        how_to_start()
        demo_data(ws)
    st.caption(f"Workspace: `{status.workspace}` (set HWOCR_WORKSPACE to use another one)")


def workspace_at_a_glance(status: WorkspaceStatus) -> None:
    by_status = status.by_status
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Names", f"{status.names:,}")
    m2.metric("Waiting for review", f"{by_status['needs_review']:,}")
    m3.metric("Character crops", f"{status.crops:,}")
    m4.metric("Active model", status.active_model["name"])

    left, right = st.columns([1, 2], gap="large")
    with left:
        st.subheader("Names by status")
        widgets.status_table({k: v for k, v in by_status.items() if v})
    with right:
        st.subheader("Crops per class")
        if status.crops:
            widgets.class_chart(widgets.charted_classes(status.classes))
        else:
            st.caption("No crops in the class folders yet.")

    st.subheader("Running jobs")
    if status.running_jobs:
        st.dataframe(list(status.running_jobs), hide_index=True)
    else:
        st.caption("No job is running.")


#: The steps, in order: (page, title, icon, what it is for, in markdown).
STEPS = (
    ("pages/1_Import.py", "Import", ":material/upload_file:",
     ("**Import** a CSV of name images (the original layout or Kaggle's) with a zip or folder of the images: "
      "fetching, cutting into letters and filling the class folders run in one go.")),
    ("pages/2_Review.py", "Review", ":material/rule:",
     ("**Review** the names the segmenter could not settle: move, add or delete boxes, fix the letters, accept. "
      "Audit the auto-accepted ones and send wrong ones back.")),
    ("pages/3_Dataset.py", "Dataset", ":material/grid_view:",
     ("**Dataset**: browse the class folders, delete or relabel bad crops, export a zip, a Kaggle-style CSV or "
      "an npz.")),
    ("pages/4_Train.py", "Train", ":material/model_training:",
     ("**Train** a new model version on the class folders in the background: live curves, per-class accuracy, "
      "and activation (or rollback) when it is better.")),
    ("pages/5_Recognize.py", "Recognize", ":material/draw:",
     ("**Recognize** a word you write with the mouse or upload: a box, a letter and a confidence per character. "
      "Correct a wrong letter and add it to the dataset.")),
)


def how_to_start() -> None:
    st.subheader("How to start")
    for number, (column, (page, title, icon, text)) in enumerate(zip(st.columns(len(STEPS)), STEPS), start=1):
        # Equal heights, the links along one line at the bottom.
        with column.container(border=True, height="stretch", vertical_alignment="distribute"):
            st.markdown(f"**{number}.** {text}")
            st.page_link(page, label=title, icon=icon)


def demo_data(ws) -> None:
    st.subheader("Or try the demo data")
    st.markdown("Load 40 synthetic names (printed-looking handwriting on form strips, a few hard ones on purpose) "
                "to try every page. It loads only into an empty workspace, like this one.")
    if st.button("Load the demo data", key=state.HOME_DEMO_BUTTON, type="primary", icon=":material/science:"):
        progress = widgets.stage_progress({"generate": "Drawing demo names", "fetch": "Importing images",
                                           "segment": "Cutting into letters", "harvest": "Filling class folders"})
        try:
            outcome = load_demo(ws, progress=progress)
        except HwocrError as exc:
            st.error(str(exc))
        else:
            seg = outcome.segment
            resources.flash(
                "success",
                f"Loaded {outcome.generated} demo names: {seg['matched']} matched, {seg['repaired']} repaired, "
                f"{seg['needs_review']} to review, {seg['failed']} failed; {outcome.harvested} crops harvested.",
            )
            st.rerun()


def demo_in_workspace(ws, demo: dict) -> None:
    """The demo names are in the workspace: what that means, and one click to remove them."""
    st.subheader("Demo data")
    if demo["left_out"]:
        what = (f"Real names are here too, so exports and training leave the demo's {demo['crops']:,} crops out; "
                "Review and the Dataset page still show them.")
    else:
        what = "Exports and training use its crops until you import real names; then they are left out."
    st.markdown(f"This workspace holds the {demo['names']:,} synthetic demo names (`DEMO_…`). {what}")
    if st.button("Remove the demo data", key=state.HOME_DEMO_REMOVE, icon=":material/delete:"):
        try:
            removed = remove_demo(ws, actor="home page")
        except HwocrError as exc:
            st.error(str(exc))
        else:
            text = removed.summary()
            resources.flash("success", text[:1].upper() + text[1:] + ".")
            st.rerun()


def step_pages() -> list:
    """``pages/N_Title.py`` in the order of N, each at ``/Title`` (the URL the pages/ folder convention
    would give it, so a bookmark works either way)."""
    found = []
    for path in PAGES_DIR.glob("*.py"):
        match = re.fullmatch(r"(\d+)_(\w+)\.py", path.name)
        if match:
            found.append((int(match.group(1)), match.group(2), path))
    return [
        st.Page(str(path), title=title.replace("_", " "), url_path=title,
                icon=PAGE_ICONS.get(title.lower(), ":material/article:"))
        for _, title, path in sorted(found)
    ]


# The favicon before the navigation: otherwise the browser takes the page's Material icon
# for one and fetches it from fonts.gstatic.com (nothing in the app may need the internet).
st.set_page_config(page_icon=widgets.FAVICON)
st.navigation([st.Page(home, title="Home", icon=":material/home:", default=True), *step_pages()]).run()
