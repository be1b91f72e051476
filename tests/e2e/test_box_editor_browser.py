"""The Review page's box editor in a real Chromium, on a small page of its own.

A throwaway Streamlit script mounts :func:`hwocr.ui.box_editor.box_editor` on a drawn
name (``?h=`` sets its height in pixels) and prints the boxes it returns, next to a
button bound to the single-key shortcut ``A`` as on the Review page — so the tests see
what Python receives and whether keys typed into the editor leak to the page.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.e2e.browser import streamlit_server, wait_idle

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("HWOCR_CHROMIUM", "/usr/bin/chromium"))

HARNESS = '''
import json

import cv2
import numpy as np
import streamlit as st

from hwocr.boxes import Box
from hwocr.ui.box_editor import box_editor
from hwocr.workspace import LabeledBox

st.set_page_config(page_title="box editor", layout="wide")
height = int(st.query_params.get("h", "36"))
width = 388
letters = st.query_params.get("letters", "HWOCR")
gray = np.full((height, width), 255, np.uint8)
boxes = []
step = (width - 20) // max(1, len(letters))
scale = height / 40
thick = max(1, height // 12)
for i, ch in enumerate(letters):
    (tw, th), _ = cv2.getTextSize(ch, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x = 10 + i * step
    cv2.putText(gray, ch, (x, height - 3), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, thick)
    boxes.append(LabeledBox(Box(max(0, x - 1), max(0, height - 4 - th), min(width, x + tw + 1), height - 1), ch))
ok, png = cv2.imencode(".png", gray)
st.session_state.setdefault("accepts", 0)


def accepted():
    st.session_state["accepts"] += 1


st.button("Accept", shortcut="A", on_click=accepted)
result = box_editor(png.tobytes(), width, height, boxes, new_label="Q", key="editor")
st.code(json.dumps([b.to_json() for b in result]), language=None)
st.markdown(f"accepts: {st.session_state['accepts']}")
'''


@pytest.fixture(scope="module")
def editor_url(tmp_path_factory):
    """``streamlit run`` of the harness on a free port; yields its URL."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    pytest.importorskip("playwright.sync_api")
    folder = tmp_path_factory.mktemp("box_editor_app")
    script = folder / "harness.py"
    script.write_text(HARNESS)
    log = folder / "streamlit.log"
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1",
               HWOCR_WORKSPACE=str(tmp_path_factory.mktemp("box_editor_ws")))
    with streamlit_server(script, cwd=REPO, env=env, log=log) as url:
        yield url


@pytest.fixture
def errors(page):
    """Uncaught page errors and console errors, collected while the test runs."""
    seen: list[str] = []
    page.on("pageerror", lambda exc: seen.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: seen.append(f"console: {msg.text}") if msg.type == "error" else None)
    return seen


def _open(page, url: str, **params: object) -> None:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    page.goto(f"{url}/?{query}" if query else url)
    page.locator(".hbe-img").wait_for()
    wait_idle(page)


def _returned(page) -> list[list]:
    """The boxes Python got back from the editor, as the harness prints them."""
    return json.loads(page.locator("[data-testid='stCode'] code").inner_text())


def _wait_returned(page, predicate, timeout_s: float = 20) -> list[list]:
    deadline = time.monotonic() + timeout_s
    boxes = _returned(page)
    while not predicate(boxes):
        if time.monotonic() > deadline:
            raise AssertionError(f"the returned boxes never matched: {boxes}")
        page.wait_for_timeout(150)
        boxes = _returned(page)
    return boxes


def _scale(page) -> float:
    return float(page.locator(".hbe").get_attribute("data-scale"))


def _click_box(page, box: list) -> None:
    """Click the middle of an image-pixel box, scrolled into the editor's view first (a
    name at 160 px tall is wider than the page)."""
    s = _scale(page)
    page.locator(".hbe-view").evaluate("(v, x) => { v.scrollLeft = Math.max(0, x - v.clientWidth / 2); }",
                                       (box[0] + box[2]) / 2 * s)
    img = page.locator(".hbe-img").bounding_box()
    page.mouse.click(img["x"] + (box[0] + box[2]) / 2 * s, img["y"] + (box[1] + box[3]) / 2 * s)


def _chip_rects(page) -> list[dict]:
    return page.evaluate("""() => {
        const root = document.querySelector('[data-testid=stBidiComponentIsolated]').shadowRoot
            || document.querySelector('[data-testid=stBidiComponentIsolated]');
        return [...root.querySelectorAll('.hbe-chip rect')].map(r => {
            const b = r.getBoundingClientRect();
            return {x: b.x, y: b.y, w: b.width, h: b.height};
        });
    }""")


def _overlapping(rects: list[dict]) -> list[tuple[dict, dict]]:
    return [(a, b) for i, a in enumerate(rects) for b in rects[i + 1:]
            if a["x"] < b["x"] + b["w"] - 0.5 and b["x"] < a["x"] + a["w"] - 0.5
            and a["y"] < b["y"] + b["h"] - 0.5 and b["y"] < a["y"] + a["h"] - 0.5]


def test_delete_removes_the_selected_box(page, editor_url, errors, artifacts):
    _open(page, editor_url)
    before = _returned(page)
    assert len(before) == 5
    _click_box(page, before[1])
    page.locator(".hbe-box.hbe-selected").wait_for()
    page.screenshot(path=str(artifacts / "box_editor_selected.png"))
    page.keyboard.press("Delete")
    after = _wait_returned(page, lambda boxes: len(boxes) == 4)
    assert after == [before[0], *before[2:]]
    assert page.locator(".hbe-box").count() == 4
    # Backspace does the same.
    _click_box(page, after[0])
    page.keyboard.press("Backspace")
    assert _wait_returned(page, lambda boxes: len(boxes) == 3) == after[1:]
    assert not errors, errors


