"""The Recognize page in a real browser: write H-E-L-L-O on the canvas with mouse strokes
and see the page read HELLO; then correct a letter and add its crop to the dataset.
Screenshots: recognize_empty.png, recognize.png, recognize_taught.png, and home_cards.png
(the home page's "How to start" cards).
"""

from __future__ import annotations

import math
import re
import sqlite3
from pathlib import Path

import pytest

from hwocr.versions import shipped_version
from tests.e2e.browser import wait_idle
from tests.e2e.test_review_browser import _open, _rows, _shot

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (shipped_version(True).path / "model.keras").is_file(),
                       reason="the shipped base model is not built yet"),
]

#: Letter cells on the canvas (canvas pixels): each letter TOP..BOTTOM tall, WIDTH wide,
#: letters PITCH apart, the first at LEFT.
LEFT, PITCH, WIDTH, TOP, BOTTOM = 70, 170, 95, 70, 230
MID = (TOP + BOTTOM) / 2


def _strokes(letter: str, x: float) -> list[list[tuple[float, float]]]:
    """The pen strokes of one capital letter whose cell starts at ``x``, as polylines."""
    r = x + WIDTH
    if letter == "H":
        return [[(x, TOP), (x, BOTTOM)], [(r, TOP), (r, BOTTOM)], [(x, MID), (r, MID)]]
    if letter == "E":
        return [[(r, TOP), (x, TOP), (x, BOTTOM), (r, BOTTOM)], [(x, MID), (r - 15, MID)]]
    if letter == "L":
        return [[(x, TOP), (x, BOTTOM), (r - 5, BOTTOM)]]
    if letter == "O":
        cx, rx, ry = x + WIDTH / 2, WIDTH / 2, (BOTTOM - TOP) / 2
        return [[(cx + rx * math.sin(t * math.pi / 16), MID - ry * math.cos(t * math.pi / 16)) for t in range(33)]]
    raise ValueError(letter)


def _draw(page, frame: dict, polyline: list[tuple[float, float]]) -> None:
    """One stroke: press, move along the points in small steps, release."""
    x0, y0 = frame["x"], frame["y"]
    page.mouse.move(x0 + polyline[0][0], y0 + polyline[0][1])
    page.mouse.down()
    for px, py in polyline[1:]:
        page.mouse.move(x0 + px, y0 + py, steps=8)
    page.mouse.up()
    page.wait_for_timeout(120)


def _crops(workspace: Path) -> list[sqlite3.Row]:
    return _rows(workspace, "SELECT * FROM chars WHERE origin = 'canvas' ORDER BY id")


def test_home_shows_every_step(page, app_url, artifacts):
    _open(page, app_url)
    cards = page.get_by_text("How to start")
    cards.wait_for()
    for name in ("Import", "Review", "Dataset", "Train", "Recognize"):
        assert page.locator("[data-testid='stPageLink']", has_text=name).count() >= 1, name
    _shot(page, artifacts / "home_cards.png")


def test_write_hello_on_the_canvas_and_teach_a_letter(page, app_url, e2e_workspace, artifacts):
    _open(page, f"{app_url}/Recognize")
    canvas = page.locator(".hpc-canvas").first
    canvas.wait_for()
    page.get_by_text("Nothing drawn yet").wait_for()
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    _shot(page, artifacts / "recognize_empty.png")

    frame = canvas.bounding_box()
    assert frame["width"] >= 900 and frame["height"] >= 280, frame
    for k, letter in enumerate("HELLO"):
        for stroke in _strokes(letter, LEFT + k * PITCH):
            _draw(page, frame, stroke)

    page.locator("h2", has_text=re.compile(r"^\s*HELLO\s*$")).wait_for(timeout=120_000)
    wait_idle(page)
    # The overlay, the table and the teach form are drawn (not placeholders any more).
    page.locator("[data-testid='stImage'] img").first.wait_for()
    page.locator("[data-testid='stDataFrame'] canvas").first.wait_for()
    # The teach form's "Character" (not the charset's "Characters" at the top).
    teach = page.locator("[data-testid='stSelectbox']", has=page.get_by_text("Character", exact=True))
    # Each stroke's reading has its own teach widgets: wait until only the last one's are left.
    expect(teach).to_have_count(1, timeout=30_000)
    assert "Traceback" not in page.content()
    _shot(page, artifacts / "recognize.png")

    # Teach: file the second character (an E) under E, once.
    before = len(_crops(e2e_workspace))
    _choose(page, teach, re.compile(r"^2 · E"))
    wait_idle(page)
    page.get_by_role("button", name="Add to the dataset as E").click()
    page.get_by_text(re.compile(r"Added character 2 to dataset/E/ as E")).wait_for(timeout=60_000)
    wait_idle(page)
    assert page.get_by_role("button", name="Add to the dataset as E").is_disabled()
    _shot(page, artifacts / "recognize_taught.png")
    crops = _crops(e2e_workspace)
    assert len(crops) == before + 1
    assert crops[-1]["label"] == "E" and crops[-1]["path"].startswith("dataset/E/")
    assert (e2e_workspace / crops[-1]["path"]).is_file()


def test_upload_a_name_cut_from_a_form(page, app_url, artifacts, tmp_path):
    """An uploaded name image cut from a form: with the default (Auto) the detector
    cleans it of its form parts and says so; the reading and its boxes show (a real
    name from ../shared/data when there, else a synthetic one)."""
    from tests.conftest import NAMES_DIR

    real = NAMES_DIR / "images" / "VALIDATION_0007.jpg"  # "NOM :" then the name
    if real.is_file():
        path = real
    else:
        import cv2

        from tests.test_formdetect import form_strip

        path = tmp_path / "name.png"
        cv2.imwrite(str(path), form_strip())
    _open(page, f"{app_url}/Recognize")
    page.get_by_text("Upload an image").click()
    wait_idle(page)
    page.locator("[data-testid='stFileUploader'] input[type=file]").set_input_files(str(path))
    page.locator("h2").first.wait_for(timeout=120_000)
    wait_idle(page)
    page.get_by_text("Cleaned as a name cut from a form").first.wait_for(timeout=30_000)
    page.locator("[data-testid='stImage'] img").first.wait_for()
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    assert "Traceback" not in page.content()
    _shot(page, artifacts / "recognize_upload.png")


def _choose(page, selectbox, option) -> None:
    """Pick ``option`` in a Streamlit selectbox. Its list does not always open on the
    first try while the page is still settling after a rerun, so open it again (by
    click, then by keyboard) until the option shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = selectbox.get_by_role("combobox")
    for attempt in range(6):
        if attempt % 2 == 0:
            box.click()
        else:
            box.focus()
            page.keyboard.press("ArrowDown")
        try:
            page.locator("[role=option]", has_text=option).click(timeout=5_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_idle(page)
    raise AssertionError(f"the option {option.pattern!r} never showed in the selectbox")

