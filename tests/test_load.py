"""Load and faults under load: several reviewers at once, review accepts killed with
SIGKILL, and downloads from a slow server that fails 5% of the time.

* Review sessions: N names need review; several processes each drive the Review page
  (Streamlit's AppTest: the real page script, its session state and its buttons) or the
  library directly, accepting name after name with preset boxes. No name may be given to
  two reviewers (one ``accept`` event per name), no accept may be lost (every name ends
  verified, with exactly its boxes as crops), and conflicts, if any, must be reported.
* Faults: a process accepting names in a loop is killed with SIGKILL at random moments;
  after each kill the database is intact, every crop file has its row and every row its
  file, and what was accepted stays accepted.
* Downloads: a local server adds 20-100 ms to every answer and fails 5% of the requests
  (500, reset connection, truncated body with or without a length); every image either
  arrives byte for byte or is reported with its reason.

The workers live at the bottom of this file (``python -m tests.test_load …``) so the
benchmark runs the same code at a bigger scale.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from hwocr.workspace import LabeledBox, Workspace

REPO = Path(__file__).resolve().parent.parent
REVIEW = str(REPO / "pages" / "2_Review.py")


# --- building a queue ----------------------------------------------------------------------


def make_queue(ws: Workspace, n: int, *, letters: str = "ABC") -> list[int]:
    """``n`` names that need review, each with its own image, cheaply (no segmentation)."""
    from tests.helpers import add_name, blocks_image

    image, boxes = blocks_image(len(letters))
    return [add_name(ws, f"LOAD{i:05d}", letters, status="needs_review", confidence=(i % 97) / 100,
                     image=image, boxes=boxes) for i in range(n)]


def person_boxes(record) -> list[LabeledBox]:
    """The boxes 'a person' draws for a name: the automatic ones, a pixel narrower, with
    the transcription's letters (so the accepted crops differ from the automatic ones)."""
    from hwocr.boxes import Box

    return [LabeledBox(Box(b.box.x0 + 1, b.box.y0, b.box.x1 - 1, b.box.y1), ch)
            for b, ch in zip(record.boxes, record.letters)]


def check_accepted(ws: Workspace, expected_ids: set[int]) -> dict:
    """Every name in ``expected_ids`` verified once, with its person's boxes as crops."""
    from tests.helpers import files_in_dataset, rows_in_chars

    accepts = Counter(r["name_id"] for r in ws.query("SELECT name_id FROM events WHERE kind = 'accept'"))
    duplicates = {k: v for k, v in accepts.items() if v > 1}
    verified = {r["id"] for r in ws.query("SELECT id FROM names WHERE status = 'verified'")}
    wrong_crops = []
    for name_id in verified:
        record = ws.get_name(name_id)
        rows = ws.query("SELECT label, x0, y0, x1, y1 FROM chars WHERE name_id = ? ORDER BY idx", (name_id,))
        if [tuple(r) for r in rows] != [(b.label, *b.box.to_list()) for b in record.boxes] or len(rows) != 3:
            wrong_crops.append(name_id)
    return {
        "accept_events": sum(accepts.values()),
        "duplicates": len(duplicates),
        "lost": len(expected_ids - verified),
        "unexpected": len(verified - expected_ids),
        "wrong_crops": len(wrong_crops),
        "files_match_rows": files_in_dataset(ws) == rows_in_chars(ws),
        "integrity": ws.integrity_check(),
    }


