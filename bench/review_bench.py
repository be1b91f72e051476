"""The review loop as a labeller feels it: seconds from Accept to the next name, settled,
in a real headless Chromium, on the real names; and the full load of every page.

What it does (from the repository root)::

    .venv/bin/python bench/review_bench.py                 # 20 accepts, 3 loads per page
    .venv/bin/python bench/review_bench.py --accepts 30 --json bench/out/review_bench.json

1. imports ``../shared/data/names/names.csv`` into a fresh workspace and segments it with
   the real commands (``python -m hwocr import`` / ``segment``);
2. starts ``streamlit run app.py`` on that workspace and opens the Review page in
   Chromium (``/usr/bin/chromium``, Playwright) as reviewer ``bench``;
3. presses **A** (Accept) for each name. When the page asks once because the boxes read
   otherwise than the transcription, it presses **A** again (as a person does); when it
   refuses (a box over blank paper), it presses **S** (Skip). The time is taken from the
   key press that moves on to the moment the page *settled*: the next name's id is
   shown, Streamlit has finished its run, the editor's image is drawn and nothing in the
   page has changed for 300 ms (the time of the last change counts, not the wait);
4. loads every page afresh (a new browser tab) and times it to settled the same way;
5. times the Review page's server-side rerun with AppTest (median of 10) for comparison.

Prints a table; ``--json FILE`` writes the figures. The names are for development only:
nothing here is committed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
NAMES_CSV = REPO.parent / "shared" / "data" / "names" / "names.csv"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
PAGES = {"Home": "", "Import": "Import", "Review": "Review", "Dataset": "Dataset", "Train": "Train",
         "Recognize": "Recognize"}
QUIET_MS = 300

#: Injected into the page: remembers when the DOM last changed.
WATCH_JS = """
() => {
  if (!window.__hwocrWatch) {
    window.__hwocrLast = performance.now();
    window.__hwocrWatch = new MutationObserver(() => { window.__hwocrLast = performance.now(); });
    window.__hwocrWatch.observe(document.body, {subtree: true, childList: true, attributes: true,
                                                characterData: true});
  }
}
"""

#: True when the page has settled: Streamlit idle, every image decoded, quiet for QUIET_MS.
SETTLED_JS = """
([quietMs]) => {
  if (document.querySelector("[data-testid='stStatusWidget']")) return false;
  const imgs = Array.from(document.querySelectorAll('img'));
  if (imgs.some(i => !i.complete)) return false;
  return performance.now() - window.__hwocrLast >= quietMs;
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_workspace(root: Path, app_root: Path = REPO) -> dict:
    python = sys.executable
    out = {}
    for step, args in (("import", ["import", str(NAMES_CSV)]), ("segment", ["segment"])):
        t = time.perf_counter()
        proc = subprocess.run([python, "-m", "hwocr", *args, "-w", str(root), "-q", "--json"], cwd=app_root,
                              capture_output=True, text=True)
        if proc.returncode not in (0, 3):
            raise SystemExit(f"{step} failed: {proc.stderr[-2000:]}")
        out[step] = {"seconds": round(time.perf_counter() - t, 2), **json.loads(proc.stdout)}
    return out


def start_server(root: Path, log: Path, app_root: Path = REPO) -> tuple[subprocess.Popen, str]:
    import urllib.request

    port = _free_port()
    env = dict(os.environ, HWOCR_WORKSPACE=str(root), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
           str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=app_root, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"streamlit did not start: {log.read_text()[-2000:]}")


def wait_settled(page, *, timeout_s: float = 60.0) -> float:
    """Wait until the page settled; returns performance.now() of its last change (ms)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(SETTLED_JS, [QUIET_MS]):
            return float(page.evaluate("() => window.__hwocrLast"))
        page.wait_for_timeout(25)
    raise TimeoutError("the page did not settle")


def shown_unit(page) -> str | None:
    """The unit_id in the review card's title line (the first bold text of the card)."""
    title = page.locator("[data-testid='stMarkdownContainer'] p").filter(has_text=" · confidence ")
    return title.first.locator("strong").first.inner_text(timeout=5_000) if title.count() else None


def load_time(browser, url: str) -> float:
    """Seconds from navigation start to settled, in a fresh tab."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    try:
        page.add_init_script("window.__hwocrNav = true;")
        page.goto(url)
        page.wait_for_selector("[data-testid='stMainBlockContainer'] h1", timeout=60_000)
        page.evaluate(WATCH_JS)
        last = wait_settled(page)
        return last / 1000.0  # performance.now() counts from navigation start
    finally:
        context.close()


def accept_loop(browser, url: str, accepts: int) -> list[dict]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/Review?reviewer=bench")
    page.wait_for_selector("[data-testid='stMainBlockContainer'] h1")
    page.evaluate(WATCH_JS)
    wait_settled(page)
    rows = []
    for _ in range(accepts):
        before = shown_unit(page)
        if before is None:
            break
        action = "accept"
        for attempt in range(3):
            page.locator("h1").first.click()  # focus on the page, not in a field or the editor
            t0 = float(page.evaluate("() => performance.now()"))
            page.keyboard.press("s" if action == "skip" else "a")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                last = wait_settled(page)
                now_unit = shown_unit(page)
                if now_unit != before:
                    break
                body = page.locator("[data-testid='stMain']").inner_text()
                if "Press Accept again" in body and attempt == 0:
                    action = "accept again"
                    break
                if "holds no ink" in body or "every box needs" in body:
                    action = "skip"
                    break
                page.wait_for_timeout(50)
            if now_unit != before:
                rows.append({"unit_id": before, "action": action, "seconds": round((last - t0) / 1000, 3)})
                break
    context.close()
    if errors:
        print(f"page errors: {errors[:3]}", file=sys.stderr)
    return rows


SERVER_RERUN_JS = r"""
import os, statistics, sys, time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(os.path.join(sys.argv[1], "pages", "2_Review.py"), default_timeout=120)
at.session_state["session.reviewer"] = "bench-apptest"
at.run()
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    at.run()
    times.append((time.perf_counter() - t) * 1000)
print(statistics.median(times))
"""


def server_rerun_ms(root: Path, app_root: Path, reruns: int = 10) -> float:
    """The Review page's server-side rerun (AppTest, in the checkout served), median ms."""
    env = dict(os.environ, HWOCR_WORKSPACE=str(root))
    proc = subprocess.run([sys.executable, "-c", SERVER_RERUN_JS, str(app_root), str(reruns)], cwd=app_root,
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"AppTest rerun failed: {proc.stderr[-2000:]}")
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accepts", type=int, default=20)
    parser.add_argument("--loads", type=int, default=3, help="full loads per page")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="use (and keep) this workspace folder")
    parser.add_argument("--app-root", type=Path, default=REPO,
                        help="serve the app from this checkout (e.g. a git worktree of the release before, "
                             "for the baseline in the same run); the workspace is built by this one")
    args = parser.parse_args()
    if not NAMES_CSV.is_file():
        raise SystemExit(f"no real names at {NAMES_CSV}")
    from playwright.sync_api import sync_playwright

    root = args.keep or Path(tempfile.mkdtemp(prefix="review_bench_"))
    fresh = not (root / "hwocr.sqlite3").exists()
    built = build_workspace(root, args.app_root) if fresh else {}
    log = root / "streamlit.log"
    proc, url = start_server(root, log, args.app_root)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            load_time(browser, url)  # the server's first run of each module is not what a person waits for
            rows = accept_loop(browser, url, args.accepts)
            loads = {name: sorted(load_time(browser, f"{url}/{path}") for _ in range(args.loads))
                     for name, path in PAGES.items()}
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    rerun = server_rerun_ms(root, args.app_root)
    seconds = [r["seconds"] for r in rows]
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "load_average": os.getloadavg(),
        "workspace": built.get("segment", {}),
        "accepts": rows,
        "accept_to_next_s": {"median": statistics.median(seconds) if seconds else None,
                             "max": max(seconds) if seconds else None, "n": len(seconds)},
        "full_load_s": {k: {"median": statistics.median(v), "max": max(v)} for k, v in loads.items()},
        "review_server_rerun_ms": round(rerun, 1),
    }
    print(f"accept -> next name settled: median {result['accept_to_next_s']['median']:.3f} s, "
          f"max {result['accept_to_next_s']['max']:.3f} s over {len(seconds)} names "
          f"({sum(r['action'] != 'accept' for r in rows)} needed a second key)")
    for name, v in result["full_load_s"].items():
        print(f"full load {name:<10} median {v['median']:.2f} s  max {v['max']:.2f} s")
    print(f"Review server-side rerun (AppTest): median {rerun:.0f} ms; load average {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
