"""The pages, run in-process with Streamlit's AppTest on a temporary workspace.

The canvas does not run in AppTest (it returns its initial drawing, i.e. the name's
current boxes); tests that need other boxes put them in the session-state override
the Review page reads instead of the canvas.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from streamlit.testing.v1 import AppTest

from hwocr.boxes import Box
from hwocr.dataset import harvest
from hwocr.errors import CsvError, InputError
from hwocr.images import encode_png
from hwocr.pipeline import import_csv
from hwocr.review import next_for_review, send_back
from hwocr.store.queries import Failure
from hwocr.ui import state
from hwocr.ui.canvas import (
    boxes_from_override,
    from_canvas_boxes,
    geometry_for,
    letters_in_order,
    to_canvas_boxes,
)
from hwocr.ui.imports import save_upload
from hwocr.ui.tables import failures_csv, safe_csv_cell, shown_csv_name
from hwocr.ui.widgets import charted_classes
from hwocr.workspace import LabeledBox, Workspace
from tests.helpers import add_name, blocks_image, files_in_dataset, no_exception, open_page, rows_in_chars

REPO = Path(__file__).resolve().parent.parent
HOME = str(REPO / "app.py")
IMPORT = str(REPO / "pages" / "1_Import.py")
REVIEW = str(REPO / "pages" / "2_Review.py")
DATASET = str(REPO / "pages" / "3_Dataset.py")
REVIEWER = "tester"


@pytest.fixture
def ws(workspace_dir) -> Workspace:
    return Workspace(workspace_dir)


def app(page: str, **session) -> AppTest:
    return open_page(page, reviewer=REVIEWER, **session).run()


def texts(at: AppTest) -> str:
    """Everything the page wrote as text, for substring checks."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.text]
    parts += [e.value for e in at.success] + [e.value for e in at.info] + [e.value for e in at.warning]
    return "\n".join(str(p) for p in parts)


def lboxes(*items) -> list[list]:
    return [[*b, ch] for *b, ch in items]


# --- pure helpers -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    w=hs.integers(8, 2000), h=hs.integers(8, 400),
    data=hs.data(),
)
def test_boxes_survive_image_canvas_image(w, h, data):
    x0 = data.draw(hs.integers(0, w - 1))
    x1 = data.draw(hs.integers(x0 + 1, w))
    y0 = data.draw(hs.integers(0, h - 1))
    y1 = data.draw(hs.integers(y0 + 1, h))
    geometry = geometry_for(w, h)
    box = LabeledBox(Box(x0, y0, x1, y1), "K")
    assert from_canvas_boxes(to_canvas_boxes([box], geometry), geometry) == [box]
    assert geometry.width <= 1040 and geometry.height - geometry.top <= 320


def test_canvas_geometry_of_a_typical_name():
    g = geometry_for(388, 36)
    assert (g.width, g.height, g.top) == (1040, 96 + 24, 24)
    assert g.scale_x == pytest.approx(1040 / 388)
    # A box drawn 10 canvas px right of the B box's start moves it 10 / 2.68 = 3.7 -> 4 image px.
    moved = [{"label": "b", "left": 100 * g.scale_x + 10, "top": g.top + 5 * g.scale_y,
              "width": 20 * g.scale_x, "height": 25 * g.scale_y}]
    assert from_canvas_boxes(moved, g) == [LabeledBox(Box(104, 5, 124, 30), "B")]


def test_canvas_boxes_are_clipped_sorted_and_empty_ones_dropped():
    g = geometry_for(100, 20, max_width=200, max_height=40, top=10)  # scale 2
    drawn = [
        {"label": "z", "left": 150, "top": 10, "width": 100, "height": 30},   # sticks out right: clipped
        {"label": "", "left": 10, "top": 0, "width": 20, "height": 20},       # starts in the chip strip
        {"label": "q", "left": 40, "top": 20, "width": 0.4, "height": 10},    # a click: no width
    ]
    assert from_canvas_boxes(drawn, g) == [
        LabeledBox(Box(5, 0, 15, 5), ""),
        LabeledBox(Box(75, 0, 100, 15), "Z"),
    ]


def test_letters_in_order_and_override():
    boxes = boxes_from_override(lboxes((30, 0, 40, 9, "X"), (0, 0, 10, 9, "Y"), (50, 0, 60, 9, "W")))
    relabelled = letters_in_order("ab", boxes)
    assert [(b.box.x0, b.label) for b in relabelled] == [(0, "A"), (30, "B"), (50, "W")]


@pytest.mark.parametrize("cell, shown", [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM", "'@SUM"),
    ("\tx", "'\tx"), ("plain", "plain"), (None, ""), ("", ""),
])
def test_safe_csv_cell(cell, shown):
    assert safe_csv_cell(cell) == shown


