"""The original CSV at full size: import, segment, harvest and export of N names with the
real commands, as a user runs them, beside the kernels and the classic script in the same
run.

    .venv/bin/python bench/scale_bench.py                         # 130,000 names, local files
    .venv/bin/python bench/scale_bench.py --names 20000 --keep /tmp/scale_ws
    .venv/bin/python bench/scale_bench.py --names 20000 --urls    # images served over HTTP
    .venv/bin/python bench/scale_bench.py --names 20000 --urls --connections 64  # more downloads in flight
    .venv/bin/python bench/scale_bench.py --json bench/out/scale_bench.json
    .venv/bin/python bench/scale_bench.py --copy-images --skip kernels,classic,page,export  # import copying
    .venv/bin/python bench/scale_bench.py --tmp-dir /var/tmp     # the working folder elsewhere on the disk

What it does:

1. writes an N-row CSV in the original layout from the 1,000 dev names of
   ``../shared/data/names`` (each image used again and again under new unit_ids
   ``S000001_VALIDATION_0001`` …). With ``--urls`` the image_url cells are
   ``http://127.0.0.1:PORT/…`` served by a local server that waits 20–100 ms before each
   answer (``HWOCR_ALLOW_PRIVATE_URLS=127.0.0.1`` lets the import fetch from it);
2. runs ``python -m hwocr import CSV``, ``segment``, ``harvest`` and ``export --format zip``
   on a fresh workspace, each as its own process with progress on, and reports per stage:
   wall seconds, names/s or crops/s, peak memory (the largest process, and the sum over
   the command's process tree, sampled every 50 ms) and the workspace's size after it;
3. in the same run, just before and just after ``segment`` (the two averaged): the
   segmentation kernels alone (decode + clean + segment + align of
   the 1,000 images, no database, in a pool of as many processes as ``segment`` uses;
   then the same with the model-guided repair, and with the model's vetting too: what a
   ``segment`` worker computes per name), and the classic 2018 script end to end (pandas
   reads the CSV, then for each row: read the image, cut, threshold, project, and write
   each piece of a matching name into its letter folder) on the first ``--classic-names``
   rows;
4. the Import page's own path (``hwocr.ui.imports`` as the page calls it) on
   ``--page-rows`` rows into another workspace.

Prints a table and the ratios the issue asks for; ``--json FILE`` writes every figure.
"""

from __future__ import annotations

import argparse
import csv
import http.server
import json
import os
import platform
import random
import resource
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
NAMES = REPO.parent / "shared" / "data" / "names"

from file_create_probe import create  # noqa: E402

# --- input ------------------------------------------------------------------------------


def dev_rows() -> list[dict]:
    with open(NAMES / "names.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, n: int, *, base_url: str | None = None) -> None:
    rows = dev_rows()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["unit_id", "image_url", "transcription", "first_or_last"])
        for i in range(n):
            r = rows[i % len(rows)]
            # Relative paths, read from --images-root (as a user's CSV beside its images folder).
            url = f"{base_url}/{r['image_url']}" if base_url else r["image_url"]
            w.writerow([f"S{i + 1:06d}_{r['unit_id']}", url, r["transcription"], r["first_or_last"]])


