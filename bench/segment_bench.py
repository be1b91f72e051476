"""Segmentation benchmark: hwocr's preprocess + segment + align against the classic
tutorial method, on the same real names, in the same run.

    .venv/bin/python bench/segment_bench.py [--names DIR] [--out bench/out] [--limit N]
                                            [--repeat 3] [--workers 2]

Prints the counts and shares of each status, the auto-labelled share (matched, plus
repaired with confidence >= DEFAULTS.harvest_min_confidence; also on each half of the
fixed dev split, hwocr.devsplit: tuned on ``tune``, reported on ``held_out``), names per second for
both methods (decode + preprocess + segment + align), the machine and its load, and
the warm-up (hwocr's first name: lazy imports and its compiled kernels loaded, or
compiled when numba's cache is empty), which is done before any timing:

* one process, CPU time, the two methods alternating in chunks of 50 names so that load
  on the machine falls on both alike; --repeat passes, medians (the headline figure:
  the tutorial is a single-threaded script);
* an extra row: both methods in one pool of --workers spawned processes, the way
  hwocr's import segments a workspace, wall clock, start-up reported apart (the
  product's real throughput; the classic method in the same pool for fairness).

Writes under --out:

* segment_contact_sheet.png: 200 random harvested crops with their labels, to count
  wrong crops by eye (a different letter, half a letter, two letters);
* segment_contact_sheet.csv: which name and letter each cell of the sheet is;
* segment_repaired_sheet.png / .csv: up to 200 crops of harvested repaired names only
  (where mistakes are likelier than in matched ones);
* classic_contact_sheet.png / .csv: the same for the classic method;
* segment_results.csv: status, confidence and reason of every name.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from classic_segment import classic_segment  # noqa: E402
from devnames import add_dev_args, read_names  # noqa: E402

from hwocr.align import analyze_name  # noqa: E402
from hwocr.config import DEFAULTS  # noqa: E402
from hwocr.devsplit import HALVES, half_of  # noqa: E402
from hwocr.errors import ImageError  # noqa: E402
from hwocr.images import load_gray  # noqa: E402
from hwocr.text import letters_of, normalize_transcription  # noqa: E402

STATUSES = ("matched", "repaired", "needs_review", "failed")


def load_names(names_dir: Path, limit: int | None) -> list[tuple[str, Path, str]]:
    df = read_names(names_dir)
    rows = [(r.unit_id, names_dir / r.image_url, r.transcription) for r in df.itertuples()]
    return rows[:limit] if limit else rows


def hwocr_one(row):
    unit_id, path, transcription = row
    try:
        al = analyze_name(path, transcription).alignment
        return (unit_id, al.status, al.confidence, al.reason, al.boxes, al.letters)
    except ImageError as exc:
        return (unit_id, "failed", 0.0, str(exc), (), "")


def classic_one(row):
    unit_id, path, transcription = row
    res = classic_segment(path, transcription)
    norm, _ = normalize_transcription(transcription)
    return (unit_id, res.status, 1.0 if res.status == "matched" else 0.0, "", res.boxes,
            letters_of(norm) if norm else "")


def run_interleaved(rows, chunk: int = 50):
    """Both methods over the same names, alternating chunks of ``chunk`` names, so that
    any load on the machine falls on both alike. CPU time of this process, per method,
    and wall-clock time (comparable with the pool's)."""
    classic, ours = [], []
    t_classic = t_ours = w_classic = w_ours = 0.0
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        a, wa = time.process_time(), time.perf_counter()
        classic.extend(classic_one(r) for r in part)
        b, wb = time.process_time(), time.perf_counter()
        ours.extend(hwocr_one(r) for r in part)
        c, wc = time.process_time(), time.perf_counter()
        t_classic += b - a
        t_ours += c - b
        w_classic += wb - wa
        w_ours += wc - wb
    return classic, t_classic, ours, t_ours, w_classic, w_ours


def _init_worker(threads: int) -> None:
    cv2.setNumThreads(threads)


def _ready(wait: float) -> int:
    time.sleep(wait)  # long enough that the other workers get a task too
    return os.getpid()


def _classic_chunk(part):
    t = time.process_time()
    return [classic_one(r) for r in part], time.process_time() - t


def _hwocr_chunk(part):
    t = time.process_time()
    return [hwocr_one(r) for r in part], time.process_time() - t


def run_parallel(rows, workers: int, threads: int, repeat: int, chunk: int = 64):
    """Both methods over all names in one pool of ``workers`` spawned processes, the way
    ``hwocr.pipeline.segment_workspace`` runs an import (spawn, chunks of 64 names, one
    OpenCV thread per worker), ``repeat`` times each, alternating which goes first.

    Returns the pool's start-up (spawning the workers and importing hwocr, OpenCV and
    numpy in each, until every worker has answered once), the warm-up (each method's
    first chunk per worker: lazy imports and loading hwocr's compiled kernels), the
    wall-clock seconds of each pass per method, and the workers' CPU seconds of each
    pass (which tell waiting for a core apart from work); results travel back to the
    parent as in the product."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    chunks = [rows[i : i + chunk] for i in range(0, len(rows), chunk)]
    fns = {"classic": _classic_chunk, "hwocr": _hwocr_chunk}
    times: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=(threads,)) as pool:
        seen: set[int] = set()
        while len(seen) < workers:
            seen.update(pool.map(_ready, [0.05] * workers))
        startup = time.perf_counter() - t0
        t_warm = time.perf_counter()
        for fn in fns.values():  # first calls (caches, lazy imports, compiled kernels), not timed
            list(pool.map(fn, chunks[:workers]))
        warmup = time.perf_counter() - t_warm
        for rep in range(repeat):
            for name in (("classic", "hwocr") if rep % 2 == 0 else ("hwocr", "classic")):
                a = time.perf_counter()
                out = list(pool.map(fns[name], chunks))
                times[name].append(time.perf_counter() - a)
                cpu[name].append(sum(c for _, c in out))
                assert sum(len(part) for part, _ in out) == len(rows)
    return startup, warmup, times, cpu


def _loadavg() -> str:
    """The machine's load average (1, 5, 15 min): the timings mean little without it."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3]) + " (1, 5, 15 min)"
    except OSError:
        return "unknown"


def harvested(results):
    t = DEFAULTS.harvest_min_confidence
    return [r for r in results if r[1] == "matched" or (r[1] == "repaired" and r[2] >= t)]


def contact_sheet(results, paths: dict[str, Path], out_png: Path, out_csv: Path, *, n: int = 200, seed: int = 0,
                  cols: int = 20, cell: int = 64, only: str | None = None) -> int:
    """Draw ``n`` random harvested crops (of names with status ``only``, if given), each
    exactly its box, with its label."""
    crops = [(r[0], k, box, r[5][k]) for r in harvested(results) if only in (None, r[1])
             for k, box in enumerate(r[4])]
    if not crops:
        return 0
    rng = random.Random(seed)
    picked = rng.sample(crops, min(n, len(crops)))
    rows = (len(picked) + cols - 1) // cols
    label_h = 16
    sheet = np.full((rows * (cell + label_h), cols * cell, 3), 255, np.uint8)
    grays: dict[str, np.ndarray] = {}
    with open(out_csv, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["cell", "row", "col", "unit_id", "letter_index", "letter", "x0", "y0", "x1", "y1"])
        for idx, (unit_id, k, box, letter) in enumerate(picked):
            if unit_id not in grays:
                grays[unit_id] = load_gray(paths[unit_id])
            crop = grays[unit_id][box.y0 : box.y1, box.x0 : box.x1]
            r, c = divmod(idx, cols)
            y, x = r * (cell + label_h), c * cell
            if crop.size:
                f = min((cell - 4) / crop.shape[1], (cell - 4) / crop.shape[0])
                f = min(f, 4.0)
                small = cv2.resize(crop, (max(1, int(crop.shape[1] * f)), max(1, int(crop.shape[0] * f))),
                                   interpolation=cv2.INTER_NEAREST)
                oy = y + (cell - small.shape[0]) // 2
                ox = x + (cell - small.shape[1]) // 2
                sheet[oy : oy + small.shape[0], ox : ox + small.shape[1]] = small[:, :, None]
            cv2.rectangle(sheet, (x, y), (x + cell - 1, y + cell - 1), (200, 200, 200), 1)
            cv2.putText(sheet, f"{idx}:{letter}", (x + 2, y + cell + 12), cv2.FONT_HERSHEY_PLAIN, 0.9, (0, 0, 200), 1)
            writer.writerow([idx, r, c, unit_id, k, letter, box.x0, box.y0, box.x1, box.y1])
    cv2.imwrite(str(out_png), sheet)
    return len(picked)


def summarize(name: str, results, seconds: float) -> dict:
    n = len(results)
    counts = {s: sum(1 for r in results if r[1] == s) for s in STATUSES}
    auto = len(harvested(results))
    print(f"\n{name}")
    print(f"  names            {n}")
    for s in STATUSES:
        print(f"  {s:<16} {counts[s]:>5}  {counts[s] / max(n, 1):6.1%}")
    print(f"  auto-labelled    {auto:>5}  {auto / max(n, 1):6.1%}   (matched + repaired with confidence >= "
          f"{DEFAULTS.harvest_min_confidence})")
    print(f"  letters harvested {sum(len(r[4]) for r in harvested(results))}")
    halves = {}
    for half in HALVES:
        part = [r for r in results if half_of(r[0]) == half]
        halves[half] = {"names": len(part), "auto": len(harvested(part))}
    print("  auto-labelled by half of the dev split (hwocr.devsplit): " + ", ".join(
        f"{h} {v['auto']}/{v['names']} = {v['auto'] / max(v['names'], 1):.1%}" for h, v in halves.items()))
    print(f"  time             {seconds:.2f} s   {n / seconds:.0f} names/s")
    return {"counts": counts, "auto": auto, "names_per_s": n / seconds, "halves": halves}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dev_args(ap, model=False)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cv-threads", type=int, default=1,
                    help="OpenCV threads (1: names are tiny images, as in the import workers)")
    ap.add_argument("--workers", type=int, default=2,
                    help="also time both methods in a pool of this many processes, as hwocr's import "
                         "runs (0 or 1: skip)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="timed passes over the names per method; the medians are reported")
    args = ap.parse_args(argv)
    if not (args.names / "names.csv").is_file():
        print(f"no names.csv under {args.names}", file=sys.stderr)
        return 2
    cv2.setNumThreads(args.cv_threads)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = load_names(args.names, args.limit)
    paths = {u: p for u, p, _ in rows}
    for _, p, _ in rows:  # warm the file cache so neither method pays for the first read
        p.read_bytes()

    print(f"date     {dt.date.today().isoformat()}")
    print(f"machine  {platform.platform()}; {platform.machine()}; {os.cpu_count()} CPUs; "
          f"Python {platform.python_version()}; numpy {np.__version__}; OpenCV {cv2.__version__} "
          f"({args.cv_threads} thread{'s' if args.cv_threads != 1 else ''})")
    print(f"command  {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"load     {_loadavg()}")
    print("timing   one process, both methods alternating in chunks of 50 names, CPU time; "
          "decode + preprocess + segment + align")

    # Warm-up, not timed with the rest: the first name pays for lazy imports and for
    # loading hwocr's compiled kernels (numba: from the on-disk cache, or compiled when
    # there is none); every later name runs at the steady-state speed measured below.
    t = time.perf_counter()
    hwocr_one(rows[0])
    t_first = time.perf_counter() - t
    t = time.perf_counter()
    for r in rows[:50]:
        hwocr_one(r)
        classic_one(r)
    print(f"warm-up  hwocr's first name {t_first:.2f} s (imports, compiled kernels loaded or compiled); "
          f"then 50 names of each method {time.perf_counter() - t:.2f} s; not timed below")

    runs = [run_interleaved(rows) for _ in range(args.repeat)]
    classic, _, ours, _, _, _ = runs[0]
    t_classic = statistics.median(r[1] for r in runs)
    t_ours = statistics.median(r[3] for r in runs)
    summarize("classic tutorial method (bench/classic_segment.py)", classic, t_classic)
    summarize("hwocr preprocess + segment + align", ours, t_ours)
    n = len(rows)
    print(f"\nspeed, one process (median of {args.repeat} interleaved runs; each run's names/s, classic / hwocr: "
          + ", ".join(f"{n / r[1]:.0f} / {n / r[3]:.0f}" for r in runs) + ")")
    print(f"  hwocr / classic = {n / t_ours:.0f} / {n / t_classic:.0f} names/s = {t_classic / t_ours:.2f}x")
    if args.workers > 1:
        startup, warmup, times, cpu = run_parallel(rows, args.workers, args.cv_threads, args.repeat)
        w_classic, w_ours = statistics.median(times["classic"]), statistics.median(times["hwocr"])
        print(f"\nspeed, pool of {args.workers} spawned processes as in hwocr's import, wall clock, median of "
              f"{args.repeat} (pool start-up {startup:.2f} s and first chunk per worker {warmup:.2f} s, not counted):")
        print(f"  classic {n / w_classic:.0f} names/s ({', '.join(f'{n / t:.0f}' for t in times['classic'])}); "
              f"hwocr {n / w_ours:.0f} names/s ({', '.join(f'{n / t:.0f}' for t in times['hwocr'])})")
        # The one-process figures above are CPU time; under load the pool's wall clock
        # also counts the time spent waiting for a core, so the one-process wall clock of
        # the same runs is given too.
        wall_classic = statistics.median(r[4] for r in runs)
        wall_ours = statistics.median(r[5] for r in runs)
        print(f"  workers' CPU time per name: classic {statistics.median(cpu['classic']) / n * 1e6:.0f} µs, "
              f"hwocr {statistics.median(cpu['hwocr']) / n * 1e6:.0f} µs (one process: "
              f"{t_classic / n * 1e6:.0f} µs, {t_ours / n * 1e6:.0f} µs)")
        print(f"  one process, wall clock, for comparison: classic {n / wall_classic:.0f} names/s, "
              f"hwocr {n / wall_ours:.0f} names/s")
        print(f"  hwocr in {args.workers} processes / classic in one process = {n / w_ours:.0f} / "
              f"{n / t_classic:.0f} names/s (CPU time) = {t_classic / w_ours:.2f}x, "
              f"{n / wall_classic:.0f} names/s (wall clock) = {wall_classic / w_ours:.2f}x; "
              f"both in {args.workers} processes: {w_classic / w_ours:.2f}x")
    print(f"load     {_loadavg()}")

    with open(args.out / "segment_results.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["unit_id", "status", "confidence", "letters", "reason"])
        for r in ours:
            w.writerow([r[0], r[1], f"{r[2]:.4f}", r[5], r[3]])
    k = contact_sheet(ours, paths, args.out / "segment_contact_sheet.png", args.out / "segment_contact_sheet.csv",
                      seed=args.seed)
    k_rep = contact_sheet(ours, paths, args.out / "segment_repaired_sheet.png",
                          args.out / "segment_repaired_sheet.csv", seed=args.seed, only="repaired")
    contact_sheet(classic, paths, args.out / "classic_contact_sheet.png", args.out / "classic_contact_sheet.csv",
                  seed=args.seed)
    print(f"\ncontact sheets: {k} random harvested crops in {args.out / 'segment_contact_sheet.png'}; "
          f"{k_rep} from repaired names only in segment_repaired_sheet.png; "
          f"classic: classic_contact_sheet.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
