"""Review UI at full size: how fast are the pages and their queries with 130,000 names?

Builds a workspace the size of the original CSV directly in SQLite (realistic statuses:
80% matched/repaired, 15% needs review, 5% failed; crop rows for every harvested name),
pointing all names at a handful of real-looking images to save disk, then measures:

* the queue query (``Workspace.claim_next``) for new reviewers and for a reviewer
  renewing their claim, the count queries the pages run (class counts, status counts,
  review counts, audit count) and the paged queries (audit grid, class gallery);
* the server-side rerun time of the Review page (queue and audit views), the Dataset
  page and Home, with Streamlit's AppTest: median of N reruns after a warm-up run.

Usage (from the repository root)::

    .venv/bin/python bench/ui_bench.py                    # 130,000 names, 20 reruns
    .venv/bin/python bench/ui_bench.py --names 20000 --reruns 5 --keep /tmp/bench_ws

Prints a table; ``--json FILE`` also writes the figures.

``--recognize-latency`` measures something else instead: in a real headless Chromium
(Playwright, /usr/bin/chromium) against ``streamlit run app.py`` on an empty workspace,
it writes H-E-L-L-O stroke by stroke on the Recognize page's pen canvas and times, for
each stroke, the pen lift to the reading's text changing on screen and to its overlay
picture changing (the page's budget: 300 ms)::

    .venv/bin/python bench/ui_bench.py --recognize-latency
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STATUS_SHARES = (("matched", 0.70), ("repaired", 0.10), ("needs_review", 0.15), ("failed", 0.05))
IMAGE_W, IMAGE_H = 388, 36
N_IMAGES = 8


def _letters_boxes(text: str) -> list[list]:
    """Evenly spaced boxes over the name's part of a 388x36 form strip."""
    n = len(text)
    left, right = 80, min(IMAGE_W - 4, 80 + 24 * n)
    step = (right - left) / max(n, 1)
    return [[int(left + i * step), 6, int(left + (i + 1) * step) - 2, 30, ch] for i, ch in enumerate(text)]


def build(root: Path, n_names: int, seed: int = 1) -> dict:
    """A workspace with ``n_names`` names written straight into SQLite, in a few transactions."""
    import numpy as np

    from hwocr.config import DEFAULTS
    from hwocr.demo import FIRST_NAMES, LAST_NAMES, render_name
    from hwocr.images import encode_png
    from hwocr.workspace import Workspace, now

    rng = random.Random(seed)
    ws = Workspace(root)
    images = []
    np_rng = np.random.default_rng(seed)
    for i in range(N_IMAGES):
        text = (FIRST_NAMES + LAST_NAMES)[i * 3]
        gray = render_name(text, "NOM", np_rng)
        rel = f"images/shared/{i:02d}.png"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(encode_png(gray))
        images.append((rel, text))
    t = now()
    names_rows = []
    chars_rows = []
    cuts = []
    acc = 0.0
    for status, share in STATUS_SHARES:
        acc += share
        cuts.append((acc, status))
    threshold = DEFAULTS.harvest_min_confidence
    char_id = 0
    for name_id in range(1, n_names + 1):
        r = rng.random()
        status = next(s for c, s in cuts if r < c)
        rel, text = images[name_id % N_IMAGES]
        boxes = _letters_boxes(text) if status != "failed" else []
        if status == "matched":
            confidence = 1.0
        elif status == "repaired":
            confidence = rng.uniform(0.5, 1.0)
        elif status == "needs_review":
            confidence = rng.uniform(0.0, 0.7)
        else:
            confidence = 0.0
        boxes_json = json.dumps(boxes, separators=(",", ":"))
        names_rows.append((
            name_id, f"BENCH_{name_id:06d}", f"{rel}", text, text, "first", status,
            None if status != "failed" else "no ink found", rel, IMAGE_W, IMAGE_H, confidence,
            boxes_json, boxes_json, 1, t, t,
        ))
        if status == "matched" or (status == "repaired" and confidence >= threshold):
            for idx, (x0, y0, x1, y1, ch) in enumerate(boxes):
                char_id += 1
                chars_rows.append((char_id, name_id, idx, ch, f"dataset/{ch}/BENCH_{name_id:06d}_{idx:02d}.png",
                                   x0, y0, x1, y1, "auto", t))
    with ws.transaction() as conn:
        conn.executemany(
            "INSERT INTO names (id, unit_id, source, raw_transcription, transcription, first_or_last, status, "
            "reason, image_path, width, height, confidence, auto_boxes, boxes, version, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            names_rows,
        )
        conn.executemany(
            "INSERT INTO chars (id, name_id, idx, label, path, x0, y0, x1, y1, origin, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            chars_rows,
        )
    ws.conn.execute("ANALYZE")
    # Real files for the first gallery page of every class that has crops (the page reads them).
    from hwocr.boxes import Box
    from hwocr.dataset import crop_gray
    from hwocr.images import load_gray

    sample = {}
    for label_row in ws.query("SELECT DISTINCT label FROM chars"):
        label = label_row["label"]
        for r in ws.query("SELECT * FROM chars WHERE label = ? ORDER BY id LIMIT 60", (label,)):
            name = ws.get_name(r["name_id"])
            key = (name.image_path, r["idx"])
            if key not in sample:
                gray = load_gray(ws.resolve(name.image_path))
                sample[key] = encode_png(crop_gray(gray, Box(r["x0"], r["y0"], r["x1"], r["y1"])))
            path = ws.root / r["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(sample[key])
    counts = ws.status_counts()
    return {"names": n_names, "chars": len(chars_rows), "by_status": {k: v for k, v in counts.items() if v}}


#: Indexes this benchmark shows the workspace needs at 130,000 names (see docs/BENCHMARKS.md).
PROPOSED_INDEXES = (
    # claim_next first looks for the reviewer's own live claim: without this it reads every
    # name in the queue (19,500 here) on every rerun of the Review page.
    "CREATE INDEX IF NOT EXISTS names_claims ON names(claimed_by, claimed_at) WHERE claimed_by IS NOT NULL",
    # The audit grid: auto-accepted names, least confident first, a page at a time.
    "CREATE INDEX IF NOT EXISTS names_audit ON names(status, confidence, id)",
)


def add_proposed_indexes(root: Path) -> None:
    import sqlite3

    from hwocr.workspace import DB_NAME

    conn = sqlite3.connect(root / DB_NAME)
    for sql in PROPOSED_INDEXES:
        conn.execute(sql)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def timed(fn, repeat: int) -> dict:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(samples), 2), "max_ms": round(max(samples), 2), "n": repeat}


