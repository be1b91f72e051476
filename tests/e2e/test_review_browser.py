"""End to end in a real browser: load the demo data from Home, move a box on the Review
canvas with the mouse, accept with the keyboard, and check the workspace on disk.

Also looks at every page (screenshots in tests/artifacts/) and checks that two tabs are
never handed the same name.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest

from hwocr.workspace import DB_NAME, labeled_boxes_from_json
from tests.e2e.browser import wait_idle

pytestmark = pytest.mark.e2e

#: How far the test drags a box, in image pixels.
SHIFT_PX = 4


def _db(workspace: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(workspace / DB_NAME, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def _rows(workspace: Path, sql: str) -> list[sqlite3.Row]:
    """The rows of one query on the workspace the app under test writes, read apart
    from it (a connection of its own, closed again)."""
    conn = _db(workspace)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("[data-testid='stMainBlockContainer'] h1", timeout=60_000)
    wait_idle(page)


def _shot(page, path: Path) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main area, not the
    document, so the viewport is made as tall as the content for the picture."""
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=stMain]') || document.body; return m.scrollHeight; }")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 60, 5000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def _claimed(workspace: Path) -> sqlite3.Row | None:
    with _db(workspace) as conn:
        return conn.execute(
            "SELECT * FROM names WHERE status = 'needs_review' AND claimed_by IS NOT NULL ORDER BY claimed_at DESC"
        ).fetchone()


def _load_demo(page, app_url, artifacts) -> None:
    _open(page, app_url)
    button = page.get_by_role("button", name="Load the demo data")
    button.wait_for()
    _shot(page, artifacts / "home_empty.png")
    button.click()
    page.get_by_text(re.compile(r"Loaded 40 demo names")).wait_for(timeout=150_000)
    wait_idle(page)
    _shot(page, artifacts / "home.png")


def test_move_a_box_and_accept_with_the_keyboard(page, app_url, e2e_workspace, artifacts):
    _load_demo(page, app_url, artifacts)
    with _db(e2e_workspace) as conn:
        assert conn.execute("SELECT COUNT(*) FROM names").fetchone()[0] == 40
        queue = conn.execute("SELECT COUNT(*) FROM names WHERE status = 'needs_review'").fetchone()[0]
    if queue == 0:
        # The segmenter settled every demo name: send one back from the audit grid first.
        _open(page, f"{app_url}/Review")
        page.get_by_text("Audit auto-accepted names").click()
        wait_idle(page)
        page.get_by_role("button", name="Send back").first.click()
        wait_idle(page)
        page.get_by_text("Review queue").click()
    _open(page, f"{app_url}/Review")
    image = page.locator(".hbe-img").first
    image.wait_for()
    wait_idle(page)
    _shot(page, artifacts / "review.png")

    record = _claimed(e2e_workspace)
    assert record is not None, "the Review page claimed no name"
    boxes = labeled_boxes_from_json(record["boxes"])
    assert len(boxes) >= 2
    # The box to move: the widest, so the grab point is well inside it.
    target = max(boxes, key=lambda b: b.box.width)
    # The editor shows the name at least 160 px tall, nearest-pixel, and scrolls sideways.
    frame = image.bounding_box()
    scale = frame["height"] / record["height"]
    assert frame["height"] >= 160
    assert frame["width"] == pytest.approx(record["width"] * scale, abs=1)
    page.locator(".hbe-view").first.evaluate("(v, x) => { v.scrollLeft = Math.max(0, x - v.clientWidth / 2); }",
                                             target.box.center_x * scale)
    frame = image.bounding_box()
    grab_x = frame["x"] + target.box.center_x * scale
    grab_y = frame["y"] + (target.box.y0 + target.box.y1) / 2 * scale
    dx = SHIFT_PX * scale

    page.mouse.move(grab_x, grab_y)
    page.mouse.down()
    page.mouse.move(grab_x + dx / 2, grab_y, steps=5)
    page.mouse.move(grab_x + dx, grab_y, steps=5)
    page.mouse.up()
    # The page lists every box's pixels; wait until it shows the moved one.
    expander = page.get_by_text("Boxes in image pixels")
    expander.click()
    page.get_by_text(re.compile(rf"{target.label} {target.box.x0 + SHIFT_PX - 1}|{target.label} "
                                rf"{target.box.x0 + SHIFT_PX}|{target.label} {target.box.x0 + SHIFT_PX + 1}")
                     ).first.wait_for(timeout=30_000)
    wait_idle(page)
    _shot(page, artifacts / "review_moved.png")

    # Shortcut keys typed into a text field are text, not commands.
    page.get_by_placeholder("reason to reject (optional)").fill("")
    page.get_by_placeholder("reason to reject (optional)").type("a s x")
    wait_idle(page)
    page.wait_for_timeout(500)
    with _db(e2e_workspace) as conn:
        assert conn.execute("SELECT status FROM names WHERE id = ?", (record["id"],)).fetchone()[0] == "needs_review"

    # Accept with the keyboard shortcut, focus on the page body (not in a text field).
    page.locator("h1").first.click()
    editor = page.locator(".hbe").first
    shown = editor.get_attribute("data-revision")
    started = time.monotonic()
    page.keyboard.press("a")
    page.get_by_text(re.compile(rf"{record['unit_id']} accepted")).wait_for(timeout=60_000)
    # How long until the next name is in the editor (for the record; the machine may be busy).
    while editor.get_attribute("data-revision") == shown and time.monotonic() - started < 30:
        page.wait_for_timeout(20)
    (artifacts / "review_accept_to_next_name.txt").write_text(f"{time.monotonic() - started:.2f} s\n")
    wait_idle(page)

    with _db(e2e_workspace) as conn:
        name = conn.execute("SELECT * FROM names WHERE id = ?", (record["id"],)).fetchone()
        chars = conn.execute("SELECT * FROM chars WHERE name_id = ? ORDER BY idx", (record["id"],)).fetchall()
    assert name["status"] == "verified"
    assert name["version"] > record["version"]
    assert len(chars) == len(boxes)
    assert all(c["origin"] == "verified" for c in chars)
    match = [c for c in chars if c["label"] == target.label and abs(c["x0"] - (target.box.x0 + SHIFT_PX)) <= 1]
    assert len(match) == 1, f"no crop of {target.label} moved by {SHIFT_PX} px: {[dict(c) for c in chars]}"
    crop = match[0]
    assert abs(crop["x1"] - (target.box.x1 + SHIFT_PX)) <= 1
    assert abs(crop["y0"] - target.box.y0) <= 1 and abs(crop["y1"] - target.box.y1) <= 1
    path = e2e_workspace / crop["path"]
    assert path.is_file() and path.parent.name == target.label