def test_failures_csv_defuses_formulas():
    data = failures_csv([Failure("=cmd|' /C calc'!A0", 3, "fetch_failed", "no such file x.jpg", "@x.jpg")])
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows == [["unit_id", "line", "status", "reason", "source"],
                    ["'=cmd|' /C calc'!A0", "3", "fetch_failed", "no such file x.jpg", "'@x.jpg"]]


def test_uploads_stay_in_the_workspace(ws):
    path = save_upload(ws, "../../etc/names.csv", b"unit_id,image_url,transcription\n", kind="csv")
    assert path.parent == ws.root / "uploads" and path.name.endswith("_names.csv") and ".." not in path.name
    again = save_upload(ws, "names.csv", b"unit_id,image_url,transcription\n", kind="csv")
    assert again.read_bytes().startswith(b"unit_id")
    with pytest.raises(InputError, match="not a zip"):
        save_upload(ws, "images.zip", b"not a zip at all", kind="zip")
    with pytest.raises(CsvError, match="zip archive"):
        save_upload(ws, "names.csv", b"PK\x03\x04rest", kind="csv")
    with pytest.raises(InputError, match="empty"):
        save_upload(ws, "names.csv", b"", kind="csv")


# --- Home -------------------------------------------------------------------------------


def test_home_demo_button_loads_names_and_crops(ws):
    at = no_exception(app(HOME))
    assert not at.metric  # an empty workspace shows how to start, not zeros
    at.button(key=state.HOME_DEMO_BUTTON).click().run(timeout=180)
    no_exception(at)
    assert ws.query_one("SELECT COUNT(*) AS n FROM names")["n"] == 40
    crops = ws.query_one("SELECT COUNT(*) AS n FROM chars")["n"]
    assert crops == len(files_in_dataset(ws)) == sum(ws.class_counts().values())
    assert "Loaded 40 demo names" in texts(at)
    assert at.metric[0].value == "40"
    # Loaded once: the button is gone, and the library refuses a second load anyway.
    assert not [b for b in at.button if b.key == state.HOME_DEMO_BUTTON]


@pytest.mark.parametrize("page", [HOME, DATASET])
def test_the_favicon_is_shipped_not_fetched(ws, monkeypatch, page):
    # A ":material/…:" page icon becomes a fonts.gstatic.com link in the browser, which
    # fails offline; an SVG file is sent inline as a data: URL.
    from streamlit.commands import page_config

    sent = []
    real = page_config._get_favicon_string
    monkeypatch.setattr(page_config, "_get_favicon_string", lambda icon: sent.append(real(icon)) or sent[-1])
    no_exception(app(page))
    assert sent and all(f.startswith("data:image/svg+xml") for f in sent), sent


def test_home_shows_status_active_model_and_jobs(ws):
    add_name(ws, "A", "AB", status="needs_review")
    add_name(ws, "B", "CD", status="matched")
    harvest(ws)
    with ws.transaction() as conn:
        conn.execute("INSERT INTO jobs (kind, status, progress, message, created_at) "
                     "VALUES ('train', 'running', 0.5, 'epoch 4', 0)")
        conn.execute("INSERT INTO model_versions (name, path, created_at, active) "
                     "VALUES ('v0007', 'models/v0007', 0, 1)")
    at = no_exception(app(HOME))
    assert [m.value for m in at.metric] == ["2", "1", "2", "v0007"]
    assert at.dataframe[1].value["kind"].tolist() == ["train"]


# --- Review: the queue ------------------------------------------------------------------


def test_review_accepts_overridden_boxes_and_writes_crops(ws):
    low = add_name(ws, "LOW", "AB", status="needs_review", confidence=0.1)
    high = add_name(ws, "HIGH", "CD", status="needs_review", confidence=0.9)
    at = no_exception(app(REVIEW))
    assert "**LOW**" in texts(at)
    at.session_state[state.REVIEW_BOXES_OVERRIDE] = lboxes((6, 5, 24, 25, "A"), (36, 6, 54, 24, "b"))
    at.button(key=state.REVIEW_ACCEPT).click().run()
    no_exception(at)
    assert ws.get_name(low).status == "verified"
    assert ws.query_one("SELECT reviewed_by FROM names WHERE id = ?", (low,))["reviewed_by"] == REVIEWER
    rows = ws.query("SELECT * FROM chars WHERE name_id = ? ORDER BY idx", (low,))
    assert [(r["label"], r["x0"], r["y0"], r["x1"], r["y1"], r["origin"]) for r in rows] == [
        ("A", 6, 5, 24, 25, "verified"), ("B", 36, 6, 54, 24, "verified")]
    assert rows_in_chars(ws) == files_in_dataset(ws)
    assert all(p.startswith(f"dataset/{lab}/") for p, lab in zip(sorted(rows_in_chars(ws)), ["A", "B"]))
    # The next item is on screen at once, with the counts.
    assert "LOW accepted: 2 letters" in texts(at)
    assert "**HIGH**" in texts(at)
    assert "**1** to review · 1 verified · 0 rejected · 1 done by tester today" in texts(at)
    assert state.REVIEW_BOXES_OVERRIDE not in at.session_state  # used once, then dropped
    assert ws.get_name(high).claimed_by == REVIEWER


