"""Identity check for glyph-preparation speed-ups: the model input of a fixed, varied set
of characters, saved, so that an optimisation can be shown to change nothing (the shipped
model was trained on exactly these numbers).

    .venv/bin/python bench/glyph_identity.py dump  bench/out/glyphs_before.npy
    .venv/bin/python bench/glyph_identity.py check bench/out/glyphs_before.npy

The inputs: 500 UNIPEN letters drawn plainly and 500 with random pens and paper, 300 MNIST
digits dark on light and 100 light on dark, 600 random slices of real name images (many
hold no ink, which exercises the error path) and one blank image. For each, the bytes of
``prepare_glyph`` and ``to_export_28``, or a checksum of the error message. ``check``
exits 1 and names the first differences.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devnames import read_names  # noqa: E402

from hwocr.basemodel import load_base_data, load_mnist, shared_data_dir  # noqa: E402
from hwocr.glyph import prepare_glyph, to_export_28  # noqa: E402
from hwocr.images import load_gray  # noqa: E402
from hwocr.render import render_strokes  # noqa: E402


def inputs() -> list[np.ndarray]:
    data = load_base_data(limit=1500)
    out: list[np.ndarray] = []
    for i in range(0, 1500, 3):
        strokes = data.letters.strokes[i]
        out += [render_strokes(strokes), render_strokes(strokes, seed=i)]
    digits = load_mnist()[0]
    out += [255 - d for d in digits[:300]] + list(digits[300:400])
    names = shared_data_dir() / "names"
    table = read_names(names)
    rng = np.random.default_rng(0)
    for row in table.head(200).itertuples():
        gray = load_gray(names / row.image_url)
        width = gray.shape[1]
        for _ in range(3):
            x = int(rng.integers(0, max(1, width - 30)))
            out.append(gray[:, x : x + int(rng.integers(12, 40))])
    out.append(np.full((5, 5), 255, np.uint8))
    return out


def fingerprint(image: np.ndarray) -> bytes:
    try:
        return prepare_glyph(image).tobytes() + to_export_28(image).tobytes()
    except Exception as exc:  # noqa: BLE001 - the error path is part of what must not change
        return f"error {zlib.crc32(str(exc).encode())}".encode()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("dump", "check"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    cv2.setNumThreads(1)
    mode, path = argv[0], Path(argv[1])
    prints = [fingerprint(image) for image in inputs()]
    if mode == "dump":
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.array(prints, dtype=object), allow_pickle=True)
        print(f"dumped {len(prints)} glyphs to {path}")
        return 0
    before = list(np.load(path, allow_pickle=True))
    if len(before) != len(prints):
        print(f"different: {len(before)} inputs before, {len(prints)} now")
        return 1
    bad = [i for i, (a, b) in enumerate(zip(before, prints)) if a != b]
    print(f"{len(prints)} inputs, {len(bad)} different" + (f": first {bad[:10]}" if bad else " (identical)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