def test_typing_k_stores_and_shows_upper_case_k_and_no_page_shortcut_fires(page, editor_url, errors, artifacts):
    _open(page, editor_url)
    before = _returned(page)
    _click_box(page, before[2])
    page.locator(".hbe-box.hbe-selected").wait_for()
    page.keyboard.press("k")
    after = _wait_returned(page, lambda boxes: boxes[2][4] == "K")
    assert [b[:4] for b in after] == [b[:4] for b in before]
    assert page.locator(".hbe-chip.hbe-selected text").text_content() == "K"
    assert page.locator(".hbe-box.hbe-selected").get_attribute("data-label") == "K"
    # "a" is the page's Accept shortcut: typed into the editor it is a label, nothing else.
    page.keyboard.press("a")
    _wait_returned(page, lambda boxes: boxes[2][4] == "A")
    wait_idle(page)
    assert page.get_by_text("accepts: 0").count() == 1
    page.screenshot(path=str(artifacts / "box_editor_relabelled.png"))
    # Escape deselects, a second Escape leaves the editor: now "a" is the page's again.
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    page.get_by_text("accepts: 1").wait_for(timeout=20_000)
    assert _returned(page)[2][4] == "A"
    assert not errors, errors


def test_relabelling_raises_no_page_error(page, editor_url, errors):
    _open(page, editor_url)
    boxes = _returned(page)
    for i, key in enumerate("xyz12"):
        _click_box(page, boxes[i])
        page.keyboard.press(key)
        _wait_returned(page, lambda got, i=i, key=key: got[i][4] == key.upper())
    page.keyboard.press("Tab")
    page.keyboard.press("m")
    _wait_returned(page, lambda got: got[0][4] == "M")
    wait_idle(page)
    assert not errors, errors


def test_zoom_in_makes_the_image_taller(page, editor_url, errors, artifacts):
    _open(page, editor_url)
    img = page.locator(".hbe-img")
    start = img.bounding_box()["height"]
    assert start >= 160
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_timeout(200)
    bigger = img.bounding_box()["height"]
    assert bigger > start * 1.2
    # Ctrl + wheel zooms too.
    view = page.locator(".hbe-view").bounding_box()
    page.mouse.move(view["x"] + 100, img.bounding_box()["y"] + 20)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -200)
    page.keyboard.up("Control")
    page.wait_for_timeout(200)
    assert img.bounding_box()["height"] > bigger * 1.1
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    page.wait_for_timeout(200)
    assert img.bounding_box()["height"] == pytest.approx(start, rel=0.02)
    # Fit width: the whole name fits the editor; chips still never overlap.
    page.get_by_role("button", name="Fit width").click()
    page.wait_for_timeout(200)
    view = page.locator(".hbe-view").bounding_box()
    assert img.bounding_box()["width"] <= view["width"] + 1
    assert not _overlapping(_chip_rects(page))
    page.screenshot(path=str(artifacts / "box_editor_fit_width.png"))
    page.get_by_role("button", name="Fit width").click()
    assert not errors, errors


def test_a_14_px_name_is_at_least_160_px_tall_with_chips_apart(page, editor_url, errors, artifacts):
    _open(page, editor_url, h=14, letters="MMWWIIIIJEANLUCPIERRE")
    img = page.locator(".hbe-img").bounding_box()
    assert img["height"] >= 160
    chips = _chip_rects(page)
    assert len(chips) == 21
    assert not _overlapping(chips)
    page.screenshot(path=str(artifacts / "box_editor_14px.png"))
    # Zoomed far out the boxes crowd together: chips take two rows, shrink, never overlap.
    for _ in range(10):
        page.get_by_role("button", name="Zoom out").click()
    page.wait_for_timeout(200)
    assert page.locator(".hbe-img").bounding_box()["height"] < 40
    chips = _chip_rects(page)
    assert len(chips) == 21
    assert not _overlapping(chips)
    page.screenshot(path=str(artifacts / "box_editor_14px_crowded.png"))
    assert not errors, errors


def test_drag_on_paper_draws_a_box_with_the_new_label_and_drag_moves_it(page, editor_url, errors):
    _open(page, editor_url)
    before = _returned(page)
    s = _scale(page)
    page.locator(".hbe-view").evaluate("v => { v.scrollLeft = v.scrollWidth; }")
    img = page.locator(".hbe-img").bounding_box()
    # Paper right of the last letter: x 360..380 image pixels.
    x0, y0 = img["x"] + 360 * s + 1, img["y"] + 5 * s + 1
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 5 * s, y0 + 10 * s, steps=4)
    page.mouse.move(x0 + 10 * s, y0 + 20 * s, steps=4)
    page.mouse.up()
    after = _wait_returned(page, lambda boxes: len(boxes) == len(before) + 1)
    assert [360, 5, 370, 25, "Q"] in after
    # Drag the new box 3 image pixels left.
    cx, cy = x0 + 5 * s, y0 + 10 * s
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 1.5 * s, cy, steps=3)
    page.mouse.move(cx - 3 * s, cy, steps=3)
    page.mouse.up()
    _wait_returned(page, lambda boxes: [357, 5, 367, 25, "Q"] in boxes)
    # Nudge it with the keyboard: Shift+Right is 5 px.
    page.keyboard.press("Shift+ArrowRight")
    _wait_returned(page, lambda boxes: [362, 5, 372, 25, "Q"] in boxes)
    assert not errors, errors