class _SlowHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(NAMES), **kwargs)

    def do_GET(self):  # noqa: N802 - the stdlib's name
        time.sleep(random.uniform(0.020, 0.100))
        super().do_GET()

    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_images() -> tuple[_Server, str]:
    server = _Server(("127.0.0.1", 0), _SlowHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# --- measuring a command ------------------------------------------------------------------


def _tree_rss(root_pid: int) -> tuple[int, int]:
    """(sum, max) resident memory in bytes over ``root_pid`` and its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total = peak = 0
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        peak = max(peak, rss.get(pid, 0))
        todo += children.get(pid, [])
    return total, peak


def file_create_us(folder: Path, folders: int = 8, count: int = 250) -> list[float]:
    """What the kernel charges for a new small file under ``folder``: microseconds per
    file to create, write 300 bytes to and close ``count`` files, in each of ``folders``
    new subfolders (removed after), sorted. harvest creates one file per crop in the
    class folders, so this bounds its speed. On this project's machine the cost depends
    on where on the disk a new folder lands, about 24 us in most places but 240-650 us
    (pure system CPU, no disk reads) in parts where earlier runs made and deleted
    millions of files (2026-12-06, /tmp): harvest's speed varies as much, with the same
    code, as its class folders land in one part or another."""
    scratch = Path(tempfile.mkdtemp(prefix=".create_probe_", dir=folder))
    try:
        return sorted(round(create(scratch / str(k), count), 1) for k in range(folders))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def du(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def _io_pressure() -> float | None:
    """The share of the last 10 s in which some task waited for the disk (Linux PSI)."""
    try:
        return float(Path("/proc/pressure/io").read_text().split()[1].split("=")[1])
    except (OSError, IndexError, ValueError):
        return None


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies over all cores since boot, from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields) - fields[3] - fields[4], sum(fields)


def settle(limit_s: float = 180.0, busy_below: float = 0.10, quiet_seconds: int = 3) -> float:
    """Flush what earlier stages wrote and wait until the machine is quiet, so that one
    stage's write-back (or the deletion of an earlier run's 100,000s of files) is not
    billed to the next: the disk without waiting tasks (Linux PSI), then
    ``quiet_seconds`` seconds in a row with less than ``busy_below`` of the CPUs busy.
    The second test is needed on this project's machine: its disk is mounted with
    ``discard``, and after a large deletion a kernel worker trims freed blocks for
    minutes with no task waiting on the disk, while new files are created several
    times slower (a harvest took 67.7 s against 42.8 s, same code, 2026-12-06).
    Returns the seconds waited."""
    t = time.perf_counter()
    os.sync()
    while time.perf_counter() - t < limit_s:
        pressure = _io_pressure()
        if pressure is None or pressure < 1.0:
            break
        time.sleep(1.0)
    quiet = 0
    before = _cpu_times()
    while before is not None and quiet < quiet_seconds and time.perf_counter() - t < limit_s:
        time.sleep(1.0)
        after = _cpu_times()
        if after is None or after[1] == before[1]:
            break
        quiet = quiet + 1 if (after[0] - before[0]) / (after[1] - before[1]) < busy_below else 0
        before = after
    return round(time.perf_counter() - t, 1)


def run_stage(args: list[str], env: dict, app_root: Path = REPO) -> dict:
    """One hwocr command as a user runs it (after :func:`settle`): wall time, the CPU time
    of its process tree (user and system: a harvest spends most of it in the kernel,
    creating files), its JSON, peak memory."""
    waited = settle()
    cmd = [sys.executable, "-m", "hwocr", *args, "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=app_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_sum = peak_one = 0
    stderr_lines: list[str] = []
    stdout_parts: list[str] = []
    # Both pipes drained as the command writes (a full pipe would stop it).
    readers = [threading.Thread(target=lambda: stderr_lines.extend(proc.stderr), daemon=True),
               threading.Thread(target=lambda: stdout_parts.append(proc.stdout.read()), daemon=True)]
    for r in readers:
        r.start()
    while proc.poll() is None:
        s, m = _tree_rss(proc.pid)
        peak_sum, peak_one = max(peak_sum, s), max(peak_one, m)
        time.sleep(0.05)
    for r in readers:
        r.join(30)
    out = "".join(stdout_parts)
    wall = time.perf_counter() - t
    # The command waits for its workers, so their time is in its children's total.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {''.join(stderr_lines)[-3000:]}")
    return {"wall_s": round(wall, 2), "settled_s": waited, "io_pressure_after": _io_pressure(),
            "cpu_user_s": round(after.ru_utime - before.ru_utime, 1),
            "cpu_system_s": round(after.ru_stime - before.ru_stime, 1),
            "rss_sum_mb": round(peak_sum / 2**20), "rss_max_mb": round(peak_one / 2**20),
            "json": json.loads(out) if out.strip() else None, "stderr_tail": "".join(stderr_lines)[-600:]}


# --- the same run's yardsticks -----------------------------------------------------------------


def _full_kernel_chunk(part):
    """What ``segment`` does per name, without the database: pipeline.analyze_file
    (decode, clean, segment, align, and the model-guided repair where it is needed)."""
    from hwocr.pipeline import analyze_file

    t = time.process_time()
    return [analyze_file(job) for job in part], time.process_time() - t


def _vetted_kernel_chunk(part):
    """What a ``segment`` worker computes for a chunk, vetting included (the command's
    default): pipeline._analyze_chunk with the model's vetting of the auto-accepted names."""
    from hwocr.pipeline import _analyze_chunk

    t = time.process_time()
    return _analyze_chunk(part, vet=True), time.process_time() - t