def test_review_accepts_the_canvas_boxes_unchanged(ws):
    image, blocks = blocks_image(3)
    name_id = add_name(ws, "ABC", "ABC", status="needs_review", image=image, boxes=blocks)
    at = no_exception(app(REVIEW))
    at.button(key=state.REVIEW_ACCEPT).click().run()
    no_exception(at)
    rows = ws.query("SELECT label, x0, y0, x1, y1 FROM chars WHERE name_id = ? ORDER BY idx", (name_id,))
    assert [tuple(r) for r in rows] == [("A", 5, 5, 25, 25), ("B", 35, 5, 55, 25), ("C", 65, 5, 85, 25)]
    assert "Nothing waiting for review" in texts(at)


def test_review_edited_transcription_is_saved(ws):
    name_id = add_name(ws, "N", "AB", status="needs_review")
    at = no_exception(app(REVIEW))
    at.text_input(key=state.review_text_key(name_id, ws.get_name(name_id).version)).set_value("ac")
    at.session_state[state.REVIEW_BOXES_OVERRIDE] = lboxes((6, 5, 24, 25, "A"), (36, 5, 54, 25, "C"))
    at.button(key=state.REVIEW_ACCEPT).click().run()
    no_exception(at)
    assert ws.get_name(name_id).transcription == "AC"
    assert ws.get_name(name_id).reason == "verified by a person"


def test_review_box_without_a_letter_is_an_error_not_a_crash(ws):
    name_id = add_name(ws, "N", "AB", status="needs_review")
    at = no_exception(app(REVIEW))
    at.session_state[state.REVIEW_BOXES_OVERRIDE] = lboxes((6, 5, 24, 25, ""))
    at.button(key=state.REVIEW_ACCEPT).click().run()
    no_exception(at)
    assert len(at.error) == 1 and "every box needs one letter" in at.error[0].value
    assert ws.get_name(name_id).status == "needs_review" and rows_in_chars(ws) == set()


def test_review_reject_with_reason(ws):
    name_id = add_name(ws, "N", "AB", status="needs_review")
    at = no_exception(app(REVIEW))
    at.text_input(key=state.review_reason_key(name_id, ws.get_name(name_id).version)).set_value("illegible")
    at.button(key=state.REVIEW_REJECT).click().run()
    no_exception(at)
    name = ws.get_name(name_id)
    assert name.status == "rejected" and name.reason == "rejected by a person: illegible"
    assert "N rejected" in texts(at)


def test_review_skip_shows_another_name(ws):
    first = add_name(ws, "FIRST", "AB", status="needs_review", confidence=0.1)
    add_name(ws, "SECOND", "AB", status="needs_review", confidence=0.2)
    at = no_exception(app(REVIEW))
    assert "**FIRST**" in texts(at)
    at.button(key=state.REVIEW_SKIP).click().run()
    no_exception(at)
    assert "**SECOND**" in texts(at)
    assert ws.get_name(first).skips == 1 and ws.get_name(first).claimed_by is None


def test_review_undo_brings_the_name_back(ws):
    name_id = add_name(ws, "N", "AB", status="needs_review")
    at = no_exception(app(REVIEW))
    at.button(key=state.REVIEW_ACCEPT).click().run()
    assert ws.get_name(name_id).status == "verified" and len(rows_in_chars(ws)) == 2
    at.button(key=state.REVIEW_UNDO).click().run()
    no_exception(at)
    name = ws.get_name(name_id)
    assert name.status == "needs_review" and name.claimed_by == REVIEWER
    assert rows_in_chars(ws) == set() == files_in_dataset(ws)
    assert "**N**" in texts(at) and "N is back as it was" in texts(at)
    at.button(key=state.REVIEW_UNDO).click().run()
    assert "Nothing to undo: tester has no accept or reject left" in texts(at)


def test_review_name_changed_elsewhere_is_shown_again_not_overwritten(ws):
    name_id = add_name(ws, "N", "AB", status="needs_review")
    at = no_exception(app(REVIEW))
    # Meanwhile someone auditing sends it back (new version; it stays at the front of the queue).
    send_back(ws, name_id, actor="auditor")
    at.session_state[state.REVIEW_BOXES_OVERRIDE] = lboxes((6, 5, 24, 25, "X"))
    at.button(key=state.REVIEW_ACCEPT).click().run()
    no_exception(at)
    assert "N was changed elsewhere while you had it open; nothing was saved" in texts(at)
    assert ws.get_name(name_id).status == "needs_review" and rows_in_chars(ws) == set()
    # Now that the person has seen the new version, Accept works.
    at.button(key=state.REVIEW_ACCEPT).click().run()
    assert ws.get_name(name_id).status == "verified"


