"""What model vetting adds per name in one process: segmentation's per-name function
(``pipeline._analyze_chunk``, chunks of 64 as the workers run it) over the first N dev
names with vetting off, exact-only vetting (``vet_screen`` False: every crop made by
render_glyph) and screened vetting (the default: cheap copies first, only doubtful
crops made exactly; hwocr.vet.vet_screened), interleaved, best of ``--repeat`` (3) in
wall time and in this process's CPU time (steadier on a shared machine: time spent
waiting for a core is not counted). One OpenCV and one model thread, as in
segmentation's workers.

    .venv/bin/python bench/vet_cost.py [--names ../shared/data/names] [--count 512] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devnames import add_dev_args, read_names  # noqa: E402

from hwocr import pipeline  # noqa: E402
from hwocr.config import DEFAULTS  # noqa: E402
from hwocr.model import set_interpreter_threads  # noqa: E402

MODES = {"off": (False, True), "exact": (True, False), "screened": (True, True)}  # vet, vet_screen


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dev_args(ap, model=False)
    ap.add_argument("--count", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)  # one OpenCV and one model thread, as in segmentation's workers
    set_interpreter_threads(1)
    rows = read_names(args.names).head(args.count)
    jobs = [(i, str(args.names / r.image_url), r.transcription) for i, r in enumerate(rows.itertuples())]
    best: dict[tuple[str, str], float] = {}
    try:
        for round_ in range(args.repeat + 1):  # round 0 loads the model, compiles the kernels: not counted
            for mode, (vet, screen) in MODES.items():
                pipeline.DEFAULTS = dataclasses.replace(DEFAULTS, vet_screen=screen)
                wall, cpu = time.perf_counter(), time.process_time()
                for i in range(0, len(jobs), 64):
                    pipeline._analyze_chunk(jobs[i : i + 64], vet)
                if round_:
                    for clock, t in (("wall", time.perf_counter() - wall), ("cpu", time.process_time() - cpu)):
                        best[mode, clock] = min(best.get((mode, clock), float("inf")), t)
    finally:
        pipeline.DEFAULTS = DEFAULTS
    n = len(jobs)
    for clock in ("wall", "cpu"):
        ms = {mode: best[mode, clock] * 1000 / n for mode in MODES}
        print(f"{n} names, {clock} ms/name (best of {args.repeat}): {ms['off']:.2f} without vetting, "
              f"{ms['exact']:.2f} with exact vetting, {ms['screened']:.2f} with screened vetting; vetting costs "
              f"{ms['exact'] - ms['off']:.2f} exact, {ms['screened'] - ms['off']:.2f} screened "
              f"({1 - (ms['screened'] - ms['off']) / (ms['exact'] - ms['off']):.0%} less)")
    return 0


if __name__ == "__main__":
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        # One BLAS thread, set before NumPy loads: OpenBLAS's idle threads spin after each
        # small product (the model's probability folding), doubling the CPU time taken
        # and taking the second core from the run being timed.
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    raise SystemExit(main())
