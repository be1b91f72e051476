"""Reliability benchmark: the fault, load and hostile-input tests at a bigger scale, with
the figures to show for it.

    .venv/bin/python bench/reliability_bench.py [--quick] [--json bench/out/reliability_bench.json]

Prints four tables:

* **faults injected and survived**: SIGKILL of an import (downloads from a slow local
  server), a harvest, a review accept and a training job, each at N random moments;
  after every kill the database passes ``PRAGMA integrity_check``, every crop file has
  its row and every row its file, nothing done before is lost, and running the same
  command again finishes the work;
* **review sessions held**: 4 Review pages (Streamlit AppTest sessions, one process
  each) on 200 queued names, and 8 processes accepting through the library on 1,000;
  accepts per second, conflicts, duplicates, lost accepts;
* **downloads under faults**: 1,000 images from a local server that adds 20-100 ms and
  fails 5% of the requests (500, reset, truncated); attempted, arrived intact, reported;
* **bad inputs**: the hostile corpus (tests/hostile/) through ``python -m hwocr
  import``, per category, and the fuzz properties (tests/test_fuzz.py) at 10x their
  example counts.

The machinery is the tests' own (tests/test_faults.py, tests/test_load.py,
tests/hostile/); only the counts are bigger. ``--quick`` runs every part small.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYTHONPATH", str(REPO))


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- faults -------------------------------------------------------------------------------------


def fault_import(root: Path, kills: int, seed: int) -> dict:
    """SIGKILL ``python -m hwocr import`` while it downloads (0.5 s per image)."""
    from hwocr.demo import generate_demo
    from hwocr.workspace import Workspace
    from tests.httpserver import LocalServer, image
    from tests.test_faults import assert_consistent, cli_env, kill_after, start_cli

    csv_path, _ = generate_demo(root / "demo", count=150, seed=11)
    lines = csv_path.read_text().splitlines()
    rng = random.Random(seed)
    ws_dir = root / "ws-import"
    survived = killed = 0
    with LocalServer() as server:
        out = [lines[0]]
        for line in lines[1:]:
            unit_id, rel, text, which = line.split(",")
            url = server.route(f"/{rel}", image((csv_path.parent / rel).read_bytes(), delay=0.5))
            out.append(",".join([unit_id, url, text, which]))
        served = root / "served.csv"
        served.write_text("\n".join(out) + "\n")
        fetched = []
        for _ in range(kills):
            proc = start_cli(ws_dir, "import", str(served))
            was_killed = kill_after(proc, rng.uniform(0.8, 2.5))
            killed += was_killed
            ws = Workspace(ws_dir)
            assert_consistent(ws)
            counts = ws.status_counts()
            assert sum(counts.values()) in (0, 150)
            fetched.append(counts["fetched"])
            assert fetched == sorted(fetched), "fetched images were lost"
            survived += was_killed
            ws.close()
        done = subprocess.run([sys.executable, "-m", "hwocr", "import", str(served), "--quiet", "--workspace",
                               str(ws_dir)], cwd=REPO, capture_output=True, text=True, timeout=600,
                              env=cli_env(ws_dir))
    ws = Workspace(ws_dir)
    assert_consistent(ws)
    finished = done.returncode == 0 and ws.status_counts()["fetched"] == 150
    stored = sum(1 for p in (ws_dir / "images").rglob("*") if p.is_file())
    return {"what": "import (150 downloads, 0.5 s each)", "kills": killed, "survived": survived,
            "finished_after": finished and stored == 150}


def fault_harvest(root: Path, kills: int, seed: int) -> dict:
    from hwocr.dataset import harvest, reconcile
    from hwocr.demo import generate_demo
    from hwocr.pipeline import import_csv, segment_workspace
    from hwocr.workspace import Workspace
    from tests.helpers import files_in_dataset, rows_in_chars
    from tests.test_faults import assert_consistent, kill_after, start_cli

    csv_path, _ = generate_demo(root / "demo-harvest", count=300, seed=11)
    reference_dir, ws_dir = root / "ref", root / "ws-harvest"
    for folder in (reference_dir, ws_dir):
        ws = Workspace(folder)
        import_csv(ws, csv_path)
        segment_workspace(ws, workers=1)
        ws.close()
    assert start_cli(reference_dir, "harvest").wait(timeout=600) == 0
    ref = Workspace(reference_dir)
    expected = sorted(tuple(r) for r in ref.query("SELECT name_id, idx, label FROM chars"))
    rng = random.Random(seed)
    killed = survived = strays = 0
    for _ in range(kills):
        # Killed once it has written a random number of the crops still to write: always
        # in the middle of the work, however fast or loaded the machine is.
        done = len(Workspace(ws_dir).query("SELECT 1 FROM chars"))
        target = done + rng.randint(1, max(1, len(expected) - done - 1))
        proc = start_cli(ws_dir, "harvest")
        while proc.poll() is None and sum(1 for p in (ws_dir / "dataset").rglob("*.png")) < target:
            time.sleep(0.005)
        was_killed = kill_after(proc, 0)
        killed += was_killed
        ws = Workspace(ws_dir)
        assert_consistent(ws)
        strays += reconcile(ws).stray_files_removed
        assert files_in_dataset(ws) == rows_in_chars(ws)
        survived += was_killed
        ws.close()
    ws = Workspace(ws_dir)
    harvest(ws)
    got = sorted(tuple(r) for r in ws.query("SELECT name_id, idx, label FROM chars"))
    return {"what": f"harvest ({len(expected)} crops)", "kills": killed, "survived": survived,
            "finished_after": got == expected and files_in_dataset(ws) == rows_in_chars(ws),
            "stray_files_removed": strays}


def fault_accept(root: Path, kills: int, seed: int) -> dict:
    from hwocr.workspace import Workspace
    from tests.test_load import check_accepted, kill_accepts_at_random, make_queue

    ws_dir = root / "ws-accept"
    ws = Workspace(ws_dir)
    n = max(600, kills * 100)
    ids = set(make_queue(ws, n))
    ws.close()
    figures = kill_accepts_at_random(ws_dir, root, kills=kills, seed=seed)
    check = check_accepted(Workspace(ws_dir), ids)
    ok = check == {"accept_events": n, "duplicates": 0, "lost": 0, "unexpected": 0, "wrong_crops": 0,
                   "files_match_rows": True, "integrity": "ok"}
    return {"what": f"review accept ({n} names, one process accepting in a loop)", "kills": figures["kills"],
            "survived": figures["kills"], "finished_after": ok, "stray_files_removed": figures["stray_files_removed"]}


def fault_training(root: Path, kills: int, seed: int) -> dict:
    from hwocr import jobs
    from hwocr.versions import active_version, list_versions, model_files_problem, shipped_version
    from hwocr.workspace import Workspace
    from tests.helpers import add_letter_crops

    if not (shipped_version(True).path / "model.keras").is_file():
        return {"what": "training job", "kills": 0, "survived": 0, "finished_after": None,
                "note": "skipped: no shipped base model"}
    ws = Workspace(root / "ws-train")
    add_letter_crops(ws, "ABC", 12)
    rng = random.Random(seed)
    killed = survived = 0
    for _ in range(kills):
        job = jobs.start_job(ws, "train", {"epochs": 300, "batch_size": 8, "from_active": True})
        # Anywhere from TensorFlow's import to the middle of training.
        time.sleep(rng.uniform(1.0, 14.0))
        job = jobs.get_job(ws, job.id)
        if job.finished:
            continue
        os.killpg(job.pid, 9)
        deadline = time.monotonic() + 30
        while jobs._pid_alive(job.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        killed += 1
        assert jobs.reap_dead_jobs(ws) == 1
        dead = jobs.get_job(ws, job.id)
        assert dead.status == "failed" and "stopped unexpectedly" in dead.error
        versions = list_versions(ws)
        assert [v.name for v in versions] == ["base"] and active_version(ws).name == "base"
        assert all(model_files_problem(v.path) is None for v in versions)
        assert sorted(p.name for p in ws.models_dir.iterdir()) == []  # no staging folder left
        assert ws.integrity_check() == "ok"
        survived += 1
    job = jobs.start_job(ws, "train", {"epochs": 1, "batch_size": 8, "from_active": True})
    job = jobs.wait_for(ws, job.id, timeout_s=600)
    return {"what": "training job (36 crops, fine-tuning)", "kills": killed, "survived": survived,
            "finished_after": job.status == "succeeded"}


# --- sessions and downloads ---------------------------------------------------------------------------


def sessions(root: Path, kind: str, workers: int, names: int) -> dict:
    from hwocr.workspace import Workspace
    from tests.test_load import check_accepted, make_queue, run_workers, summarize

    ws_dir = root / f"ws-{kind}"
    ws = Workspace(ws_dir)
    ids = set(make_queue(ws, names))
    ws.close()
    reports, elapsed = run_workers(kind, ws_dir, workers, root, timeout=3600)
    result = summarize(reports, elapsed, check_accepted(Workspace(ws_dir), ids))
    result["names"] = names
    result["per_session"] = sorted(len(r["accepted"]) for r in reports)
    return result


def downloads(root: Path, count: int) -> dict:
    from tests.test_load import download_under_faults

    os.environ["HWOCR_ALLOW_PRIVATE_URLS"] = "127.0.0.1"
    try:
        return download_under_faults(root / "ws-downloads", count, seed=11)
    finally:
        del os.environ["HWOCR_ALLOW_PRIVATE_URLS"]


# --- bad inputs ---------------------------------------------------------------------------------------


def bad_inputs(root: Path) -> dict:
    from tests.hostile import harness
    from tests.hostile.corpus import CATEGORIES, all_cases
    from tests.httpserver import LocalServer

    cases = list(all_cases())
    started = time.monotonic()
    with LocalServer() as server:
        outcomes = harness.run_all(cases, root / "hostile", server)
    per = {}
    failures = []
    for category in CATEGORIES:
        mine = [c for c in cases if c.category == category]
        bad = [(c.name, harness.problems(c, outcomes[c.name])) for c in mine]
        bad = [(name, p) for name, p in bad if p]
        failures += bad
        per[category] = {
            "tried": len(mine),
            "handled": len(mine) - len(bad),
            "refused_whole_input": sum(1 for c in mine if c.level == "file"),
            "refused_row": sum(1 for c in mine if c.level == "row"),
            "accepted_odd_but_valid": sum(1 for c in mine if c.level == "ok"),
        }
    return {"categories": per, "failures": failures, "elapsed_s": round(time.monotonic() - started, 1)}


def fuzz(scale: float) -> dict:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics",
         "-W", "ignore", str(REPO / "tests" / "test_fuzz.py")],
        cwd=REPO, capture_output=True, text=True, timeout=7200, env={**os.environ, "HWOCR_FUZZ_SCALE": str(scale)})
    passing = sum(int(n) for n in re.findall(r"- (\d+) passing", proc.stdout))
    failing = sum(int(n) for n in re.findall(r", (\d+) failing", proc.stdout))
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return {"scale": scale, "examples_passing": passing, "examples_failing": failing, "pytest": summary,
            "returncode": proc.returncode, "elapsed_s": round(time.monotonic() - started, 1)}


# --- report -----------------------------------------------------------------------------------------


def print_report(result: dict) -> None:
    print(f"# Reliability — {result['date']} — {result['machine']}")
    print()
    print("## Faults injected and survived (SIGKILL at random moments)")
    print()
    print("| what was killed | kills | survived (integrity ok, crops = rows, nothing lost) "
          "| the same command finished the work |")
    print("|---|---:|---:|---|")
    for f in result["faults"]:
        finished = {True: "yes", False: "NO", None: "n/a"}[f["finished_after"]]
        strays = f" ({f['stray_files_removed']} stray crop files removed by reconcile)" if f.get(
            "stray_files_removed") else ""
        print(f"| {f['what']} | {f['kills']} | {f['survived']}{strays} | {finished} |")
    print()
    print("## Review sessions held")
    print()
    print("| sessions | names | accepts | accepts/s | conflicts | given to two | duplicates | lost | wrong crops "
          "| integrity |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, s in (("4 Review pages (AppTest, 1 process each)", result["sessions"]["pages"]),
                     ("8 processes, hwocr.review", result["sessions"]["library"])):
        print(f"| {label} | {s['names']} | {s['accepts']} | {s['accepts_per_s']} | {s['conflicts_reported']} | "
              f"{s['given_to_two']} | {s['duplicates']} | {s['lost']} | {s['wrong_crops']} | {s['integrity']} |")
    print()
    d = result["downloads"]
    print("## Downloads: 20-100 ms added to every answer, 5% of requests failed")
    print()
    print("| images | attempted | arrived (byte for byte) | reported | silently lost | requests | faults injected "
          "| images/s |")
    print("|---:|---:|---:|---:|---:|---:|---|---:|")
    faults = ", ".join(f"{k} {v}" for k, v in d["faults_injected"].items())
    lost = d["images"] - d["arrived"] - d["reported"]
    print(f"| {d['images']} | {d['attempted']} | {d['arrived_intact']} | {d['reported']} | {lost} | {d['requests']} | "
          f"{faults} | {d['images_per_s']} |")
    print(f"\nReported reasons: {json.dumps(d['reasons'])}")
    print()
    b = result["bad_inputs"]
    print("## Bad inputs tried and handled (python -m hwocr import)")
    print()
    print("| category | tried | handled | refused as a whole | refused row by row | odd but valid, imported |")
    print("|---|---:|---:|---:|---:|---:|")
    for category, c in b["categories"].items():
        print(f"| {category} | {c['tried']} | {c['handled']} | {c['refused_whole_input']} | {c['refused_row']} | "
              f"{c['accepted_odd_but_valid']} |")
    total = sum(c["tried"] for c in b["categories"].values())
    handled = sum(c["handled"] for c in b["categories"].values())
    print(f"| **all** | **{total}** | **{handled}** | | | |")
    if b["failures"]:
        print(f"\nNOT handled: {b['failures']}")
    f = result["fuzz"]
    print(f"\nFuzzing (tests/test_fuzz.py at {f['scale']:g}x): {f['examples_passing']:,} generated examples passed, "
          f"{f['examples_failing']} failed; pytest: {f['pytest']}")
    print(f"\nTotal time {result['elapsed_s']:.0f} s.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every part small (a smoke run)")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "out" / "reliability_bench.json")
    parser.add_argument("--fuzz-scale", type=float, default=None, help="multiplier of the fuzz example counts")
    args = parser.parse_args(argv)
    quick = args.quick
    started = time.monotonic()
    result: dict = {"date": dt.date.today().isoformat(), "machine": _machine(), "quick": quick}
    with tempfile.TemporaryDirectory(prefix="hwocr-reliability-") as tmp:
        root = Path(tmp)
        _say("faults: import")
        result["faults"] = [fault_import(root, 3 if quick else 10, seed=1)]
        _say("faults: harvest")
        result["faults"].append(fault_harvest(root, 3 if quick else 10, seed=2))
        _say("faults: accept")
        result["faults"].append(fault_accept(root, 5 if quick else 25, seed=3))
        _say("faults: training")
        result["faults"].append(fault_training(root, 1 if quick else 4, seed=4))
        _say("sessions: review pages")
        result["sessions"] = {"pages": sessions(root, "page-worker", 4, 40 if quick else 200)}
        _say("sessions: library")
        result["sessions"]["library"] = sessions(root, "lib-worker", 8, 200 if quick else 1000)
        _say("downloads")
        result["downloads"] = downloads(root, 200 if quick else 1000)
        _say("bad inputs")
        result["bad_inputs"] = bad_inputs(root)
        _say("fuzz")
        result["fuzz"] = fuzz(args.fuzz_scale if args.fuzz_scale is not None else (1 if quick else 10))
    result["elapsed_s"] = time.monotonic() - started
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str))
    print_report(result)
    ok = (all(f["finished_after"] in (True, None) and f["survived"] == f["kills"] for f in result["faults"])
          and not result["bad_inputs"]["failures"] and result["fuzz"]["examples_failing"] == 0
          and result["fuzz"]["returncode"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