def _init_full_kernel(model_dir: str | None, warm_jobs=()) -> None:
    """A worker as ``segment`` starts one, then warmed on ``warm_jobs`` (each worker: the
    compiled kernels and the model loaded before any timing starts)."""
    from hwocr.pipeline import _analyze_chunk, _init_segment_worker

    _init_segment_worker(model_dir)
    _analyze_chunk(list(warm_jobs), vet=True)


def kernels(workers: int) -> dict:
    """The segmentation kernels alone over the 1,000 dev images, in the same run:

    * geometric (decode + clean + segment + align, as segment_bench measures them), one
      process (CPU time) and a pool of ``workers`` (wall clock);
    * the full per-name function of ``segment`` (the same, plus the classifier-guided
      repair of the ~6% of names that need it), in a pool of ``workers``;
    * and that with the model's vetting of the auto-accepted names, chunk by chunk
      (``pipeline._analyze_chunk(vet=True)``): what the command's workers compute, so
      what it would do with no database, no progress and no start-up.

    The pool is hwocr's own (``hwocr.workers.process_pool``, one math-library thread
    per worker, as ``segment`` makes it), each worker warmed in its initializer; the
    two pool figures with the model are the mean of three interleaved passes."""
    from segment_bench import load_names, run_interleaved, run_parallel

    from hwocr.config import shipped_models_dir
    from hwocr.workers import process_pool

    rows = [r for r in load_names(NAMES, None) if r[1].is_file()]
    _, t_classic, _, t_ours, _, _ = run_interleaved(rows)
    _startup, _warm, times, _cpu = run_parallel(rows, workers, 1, repeat=1)
    jobs = [(i, str(path), text) for i, (_u, path, text) in enumerate(rows)]
    chunks = [jobs[i : i + 64] for i in range(0, len(jobs), 64)]
    # hwocr's own pool, as segment makes it: spawned workers whose math libraries get one
    # thread each (OpenBLAS's idle threads would otherwise spin on the other worker's core).
    # Its workers do not run __main__: the functions they call are this file's as a module.
    import scale_bench as me

    with process_pool(workers, initializer=me._init_full_kernel,
                      initargs=(str(shipped_models_dir() / "base"), chunks[0])) as pool:
        list(pool.map(me._full_kernel_chunk, chunks[: workers * 2]))  # every worker has started
        full = vetted = 0.0
        passes = 3  # interleaved, and all of them counted (a pass is about a second): the
        for _ in range(passes):  # command is timed over minutes, not at its best second
            t = time.perf_counter()
            list(pool.map(me._full_kernel_chunk, chunks))
            full += (time.perf_counter() - t) / passes
            t = time.perf_counter()
            list(pool.map(me._vetted_kernel_chunk, chunks))
            vetted += (time.perf_counter() - t) / passes
    return {"names": len(rows), "one_process_names_per_s": round(len(rows) / t_ours, 1),
            "classic_kernel_names_per_s": round(len(rows) / t_classic, 1),
            "pool_names_per_s": round(len(rows) / times["hwocr"][0], 1),
            "pool_full_names_per_s": round(len(rows) / full, 1),
            "pool_vetted_names_per_s": round(len(rows) / vetted, 1), "pool_workers": workers}