def test_review_conflict_from_the_library_is_a_warning(ws, monkeypatch):
    name_id = add_name(ws, "N", "AB", status="needs_review")
    at = no_exception(app(REVIEW))
    # A race the page cannot see coming: the name changes between the page's read and the accept.
    import hwocr.review

    real_accept = hwocr.review.accept

    def racing_accept(ws_, nid, version, *args, **kwargs):
        hwocr.review.send_back(ws_, nid, actor="auditor")
        return real_accept(ws_, nid, version, *args, **kwargs)

    monkeypatch.setattr(hwocr.review, "accept", racing_accept)
    at.run()  # the page's callbacks are bound by the run that drew the buttons
    at.button(key=state.REVIEW_ACCEPT).click().run()
    no_exception(at)
    assert "was changed elsewhere since you opened it" in texts(at)
    assert ws.get_name(name_id).status == "needs_review" and rows_in_chars(ws) == set()


def test_review_two_sessions_never_share_a_name(ws):
    add_name(ws, "A1", "AB", status="needs_review", confidence=0.1)
    add_name(ws, "A2", "AB", status="needs_review", confidence=0.2)
    one = no_exception(app(REVIEW, **{state.REVIEWER: "tab-1"}))
    two = no_exception(app(REVIEW, **{state.REVIEWER: "tab-2"}))
    assert "**A1**" in texts(one) and "**A2**" in texts(two)


def test_review_reset_and_letters_from_transcription_restart_the_canvas(ws):
    name_id = add_name(ws, "N", "AB", status="needs_review")
    with ws.transaction() as conn:  # a person's earlier boxes differ from the automatic ones
        conn.execute("UPDATE names SET boxes = '[[6,5,24,25,\"X\"],[36,5,54,25,\"Y\"]]' WHERE id = ?", (name_id,))
    at = no_exception(app(REVIEW))
    at.button(key=state.REVIEW_LETTERS_FROM_TEXT).click().run()
    no_exception(at)
    start = at.session_state[state.REVIEW_CANVAS_START]
    assert start["boxes"] == [[6, 5, 24, 25, "A"], [36, 5, 54, 25, "B"]]
    at.button(key=state.REVIEW_RESET).click().run()
    no_exception(at)
    assert at.session_state[state.REVIEW_CANVAS_START]["boxes"] == [[5, 5, 25, 25, "A"], [35, 5, 55, 25, "B"]]
    assert at.session_state[state.REVIEW_CANVAS_NONCE] == 2
    # The canvas now starts from the automatic boxes: accepting takes them.
    at.button(key=state.REVIEW_ACCEPT).click().run()
    assert [b.box.x0 for b in ws.get_name(name_id).boxes] == [5, 35]


def test_review_missing_image_can_still_be_rejected(ws):
    name_id = add_name(ws, "GONE", "AB", status="needs_review")
    ws.image_path_of(ws.get_name(name_id)).unlink()
    at = no_exception(app(REVIEW))
    assert len(at.error) == 1 and "cannot be shown" in at.error[0].value
    assert at.button(key=state.REVIEW_ACCEPT).disabled
    at.button(key=state.REVIEW_REJECT).click().run()
    assert ws.get_name(name_id).status == "rejected"


# --- Review: the audit ------------------------------------------------------------------


def test_audit_send_back_moves_a_name_to_the_front_of_the_queue(ws):
    late = add_name(ws, "WAITING", "AB", status="needs_review", confidence=0.0)
    wrong = add_name(ws, "WRONG", "AB", status="matched", confidence=1.0)
    add_name(ws, "RIGHT", "CD", status="matched", confidence=1.0)
    harvest(ws)
    at = no_exception(app(REVIEW, **{state.REVIEW_VIEW: "Audit"}))
    assert len(at.image) == 2
    assert "1–2 of 2 names" in texts(at)
    at.button(key=state.audit_send_back_key(wrong)).click().run()
    no_exception(at)
    name = ws.get_name(wrong)
    assert name.status == "needs_review" and name.priority == 1
    assert ws.query_one("SELECT COUNT(*) AS n FROM chars WHERE name_id = ?", (wrong,))["n"] == 0
    assert "WRONG sent back" in texts(at) and len(at.image) == 1
    assert next_for_review(ws, "someone").id == wrong != late