def measure_queries(root: Path, repeat: int) -> dict:
    from hwocr.dataset import list_crops
    from hwocr.review import next_for_review
    from hwocr.store import queries
    from hwocr.workspace import Workspace

    ws = Workspace(root)
    counter = iter(range(10**9))
    out = {
        "claim_next (new reviewer, claims a new name)": timed(lambda: next_for_review(ws, f"r{next(counter)}"), repeat),
        "claim_next (same reviewer, renews the claim)": timed(lambda: next_for_review(ws, "r-same"), repeat),
        "class_counts (GROUP BY label over chars)": timed(ws.class_counts, repeat),
        "status_counts (GROUP BY status over names)": timed(ws.status_counts, repeat),
        "review_counts (3 indexed COUNTs)": timed(lambda: queries.review_counts(ws), repeat),
        "audit count (matched+repaired)": timed(
            lambda: queries.count_with_status(ws, queries.AUDIT_STATUSES), repeat),
        "audit page 1, least confident first": timed(lambda: queries.audit_page(
            ws, queries.AUDIT_STATUSES, order="Least confident first", offset=0, limit=24), repeat),
        "audit page 1, oldest first": timed(lambda: queries.audit_page(
            ws, queries.AUDIT_STATUSES, order="Oldest first", offset=0, limit=24), repeat),
        "audit page 4000, oldest first": timed(lambda: queries.audit_page(
            ws, queries.AUDIT_STATUSES, order="Oldest first", offset=24 * 3999, limit=24), repeat),
        "list_crops page 1 of A": timed(lambda: list_crops(ws, "A", offset=0, limit=60), repeat),
        "list_crops page 500 of A": timed(lambda: list_crops(ws, "A", offset=60 * 499, limit=60), repeat),
    }
    return out


def measure_pages(root: Path, reruns: int) -> dict:
    from streamlit.testing.v1 import AppTest

    from hwocr.ui import state

    pages = {
        "Review page, queue view": (REPO / "pages" / "2_Review.py", {}),
        "Review page, audit view (24 tiles)": (REPO / "pages" / "2_Review.py", {state.REVIEW_VIEW: "Audit"}),
        "Dataset page (60 thumbnails)": (REPO / "pages" / "3_Dataset.py", {}),
        "Home": (REPO / "app.py", {}),
    }
    out = {}
    for label, (path, session) in pages.items():
        at = AppTest.from_file(str(path), default_timeout=120)
        at.session_state[state.REVIEWER] = "bench-reviewer"
        for key, value in session.items():
            at.session_state[key] = value
        start = time.perf_counter()
        at.run()
        first = (time.perf_counter() - start) * 1000
        if at.exception:
            raise SystemExit(f"{label}: {at.exception[0].value}")
        stats = timed(at.run, reruns)
        stats["first_run_ms"] = round(first, 1)
        out[label] = stats
    return out


# --- the Recognize page: from pen lift to the reading on screen --------------------------------

_PROBE_TEXT = "() => [...document.querySelectorAll('h2')].map(h => h.innerText).join('|')"
_PROBE_IMG = "() => { const i = document.querySelector('[data-testid=stImage] img'); return i ? i.src : ''; }"


