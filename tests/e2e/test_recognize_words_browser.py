"""The Recognize page in a real browser, with lower case and mixed writing: write
"hello" and then "R2D2" with mouse strokes on the pen canvas and see the page read
them; the pen canvas's clear button empties it in between. Also times each reading:
the text must show soon after the pen lifts (the page's budget is 300 ms; the test
allows more, for a busy machine). Screenshots: recognize_hello.png, recognize_r2d2.png.
The shipped model reads 62 classes, so both texts are asserted exactly, case included.
"""

from __future__ import annotations

import json
import math
import time

import pytest

from hwocr.versions import shipped_version
from tests.e2e.browser import wait_idle
from tests.e2e.test_review_browser import _open, _shot

pytest.importorskip("playwright.sync_api")

MODEL = shipped_version(True).path
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (MODEL / "model.keras").is_file(), reason="the shipped base model is not built yet"),
]


def _labels() -> list[str]:
    try:
        return list(json.loads((MODEL / "labels.json").read_text()))
    except (OSError, ValueError):
        return []


#: Canvas pixels: the baseline, the top of small letters (x-height) and of capitals,
#: digits and ascenders (60 px above the baseline); letters GAP apart.
BASE, XTOP, TOP = 200, 164, 140
GAP = 34


def _arc(cx, cy, rx, ry, start, end, n=24):
    """Points on an ellipse from angle ``start`` to ``end`` (radians, counter-clockwise
    as seen on screen: y grows downwards)."""
    return [(cx + rx * math.cos(start + (end - start) * i / n), cy - ry * math.sin(start + (end - start) * i / n))
            for i in range(n + 1)]


def _glyph(ch: str, x: float) -> tuple[list[list[tuple[float, float]]], float]:
    """The strokes of one character whose cell starts at ``x``, and the cell's width."""
    xmid = (XTOP + BASE) / 2
    if ch == "h":
        w = 30
        return [[(x, TOP), (x, BASE)],
                [(x, BASE - 18), *_arc(x + w / 2, xmid, w / 2, xmid - XTOP, math.pi * 0.9, 0, 12), (x + w, BASE)]], w
    if ch == "e":
        w = 32
        ry = (BASE - XTOP) / 2
        return [[(x, xmid), (x + w, xmid), *_arc(x + w / 2, xmid, w / 2, ry, 0, math.pi * 1.75)]], w
    if ch == "l":
        return [[(x, TOP), (x, BASE)]], 4
    if ch == "o":
        w = 32
        return [_arc(x + w / 2, xmid, w / 2, (BASE - XTOP) / 2, math.pi / 2, math.pi * 2.5, 32)], w
    if ch == "R":
        w = 38
        bowl = _arc(x + w * 0.55, TOP + 15, w * 0.45, 15, math.pi / 2, -math.pi / 2, 12)
        return [[(x, BASE), (x, TOP)], [(x, TOP), *bowl, (x, TOP + 30)], [(x + w * 0.4, TOP + 30), (x + w, BASE)]], w
    if ch == "D":
        w = 40
        return [[(x, TOP), (x, BASE)],
                [(x, TOP), *_arc(x, (TOP + BASE) / 2, w, (BASE - TOP) / 2, math.pi / 2, -math.pi / 2, 24)]], w
    if ch == "2":
        w = 36
        top = _arc(x + w / 2, TOP + 17, w / 2, 17, math.pi * 0.95, -math.pi * 0.3, 16)
        return [[*top, (x, BASE), (x + w, BASE)]], w
    raise ValueError(ch)


OVERLAY_SRC = "() => { const i = document.querySelector('[data-testid=stImage] img'); return i ? i.src : null; }"


def _write(page, canvas, text: str, left: float = 60) -> tuple[float, str | None]:
    """Write ``text`` stroke by stroke. Returns when the last pen lifted (perf_counter)
    and the reading's overlay picture just before it lifted."""
    frame = canvas.bounding_box()
    x = left
    strokes = []
    for ch in text:
        glyph, width = _glyph(ch, x)
        strokes += glyph
        x += width + GAP
    lifted, before = 0.0, None
    for k, polyline in enumerate(strokes):
        page.mouse.move(frame["x"] + polyline[0][0], frame["y"] + polyline[0][1])
        page.mouse.down()
        for px, py in polyline[1:]:
            page.mouse.move(frame["x"] + px, frame["y"] + py, steps=2)
        if k == len(strokes) - 1:
            wait_idle(page)  # the reading of the strokes before it is on the page
            before = page.evaluate(OVERLAY_SRC)
        page.mouse.up()
        lifted = time.perf_counter()
        page.wait_for_timeout(60)
    return lifted, before


def _reading(page) -> str:
    heads = page.locator("[data-testid='stMainBlockContainer'] h2")
    return " ".join(t.strip() for t in heads.all_inner_texts()).strip()


def _read_word(page, canvas, text: str) -> tuple[str, float]:
    """Write ``text`` and wait for its reading: (the reading, seconds from the last pen
    lift until the reading of the whole word shows, its overlay picture included)."""
    lifted, before = _write(page, canvas, text)
    page.wait_for_function(f"(b) => {{ const s = ({OVERLAY_SRC})(); return s && s !== b; }}", arg=before,
                           timeout=60_000, polling=20)
    seconds = time.perf_counter() - lifted
    wait_idle(page)
    return _reading(page), seconds


def test_write_hello_then_r2d2(page, app_url, artifacts):
    _open(page, f"{app_url}/Recognize")
    canvas = page.locator(".hpc-canvas").first
    canvas.wait_for()
    page.get_by_text("Nothing drawn yet").wait_for()

    hello, hello_s = _read_word(page, canvas, "hello")
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    assert "Traceback" not in page.content()
    _shot(page, artifacts / "recognize_hello.png")

    page.locator(".hpc-clear").click()
    page.get_by_text("Nothing drawn yet").wait_for(timeout=30_000)
    wait_idle(page)

    r2d2, r2d2_s = _read_word(page, canvas, "R2D2")
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    assert "Traceback" not in page.content()
    _shot(page, artifacts / "recognize_r2d2.png")
    print(f"readings: {hello!r} in {hello_s * 1000:.0f} ms, {r2d2!r} in {r2d2_s * 1000:.0f} ms after the pen lifted")

    # The 62-class model: the default charset reads everything, case included.
    assert len(_labels()) == 62
    assert hello == "hello"
    assert r2d2 == "R2D2"
    # Generous against a busy test machine; the page's own budget is 300 ms (bench in the report).
    assert hello_s < 3 and r2d2_s < 3, (hello_s, r2d2_s)
