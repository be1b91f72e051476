"""Accuracy of several model bundles, of their average, and of test-time augmentation,
on the fixed evaluation sets of ``hwocr.basemodel.validation_sets`` (the same ones as
bench/model_bench.py): for comparing rebuilds before choosing which one to ship.

    .venv/bin/python bench/model_variants.py DIR [DIR ...]

Prints, per set (writer-disjoint UNIPEN plain, random pens and paper, the dataset's own
renders, held-out MNIST digits; letters or digits charset): each model's accuracy, the
accuracy of the average of all the models' probabilities (when there are several), and
for the first model the average over small geometric variants of each glyph (one-pixel
shifts; zooms of ±10%; rotations of ±8°; all of those plus thicker and thinner strokes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hwocr.basemodel import load_base_data, validation_sets  # noqa: E402
from hwocr.recognize import Recognizer  # noqa: E402


def _warp(glyphs: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    size = glyphs.shape[1]
    return np.stack([cv2.warpAffine(g, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0) for g in glyphs])


def variants(glyphs: np.ndarray) -> dict[str, np.ndarray]:
    """The glyphs (N, S, S) and small geometric variants of them."""
    c = (glyphs.shape[1] - 1) / 2.0
    out = {"as is": glyphs}
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        out[f"shift {dx:+d},{dy:+d}"] = _warp(glyphs, np.float32([[1, 0, dx], [0, 1, dy]]))
    for s in (0.9, 1.1):
        out[f"zoom {s}"] = _warp(glyphs, cv2.getRotationMatrix2D((c, c), 0, s))
    for a in (8, -8):
        out[f"rotate {a:+d}"] = _warp(glyphs, cv2.getRotationMatrix2D((c, c), a, 1.0))
    square = np.ones((2, 2), np.uint8)
    out["thicker"] = np.stack([cv2.dilate(g, square) for g in glyphs])
    out["thinner"] = np.stack([cv2.erode(g, square) for g in glyphs])
    return out


TTA_SETS = {
    "shifts": ("as is", "shift +1,+0", "shift -1,+0", "shift +0,+1", "shift +0,-1"),
    "zooms": ("as is", "zoom 0.9", "zoom 1.1"),
    "rotations": ("as is", "rotate +8", "rotate -8"),
    "all": None,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", type=Path, nargs="+", help="model bundle folders")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    sets = validation_sets(load_base_data(), workers=2)
    recognizers = [Recognizer.load(m) for m in args.models]
    labels = np.array(recognizers[0].labels)
    for name, (x, y) in sets.items():
        charset = "digits" if name.startswith("mnist") else "letters"
        probs = [r.probabilities(x, charset) for r in recognizers]

        def acc(p: np.ndarray, truth: np.ndarray = y) -> str:
            return f"{np.mean(labels[p.argmax(1)] == truth) * 100:.2f}%"

        print(f"{name} ({len(y)} {charset})")
        for m, p in zip(args.models, probs):
            print(f"  {m}: {acc(p)}")
        if len(probs) > 1:
            print(f"  average of the {len(probs)} models: {acc(sum(probs))}")
        per_variant = {k: recognizers[0].probabilities(v, charset) for k, v in variants(x).items()}
        tta = ", ".join(
            f"{k} {acc(sum(per_variant[v] for v in (keys or per_variant)))}" for k, keys in TTA_SETS.items()
        )
        print(f"  {args.models[0]} with test-time augmentation: {tta}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
