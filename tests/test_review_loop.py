"""The review loop a labeller lives in: a reviewer identity that survives reloads,
claims kept alive by a heartbeat, checked accepts, find and reopen, messages that stay.

Page logic through ``streamlit.testing.v1.AppTest`` (a new AppTest is a new browser
session: a reload); the library functions underneath directly."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from hwocr.boxes import Box
from hwocr.errors import ConflictError, InputError
from hwocr.review import accept, check_accept, ordinal, propose_letters
from hwocr.ui import identity, state
from hwocr.workspace import DB_NAME, MIGRATIONS, SCHEMA_VERSION, LabeledBox, Workspace, migrate
from tests.helpers import add_name, blocks_image, no_exception, open_page, rows_in_chars

REPO = Path(__file__).resolve().parent.parent
REVIEW = str(REPO / "pages" / "2_Review.py")
FIXTURE = REPO / "tests" / "fixtures" / "workspace_schema2.sqlite3"


@pytest.fixture
def ws(workspace_dir) -> Workspace:
    return Workspace(workspace_dir)


def lboxes(*items) -> list[list]:
    return [list(item) for item in items]


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in (*at.success, *at.info, *at.warning, *at.error)]
    return "\n".join(str(p) for p in parts)


def review(reviewer: str, **session):
    """A fresh browser session of the Review page as ``reviewer``: a reload, a new tab."""
    return no_exception(open_page(REVIEW, reviewer=reviewer, **session).run())


# --- the schema's migrations ------------------------------------------------------------


def test_a_workspace_of_the_last_release_opens_and_keeps_its_rows(tmp_path):
    shutil.copy(FIXTURE, tmp_path / DB_NAME)
    assert sqlite3.connect(tmp_path / DB_NAME).execute("PRAGMA user_version").fetchone()[0] == 2
    ws = Workspace(tmp_path)
    assert ws.query_one("PRAGMA user_version")[0] == SCHEMA_VERSION == 4
    assert "vet" in [r[1] for r in ws.query("PRAGMA table_info(names)")]  # issue 14: model vetting
    assert [(r["unit_id"], r["status"]) for r in ws.query("SELECT * FROM names ORDER BY id")] == [
        ("U1", "needs_review"), ("U2", "verified"), ("U3", "rejected")]
    # The new table works, and the old reviewer's undo history is still theirs.
    ws.touch_reviewer("alice")
    assert ws.reviewer_last_seen("alice") is not None
    assert ws.reviewer_done("web-abc") == 1
    # Opening it again changes nothing.
    assert Workspace(tmp_path).query_one("PRAGMA user_version")[0] == 4


def test_a_migration_that_adds_a_column_runs_once_and_in_order(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    more = (*MIGRATIONS, (SCHEMA_VERSION + 1, "ALTER TABLE names ADD COLUMN note TEXT;"))
    assert migrate(conn, more) == SCHEMA_VERSION + 1
    assert "note" in [r[1] for r in conn.execute("PRAGMA table_info(names)")]
    assert migrate(conn, more) == SCHEMA_VERSION + 1  # a second run does nothing (no "duplicate column")


def test_a_failing_migration_leaves_the_workspace_at_the_version_before(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    migrate(conn, MIGRATIONS)
    broken = (*MIGRATIONS, (SCHEMA_VERSION + 1, "ALTER TABLE names ADD COLUMN a TEXT;\nALTER TABLE nope ADD COLUMN b;"))
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, broken)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "a" not in [r[1] for r in conn.execute("PRAGMA table_info(names)")]


# --- claims, heartbeat, reopen ------------------------------------------------------------


def test_claims_last_while_the_reviewer_is_seen_and_lapse_when_gone(ws):
    a = add_name(ws, "A", "AB", status="needs_review")
    assert ws.claim_next("alice", ttl_s=60).id == a
    with ws.transaction() as conn:  # alice claimed it 2 minutes ago
        conn.execute("UPDATE names SET claimed_at = claimed_at - 120 WHERE id = ?", (a,))
    assert ws.claim_next("bob", ttl_s=300) is None       # within a long ttl: still hers
    ws.touch_reviewer("alice")                            # her page's heartbeat: she is here
    assert ws.claim_next("bob", ttl_s=60) is None
    with pytest.raises(ConflictError, match="open for alice"):
        ws.claim_name(a, "bob", ttl_s=60)
    with ws.transaction() as conn:                        # her last heartbeat was 2 minutes ago
        conn.execute("UPDATE reviewers SET last_seen = last_seen - 120 WHERE name = 'alice'")
    assert ws.claim_next("bob", ttl_s=60).id == a         # gone: bob gets it
    assert ws.claim_next("alice", ttl_s=60) is None        # and she, back, does not take it from him


def test_a_reviewer_opens_any_name_and_it_comes_first_until_done(ws):
    queued = add_name(ws, "Q", "AB", status="needs_review")
    done = add_name(ws, "V", "AB", status="verified")
    assert ws.claim_next("alice").id == queued
    assert ws.claim_name(done, "alice").id == done
    assert ws.claim_next("alice").id == done               # the name just opened is shown
    with pytest.raises(ConflictError, match="open for alice"):
        ws.claim_name(done, "bob")
    record = ws.get_name(done)
    accept(ws, done, record.version, [LabeledBox(b.box, b.label) for b in record.boxes], reviewer="alice")
    assert ws.claim_next("alice").id == queued             # back to the queue item she held
    with pytest.raises(InputError, match="cannot be reviewed while it is pending"):
        ws.claim_name(add_name(ws, "P", "AB", status="pending"), "alice")


# --- accept checks -------------------------------------------------------------------------


def test_accept_refuses_a_box_over_blank_paper(ws):
    name_id = add_name(ws, "N", "YOUF", status="needs_review")
    record = ws.claim_next("alice")
    real = [LabeledBox(b.box, b.label) for b in record.boxes]
    blank = LabeledBox(Box(real[-1].box.x1 + 1, 0, real[-1].box.x1 + 4, 4), "Y")  # margin, no ink
    with pytest.raises(InputError, match="the 5th box holds no ink"):
        accept(ws, name_id, record.version, [*real, blank], reviewer="alice")
    assert ws.get_name(name_id).status == "needs_review" and rows_in_chars(ws) == set()


def test_check_accept_says_how_boxes_and_transcription_differ():
    image, blocks = blocks_image(4)
    ink_boxes = [LabeledBox(b, ch) for b, ch in zip(blocks, "QZKF")]
    check = check_accept(image, ink_boxes, "YOUF")
    assert check.refused is None
    assert check.differs == "the boxes read QZKF, the transcription YOUF: the 1st is Q, not Y, 2nd is Z, not O, " \
                            "3rd is K, not U"
    assert check_accept(image, ink_boxes[:3], "YOUF").differs == \
        "the boxes read QZK (3 letters), the transcription YOUF (4 letters)"
    assert check_accept(image, [LabeledBox(b, ch) for b, ch in zip(blocks, "YOUF")], "You-f").differs is None
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]


def test_the_model_proposes_one_letter_per_box():
    class Fake:
        def classify(self, crops, charset):
            from hwocr.recognize import Prediction

            assert charset == "alnum" and all(c.size for c in crops)
            return [Prediction(label="XYZW"[i], confidence=0.9, top=(("XYZW"[i], 0.9),)) for i in range(len(crops))]

    image, blocks = blocks_image(3)
    boxes = [LabeledBox(b, "A") for b in reversed(blocks)] + [LabeledBox(Box(0, 0, 3, 3), "Q")]
    proposed = propose_letters(Fake(), image, boxes)
    assert [(b.box.x0, b.label) for b in proposed] == [(0, "Q"), (5, "X"), (35, "Y"), (65, "Z")]


# --- the identity -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw, name", [
    ("  Alice  Martin ", "Alice Martin"), ("bob@lab", "bob@lab"), ("<b>x</b>", "bxb"),
    ("", None), ("   ", None), (None, None), ("...", None), ("é" * 60, "é" * identity.MAX_LENGTH),
])
def test_reviewer_names_are_cleaned(raw, name):
    assert identity.clean_name(raw) == name


def test_os_user_is_the_default_reviewer(ws, monkeypatch):
    add_name(ws, "A", "AB", status="needs_review")
    monkeypatch.setattr(identity.getpass, "getuser", lambda: "labeller")
    from streamlit.testing.v1 import AppTest

    at = no_exception(AppTest.from_file(REVIEW, default_timeout=60).run())
    assert at.session_state[state.REVIEWER] == "labeller"
    assert at.query_params["reviewer"] == "labeller"
    assert ws.get_name(1).claimed_by == "labeller"


# --- the page ---------------------------------------------------------------------------------


def test_a_reload_gets_the_same_item_and_the_same_undo(ws):
    add_name(ws, "FIRST", "AB", status="needs_review", confidence=0.1)
    second = add_name(ws, "SECOND", "AB", status="needs_review", confidence=0.2)
    at = review("alice")
    assert "**FIRST**" in texts(at)
    at = review("alice")  # F5: a new session, the same reviewer
    assert "**FIRST**" in texts(at)
    at.button(key=state.REVIEW_ACCEPT).click().run()
    assert "**SECOND**" in texts(at) and ws.get_name(second).claimed_by == "alice"
    at = review("alice")  # reload again: the next item is still hers, and undo remembers
    assert "**SECOND**" in texts(at) and "1 done by alice today" in texts(at)
    at.button(key=state.REVIEW_UNDO).click().run()
    no_exception(at)
    assert "FIRST is back as it was" in texts(at) and "**FIRST**" in texts(at)
    assert ws.get_name(1).status == "needs_review" and rows_in_chars(ws) == set()
    # Another reviewer never sees alice's names while she is here.
    bob = review("bob")
    assert "Nothing waiting for review" in texts(bob)


def test_a_message_stays_until_the_next_action(ws):
    add_name(ws, "FIRST", "AB", status="needs_review", confidence=0.1)
    add_name(ws, "SECOND", "AB", status="needs_review", confidence=0.2)
    at = review("alice")
    at.button(key=state.REVIEW_ACCEPT).click().run()
    assert "FIRST accepted: 2 letters" in texts(at)
    at.run()  # another rerun (the editor reporting, a heartbeat): the message is still there
    at.run()
    assert "FIRST accepted: 2 letters" in texts(at)
    at.button(key=state.REVIEW_SKIP).click().run()
    assert "FIRST accepted" not in texts(at) and "SECOND skipped" in texts(at)


def test_accept_asks_once_when_the_boxes_read_otherwise_then_goes_ahead(ws):
    name_id = add_name(ws, "N", "AB", status="needs_review")
    at = review("alice", **{state.REVIEW_BOXES_OVERRIDE: lboxes((5, 5, 25, 25, "A"), (35, 5, 55, 25, "X"))})
    at.button(key=state.REVIEW_ACCEPT).click().run()
    no_exception(at)
    assert "the boxes read AX, the transcription AB: the 2nd is X, not B" in texts(at)
    assert ws.get_name(name_id).status == "needs_review"
    assert at.button(key=state.REVIEW_ACCEPT_ANYWAY)
    at.button(key=state.REVIEW_ACCEPT).click().run()  # the same Accept again goes ahead
    no_exception(at)
    name = ws.get_name(name_id)
    assert name.status == "verified" and [b.label for b in name.boxes] == ["A", "X"]
    assert "box letters AX differ from the transcription AB" in name.reason


def test_accept_can_take_the_box_letters_as_the_transcription(ws):
    name_id = add_name(ws, "N", "AB", status="needs_review")
    at = review("alice", **{state.REVIEW_BOXES_OVERRIDE: lboxes((5, 5, 25, 25, "A"), (35, 5, 55, 25, "X"))})
    at.button(key=state.REVIEW_ACCEPT).click().run()
    at.button(key=state.REVIEW_FIX_TEXT).click().run()
    no_exception(at)
    name = ws.get_name(name_id)
    assert name.status == "verified" and name.transcription == "AX" and name.reason == "verified by a person"


def test_an_inkless_box_is_refused_on_the_page(ws):
    name_id = add_name(ws, "N", "AB", status="needs_review")
    at = review("alice", **{state.REVIEW_BOXES_OVERRIDE: lboxes((5, 5, 25, 25, "A"), (35, 5, 55, 25, "B"),
                                                               (56, 26, 59, 29, "C"))})
    at.button(key=state.REVIEW_ACCEPT).click().run()
    no_exception(at)
    assert len(at.error) == 1 and "the 3rd box holds no ink" in at.error[0].value
    assert ws.get_name(name_id).status == "needs_review" and rows_in_chars(ws) == set()


def test_find_a_name_and_reopen_it_from_the_history(ws):
    add_name(ws, "QUEUED", "ZED", status="needs_review")
    done = add_name(ws, "U-77", "MARIE", status="verified")
    with ws.transaction() as conn:
        conn.execute("UPDATE names SET reviewed_by = 'bob', reviewed_at = strftime('%s','now') WHERE id = ?", (done,))
    at = review("alice", **{state.REVIEW_VIEW: "Find"})
    at.text_input(key=state.REVIEW_SEARCH).set_value("mar").run()
    no_exception(at)
    assert "**U\\-77** · MARIE" in texts(at)
    at.segmented_control(key=state.REVIEW_HISTORY_WHO).set_value("Everyone").run()
    assert "verified by bob just now" in texts(at)
    at.button(key=state.review_open_key("history", done)).click().run()
    no_exception(at)
    assert at.session_state[state.REVIEW_VIEW] == "Queue"
    assert "**U\\-77** · verified" in texts(at) and "U-77 is open for you" in texts(at)
    assert ws.get_name(done).claimed_by == "alice"
    # Nothing matches: said in words.
    at = review("carol", **{state.REVIEW_VIEW: "Find"})
    at.text_input(key=state.REVIEW_SEARCH).set_value("100%_").run()
    assert "No name has '100%_' in its unit_id or transcription." in texts(at)


def test_release_hands_the_name_to_someone_else_and_pauses(ws):
    name_id = add_name(ws, "ONLY", "AB", status="needs_review")
    at = review("alice")
    at.button(key=state.REVIEW_RELEASE).click().run()
    no_exception(at)
    assert "ONLY released: anyone can review it now" in texts(at)
    assert ws.get_name(name_id).claimed_by is None
    assert "**ONLY**" in texts(review("bob"))
    at.button(key=state.REVIEW_RESUME).click().run()
    assert "Nothing waiting for review" in texts(at)  # bob has it now


def test_renaming_moves_the_work_to_the_new_name(ws):
    name_id = add_name(ws, "ONLY", "AB", status="needs_review")
    at = review("root")
    assert ws.get_name(name_id).claimed_by == "root"
    at.text_input(key=state.REVIEW_RENAME).set_value("  Alice ")
    at.button(key=state.REVIEW_RENAME_SAVE).click().run()
    no_exception(at)
    assert at.query_params["reviewer"] == "Alice"
    assert ws.get_name(name_id).claimed_by == "Alice"
    assert "You review as Alice now" in texts(at)


def test_reviewed_names_history_lists_only_mine_by_default(ws):
    image, blocks = blocks_image(2)
    a = add_name(ws, "A1", "AB", status="needs_review", image=image, boxes=blocks)
    at = review("alice")
    at.button(key=state.REVIEW_ACCEPT).click().run()
    assert ws.get_name(a).reviewed_by == "alice"
    at = review("bob", **{state.REVIEW_VIEW: "Find"})
    assert "No reviewed names yet by bob." in texts(at)
    at = review("alice", **{state.REVIEW_VIEW: "Find"})
    assert "verified by alice just now" in texts(at)