def _hello_strokes():
    """H-E-L-L-O as polylines in canvas pixels (the e2e test's letters)."""
    import math

    left, pitch, width, top, bottom = 70, 170, 95, 70, 230
    mid = (top + bottom) / 2
    for k, letter in enumerate("HELLO"):
        x = left + k * pitch
        r = x + width
        if letter == "H":
            yield from ([(x, top), (x, bottom)], [(r, top), (r, bottom)], [(x, mid), (r, mid)])
        elif letter == "E":
            yield from ([(r, top), (x, top), (x, bottom), (r, bottom)], [(x, mid), (r - 15, mid)])
        elif letter == "L":
            yield [(x, top), (x, bottom), (r - 5, bottom)]
        else:
            cx, rx, ry = x + width / 2, width / 2, (bottom - top) / 2
            yield [(cx + rx * math.sin(t * math.pi / 16), mid - ry * math.cos(t * math.pi / 16)) for t in range(33)]


def recognize_latency() -> dict:
    """Per stroke: ms from the pen lifting to the text, and to the overlay, changing
    (None: it did not change within 3 s, as the text after E's middle bar)."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import streamlit_server, wait_idle
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    root = Path(tempfile.mkdtemp(prefix="hwocr_latency_"))
    env = dict(os.environ, HWOCR_WORKSPACE=str(root / "ws"), PYTHONUNBUFFERED="1")
    rows = []
    try:
        with streamlit_server("app.py", cwd=REPO, env=env, log=root / "streamlit.log") as url, \
                sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{url}/Recognize")
            canvas = page.locator(".hpc-canvas").first
            canvas.wait_for()
            wait_idle(page)
            frame = canvas.bounding_box()
            for polyline in _hello_strokes():
                text, img = page.evaluate(_PROBE_TEXT), page.evaluate(_PROBE_IMG)
                page.mouse.move(frame["x"] + polyline[0][0], frame["y"] + polyline[0][1])
                page.mouse.down()
                for px, py in polyline[1:]:
                    page.mouse.move(frame["x"] + px, frame["y"] + py, steps=8)
                page.mouse.up()
                start = time.perf_counter()
                row = {"text": None, "overlay": None}
                while time.perf_counter() - start < 3 and None in row.values():
                    now = (time.perf_counter() - start) * 1000
                    for name, probe, before in (("text", _PROBE_TEXT, text), ("overlay", _PROBE_IMG, img)):
                        if row[name] is None and page.evaluate(probe) != before:
                            row[name] = now
                    page.wait_for_timeout(5)
                row["reading"] = page.evaluate(_PROBE_TEXT)
                rows.append(row)
                print(f"stroke {len(rows):2d}: text {row['text'] or float('nan'):6.0f} ms, overlay "
                      f"{row['overlay'] or float('nan'):6.0f} ms -> {row['reading']!r}", flush=True)
                wait_idle(page)
            browser.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    summary = {}
    for name in ("text", "overlay"):
        ms = sorted(r[name] for r in rows if r[name] is not None)
        summary[name] = {"median_ms": round(statistics.median(ms), 1), "max_ms": round(ms[-1], 1), "n": len(ms)}
    print(f"\npen lift -> text: median {summary['text']['median_ms']} ms, max {summary['text']['max_ms']} ms; "
          f"-> overlay: median {summary['overlay']['median_ms']} ms, max {summary['overlay']['max_ms']} ms "
          f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.2f})")
    return {"strokes": rows, "summary": summary}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", type=int, default=130_000)
    parser.add_argument("--reruns", type=int, default=20, help="page reruns measured (median)")
    parser.add_argument("--repeat", type=int, default=50, help="query repetitions (median)")
    parser.add_argument("--keep", type=Path, default=None, help="build the workspace here and keep it")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--recognize-latency", action="store_true",
                        help="only time the Recognize page, pen lift to reading, in a headless Chromium")
    parser.add_argument("--proposed-indexes", action="store_true",
                        help="add the indexes proposed for hwocr.workspace before measuring")
    args = parser.parse_args(argv)
    if args.recognize_latency:
        figures = recognize_latency()
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(figures, indent=2))
        return 0

    root = args.keep or Path(tempfile.mkdtemp(prefix="hwocr_ui_bench_"))
    if args.keep and root.exists():
        shutil.rmtree(root)
    os.environ["HWOCR_WORKSPACE"] = str(root)
    try:
        start = time.perf_counter()
        built = build(root, args.names)
        built["build_s"] = round(time.perf_counter() - start, 1)
        print(f"workspace {root}: {built['names']:,} names, {built['chars']:,} crop rows, built in "
              f"{built['build_s']} s; {built['by_status']}", flush=True)
        if args.proposed_indexes:
            add_proposed_indexes(root)
        db_mb = (root / "hwocr.sqlite3").stat().st_size / 1e6
        queries = measure_queries(root, args.repeat)
        pages = measure_pages(root, args.reruns)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}; database {db_mb:.0f} MB")
    print(f"\n{'query':55s} {'median ms':>10s} {'max ms':>9s}")
    for name, s in queries.items():
        print(f"{name:55s} {s['median_ms']:10.2f} {s['max_ms']:9.2f}")
    print(f"\n{'page rerun (AppTest, server side)':55s} {'median ms':>10s} {'max ms':>9s} {'first ms':>9s}")
    for name, s in pages.items():
        print(f"{name:55s} {s['median_ms']:10.1f} {s['max_ms']:9.1f} {s['first_run_ms']:9.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"workspace": built, "queries": queries, "pages": pages,
                                         "cores": os.cpu_count()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