def run_workers(kind: str, ws_dir: Path, n_workers: int, out_dir: Path, *,
                timeout: float = 600) -> tuple[list[dict], float]:
    """Start ``n_workers`` worker processes at once; their reports and the wall time."""
    env = {**os.environ, "HWOCR_WORKSPACE": str(ws_dir), "PYTHONPATH": str(REPO)}
    procs = []
    for i in range(n_workers):
        out = out_dir / f"{kind}-{i}.json"
        procs.append((out, subprocess.Popen(
            [sys.executable, "-m", "tests.test_load", kind, str(ws_dir), f"{kind}-{i}", str(out)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    # Wall time from the moment every worker is ready (imports done) to the last accept.
    reports = []
    for out, proc in procs:
        _stdout, stderr = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, stderr[-3000:]
        reports.append(json.loads(out.read_text()))
    start = min(r["started"] for r in reports)
    end = max(r["finished"] for r in reports)
    return reports, end - start


def summarize(reports: list[dict], elapsed: float, check: dict) -> dict:
    accepted = [i for r in reports for i in r["accepted"]]
    return {
        "sessions": len(reports),
        "accepts": len(accepted),
        "accepts_per_s": round(len(accepted) / elapsed, 1) if elapsed > 0 else 0.0,
        "elapsed_s": round(elapsed, 2),
        "conflicts_reported": sum(r["conflicts"] for r in reports),
        "errors": sum(len(r["errors"]) for r in reports),
        "given_to_two": len(accepted) - len(set(accepted)),
        **check,
    }


# --- review sessions -----------------------------------------------------------------------------


N_PAGE = 48
N_LIB = 160


def test_four_review_pages_at_once(tmp_path):
    """Four Review pages (four AppTest sessions in four processes) on one queue."""
    ws = Workspace(tmp_path / "ws")
    ids = set(make_queue(ws, N_PAGE))
    ws.close()
    reports, elapsed = run_workers("page-worker", tmp_path / "ws", 4, tmp_path)
    ws = Workspace(tmp_path / "ws")
    result = summarize(reports, elapsed, check_accepted(ws, ids))
    print(f"\nreview pages: {json.dumps(result)}")
    assert result["errors"] == 0, [r["errors"] for r in reports]
    assert (result["accepts"], result["accept_events"], result["given_to_two"]) == (N_PAGE, N_PAGE, 0)
    assert (result["duplicates"], result["lost"], result["unexpected"], result["wrong_crops"]) == (0, 0, 0, 0)
    assert result["files_match_rows"] and result["integrity"] == "ok"
    # Claims keep the reviewers apart: nobody was shown a name someone else had.
    assert result["conflicts_reported"] == 0
    # Everyone got work: the queue was shared, not served to one tab.
    assert all(len(r["accepted"]) >= 3 for r in reports), [len(r["accepted"]) for r in reports]
    # Each name was accepted by the reviewer who reported it.
    by = {r["id"]: r["reviewed_by"] for r in ws.query("SELECT id, reviewed_by FROM names")}
    assert all(by[i] == r["reviewer"] for r in reports for i in r["accepted"])


def test_eight_processes_accept_through_the_library(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ids = set(make_queue(ws, N_LIB))
    ws.close()
    reports, elapsed = run_workers("lib-worker", tmp_path / "ws", 8, tmp_path)
    ws = Workspace(tmp_path / "ws")
    result = summarize(reports, elapsed, check_accepted(ws, ids))
    print(f"\nlibrary reviewers: {json.dumps(result)}")
    assert result["errors"] == 0, [r["errors"] for r in reports]
    assert (result["accepts"], result["accept_events"], result["given_to_two"]) == (N_LIB, N_LIB, 0)
    assert (result["duplicates"], result["lost"], result["unexpected"], result["wrong_crops"]) == (0, 0, 0, 0)
    assert result["files_match_rows"] and result["integrity"] == "ok"
    assert result["conflicts_reported"] == 0


def test_a_stale_session_gets_a_conflict_not_an_overwrite(tmp_path):
    """The one way two sessions can meet on a name (a claim that lapsed): the late one's
    accept is refused with ConflictError, and the first one's work stays."""
    from hwocr.errors import ConflictError
    from hwocr.review import accept, next_for_review

    ws = Workspace(tmp_path / "ws")
    make_queue(ws, 1)
    first = next_for_review(ws, "tab-1")
    with ws.transaction() as conn:  # tab-1 went quiet for longer than the claim lasts
        conn.execute("UPDATE names SET claimed_at = claimed_at - 3600")
    second = next_for_review(ws, "tab-2")
    assert second.id == first.id
    accept(ws, second.id, second.version, person_boxes(second), reviewer="tab-2")
    with pytest.raises(ConflictError):
        accept(ws, first.id, first.version, person_boxes(first), reviewer="tab-1")
    assert ws.get_name(first.id).reviewed_by == "tab-2"
    assert check_accepted(ws, {first.id})["accept_events"] == 1


# --- faults: accepts killed at random ---------------------------------------------------------------


def start_killable(ws_dir: Path, reviewer: str, out: Path) -> subprocess.Popen:
    env = {**os.environ, "HWOCR_WORKSPACE": str(ws_dir), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.test_load", "lib-worker", str(ws_dir), reviewer, str(out)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def kill_accepts_at_random(ws_dir: Path, out_dir: Path, kills: int, seed: int) -> dict:
    """Kill an accepting process ``kills`` times at random moments, checking the
    workspace after each; then let one run to the end. Returns the figures."""
    from hwocr.dataset import reconcile
    from tests.helpers import files_in_dataset, rows_in_chars

    rng = random.Random(seed)
    killed = strays = 0
    verified_before: set[int] = set()
    for k in range(kills):
        proc = start_killable(ws_dir, "killer", out_dir / f"kill-{k}.json")
        time.sleep(rng.uniform(0.02, 0.4))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        ws = Workspace(ws_dir)
        assert ws.integrity_check() == "ok"
        # Crop files written by an accept whose transaction died with it are strays.
        strays += reconcile(ws).stray_files_removed
        assert files_in_dataset(ws) == rows_in_chars(ws)
        verified = {r["id"] for r in ws.query("SELECT id FROM names WHERE status = 'verified'")}
        assert verified >= verified_before, "an accepted name was lost"
        accepts = Counter(r["name_id"] for r in ws.query("SELECT name_id FROM events WHERE kind = 'accept'"))
        # An accept is all or nothing: its event, its status and its crops together.
        assert set(accepts) == verified and set(accepts.values()) <= {1}
        crops = Counter(r["name_id"] for r in ws.query("SELECT name_id FROM chars"))
        assert set(crops) == verified and set(crops.values()) <= {3}
        verified_before = verified
        ws.close()
    proc = start_killable(ws_dir, "killer", out_dir / "kill-final.json")
    assert proc.wait(timeout=600) == 0, proc.stderr.read()[-2000:]
    return {"kills": killed, "verified_at_last_kill": len(verified_before), "stray_files_removed": strays}


def test_accepts_killed_at_random_moments_lose_and_duplicate_nothing(tmp_path):
    # Enough names that five kills 0.02-0.4 s into a run cannot see them all accepted even
    # on a quiet, fast machine (about 1,000 accepts a second): 600 sometimes could.
    n = 2400
    ws = Workspace(tmp_path / "ws")
    ids = set(make_queue(ws, n))
    ws.close()
    figures = kill_accepts_at_random(tmp_path / "ws", tmp_path, kills=5, seed=3)
    assert figures["kills"] == 5, figures
    assert 0 < figures["verified_at_last_kill"] < n, figures
    ws = Workspace(tmp_path / "ws")
    check = check_accepted(ws, ids)
    assert check == {"accept_events": n, "duplicates": 0, "lost": 0, "unexpected": 0, "wrong_crops": 0,
                     "files_match_rows": True, "integrity": "ok"}


def test_a_job_killed_while_starting_is_reaped_at_once(workspace_dir):
    from hwocr import jobs

    ws = Workspace(workspace_dir)
    job = jobs.start_job(ws, "train", {"epochs": 1})
    os.killpg(job.pid, signal.SIGKILL)  # still importing: run_job has not marked it running
    deadline = time.monotonic() + 10
    while jobs._pid_alive(job.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert jobs.get_job(ws, job.id).status == "queued"
    assert jobs.reap_dead_jobs(ws) == 1
    assert jobs.start_job(ws, "train", {"epochs": 0}).status == "queued"


# --- downloads from a slow, failing server ------------------------------------------------------------


class FlakyImages:
    """Serves ``/img/<i>.png``: 20-100 ms late, and 5% of the time a failure of one of four kinds."""

    KINDS = ("http_500", "reset", "truncated_with_length", "truncated_without_length")

    def __init__(self, count: int, *, failure_rate: float = 0.05, seed: int = 1) -> None:
        from tests.hostile.corpus import name_png

        self.images = {i: name_png(100 + i % 150) for i in range(count)}
        self.failure_rate = failure_rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.served = Counter()
        self.faults_by_path: Counter[str] = Counter()

    def install(self, server) -> list[str]:
        return [server.route(f"/img/{i}.png", self.respond) for i in self.images]

    def respond(self, handler, hit: int) -> None:
        with self._lock:
            delay = self._rng.uniform(0.02, 0.1)
            roll = self._rng.random()
            kind = self._rng.choice(self.KINDS) if roll < self.failure_rate else "ok"
            self.served[kind] += 1
            path = handler.path
            if kind != "ok":
                self.faults_by_path[path] += 1
        time.sleep(delay)
        body = self.images[int(path.rsplit("/", 1)[1].split(".")[0])]
        if kind == "ok":
            handler.send(200, body, {"Content-Type": "image/png"})
        elif kind == "http_500":
            handler.send(500, b"oops", {"Content-Type": "text/plain"})
        elif kind == "reset":
            # SO_LINGER 0: closing sends a TCP reset instead of an orderly goodbye.
            handler.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.close_connection = True
            handler.request.close()
        elif kind == "truncated_with_length":
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
        else:
            handler.send(200, body[: len(body) // 2], {"Content-Type": "image/png"}, length=False)


def download_under_faults(ws_dir: Path, count: int, *, seed: int = 1) -> dict:
    from hwocr.pipeline import import_csv
    from tests.httpserver import LocalServer

    flaky = FlakyImages(count, seed=seed)
    with LocalServer() as server:
        urls = flaky.install(server)
        csv_path = ws_dir.parent / "flaky.csv"
        csv_path.write_text("unit_id,image_url,transcription\n" +
                            "".join(f"U{i:05d},{url},MARTIN\n" for i, url in enumerate(urls)))
        ws = Workspace(ws_dir)
        started = time.monotonic()
        report = import_csv(ws, csv_path)
        elapsed = time.monotonic() - started
        hits = dict(server.hits)
    fetch = report.fetch
    rows = {r["unit_id"]: r for r in ws.query("SELECT unit_id, status, reason, image_path, attempts FROM names")}
    intact = sum(1 for i in range(count)
                 if rows[f"U{i:05d}"]["status"] == "fetched"
                 and (ws_dir / rows[f"U{i:05d}"]["image_path"]).read_bytes() == flaky.images[i])
    failed_rows = [r for r in rows.values() if r["status"] == "fetch_failed"]
    unexplained = [r["unit_id"] for r in failed_rows
                   if not r["reason"] or "\n" in r["reason"]
                   or not flaky.faults_by_path[f"/img/{int(r['unit_id'][1:])}.png"]]
    return {
        "images": count,
        "attempted": fetch.attempted,
        "arrived": fetch.fetched,
        "reported": fetch.failed,
        "arrived_intact": intact,
        "pending": sum(1 for r in rows.values() if r["status"] == "pending"),
        "failed_without_a_fault": len(unexplained),
        "requests": sum(hits.values()),
        "attempts": sum(r["attempts"] for r in rows.values()),
        "faults_injected": dict(sorted((k, v) for k, v in flaky.served.items() if k != "ok")),
        "elapsed_s": round(elapsed, 2),
        "images_per_s": round(count / elapsed, 1),
        "reasons": dict(Counter(r["reason"] for r in failed_rows)),
    }


def test_downloads_arrive_or_are_reported_under_latency_and_failures(tmp_path, monkeypatch):
    monkeypatch.setenv("HWOCR_ALLOW_PRIVATE_URLS", "127.0.0.1")
    figures = download_under_faults(tmp_path / "ws", 200, seed=7)
    print(f"\ndownloads: {json.dumps(figures)}")
    assert figures["attempted"] == 200 == figures["arrived"] + figures["reported"]
    assert figures["arrived_intact"] == figures["arrived"]  # every stored image is byte for byte the served one
    assert figures["pending"] == 0 and figures["failed_without_a_fault"] == 0
    assert sum(figures["faults_injected"].values()) >= 4  # 5% of 200+ requests: the faults did happen
    # Every request the server answered is an attempt the client counted, except that a
    # reset of a kept-alive connection is retried at once on a fresh one.
    assert 0 <= figures["requests"] - figures["attempts"] <= figures["faults_injected"].get("reset", 0)
    # A transient fault is retried (a 500, a reset, a body cut short of its length); a body
    # cut short without a length is a truncated file, reported and not retried.
    assert set(figures["reasons"]) <= {"the image file is truncated"}
    assert figures["reported"] <= figures["faults_injected"].get("truncated_without_length", 0)


# --- the workers ------------------------------------------------------------------------------------


def _page_worker(ws_dir: str, reviewer: str, out: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from hwocr.ui import state

    ws = Workspace(ws_dir)
    report = {"reviewer": reviewer, "accepted": [], "conflicts": 0, "errors": [], "started": time.time()}
    at = AppTest.from_file(REVIEW, default_timeout=120)
    at.session_state[state.REVIEWER] = reviewer
    at.run()
    while True:
        if at.exception:
            report["errors"].append([e.value for e in at.exception])
            break
        if any("Nothing waiting for review" in s.value for s in at.success):
            break
        name_id, _version = at.session_state[state.REVIEW_BOXES_NOW]["for"]
        record = ws.get_name(name_id)
        at.session_state[state.REVIEW_BOXES_OVERRIDE] = [b.to_json() for b in person_boxes(record)]
        at.button(key=state.REVIEW_ACCEPT).click().run()
        if at.exception:
            report["errors"].append([e.value for e in at.exception])
            break
        if [e.value for e in at.error]:
            report["errors"].append([e.value for e in at.error])
            break
        if any(s.value.startswith(f"{record.unit_id} accepted") for s in at.success):
            report["accepted"].append(name_id)
        if any("elsewhere" in w.value or "right now" in w.value for w in at.warning):
            report["conflicts"] += 1
    report["finished"] = time.time()
    out.write_text(json.dumps(report))


def _lib_worker(ws_dir: str, reviewer: str, out: Path) -> None:
    from hwocr.errors import ConflictError, HwocrError
    from hwocr.review import accept, next_for_review

    ws = Workspace(ws_dir)
    report = {"reviewer": reviewer, "accepted": [], "conflicts": 0, "errors": [], "started": time.time()}
    print("ready", flush=True)
    while (record := next_for_review(ws, reviewer)) is not None:
        try:
            accept(ws, record.id, record.version, person_boxes(record), reviewer=reviewer)
        except ConflictError:
            report["conflicts"] += 1
            continue
        except HwocrError as exc:
            report["errors"].append(str(exc))
            break
        report["accepted"].append(record.id)
    report["finished"] = time.time()
    out.write_text(json.dumps(report))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.test_load")
    parser.add_argument("kind", choices=["page-worker", "lib-worker"])
    parser.add_argument("workspace")
    parser.add_argument("reviewer")
    parser.add_argument("out")
    args = parser.parse_args(argv)
    worker = _page_worker if args.kind == "page-worker" else _lib_worker
    worker(args.workspace, args.reviewer, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