def test_audit_says_which_repairs_model_vetting_filed(ws):
    from hwocr.config import DEFAULTS
    from hwocr.vet import VET_CONFIRMED, confirmed_repair

    filed = add_name(ws, "UNSURE", "AB", status="repaired", confidence=DEFAULTS.harvest_min_confidence)
    reason = f"2 pieces for 2 letters; split touching letters 1-2 (AB); {VET_CONFIRMED} (repair confidence 0.41, " \
             f"harvested at {DEFAULTS.harvest_min_confidence})"
    with ws.transaction() as conn:
        conn.execute("UPDATE names SET reason = ? WHERE id = ?", (reason, filed))
    add_name(ws, "SURE", "CD", status="repaired", confidence=0.9)
    assert confirmed_repair(reason) == 0.41 and confirmed_repair("2 pieces for 2 letters") is None
    at = no_exception(app(REVIEW, **{state.REVIEW_VIEW: "Audit"}))
    text = texts(at)
    assert f"repaired · confidence {DEFAULTS.harvest_min_confidence:.2f} · filed by model vetting (repair 0.41)" in text
    assert text.count("filed by model vetting") == 1


def test_the_review_view_is_kept_in_the_address_so_a_reload_stays_on_it(ws):
    add_name(ws, "WAITING", "AB", status="needs_review", confidence=0.0)
    add_name(ws, "SURE", "CD", status="matched", confidence=1.0)
    harvest(ws)
    at = open_page(REVIEW, reviewer=REVIEWER)
    at.query_params["view"] = "Audit"  # a reload of the audit, or a link to it
    no_exception(at.run())
    assert at.session_state[state.REVIEW_VIEW] == "Audit" and "1–1 of 1 names" in texts(at)
    at.segmented_control(key=state.REVIEW_VIEW).set_value("Find").run()
    assert no_exception(at).query_params["view"] == "Find"
    at.segmented_control(key=state.REVIEW_VIEW).set_value("Queue").run()
    assert "view" not in no_exception(at).query_params
    # An unknown view in the address opens the queue.
    at = open_page(REVIEW, reviewer=REVIEWER)
    at.query_params["view"] = "nonsense"
    assert no_exception(at.run()).session_state[state.REVIEW_VIEW] == "Queue"


def test_audit_pages_through_many_names(ws):
    for i in range(30):
        add_name(ws, f"M{i:02d}", "AB", status="matched", confidence=i / 30)
    at = no_exception(app(REVIEW, **{state.REVIEW_VIEW: "Audit"}))
    assert len(at.image) == state.AUDIT_PER_PAGE
    assert "1–24 of 30 names" in texts(at)
    at.session_state[state.AUDIT_PAGE] = 2
    at.run()
    assert len(at.image) == 6 and "25–30 of 30 names" in texts(at)
    assert "M24" in texts(at) and "M00" not in texts(at)


# --- Dataset -------------------------------------------------------------------------


def _harvested(ws) -> tuple[int, int]:
    a = add_name(ws, "AB", "AB", status="matched")
    b = add_name(ws, "AC", "AC", status="matched")
    harvest(ws)
    return a, b


def test_dataset_counts_and_gallery(ws):
    _harvested(ws)
    at = no_exception(app(DATASET))
    assert "**4 crops**" in texts(at)
    assert at.selectbox(key=state.DATASET_CLASS).value == "A"
    assert len(at.image) == 2
    at.selectbox(key=state.DATASET_CLASS).set_value("C").run()
    assert len(at.image) == 1 and "1–1 of 1 crops of C" in texts(at)


def test_dataset_class_and_page_are_kept_in_the_address(ws, monkeypatch):
    from streamlit.elements.lib import policies

    # Streamlit logs, once a process and with a 30-line stack, a widget given both a
    # default and a value written into its state first: none of that in the terminal.
    logged = []
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    monkeypatch.setattr(policies._LOGGER, "warning", lambda msg, *a, **k: logged.append(msg % a))
    _harvested(ws)
    monkeypatch.setattr(state, "DATASET_PER_PAGE", 1)  # A's two crops on two pages
    at = open_page(DATASET, reviewer=REVIEWER)
    at.query_params["class"], at.query_params["page"] = "A", "2"  # a reload on A's 2nd page
    no_exception(at.run())
    assert "2–2 of 2 crops of A" in texts(at)
    assert logged == []
    at.selectbox(key=state.DATASET_CLASS).set_value("C").run()
    assert no_exception(at).query_params["class"] == "C"
    # A class or page the workspace does not have in the address: the usual first page.
    at = open_page(DATASET, reviewer=REVIEWER)
    at.query_params["class"], at.query_params["page"] = "nonsense", "9"
    no_exception(at.run())
    assert "1–1 of 2 crops of A" in texts(at) and "page" not in at.query_params


