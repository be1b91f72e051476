"""What model vetting adds per name in one process: segmentation's per-name function
(``pipeline._analyze_chunk``, chunks of 64 as the workers run it) over the first N dev
names with vetting off and on, best of three.

    .venv/bin/python bench/vet_cost.py [--names ../shared/data/names] [--count 512]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hwocr import pipeline  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--names", type=Path, default=REPO.parent / "shared" / "data" / "names")
    ap.add_argument("--count", type=int, default=512)
    args = ap.parse_args(argv)
    rows = pd.read_csv(args.names / "names.csv", dtype=str, keep_default_na=False).head(args.count)
    jobs = [(i, str(args.names / r.image_url), r.transcription) for i, r in enumerate(rows.itertuples())]
    pipeline._analyze_chunk(jobs[:16], True)  # load the model, compile the kernels
    best: dict[bool, float] = {}
    for _ in range(3):
        for vet in (False, True):
            t = time.perf_counter()
            for i in range(0, len(jobs), 64):
                pipeline._analyze_chunk(jobs[i : i + 64], vet)
            best[vet] = min(best.get(vet, float("inf")), time.perf_counter() - t)
    n = len(jobs)
    print(f"{n} names: {best[False] * 1000 / n:.2f} ms/name without vetting, {best[True] * 1000 / n:.2f} with; "
          f"vetting costs {(best[True] - best[False]) * 1000 / n:.2f} ms/name")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
