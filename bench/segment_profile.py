"""Where a segmentation worker's time goes: cProfile of ``pipeline._analyze_chunk`` (decode,
clean, cut, align, guided repair, vetting) over the dev names in one process, set up as a
worker is (one OpenCV, model and BLAS thread).

    .venv/bin/python bench/segment_profile.py [--count 768] [--no-vet] [--top 35]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devnames import add_dev_args, read_names  # noqa: E402

from hwocr import pipeline  # noqa: E402
from hwocr.model import set_interpreter_threads  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dev_args(ap, model=False)
    ap.add_argument("--count", type=int, default=768)
    ap.add_argument("--no-vet", action="store_true")
    ap.add_argument("--top", type=int, default=35)
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    set_interpreter_threads(1)
    rows = read_names(args.names).head(args.count)
    jobs = [(i, str(args.names / r.image_url), r.transcription) for i, r in enumerate(rows.itertuples())]
    vet = not args.no_vet
    for i in range(0, min(128, len(jobs)), 64):  # load the model, the compiled kernels: not profiled
        pipeline._analyze_chunk(jobs[i : i + 64], vet)
    profile = cProfile.Profile()
    wall = time.perf_counter()
    profile.enable()
    for i in range(0, len(jobs), 64):
        pipeline._analyze_chunk(jobs[i : i + 64], vet)
    profile.disable()
    print(f"{len(jobs)} names, vetting {'on' if vet else 'off'}: "
          f"{(time.perf_counter() - wall) * 1000 / len(jobs):.2f} ms/name under the profiler")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":  # as hwocr.workers sets it for a worker
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    raise SystemExit(main())