def test_dataset_tiles_say_where_each_crop_comes_from(ws):
    _a, b = _harvested(ws)
    from hwocr.dataset import add_crop

    drawn, _ = blocks_image(1)
    add_crop(ws, drawn, "A", origin="canvas")
    at = no_exception(app(DATASET))
    crop = ws.query_one("SELECT * FROM chars WHERE name_id = ? AND label = 'C'", (b,))
    box = (crop["x0"], crop["y0"], crop["x1"], crop["y1"])
    assert box == (35, 5, 55, 25)
    at.selectbox(key=state.DATASET_CLASS).set_value("C").run()
    shown = texts(at)
    assert "From **AC**, letter 2 of “AC”" in shown
    assert "Box x 35–55, y 5–25 px (20×20)" in shown
    assert "Origin: auto (segmented and accepted without review)" in shown
    at.selectbox(key=state.DATASET_CLASS).set_value("A").run()
    shown = texts(at)
    assert shown.count("letter 1 of") == 2 and "Not cut from a name" in shown
    assert "Origin: canvas (drawn on the Recognize page)" in shown


def test_dataset_relabel_selected(ws):
    _a, b = _harvested(ws)
    at = no_exception(app(DATASET))
    crop_b = ws.query_one("SELECT id FROM chars WHERE name_id = ? AND label = 'A'", (b,))["id"]
    at.checkbox(key=state.dataset_select_key(crop_b)).check().run()
    at.selectbox(key=state.DATASET_RELABEL_TO).set_value("E").run()
    at.button(key=state.DATASET_RELABEL).click().run()
    no_exception(at)
    row = ws.query_one("SELECT label, path, origin FROM chars WHERE id = ?", (crop_b,))
    assert row["label"] == "E" and row["path"].startswith("dataset/E/") and row["origin"] == "verified"
    assert (ws.root / row["path"]).is_file() and rows_in_chars(ws) == files_in_dataset(ws)
    assert ws.class_counts()["A"] == 1 and ws.class_counts()["E"] == 1
    assert "Moved 1 crop(s) from A to E" in texts(at)
    # The message stays through later reruns (a poll, another widget) until the next action's.
    at.run()
    at.run()
    assert "Moved 1 crop(s) from A to E" in texts(at)
    crop_a = ws.query_one("SELECT id FROM chars WHERE label = 'A'")["id"]
    at.checkbox(key=state.dataset_select_key(crop_a)).check().run()
    at.button(key=state.DATASET_DELETE).click().run()
    assert "Moved 1 crop(s)" not in texts(at) and "Deleted 1 crop(s)" in texts(at)


def test_dataset_delete_selected_sends_the_name_back(ws):
    a, b = _harvested(ws)
    at = no_exception(app(DATASET))
    at.button(key=state.DATASET_SELECT_PAGE).click().run()
    at.button(key=state.DATASET_DELETE).click().run()
    no_exception(at)
    assert ws.class_counts()["A"] == 0 and sum(ws.class_counts().values()) == 0
    assert {ws.get_name(a).status, ws.get_name(b).status} == {"needs_review"}
    assert rows_in_chars(ws) == set() == files_in_dataset(ws)
    assert "Deleted 2 crop(s)" in texts(at)


class FakeRecognizer:
    """Doubts the crop of the name "AC" (its A looks like an R to it); sure of the others."""

    def __init__(self, ws):
        self.ws = ws
        self.calls = []

    def classify(self, paths, charset="letters", top_k=None):
        from hwocr.recognize import Prediction

        self.calls.append((len(paths), charset, top_k))
        out = []
        for path in paths:
            row = self.ws.query_one("SELECT n.unit_id FROM chars c JOIN names n ON n.id = c.name_id WHERE c.path = ?",
                                    (self.ws.relative(Path(path)),))
            if row["unit_id"] == "AC":
                out.append(Prediction("R", 0.85, (("R", 0.85), ("A", 0.10), ("B", 0.05))))
            else:
                out.append(Prediction("A", 0.97, (("A", 0.97), ("R", 0.03))))
        return out


def test_dataset_sorts_by_model_disagreement(ws, monkeypatch):
    _a, b = _harvested(ws)
    fake = FakeRecognizer(ws)
    import hwocr.ui.resources

    monkeypatch.setattr(hwocr.ui.resources, "recognizer", lambda _ws: fake)
    at = no_exception(app(DATASET))
    assert [c.label for c in at.checkbox] == [f"#{i}" for i in sorted(
        r["id"] for r in ws.query("SELECT id FROM chars WHERE label = 'A'"))]
    at.segmented_control(key=state.DATASET_SORT).set_value("Model disagreement").run()
    no_exception(at)
    doubted = ws.query_one("SELECT id FROM chars WHERE name_id = ? AND label = 'A'", (b,))["id"]
    assert at.checkbox[0].key == state.dataset_select_key(doubted)
    # The model's opinion is a caption under the tick box (it wraps), not its label (cut to "0…" in a tile).
    sure = ws.query_one("SELECT id FROM chars WHERE name_id = ? AND label = 'A'", (_a,))["id"]
    assert [c.label for c in at.checkbox] == [f"#{doubted}", f"#{sure}"]
    assert [c.value for c in at.caption if "→" in c.value] == ["0.10 → R", "0.97 → A"]
    assert "The model gives A a probability of 0.10; its best guess is R (0.85)." in texts(at)
    assert fake.calls == [(2, "letters", 26)]  # one batch, every class's probability