def test_two_reviewers_get_different_names_and_every_page_renders(browser, app_url, e2e_workspace, artifacts):
    with _db(e2e_workspace) as conn:
        # The earlier tests' reviewer still holds the name it was shown next (its claim
        # lapses minutes after its page is gone); this test's two tabs need two free ones.
        conn.execute("UPDATE names SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by IS NOT NULL")
        conn.commit()
        waiting = conn.execute("SELECT COUNT(*) FROM names WHERE status = 'needs_review'").fetchone()[0]
    if waiting < 2:
        pytest.skip("fewer than two names wait for review")
    tabs = [browser.new_context(viewport={"width": 1440, "height": 1000}).new_page() for _ in range(2)]
    try:
        shown = []
        for tab, reviewer in zip(tabs, ("tab-one", "tab-two")):
            tab.set_default_timeout(60_000)
            _open(tab, f"{app_url}/Review?reviewer={reviewer}")
            tab.locator(".hbe-img").first.wait_for()
            text = tab.locator("[data-testid='stMarkdownContainer'] strong", has_text=re.compile(r"^DEMO_\d{4}$"))
            shown.append(text.first.inner_text())
        assert shown[0] != shown[1]

        page = tabs[0]
        page.get_by_text("Audit auto-accepted names").click()
        wait_idle(page)
        _shot(page, artifacts / "review_audit.png")

        _open(page, f"{app_url}/Dataset")
        _shot(page, artifacts / "dataset.png")

        _open(page, f"{app_url}/Import")
        page.get_by_text("Files on the server").click()
        wait_idle(page)
        page.get_by_label("CSV file on the server").fill(str(e2e_workspace / "demo" / "names.csv"))
        page.keyboard.press("Enter")
        page.get_by_text("What was detected").wait_for()
        wait_idle(page)
        _shot(page, artifacts / "import_preview.png")

        # A wrong input gives a one-line error, never a traceback.
        page.get_by_label("CSV file on the server").fill(str(e2e_workspace / "hwocr.sqlite3"))
        page.keyboard.press("Enter")
        wait_idle(page)
        error = page.locator("[data-testid='stAlertContentError']").first
        error.wait_for()
        assert "Traceback" not in page.content()
        _shot(page, artifacts / "import_error.png")
    finally:
        for tab in tabs:
            tab.context.close()
