"""Does the 8-bit model (``model.q8.tflite``) decide what the float model decides where
segmentation uses it? Over the dev names: every name segmented (with guided repair)
by each model, statuses and boxes compared; then every crop of the auto-accepted names
vetted by each, disputed crops compared; and the model's speed per glyph.

    .venv/bin/python bench/q8_agreement.py [--names ../shared/data/names] [--model models/base]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devnames import add_dev_args, read_names  # noqa: E402

from hwocr import pipeline  # noqa: E402
from hwocr.model import set_interpreter_threads  # noqa: E402
from hwocr.recognize import Recognizer  # noqa: E402
from hwocr.vet import name_glyphs, vet_batch  # noqa: E402


def segment_all(rec: Recognizer, jobs) -> list:
    pipeline._WORKER_MODEL.update(dir="bench", rec=rec)  # the model this process's segmentation asks
    return [pipeline._analyze(job) for job in jobs]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dev_args(ap)
    args = ap.parse_args(argv)
    rows = read_names(args.names)
    jobs = [(i, str(args.names / r.image_url), r.transcription) for i, r in enumerate(rows.itertuples())]
    set_interpreter_threads(1)  # as in segmentation's workers
    exact, quick = Recognizer.load(args.model), Recognizer.load(args.model, quantised=True)
    if quick.bundle.q8 is None:
        raise SystemExit(f"{args.model} has no vouched-for model.q8.tflite")
    a, b = segment_all(exact, jobs), segment_all(quick, jobs)
    differ = [x.result.id for x, y in zip(a, b)
              if (x.result.status, x.result.boxes) != (y.result.status, y.result.boxes)]
    print(f"segmentation, {len(jobs)} names: statuses or boxes differ on {len(differ)}", differ[:10])
    auto = [x for x in a if x.analysis is not None]
    names = [(name_glyphs(x.analysis.cleaned.gray, x.alignment.boxes, x.alignment.letters), x.alignment.boxes,
              x.alignment.letters) for x in auto]
    crops = sum(len(g) for g, _, _ in names if g is not None)
    disputed = []
    for rec in (exact, quick):
        verdicts = vet_batch(rec, names)
        disputed.append({(i, j) for i, v in enumerate(verdicts) if v is not None for j in v.disputed})
    print(f"vetting, {len(auto)} auto-accepted names, {crops} crops: float disputes {len(disputed[0])}, "
          f"8-bit {len(disputed[1])}, both {len(disputed[0] & disputed[1])}")
    glyphs = np.concatenate([g for g, _, _ in names if g is not None])
    for label, rec in (("float", exact), ("8-bit", quick)):
        rec.probabilities(glyphs[:64], "letters")
        best = min(_timed(rec, glyphs) for _ in range(3))
        print(f"{label:6} model: {best / len(glyphs) * 1e6:.0f} µs per glyph (slices of 64, one thread)")
    return 0


def _timed(rec: Recognizer, glyphs: np.ndarray) -> float:
    t = time.perf_counter()
    rec.probabilities(glyphs, "letters")
    return time.perf_counter() - t


if __name__ == "__main__":
    raise SystemExit(main())