def test_dataset_without_a_model_says_so(ws, monkeypatch):
    _harvested(ws)
    import hwocr.ui.resources
    from hwocr.errors import ModelError

    def no_model(_ws):
        raise ModelError("models/base/model.keras: missing from the model folder")

    monkeypatch.setattr(hwocr.ui.resources, "recognizer", no_model)
    at = no_exception(app(DATASET, **{state.DATASET_SORT: "Model disagreement"}))
    assert "No character model can be used yet (models/base/model.keras: missing" in texts(at)
    assert len(at.image) == 2 and not at.error


def test_dataset_export_offers_a_download(ws):
    _harvested(ws)
    # What the page used to leave behind: a dated copy per click.
    (ws.exports_dir / "hwocr_dataset_20240101_120000.zip").write_bytes(b"old")
    (ws.exports_dir / "mine.zip").write_bytes(b"a file of the person's own")
    at = no_exception(app(DATASET))
    at.selectbox(key=state.DATASET_EXPORT_FORMAT).set_value("zip").run()
    for _ in range(3):  # preparing again replaces the export, it does not pile up copies
        at.button(key=state.DATASET_EXPORT).click().run()
        no_exception(at)
    assert sorted(p.name for p in ws.exports_dir.iterdir()) == ["hwocr_dataset.zip", "mine.zip"]
    exports = [ws.exports_dir / "hwocr_dataset.zip"]
    with zipfile.ZipFile(exports[0]) as zf:
        assert sorted(n.split("/")[0] for n in zf.namelist() if n != "labels.csv") == ["A", "A", "B", "C"]
    assert len(at.get("download_button")) == 1


def test_dataset_export_of_an_empty_dataset_is_an_error(ws):
    at = no_exception(app(DATASET))
    at.button(key=state.DATASET_EXPORT).click().run()
    no_exception(at)
    assert len(at.error) == 1 and "empty" in at.error[0].value


# --- Import ----------------------------------------------------------------------------


def _names_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "names"
    (folder / "images").mkdir(parents=True)
    for i, n in enumerate([2, 3]):
        image, _ = blocks_image(n)
        (folder / "images" / f"N{i}.png").write_bytes(encode_png(image))
    rows = [
        ["unit_id", "image_url", "transcription", "first_or_last"],
        ["N0", "images/N0.png", "AB", "first"],
        ["N1", "images/N1.png", "ABC", "last"],
        ["=N2", "images/missing.png", "DE", "first"],
        ["N3", "images/N0.png", "", "first"],
    ]
    with open(folder / "names.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return folder


def test_import_from_server_paths_previews_then_imports(ws, tmp_path):
    folder = _names_folder(tmp_path)
    at = no_exception(app(IMPORT, **{state.IMPORT_MODE: "server"}))
    at.text_input(key=state.IMPORT_CSV_PATH).set_value(str(folder / "names.csv")).run()
    no_exception(at)
    shown = texts(at)
    assert "Layout **original** · encoding **utf-8** · **comma**-separated" in shown
    assert "`image_url` → source" in shown
    assert len(at.image) == 3  # N0, N1 and N3's image are local and readable; the missing one is not
    assert "no such file" in shown
    at.button(key=state.IMPORT_START).click().run(timeout=120)
    no_exception(at)
    statuses = {r["unit_id"]: r["status"] for r in ws.query("SELECT unit_id, status FROM names")}
    assert statuses["=N2"] == "fetch_failed" and statuses["N3"] == "skipped"
    assert statuses["N0"] not in ("pending", "fetched") and statuses["N1"] not in ("pending", "fetched")
    assert [m.value for m in at.metric][:5] == ["4", "4", "2", "1", "1"]
    failures = at.dataframe[-1].value
    assert sorted(failures["unit_id"]) == ["=N2", "N3"]
    assert len(at.get("download_button")) == 1


def test_import_of_urls_offers_downloads_at_once_and_keeps_to_it(ws, tmp_path, monkeypatch):
    from tests.httpserver import LocalServer, image

    monkeypatch.setenv("HWOCR_ALLOW_PRIVATE_URLS", "127.0.0.1")
    with LocalServer() as server:
        url = server.route("/name.png", image(encode_png(blocks_image(2)[0]), "image/png", delay=0.15))
        path = tmp_path / "urls.csv"
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["unit_id", "image_url", "transcription", "first_or_last"])
            w.writerows([f"U{i}", f"{url}?n={i}", "AB", "first"] for i in range(10))
        at = no_exception(app(IMPORT, **{state.IMPORT_MODE: "server"}))
        at.text_input(key=state.IMPORT_CSV_PATH).set_value(str(path)).run()
        no_exception(at)
        field = at.number_input(key=state.IMPORT_CONNECTIONS)
        assert field.value == 16
        field.set_value(2)
        at.checkbox(key=state.IMPORT_SEGMENT).uncheck()
        server.reset_counts()
        at.button(key=state.IMPORT_START).click().run(timeout=120)
        no_exception(at)
        assert server.max_in_flight == 2
    statuses = {r["status"] for r in ws.query("SELECT status FROM names")}
    assert statuses == {"fetched"}
    # A CSV of files only has nothing to download: no such field.
    at = no_exception(app(IMPORT, **{state.IMPORT_MODE: "server"}))
    at.text_input(key=state.IMPORT_CSV_PATH).set_value(str(_names_folder(tmp_path / "files") / "names.csv")).run()
    assert not [n for n in at.number_input if n.key == state.IMPORT_CONNECTIONS]


