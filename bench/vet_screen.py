"""Screened model vetting (issue 15): does the cheap first stage (hwocr.vet.screen) send
every crop that exact vetting disputes to the exact path, how many crops does it send,
what does it save, and are the results the same as exact vetting's?

    .venv/bin/python bench/vet_screen.py [--names ../shared/data/names] [--model models/base] [--repeat 3]

Every dev name is segmented in this process with the 8-bit model, as segmentation's
workers do; the crops of the auto-accepted names are vetted exactly (every glyph made by
render_glyph) and screened (the model's probability of each crop's label on its cheap
copy). Printed, for each half of hwocr.devsplit (tune the threshold on ``tune`` only):

* the copy's label probability of the crops exact vetting disputes, and of the
  near-disputes (exact label below 0.05, another letter at least 0.8, confusable pairs
  included), at most: the screen must stay above these;
* for a grid of thresholds: the share of crops sent to the exact path, and the disputed
  crops and names the screen misses (marked ``<`` at DEFAULTS.vet_screen_min_label_probability);

then, over all the names: whether vet_screened gives the same verdicts (disputed crops;
the whole verdict of a disputed name) and pipeline.vet_results the same per-name
results as exact vetting, and the vetting time per name of each (chunks of 64, best of
``--repeat``, interleaved, wall and CPU time; segmentation not counted:
bench/vet_cost.py times it all).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devnames import add_dev_args, read_names  # noqa: E402

from hwocr import pipeline  # noqa: E402
from hwocr.config import DEFAULTS  # noqa: E402
from hwocr.devsplit import HALVES, half_of  # noqa: E402
from hwocr.model import set_interpreter_threads  # noqa: E402
from hwocr.recognize import Recognizer  # noqa: E402
from hwocr.vet import name_glyphs, screen, vet_batch, vet_screened  # noqa: E402

GRID = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
CHUNK = 64


def chunks(items: list) -> list[list]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def exact_verdicts(rec, names) -> list:
    return [v for c in chunks(names) for v in vet_batch(rec, [(name_glyphs(*n), n[1], n[2]) for n in c])]


def screened_verdicts(rec, names) -> list:
    return [v for c in chunks(names) for v in vet_screened(rec, c)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dev_args(ap)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)  # as in segmentation's workers
    rows = read_names(args.names)
    jobs = [(i, str(args.names / r.image_url), r.transcription) for i, r in enumerate(rows.itertuples())]
    set_interpreter_threads(1)  # as in segmentation's workers
    rec = Recognizer.load(args.model, quantised=True)
    pipeline._WORKER_MODEL.update(dir="bench", rec=rec)
    analysed = [pipeline._analyze(job) for job in jobs]
    auto = [(a, rows.unit_id[a.result.id]) for a in analysed if a.analysis is not None]
    names = [(a.analysis.cleaned.gray, a.alignment.boxes, a.alignment.letters) for a, _ in auto]
    half = np.array([half_of(unit) for _, unit in auto])

    # Exact vetting: its verdicts hold the readings of every crop, and its disputes.
    exact = exact_verdicts(rec, names)
    disputed = {(i, j) for i, v in enumerate(exact) if v is not None for j in v.disputed}
    readings = [v.readings if v is not None else () for v in exact]
    near = {(i, j) for i, rs in enumerate(readings) for j, r in enumerate(rs)
            if r.read != r.label and r.p_label < 0.05 and r.p_read >= 0.8}
    cheap = [screen(rec, c, min_label=0.0) for c in chunks(names)]
    p_label = [s.p_label[s.starts[k] : s.starts[k + 1]] for s in cheap for k in range(len(s.starts) - 1)]
    print(f"{len(jobs)} dev names, {len(names)} auto-accepted, {sum(len(n[1]) for n in names)} crops; "
          f"exact vetting disputes {len(disputed)} crops of {len({i for i, _ in disputed})} names")
    chosen = DEFAULTS.vet_screen_min_label_probability
    for h in HALVES:
        members = [i for i in range(len(names)) if half[i] == h]
        crops = sum(len(p_label[i]) for i in members)
        d = sorted(float(p_label[i][j]) for i, j in disputed if half[i] == h)
        nd = sorted(float(p_label[i][j]) for i, j in near if half[i] == h)
        print(f"\n{h}: {len(members)} names, {crops} crops, {len(d)} disputed crops "
              f"({len({i for i, _ in disputed if half[i] == h})} names), {len(nd)} near-disputes")
        print(f"  cheap P(label) of the disputed crops, highest: {', '.join(f'{v:.3f}' for v in d[-3:][::-1])}")
        print(f"  ... of the near-disputes, highest: {', '.join(f'{v:.3f}' for v in nd[-3:][::-1])}")
        print("  threshold  sent to exact  missed crops  missed names  missed near-disputes")
        for t in sorted({*GRID, chosen}):
            sent = sum(int((p_label[i] < t).sum()) for i in members)
            missed = [(i, j) for i, j in disputed if half[i] == h and p_label[i][j] >= t]
            missed_names = {i for i, _ in disputed if half[i] == h} - {
                i for i, j in disputed if half[i] == h and p_label[i][j] < t}
            missed_near = sum(1 for i, j in near if half[i] == h and p_label[i][j] >= t)
            mark = "<" if t == chosen else " "
            print(f"  {t:9.2f}{mark} {sent / crops:13.1%}  {len(missed):12d}  {len(missed_names):12d}  "
                  f"{missed_near:20d}")

    # Same decisions? vet_screened against exact vetting, then the per-name results of
    # pipeline.vet_results with the screen off and on.
    screened = screened_verdicts(rec, names)
    same_disputes = sum((a is not None and a.disputed) == (b is not None and b.disputed) and
                        (a.disputed if a is not None and a.disputed else ()) ==
                        (b.disputed if b is not None and b.disputed else ()) for a, b in zip(exact, screened))
    whole = sum(a == b for a, b in zip(exact, screened) if a is not None and a.disputed)
    print(f"\nvet_screened vs exact: disputed crops the same on {same_disputes}/{len(names)} names; "
          f"the whole verdict the same on {whole}/{len({i for i, _ in disputed})} disputed names")
    results = {}
    try:
        for screen_on in (False, True):
            pipeline.DEFAULTS = dataclasses.replace(DEFAULTS, vet_screen=screen_on)
            results[screen_on] = [r for c in chunks(analysed) for r in pipeline.vet_results(rec, c)]
    finally:
        pipeline.DEFAULTS = DEFAULTS
    differ = [a.id for a, b in zip(results[False], results[True]) if a != b]
    statuses = pd.Series([r.status for r in results[True]]).value_counts().to_dict()
    print(f"pipeline.vet_results, {len(analysed)} names, screen off vs on: results differ on {len(differ)} "
          f"{differ[:10]}; statuses {statuses}")

    best: dict[tuple[str, str], float] = {}
    for _ in range(args.repeat):
        for label, fn in (("exact", exact_verdicts), ("screened", screened_verdicts)):
            wall, cpu = time.perf_counter(), time.process_time()
            fn(rec, names)
            for clock, t in (("wall", time.perf_counter() - wall), ("cpu", time.process_time() - cpu)):
                best[label, clock] = min(best.get((label, clock), float("inf")), t)
    n = len(names)
    for clock in ("wall", "cpu"):
        e, s = best["exact", clock] * 1e3 / n, best["screened", clock] * 1e3 / n
        print(f"vetting {clock} time, {n} auto-accepted names (best of {args.repeat}): exact {e:.2f} ms/name, "
              f"screened {s:.2f} ms/name ({1 - s / e:.0%} less)")
    return 0


if __name__ == "__main__":
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        # One BLAS thread, set before NumPy loads: OpenBLAS's idle threads spin after each
        # small product (the model's probability folding), doubling the CPU time taken
        # and taking the second core from the run being timed.
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    raise SystemExit(main())
