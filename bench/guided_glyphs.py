"""Guided repair with compiled lattice glyphs (``DEFAULTS.guided_glyph_resolution``)
against the exact glyphs: what changes on the dev names, and what it saves.

    .venv/bin/python bench/guided_glyphs.py [--resolutions 1.5,2] [--rounds 5] [--vet] [--sheet PNG]

* **decisions**: every dev name through a segmentation worker's path
  (``pipeline._analyze_chunk``, the 8-bit model, vetting as ``--vet`` says) once with
  exact glyphs (resolution 0) and once per resolution; a name changed when its status,
  confidence, reason, boxes or auto-labelling differ. Counted per dev half
  (:mod:`hwocr.devsplit`), with the auto-labelled share; ``--sheet`` draws the changed
  names (exact boxes red, compiled green) into one PNG;
* **cost**: CPU seconds of :func:`hwocr.align_guided.align_guided` on the names that need
  guidance, the resolutions interleaved round after round (min and median per name).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devnames import add_dev_args, read_names  # noqa: E402

import hwocr.align_guided as guided_module  # noqa: E402
from hwocr import pipeline  # noqa: E402
from hwocr.align import analyze_name, needs_guidance  # noqa: E402
from hwocr.devsplit import HALVES, half_of  # noqa: E402
from hwocr.errors import HwocrError  # noqa: E402
from hwocr.images import load_gray  # noqa: E402
from hwocr.model import set_interpreter_threads  # noqa: E402
from hwocr.store.records import labeled_boxes_from_json  # noqa: E402


def outcomes(jobs, vet: bool) -> list[tuple]:
    results = []
    for i in range(0, len(jobs), 64):
        results.extend(pipeline._analyze_chunk(jobs[i : i + 64], vet))
    return [(r.status, r.confidence, r.reason, r.boxes, r.auto_labelled) for r in results]


def with_resolution(resolution: float) -> None:
    guided_module.DEFAULTS = replace(guided_module.DEFAULTS, guided_glyph_resolution=resolution)


def tile(path: Path, before: str | None, after: str | None, caption: str, width: int = 420) -> np.ndarray:
    img = cv2.cvtColor(load_gray(path), cv2.COLOR_GRAY2BGR)
    for text, colour, dy in ((before, (0, 0, 255), 0), (after, (0, 160, 0), 1)):
        for lb in labeled_boxes_from_json(text) if text else []:
            b = lb.box
            cv2.rectangle(img, (b.x0 + dy, b.y0 + dy), (b.x1 - 1 + dy, b.y1 - 1 + dy), colour, 1)
    scale = width / img.shape[1]
    img = cv2.resize(img, (width, max(1, round(img.shape[0] * scale))))
    bar = np.full((16, width, 3), 255, np.uint8)
    cv2.putText(bar, caption[:70], (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    return np.vstack([bar, img])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dev_args(ap, model=False)
    ap.add_argument("--resolutions", default="1.5,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--vet", action="store_true", help="vet auto-accepted names too, as segment does by default")
    ap.add_argument("--sheet", type=Path, default=None, help="PNG of the names whose outcome changed")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    set_interpreter_threads(1)
    resolutions = [float(v) for v in args.resolutions.split(",")]
    rows = read_names(args.names)
    jobs = [(i, str(args.names / r.image_url), r.transcription) for i, r in enumerate(rows.itertuples())]
    halves = [half_of(u) for u in rows.unit_id]

    with_resolution(0.0)
    exact = outcomes(jobs, args.vet)
    tiles = []
    for res in resolutions:
        with_resolution(res)
        got = outcomes(jobs, args.vet)
        for half in HALVES:
            idx = [i for i, h in enumerate(halves) if h == half]
            changed = [i for i in idx if exact[i] != got[i]]
            print(f"resolution {res} {half}: {len(changed)} of {len(idx)} names changed; auto-labelled "
                  f"{sum(exact[i][4] for i in idx)} -> {sum(got[i][4] for i in idx)}")
            for i in changed:
                a, b = exact[i], got[i]
                print(f"  {rows.unit_id[i]}: {a[0]} {a[1]:.3f} auto={a[4]} -> {b[0]} {b[1]:.3f} auto={b[4]}"
                      f"{'' if a[3] == b[3] else ' (boxes differ)'}")
                tiles.append(tile(Path(jobs[i][1]), a[3], b[3], f"{rows.unit_id[i]} @{res}: {a[0]} {a[1]:.2f} -> "
                                  f"{b[0]} {b[1]:.2f}"))
    if args.sheet is not None:
        sheet = np.vstack(tiles) if tiles else np.full((16, 420, 3), 255, np.uint8)
        cv2.imwrite(str(args.sheet), sheet)

    rec = pipeline._worker_recognizer()
    todo = []
    for _, path, text in jobs:
        try:
            analysis = analyze_name(path, text)
        except HwocrError:
            continue
        if needs_guidance(analysis.alignment):
            todo.append((analysis.cleaned, analysis.alignment.letters))
    times: dict[float, list[float]] = {r: [] for r in (0.0, *resolutions)}
    for _ in range(args.rounds):
        for res, spent in times.items():
            with_resolution(res)
            t = time.process_time()
            for cleaned, letters in todo:
                guided_module.align_guided(rec, cleaned, letters)
            spent.append((time.process_time() - t) * 1000 / max(1, len(todo)))
    for res, spent in times.items():
        print(f"align_guided CPU, resolution {res}: {len(todo)} names, min {min(spent):.2f} "
              f"median {sorted(spent)[len(spent) // 2]:.2f} ms/name")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