def classic_end_to_end(csv_path: Path, n: int, out: Path) -> dict:
    """The 2018 tutorial script as a whole: pandas reads the CSV, every row's image is cut
    by the classic method, and the pieces of a matching name are written to letter folders."""
    import cv2
    import pandas as pd
    from classic_segment import classic_segment

    from hwocr.text import letters_of, normalize_transcription

    t = time.perf_counter()
    df = pd.read_csv(csv_path, nrows=n, dtype=str, keep_default_na=False)
    written = 0
    for r in df.itertuples():
        path = str(NAMES / r.image_url)
        res = classic_segment(path, r.transcription)
        if res.status != "matched":
            continue
        img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        letters = letters_of(normalize_transcription(r.transcription)[0] or "")
        for i, (box, ch) in enumerate(zip(res.boxes, letters)):
            folder = out / ch
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{r.unit_id}_{i}.png"), img[box.y0:box.y1, box.x0:box.x1])
            written += 1
    wall = time.perf_counter() - t
    return {"names": len(df), "wall_s": round(wall, 2), "names_per_s": round(len(df) / wall, 1), "crops": written}


def page_import(csv_path: Path, rows: int, root: Path) -> dict:
    """The Import page's own path (server files mode) on ``rows`` rows, without the browser."""
    small = root.parent / f"page_{rows}.csv"
    with open(csv_path, encoding="utf-8") as src, open(small, "w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i > rows:
                break
            dst.write(line)
    code = r"""
import json, sys, time
from pathlib import Path
from hwocr.workspace import Workspace
from hwocr.ui import imports
ws = Workspace(sys.argv[1])
t = time.perf_counter()
outcome = imports.run_import(ws, Path(sys.argv[2]), csv_name="names.csv", images_root=Path(sys.argv[3]),
                             segment=True, progress=lambda *a: None)
print(json.dumps({"wall_s": round(time.perf_counter() - t, 2)}))
"""
    env = dict(os.environ, HWOCR_WORKSPACE=str(root))
    proc = subprocess.run([sys.executable, "-c", code, str(root), str(small), str(NAMES)], cwd=REPO, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr[-800:]}
    return {"rows": rows, **json.loads(proc.stdout.strip().splitlines()[-1])}


# --- main -------------------------------------------------------------------------------------


def finish(args, result: dict, base: Path) -> None:
    """Write ``result`` to ``--json`` if asked, and remove the working folder unless kept."""
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


def import_command(args, csv_path: Path, ws: Path) -> list[str]:
    """The import command as the options ask for it (both run kinds build it here)."""
    return (["import", str(csv_path), "-w", str(ws)]
            + ([] if args.urls else ["--images-root", str(NAMES)])
            + (["--copy-images"] if args.copy_images else [])
            + ([] if args.connections is None else ["--connections", str(args.connections)]))


def import_rounds(args, csv_path: Path, base: Path, env: dict, result: dict) -> None:
    """``--import-only``: the import command alone, ``args.import_only`` times into fresh
    workspaces; with an ``--app-root`` other than this checkout, that checkout's import
    runs between this one's, so both see the same machine."""
    roots = {"this checkout": REPO}
    if args.app_root.resolve() != REPO:
        roots["--app-root"] = args.app_root
    walls: dict[str, list[float]] = {label: [] for label in roots}
    for i in range(args.import_only):
        for label, root in roots.items():
            ws = base / f"ws_{i}_{len(walls[label])}_{label.replace(' ', '_').strip('-')}"
            stage = run_stage(import_command(args, csv_path, ws), env, root)
            walls[label].append(stage["wall_s"])
            shutil.rmtree(ws, ignore_errors=True)
    result["import_only"] = walls
    print(f"import of {args.names:,} names on {result['machine']}, wall seconds per run:")
    for label, times in walls.items():
        print(f"  {label:<14} {', '.join(f'{t:.1f}' for t in times)}  (median {sorted(times)[len(times) // 2]:.1f})")
    finish(args, result, base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", type=int, default=130_000)
    parser.add_argument("--urls", action="store_true", help="serve the images over local HTTP with latency")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--classic-names", type=int, default=20_000)
    parser.add_argument("--page-rows", type=int, default=10_000)
    parser.add_argument("--skip", default="", help="comma-separated: kernels,classic,page,export")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--tmp-dir", type=Path, default=None,
                        help="make the working folder in this folder (default: the system's temporary folder)")
    parser.add_argument("--app-root", type=Path, default=REPO,
                        help="run the commands of this checkout (a git worktree of the release before: the "
                             "baseline); kernels, classic script and page path are always this checkout's")
    parser.add_argument("--no-vet", action="store_true", help="segment without model vetting (segment --no-vet)")
    parser.add_argument("--connections", type=int, default=None,
                        help="with --urls: import --connections N (downloads in flight; default the command's)")
    parser.add_argument("--copy-images", action="store_true",
                        help="import with --copy-images (copies, not hard links, of the local images)")
    parser.add_argument("--import-only", type=int, metavar="N", default=0,
                        help="only the import stage, N times, each into a fresh workspace, alternating with the "
                             "--app-root checkout's import when that is another checkout (the same run's baseline)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if not (NAMES / "names.csv").is_file():
        raise SystemExit(f"no dev names at {NAMES}")
    base = args.keep or Path(tempfile.mkdtemp(prefix="scale_bench_", dir=args.tmp_dir))
    if base.exists() and args.keep:
        shutil.rmtree(base)
    base.mkdir(parents=True, exist_ok=True)
    ws = base / "ws"
    csv_path = base / "names.csv"
    server = None
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if args.urls:
        server, url = serve_images()
        env["HWOCR_ALLOW_PRIVATE_URLS"] = "127.0.0.1"
        write_csv(csv_path, args.names, base_url=url)
    else:
        write_csv(csv_path, args.names)
    result: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M"), "names": args.names, "urls": args.urls,
        "app_root": str(args.app_root), "copy_images": args.copy_images, "connections": args.connections,
        "load_average_before": os.getloadavg(), "folder": str(base),
        "file_create_us": file_create_us(base),
    }
    if args.import_only:
        import_rounds(args, csv_path, base, env, result)
        return
    stages = {}
    stages["import"] = run_stage(import_command(args, csv_path, ws), env, args.app_root)
    stages["import"]["workspace_mb"] = round(du(ws) / 2**20)
    # The yardsticks are timed just before and just after segment, and averaged: this
    # host's speed drifts over minutes, and a figure taken later (after harvest, say)
    # compares the command with a different machine.
    around = [kernels(args.workers)] if "kernels" not in skip else []
    stages["segment"] = run_stage(["segment", "-w", str(ws), "--workers", str(args.workers),
                                   *(["--no-vet"] if args.no_vet else [])], env, args.app_root)
    if around:
        around.append(kernels(args.workers))
    stages["segment"]["workspace_mb"] = round(du(ws) / 2**20)
    stages["harvest"] = run_stage(["harvest", "-w", str(ws)], env, args.app_root)
    stages["harvest"]["workspace_mb"] = round(du(ws) / 2**20)
    if "export" not in skip:
        stages["export"] = run_stage(["export", "--format", "zip", str(base / "dataset.zip"), "-w", str(ws)], env,
                                     args.app_root)
    if server is not None:
        server.shutdown()
    n_seg = stages["segment"]["json"]["this_run"]["processed"]
    crops = stages["harvest"]["json"]["written"]
    end_to_end = sum(stages[s]["wall_s"] for s in ("import", "segment", "harvest"))
    stages["import"]["names_per_s"] = round(args.names / stages["import"]["wall_s"], 1)
    stages["segment"]["names_per_s"] = round(n_seg / stages["segment"]["wall_s"], 1)
    stages["harvest"]["crops_per_s"] = round(crops / stages["harvest"]["wall_s"], 1)
    result["stages"] = {k: {kk: vv for kk, vv in v.items() if kk != "json"} | {"result": v["json"]}
                        for k, v in stages.items()}
    result["end_to_end"] = {"wall_s": round(end_to_end, 1), "names_per_s": round(args.names / end_to_end, 1)}
    if around:
        result["kernels"] = {key: (round((around[0][key] + around[1][key]) / 2, 1) if key.endswith("_per_s")
                                   else around[0][key]) for key in around[0]}
        result["kernels"]["before_segment"], result["kernels"]["after_segment"] = around
    if "classic" not in skip and not args.urls:
        result["classic"] = classic_end_to_end(csv_path, min(args.classic_names, args.names), base / "classic")
    if "page" not in skip and not args.urls:
        result["page_import"] = page_import(csv_path, min(args.page_rows, args.names), base / "page_ws")
    result["load_average_after"] = os.getloadavg()

    over = " over HTTP" if args.urls else ""
    if args.urls and args.connections is not None:
        over += f", {args.connections} connections"
    print(f"{args.names:,} names{over} on {result['machine']} "
          f"(load {result['load_average_before'][0]:.2f} before, {result['load_average_after'][0]:.2f} after)")
    print(f"in {base}: a new small file costs {min(result['file_create_us'])}-{max(result['file_create_us'])} us "
          f"there ({len(result['file_create_us'])} new folders)")
    print(f"{'stage':<9}{'wall s':>9}{'rate':>22}{'CPU user s':>12}{'CPU sys s':>11}{'RSS sum MB':>12}"
          f"{'RSS max MB':>12}{'workspace MB':>14}")
    for name, st in stages.items():
        rate = (f"{st['crops_per_s']:,.0f} crops/s" if "crops_per_s" in st else
                f"{st['names_per_s']:,.0f} names/s" if "names_per_s" in st else "")
        print(f"{name:<9}{st['wall_s']:>9.1f}{rate:>22}{st['cpu_user_s']:>12.1f}{st['cpu_system_s']:>11.1f}"
              f"{st['rss_sum_mb']:>12}{st['rss_max_mb']:>12}{st.get('workspace_mb', ''):>14}")
    print(f"import + segment + harvest: {end_to_end:.1f} s, {args.names / end_to_end:,.0f} names/s")
    if "kernels" in result:
        k = result["kernels"]
        print(f"segmentation kernels: geometric {k['one_process_names_per_s']:,.0f} names/s in one process, "
              f"{k['pool_names_per_s']:,.0f} in a pool of {k['pool_workers']}; with guided repair "
              f"{k['pool_full_names_per_s']:,.0f} in the pool, and with vetting too "
              f"{k['pool_vetted_names_per_s']:,.0f}. The segment command runs at "
              f"{stages['segment']['names_per_s'] / k['pool_full_names_per_s']:.2f}x its full kernel "
              f"({stages['segment']['names_per_s'] / k['pool_names_per_s']:.2f}x the geometric one"
              + ("" if args.no_vet else
                 f", {stages['segment']['names_per_s'] / k['pool_vetted_names_per_s']:.2f}x the per-name "
                 "work with vetting") + ")")
    if "classic" in result:
        c = result["classic"]
        print(f"classic script end to end: {c['names_per_s']:,.0f} names/s on {c['names']:,} names; "
              f"hwocr end to end at {args.names / end_to_end / c['names_per_s']:.2f}x")
    if "page_import" in result:
        print(f"Import page path on {args.page_rows:,} rows: {result['page_import']}")
    finish(args, result, base)


if __name__ == "__main__":
    main()
