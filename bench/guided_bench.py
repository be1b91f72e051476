"""Classifier-guided repair at segmentation: what it adds to the auto-labelled share, what
it costs, and whether its boxes are right.

    .venv/bin/python bench/guided_bench.py [--names DIR] [--model DIR] [--out bench/out] [--limit N]

On every name of ``names.csv``: the geometric pipeline (clean, segment, align) as
``segment`` runs it, then, for the names it leaves to review or repairs too unsurely to
harvest, :func:`hwocr.align.guided_repair` (the switch is ``DEFAULTS.guided_repair``).

* **share**: auto-labelled names (matched, plus repaired with confidence >=
  ``harvest_min_confidence``) without and with guidance;
* **accuracy of forced alignment** where the answer is known: on names the geometric
  aligner matched with confidence >= 0.9 (one piece per letter, every width plausible:
  the contact sheets find about 1 wrong crop in 200 there), the transcription is forced
  onto the image as for a guided repair, and each letter's box is compared with the
  geometric one (same letter when they overlap for at least half of the wider box);
* **eyeball check** of the names guidance actually repaired: ``guided_names.png`` shows
  each with its boxes and letters, ``guided_crops.png`` every harvested crop of them
  with its label (count wrong letters by eye), ``guided_names.csv`` which is which.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devnames import add_dev_args, read_names  # noqa: E402

from hwocr.align import analyze_name, guided_repair, needs_guidance  # noqa: E402
from hwocr.align_guided import align_guided  # noqa: E402
from hwocr.config import DEFAULTS  # noqa: E402
from hwocr.errors import HwocrError  # noqa: E402
from hwocr.recognize import Recognizer  # noqa: E402


def auto_labelled(status: str, confidence: float) -> bool:
    return status == "matched" or (status == "repaired" and confidence >= DEFAULTS.harvest_min_confidence)


def same_letter(a, b) -> bool:
    overlap = min(a.x1, b.x1) - max(a.x0, b.x0)
    return overlap >= 0.5 * max(a.width, b.width)


def name_tile(gray: np.ndarray, boxes, letters: str, caption: str, width: int = 420) -> np.ndarray:
    img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    for b, ch in zip(boxes, letters):
        cv2.rectangle(img, (b.x0, b.y0), (b.x1 - 1, b.y1 - 1), (0, 0, 255), 1)
        cv2.putText(img, ch, (b.x0, max(10, b.y0 - 2)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 128, 0), 1)
    scale = width / img.shape[1]
    img = cv2.resize(img, (width, max(1, round(img.shape[0] * scale))))
    bar = np.full((16, width, 3), 255, np.uint8)
    cv2.putText(bar, caption[:70], (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    return np.vstack([bar, img])


def crop_cells(gray: np.ndarray, boxes, letters: str, size: int = 48) -> list[np.ndarray]:
    cells = []
    for b, ch in zip(boxes, letters):
        crop = gray[b.y0 : b.y1, b.x0 : b.x1]
        f = (size - 14) / max(crop.shape)
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))))
        cell = np.full((size, size), 255, np.uint8)
        cell[12 : 12 + crop.shape[0], 2 : 2 + crop.shape[1]] = crop
        cv2.putText(cell, ch, (size - 12, 10), cv2.FONT_HERSHEY_SIMPLEX, 0.35, 0, 1)
        cv2.rectangle(cell, (0, 0), (size - 1, size - 1), 160, 1)
        cells.append(cell)
    return cells


def grid(cells: list[np.ndarray], columns: int) -> np.ndarray:
    if not cells:
        return np.full((10, 10), 255, np.uint8)
    h = max(c.shape[0] for c in cells)
    w = max(c.shape[1] for c in cells)
    rows = (len(cells) + columns - 1) // columns
    sheet = np.full((rows * h, columns * w, *cells[0].shape[2:]), 255, np.uint8)
    for i, c in enumerate(cells):
        r, k = divmod(i, columns)
        sheet[r * h : r * h + c.shape[0], k * w : k * w + c.shape[1]] = c
    return sheet


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dev_args(ap)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--reference", type=int, default=300, help="matched names to check forced alignment on")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)  # as in the segmentation workers

    df = read_names(args.names)
    rows = [(r.unit_id, args.names / r.image_url, r.transcription) for r in df.itertuples()]
    rows = rows[: args.limit] if args.limit else rows
    t0 = time.perf_counter()
    rec = Recognizer.load(args.model)
    load_s = time.perf_counter() - t0

    before = after = names = guided_tried = 0
    repaired: list[tuple] = []
    reference: list = []
    guided_s = geometric_s = 0.0
    for unit_id, path, transcription in rows:
        t = time.perf_counter()
        try:
            analysis = analyze_name(path, transcription)
        except HwocrError:
            continue
        geometric_s += time.perf_counter() - t
        al = analysis.alignment
        names += 1
        before += auto_labelled(al.status, al.confidence)
        final = al
        if needs_guidance(al):
            guided_tried += 1
            t = time.perf_counter()
            final = guided_repair(rec, analysis.cleaned, al) or al
            guided_s += time.perf_counter() - t
            if final is not al:
                repaired.append((unit_id, analysis, al, final))
        elif al.status == "matched" and al.confidence >= 0.9:
            reference.append((unit_id, analysis))
        after += auto_labelled(final.status, final.confidence)

    # Forced alignment where the geometric answer is (almost surely) right.
    random.Random(0).shuffle(reference)
    checked = agreed = accepted = accepted_agreed = 0
    for _unit_id, analysis in reference[: args.reference]:
        al = analysis.alignment
        g = align_guided(rec, analysis.cleaned, al.letters)
        if g is None:
            continue
        ok = all(same_letter(a, b) for a, b in zip(al.boxes, g.boxes))
        checked += 1
        agreed += ok
        if min(g.probabilities) >= DEFAULTS.guided_min_probability and g.gap <= DEFAULTS.guided_max_gap:
            accepted += 1
            accepted_agreed += ok

    args.out.mkdir(parents=True, exist_ok=True)
    tiles, cells, sheet_rows = [], [], []
    for unit_id, analysis, al, final in repaired:
        gray = analysis.cleaned.gray
        harvested = auto_labelled(final.status, final.confidence)
        caption = f"{unit_id} {final.letters} conf {final.confidence:.2f} (was {al.status} {al.confidence:.2f})"
        tiles.append(name_tile(gray, final.boxes, final.letters, caption))
        if harvested:
            for k, ch in enumerate(final.letters):
                sheet_rows.append((len(cells) + k, unit_id, k + 1, ch))
            cells.extend(crop_cells(gray, final.boxes, final.letters))
    if tiles:
        width = max(t.shape[1] for t in tiles)
        cv2.imwrite(str(args.out / "guided_names.png"), np.vstack(
            [np.pad(t, ((0, 4), (0, width - t.shape[1]), (0, 0)), constant_values=255) for t in tiles]))
    cv2.imwrite(str(args.out / "guided_crops.png"), grid(cells, 20))
    with open(args.out / "guided_names.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["cell", "unit_id", "letter_no", "label"])
        w.writerows(sheet_rows)

    result = {
        "names": names,
        "auto_labelled_before": before,
        "auto_labelled_after": after,
        "share_before": round(before / max(names, 1), 4),
        "share_after": round(after / max(names, 1), 4),
        "guidance_tried": guided_tried,
        "guided_repaired": len(repaired),
        "guided_harvested": sum(auto_labelled(f.status, f.confidence) for *_, f in repaired),
        "guided_harvested_crops": len(cells),
        "reference_checked": checked,
        "reference_agreed": agreed,
        "reference_accepted": accepted,
        "reference_accepted_agreed": accepted_agreed,
        "ms_per_geometric_name": round(1000 * geometric_s / max(names, 1), 2),
        "ms_per_guided_name": round(1000 * guided_s / max(guided_tried, 1), 1),
        "model_load_s": round(load_s, 2),
    }
    print(f"{names} names: auto-labelled {before} ({result['share_before']:.1%}) without guidance, "
          f"{after} ({result['share_after']:.1%}) with it")
    print(f"guidance tried on {guided_tried} names ({result['ms_per_guided_name']} ms each; geometric "
          f"{result['ms_per_geometric_name']} ms per name; model load {result['model_load_s']} s per process): "
          f"{len(repaired)} repaired, {result['guided_harvested']} harvestable ({len(cells)} crops)")
    print(f"forced alignment on {checked} confidently matched names: {agreed} agree letter for letter with the "
          f"geometric boxes; of the {accepted} that pass the acceptance test, {accepted_agreed} agree")
    print(f"sheets: {args.out / 'guided_names.png'}, {args.out / 'guided_crops.png'} (+ guided_names.csv)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
