"""The review loop in a real browser: a reviewer is the same person after a reload, in a
second tab and without the URL parameter (cookie); two reviewers never share a name;
undo works after a reload; a confirmation is still on screen 2 s later."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hwocr.workspace import DB_NAME
from tests.e2e.browser import wait_idle

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def _db(workspace: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(workspace / DB_NAME, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def _one(workspace: Path, sql: str, params=()) -> sqlite3.Row | None:
    conn = _db(workspace)
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def queue(app_url, e2e_workspace) -> Path:
    """At least six names waiting for review in the shared e2e workspace."""
    subprocess.run([sys.executable, "-m", "hwocr", "demo", "--if-empty", "-q", "-w", str(e2e_workspace)],
                   cwd=REPO, check=True, capture_output=True)
    from hwocr.review import send_back
    from hwocr.workspace import Workspace

    ws = Workspace(e2e_workspace)
    # Earlier browser tests' reviewers are gone; their claims would last a few minutes more.
    with ws.transaction() as conn:
        conn.execute("UPDATE names SET claimed_by = NULL, claimed_at = NULL")
    waiting = ws.query_one("SELECT COUNT(*) FROM names WHERE status = 'needs_review'")[0]
    for row in ws.query("SELECT id FROM names WHERE status = 'matched' ORDER BY id LIMIT ?", (max(0, 8 - waiting),)):
        send_back(ws, row["id"], actor="e2e setup")
    return e2e_workspace


def _shown(page) -> str:
    """The unit_id of the name on the review card."""
    title = page.locator("[data-testid='stMarkdownContainer'] p").filter(has_text=" · confidence ")
    title.first.wait_for()
    return title.first.locator("strong").first.inner_text()


def _open_review(page, url: str) -> str:
    page.goto(url)
    page.wait_for_selector("[data-testid='stMainBlockContainer'] h1", timeout=60_000)
    wait_idle(page)
    return _shown(page)


def _accept(page, unit: str) -> None:
    """Accept with the keyboard; a second A when the page asks once about the letters."""
    for _ in range(2):
        page.locator("h1").first.click()
        page.keyboard.press("a")
        wait_idle(page)
        if page.get_by_text(re.compile(rf"{re.escape(unit)} accepted")).count():
            return
        assert page.get_by_text("Press Accept again").count(), page.locator("[data-testid='stMain']").inner_text()
    raise AssertionError(f"{unit} was not accepted")


def test_a_reload_keeps_the_item_and_the_undo_history(page, app_url, queue, artifacts):
    first = _open_review(page, f"{app_url}/Review?reviewer=rita")
    page.reload()
    assert _open_review(page, f"{app_url}/Review?reviewer=rita") == first
    _accept(page, first)
    second = _shown(page)
    assert second != first
    # The confirmation stays: another rerun (the editor reporting, a heartbeat) does not clear it.
    page.wait_for_timeout(2000)
    assert page.get_by_text(re.compile(rf"{re.escape(first)} accepted")).is_visible()
    page.screenshot(path=str(artifacts / "review_loop_accepted.png"))

    page.reload()
    wait_idle(page)
    assert _shown(page) == second
    assert page.get_by_text(re.compile(r"1 done by rita today")).count()
    page.get_by_role("button", name=re.compile("^Undo")).click()
    wait_idle(page)
    page.get_by_text(re.compile(rf"{re.escape(first)} is back as it was")).wait_for()
    assert _shown(page) == first
    row = _one(queue, "SELECT status, claimed_by FROM names WHERE unit_id = ?", (first,))
    assert row["status"] == "needs_review" and row["claimed_by"] == "rita"


def test_two_reviewers_never_share_a_name_and_one_reviewer_shares_across_tabs(browser, app_url, queue):
    contexts = [browser.new_context(viewport={"width": 1440, "height": 1000}) for _ in range(2)]
    try:
        ann, ben = (c.new_page() for c in contexts)
        ann_item = _open_review(ann, f"{app_url}/Review?reviewer=ann")
        ben_item = _open_review(ben, f"{app_url}/Review?reviewer=ben")
        assert ann_item != ben_item
        ann_again = contexts[0].new_page()  # a second tab of the same person
        assert _open_review(ann_again, f"{app_url}/Review?reviewer=ann") == ann_item
    finally:
        for c in contexts:
            c.close()


def test_the_browser_remembers_the_reviewer_without_the_url(browser, app_url, queue):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        page = context.new_page()
        item = _open_review(page, f"{app_url}/Review?reviewer=zoe")
        page.wait_for_function("() => document.cookie.includes('hwocr_reviewer=zoe')")
        other = context.new_page()  # e.g. a bookmark without ?reviewer=, after a browser restart
        assert _open_review(other, f"{app_url}/Review") == item
        assert "reviewer=zoe" in other.url
        other.get_by_text("Reviewing as zoe").wait_for()
    finally:
        context.close()


def _image_point(page, x: float, y: float, width: int, height: int) -> tuple[float, float]:
    """Screen coordinates of image pixel (x, y) in the editor, scrolled into view."""
    image = page.locator(".hbe-img").first
    image.wait_for()
    scale = image.bounding_box()["height"] / height
    page.locator(".hbe-view").first.evaluate("(v, x) => { v.scrollLeft = Math.max(0, x - v.clientWidth / 2); }",
                                             x * scale)
    frame = image.bounding_box()
    return frame["x"] + x * scale, frame["y"] + y * scale


def _drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    page.mouse.up()


def test_a_box_over_blank_paper_is_refused_and_an_edit_then_a_click_is_saved(page, app_url, queue, artifacts):
    unit = _open_review(page, f"{app_url}/Review?reviewer=ines")
    row = _one(queue, "SELECT * FROM names WHERE unit_id = ?", (unit,))
    from hwocr.workspace import labeled_boxes_from_json

    boxes = labeled_boxes_from_json(row["boxes"])
    width, height = row["width"], row["height"]
    # A new box in the top-right corner of the paper, where nothing is written.
    assert max(b.box.x1 for b in boxes) < width - 14
    _drag(page, _image_point(page, width - 12, 1, width, height), _image_point(page, width - 3, 7, width, height))
    wait_idle(page)
    page.locator("h1").first.click()
    page.keyboard.press("a")
    wait_idle(page)
    error = page.locator("[data-testid='stAlertContentError']").first
    error.wait_for()
    assert re.search(rf"{re.escape(unit)}: the {len(boxes) + 1}\w\w box holds no ink", error.inner_text())
    page.screenshot(path=str(artifacts / "review_loop_inkless.png"))
    assert _one(queue, "SELECT status FROM names WHERE unit_id = ?", (unit,))["status"] == "needs_review"

    # Reset (the editor starts again from the automatic boxes), move one box by 3 px and
    # click Accept at once with the mouse: the move is in what is saved.
    page.get_by_role("button", name=re.compile("^Reset boxes")).click()
    wait_idle(page)
    auto = labeled_boxes_from_json(row["auto_boxes"])
    target = max(auto, key=lambda b: b.box.width)
    grab = _image_point(page, target.box.center_x, (target.box.y0 + target.box.y1) / 2, width, height)
    scale = page.locator(".hbe-img").first.bounding_box()["height"] / height
    _drag(page, grab, (grab[0] + 3 * scale, grab[1]))
    page.get_by_role("button", name=re.compile("^Accept")).first.click()
    wait_idle(page)
    if page.get_by_text("Press Accept again").count():
        page.get_by_role("button", name="Accept anyway").click()
        wait_idle(page)
    page.get_by_text(re.compile(rf"{re.escape(unit)} accepted")).wait_for()
    conn = _db(queue)
    try:
        name = conn.execute("SELECT id FROM names WHERE unit_id = ?", (unit,)).fetchone()
        xs = [r["x0"] for r in conn.execute("SELECT x0 FROM chars WHERE name_id = ? AND label = ?",
                                            (name["id"], target.label))]
    finally:
        conn.close()
    assert any(abs(x - (target.box.x0 + 3)) <= 1 for x in xs), (target, xs)


def test_n_rejects_the_name_as_unreadable_with_one_key(page, app_url, queue, artifacts):
    unit = _open_review(page, f"{app_url}/Review?reviewer=nadia")
    done = page.get_by_text(re.compile(rf"{re.escape(unit)} rejected \(no readable name\)"))
    for _ in range(2):  # on a loaded machine the first key can land before the buttons listen
        page.locator("h1").first.click()  # focus on the page, not in a text field
        page.keyboard.press("n")
        wait_idle(page)
        if done.count() or _shown(page) != unit:
            break
    done.wait_for()
    page.screenshot(path=str(artifacts / "review_reject_unreadable.png"))
    row = _one(queue, "SELECT status, reason FROM names WHERE unit_id = ?", (unit,))
    assert row["status"] == "rejected" and "no readable name" in row["reason"]