def test_import_upload_with_a_zip_of_images(ws, tmp_path):
    folder = _names_folder(tmp_path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in (folder / "images").iterdir():
            zf.write(p, f"images/{p.name}")
    at = no_exception(app(IMPORT))
    at.file_uploader(key=state.IMPORT_CSV_UPLOAD).upload("names.csv", (folder / "names.csv").read_bytes(), "text/csv")
    at.file_uploader(key=state.IMPORT_ZIP_UPLOAD).upload("images.zip", buf.getvalue(), "application/zip")
    at.run()
    no_exception(at)
    assert len(at.image) == 3
    saved = sorted(p.name for p in (ws.root / "uploads").iterdir())
    assert len(saved) == 2 and {name.split("_", 1)[1] for name in saved} == {"images.zip", "names.csv"}
    at.checkbox(key=state.IMPORT_SEGMENT).uncheck()
    at.button(key=state.IMPORT_START).click().run(timeout=120)
    no_exception(at)
    statuses = {r["unit_id"]: r["status"] for r in ws.query("SELECT unit_id, status FROM names")}
    assert statuses == {"N0": "fetched", "N1": "fetched", "=N2": "fetch_failed", "N3": "skipped"}


def test_import_page_lists_what_was_imported_before(ws, tmp_path):
    at = no_exception(app(IMPORT))
    assert "Imported so far" not in [h.value for h in at.subheader] and not at.dataframe
    folder = _names_folder(tmp_path)
    # An upload is recorded under its stored name, "<12 hex of its content>_names.csv".
    import_csv(ws, folder / "names.csv", csv_name="0123456789ab_names.csv", fetch=False)
    at = no_exception(app(IMPORT))
    assert "Imported so far" in [h.value for h in at.subheader]
    table = at.dataframe[0].value
    assert list(table["CSV"]) == ["names.csv"]
    assert (list(table["rows"]), list(table["new names"]), list(table["skipped rows"])) == ([4], [4], [1])
    # Once a CSV is chosen the page is about that CSV, not the history.
    at.file_uploader(key=state.IMPORT_CSV_UPLOAD).upload("names.csv", (folder / "names.csv").read_bytes(), "text/csv")
    at.run()
    no_exception(at)
    assert "Imported so far" not in [h.value for h in at.subheader]


def test_shown_csv_name_strips_only_the_upload_prefix():
    assert shown_csv_name("0123456789ab_names.csv") == "names.csv"
    assert shown_csv_name("names.csv") == "names.csv"
    assert shown_csv_name("0123456789ab_") == "0123456789ab_"
    assert shown_csv_name("short_names.csv") == "short_names.csv"


@pytest.mark.parametrize("content, message", [
    (b"id,url,text\n1,a.png,AB\n", "expected unit_id"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not a CSV"),
])
def test_import_wrong_csv_gives_a_one_line_error(ws, content, message):
    at = no_exception(app(IMPORT))
    at.file_uploader(key=state.IMPORT_CSV_UPLOAD).upload("names.csv", content, "text/csv")
    at.run()
    no_exception(at)
    assert len(at.error) == 1 and message in at.error[0].value
    assert "\n" not in at.error[0].value
    assert not [b for b in at.button if b.key == state.IMPORT_START]


def test_import_missing_server_file_is_an_error(ws, tmp_path):
    at = no_exception(app(IMPORT, **{state.IMPORT_MODE: "server"}))
    at.text_input(key=state.IMPORT_CSV_PATH).set_value(str(tmp_path / "nope.csv")).run()
    assert len(at.error) == 1 and "no such file" in at.error[0].value


def test_charts_show_digits_and_small_letters_only_where_there_are_some():
    names_only = charted_classes({"A": 3, "E": 5, "0": 0, "a": 0})
    assert list(names_only) == [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    assert names_only["A"] == 3 and names_only["B"] == 0
    with_digits = charted_classes({"A": 3, "7": 1})
    assert list(with_digits)[26:] == list("0123456789") and with_digits["7"] == 1
    assert list(charted_classes({"q": 2}))[26:] == list("abcdefghijklmnopqrstuvwxyz")
