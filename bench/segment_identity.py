"""Identity check for segmentation speed-ups: every intermediate result of every name,
hashed, so that an optimisation can be shown to change nothing.

    .venv/bin/python bench/segment_identity.py dump  bench/out/identity_before.json
    .venv/bin/python bench/segment_identity.py check bench/out/identity_before.json

Per name (the 1,000 real names, and each again mirrored, cropped, rescaled and with
noise, so that paths the real names rarely take are covered too): the decoded gray
image, the cleaned ink mask, the removed marks, the pieces, both profiles, the cuts, and
the alignment's status, confidence (exact repr), reason, letters and boxes; the
alignment also against a transcription with a letter too many and one too few (which
forces the dynamic programme). ``check`` exits 1 and names the first differences.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devnames import NAMES_DIR, read_names  # noqa: E402

from hwocr.align import align  # noqa: E402
from hwocr.errors import ImageError  # noqa: E402
from hwocr.images import load_gray  # noqa: E402
from hwocr.preprocess import clean_name_image  # noqa: E402
from hwocr.segment import segment  # noqa: E402

NAMES = NAMES_DIR


def _h(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha1(f"{a.dtype}{a.shape}".encode() + a.tobytes()).hexdigest()[:16]


def _boxes(boxes) -> list:
    return [[b.x0, b.y0, b.x1, b.y1] for b in boxes]


def _variants(gray: np.ndarray, seed: int) -> list[np.ndarray]:
    """The same name altered in ways real scans vary: other paths through the code."""
    rng = np.random.default_rng(seed)
    h, w = gray.shape
    out = [gray[:, ::-1].copy()]
    y0, x0 = int(rng.integers(0, max(1, h // 4))), int(rng.integers(0, max(1, w // 4)))
    out.append(gray[y0:, x0:].copy())
    f = float(rng.uniform(0.6, 1.6))
    out.append(cv2.resize(gray, (max(3, int(w * f)), max(3, int(h * f))), interpolation=cv2.INTER_AREA))
    noisy = np.clip(gray.astype(np.int16) + rng.integers(-40, 41, gray.shape), 0, 255).astype(np.uint8)
    out.append(noisy)
    lined = gray.copy()
    lined[int(rng.integers(0, h)), :] = 20
    out.append(lined)
    return out


def _record(gray: np.ndarray, transcription: str) -> dict:
    cleaned = clean_name_image(gray)
    seg = segment(cleaned.ink)
    rec = {
        "gray": _h(gray),
        "ink": _h(cleaned.ink),
        "removed": [[r.kind, r.box.x0, r.box.y0, r.box.x1, r.box.y1] for r in cleaned.removed],
        "pieces": _boxes(seg.boxes),
        "col": _h(seg.col_profile),
        "row": _h(seg.row_profile),
        "cuts": list(seg.cuts),
    }
    letters = "".join(ch for ch in transcription if ch.isalpha())
    for tag, text in (("al", transcription), ("al+", transcription + (letters[-1:] or "A")),
                      ("al-", transcription[:-1] if len(letters) > 1 else transcription)):
        al = align(cleaned, seg, text)
        rec[tag] = [al.status, repr(al.confidence), al.reason, al.letters, _boxes(al.boxes)]
    return rec


def collect(limit: int | None = None) -> dict:
    df = read_names(NAMES)
    out = {}
    for k, r in enumerate(df.itertuples()):
        if limit and k >= limit:
            break
        try:
            gray = load_gray(NAMES / r.image_url)
        except ImageError as exc:
            out[r.unit_id] = {"error": str(exc)}
            continue
        out[r.unit_id] = _record(gray, r.transcription)
        for v, g in enumerate(_variants(gray, k)):
            out[f"{r.unit_id}/v{v}"] = _record(g, r.transcription)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("dump", "check"):
        print(__doc__)
        return 2
    mode, path = argv[0], Path(argv[1])
    got = collect()
    if mode == "dump":
        path.write_text(json.dumps(got, sort_keys=True))
        print(f"{len(got)} records written to {path}")
        return 0
    want = json.loads(path.read_text())
    got = json.loads(json.dumps(got))  # the same types as the file (tuples to lists)
    diff = [k for k in want if want[k] != got.get(k)] + [k for k in got if k not in want]
    if not diff:
        print(f"identical: {len(want)} records")
        return 0
    print(f"{len(diff)} of {len(want)} records differ")
    for k in diff[:10]:
        a, b = want.get(k, {}), got.get(k, {})
        fields = sorted(f for f in set(a) | set(b) if a.get(f) != b.get(f))
        print(f"  {k}: {fields}")
        for f in fields[:3]:
            print(f"    before {a.get(f)}\n    after  {b.get(f)}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
