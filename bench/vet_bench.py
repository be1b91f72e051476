"""Model-vetted harvest (issue 14): calibrate the dispute thresholds on the dev names'
tune half, and look at what vetting changes on the held_out half.

    W=/tmp/vet_ws; .venv/bin/python -m hwocr import -w $W ../shared/data/names/names.csv \\
        --images-root ../shared/data/names
    .venv/bin/python -m hwocr segment -w $W --no-vet && .venv/bin/python -m hwocr harvest -w $W
    .venv/bin/python bench/vet_bench.py calibrate -w $W --half tune        # candidates sheet + grid
    .venv/bin/python bench/vet_bench.py calibrate -w $W --half tune --truth wrong.txt
    .venv/bin/python bench/vet_bench.py sheet -w $W --half held_out --tag before
    (segment --redo with vetting on, harvest, then)
    .venv/bin/python bench/vet_bench.py sheet -w $W --half held_out --tag after
    .venv/bin/python bench/vet_bench.py vetted -w $W --half held_out

* ``calibrate`` reads every crop of every auto-accepted name of the half (a workspace
  segmented with ``--no-vet``), writes ``candidates_<half>.png`` (each crop the model
  reads as another letter with the label below 0.5, numbered, label > reading and both
  probabilities) and ``candidates_<half>.csv``, and prints, for a grid of thresholds,
  how many names vetting would send to review; with ``--truth`` (the numbers of the
  candidates that truly hold a wrong letter, found by eye on the sheet) also how many of
  those it catches and its precision.
* ``sheet`` draws ``--n`` random harvested crops of the half's names, each with its
  folder label (``contact_<tag>.png``; ``contact_<tag>.csv`` says which crop is which):
  count the wrong letters by eye.
* ``vetted`` draws the names vetting sent to review, the disputed boxes in red
  (``vetted_<half>.png``): count those with a truly wrong crop.

Everything is written under ``bench/out/`` (gitignored: nothing derived from the names
is committed).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hwocr.config import DEFAULTS  # noqa: E402
from hwocr.dataset import harvestable  # noqa: E402
from hwocr.devsplit import half_of  # noqa: E402
from hwocr.images import load_gray  # noqa: E402
from hwocr.recognize import Recognizer  # noqa: E402
from hwocr.versions import active_model_dir  # noqa: E402
from hwocr.vet import disputes, name_glyphs, parse_vet, vet_batch  # noqa: E402
from hwocr.workspace import Workspace  # noqa: E402

TILE = 64
GRID_T = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
GRID_U = (0.5, 0.6, 0.7, 0.8, 0.9)


def tile(gray: np.ndarray, caption: str, colour=(0, 0, 0), size: int = TILE) -> np.ndarray:
    h, w = gray.shape[:2]
    scale = min((size - 4) / max(w, 1), (size - 4) / max(h, 1), 3.0)
    small = cv2.resize(gray, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    cell = np.full((size + 16, size), 255, np.uint8)
    y, x = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    cell[y : y + small.shape[0], x : x + small.shape[1]] = small
    cell = cv2.cvtColor(cell, cv2.COLOR_GRAY2BGR)
    cv2.putText(cell, caption, (2, size + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.36, colour, 1, cv2.LINE_AA)
    cv2.rectangle(cell, (0, 0), (size - 1, size + 15), (200, 200, 200), 1)
    return cell


def sheet(tiles: list[np.ndarray], columns: int = 20) -> np.ndarray:
    if not tiles:
        return np.full((40, 200, 3), 255, np.uint8)
    h, w = tiles[0].shape[:2]
    rows = (len(tiles) + columns - 1) // columns
    out = np.full((rows * h, columns * w, 3), 255, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * h : (r + 1) * h, c * w : (c + 1) * w] = t
    return out


def auto_names(ws: Workspace, half: str):
    return [r for r in ws.names_with_status(("matched", "repaired"))
            if half_of(r.unit_id) == half and harvestable(r, DEFAULTS.harvest_min_confidence)]


def cmd_calibrate(args) -> None:
    ws = Workspace(Path(args.workspace))
    rec = Recognizer.load(active_model_dir(ws))
    names = auto_names(ws, args.half)
    crops = []  # (unit_id, idx, label, read, p_read, p_label, gray crop)
    from hwocr.dataset import crop_gray

    batch = []
    for r in names:
        gray = load_gray(ws.resolve(r.image_path))
        boxes = [b.box for b in r.boxes]
        letters = "".join(b.label for b in r.boxes)
        batch.append((r, gray, name_glyphs(gray, boxes, letters), boxes, letters))
    verdicts = vet_batch(rec, [(g, b, letters) for _, _, g, b, letters in batch], max_label=0.0, min_other=1.1)
    per_name = []
    for (r, gray, _, boxes, _), verdict in zip(batch, verdicts):
        if verdict is None:
            continue
        per_name.append((r.unit_id, verdict.readings))
        for i, reading in enumerate(verdict.readings):
            if reading.read != reading.label and reading.p_label < 0.5:
                crops.append((r.unit_id, i, reading, crop_gray(gray, boxes[i])))
    crops.sort(key=lambda c: c[2].p_label)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tiles = [tile(c[3], f"{n}:{c[2].label}>{c[2].read} {c[2].p_label:.2f}/{c[2].p_read:.2f}")
             for n, c in enumerate(crops)]
    cv2.imwrite(str(out / f"candidates_{args.half}.png"), sheet(tiles, 12))
    with open(out / f"candidates_{args.half}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["n", "unit_id", "idx", "label", "read", "p_read", "p_label"])
        for n, (unit_id, i, reading, _) in enumerate(crops):
            w.writerow([n, unit_id, i, reading.label, reading.read, f"{reading.p_read:.4f}", f"{reading.p_label:.4f}"])
    truth = set()
    if args.truth:
        truth = {(crops[int(x)][0], crops[int(x)][1]) for x in Path(args.truth).read_text().split()}
    print(f"{args.half}: {len(per_name)} auto-accepted names, {sum(len(r) for _, r in per_name)} crops, "
          f"{len(crops)} candidates (reads another letter, label < 0.5)")
    print("t(label<)  u(other>=)  names_flagged  share_lost  crops_flagged"
          + ("  true_caught  precision" if truth else ""))
    for t in GRID_T:
        for u in GRID_U:
            flagged = [(uid, i) for uid, readings in per_name for i, x in enumerate(readings)
                       if disputes(x.p_label, x.p_read, x.read, x.label, t, u)]
            names_flagged = len({uid for uid, _ in flagged})
            line = (f"{t:9.2f}  {u:10.2f}  {names_flagged:13d}  {names_flagged / max(1, len(per_name)):10.3%}  "
                    f"{len(flagged):13d}")
            if truth:
                caught = len(truth & set(flagged))
                line += f"  {caught:4d}/{len(truth):<6d}  {caught / max(1, len(flagged)):9.2f}"
            print(line)


def cmd_sheet(args) -> None:
    ws = Workspace(Path(args.workspace))
    rows = ws.query("SELECT c.path, c.label, n.unit_id, c.idx FROM chars c JOIN names n ON n.id = c.name_id "
                    "ORDER BY n.unit_id, c.idx")
    rows = [r for r in rows if half_of(r["unit_id"]) == args.half]
    pick = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tiles = [tile(load_gray(ws.resolve(r["path"])), f"{n}:{r['label']}") for n, r in enumerate(pick)]
    cv2.imwrite(str(out / f"contact_{args.tag}.png"), sheet(tiles))
    with open(out / f"contact_{args.tag}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["n", "unit_id", "idx", "label", "path"])
        for n, r in enumerate(pick):
            w.writerow([n, r["unit_id"], r["idx"], r["label"], r["path"]])
    names = ws.query("SELECT unit_id, status, confidence FROM names WHERE status NOT IN ('skipped', 'pending')")
    names = [r for r in names if half_of(r["unit_id"]) == args.half and r["status"] != "fetch_failed"]
    auto = sum(r["status"] == "matched" or (r["status"] == "repaired"
               and r["confidence"] >= DEFAULTS.harvest_min_confidence) for r in names)
    print(f"{args.half}: {len(rows)} harvested crops, {len(pick)} on contact_{args.tag}.png; "
          f"{auto}/{len(names)} names auto-labelled ({auto / max(1, len(names)):.1%})")


def cmd_vetted(args) -> None:
    ws = Workspace(Path(args.workspace))
    records = [r for r in ws.names_with_status(("needs_review",)) if r.vet and half_of(r.unit_id) == args.half]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tiles = []
    for n, r in enumerate(records):
        reason, readings = parse_vet(r.vet)
        gray = load_gray(ws.resolve(r.image_path))
        img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        for x in readings:
            bad = x.read != x.label and disputes(x.p_label, x.p_read, x.read, x.label)
            colour = (0, 0, 255) if bad else (0, 160, 0)
            x0, y0, x1, y1 = x.box
            cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), colour, 1)
            cv2.putText(img, x.label + (f">{x.read}" if bad else ""), (x0, max(10, y0 - 2)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1)
        scale = 420 / img.shape[1]
        img = cv2.resize(img, (420, max(1, int(img.shape[0] * scale))))
        band = np.full((18, 420, 3), 255, np.uint8)
        cv2.putText(band, f"{n}: {r.unit_id} {r.transcription}", (2, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
        tiles.append(np.vstack([band, img]))
        print(f"{n}: {r.unit_id} {r.transcription}: {reason}")
    width = 420
    canvas = [cv2.copyMakeBorder(t, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=(200, 200, 200)) for t in tiles]
    cols = 2
    rows_ = []
    for i in range(0, len(canvas), cols):
        row = canvas[i : i + cols]
        h = max(t.shape[0] for t in row)
        row = [cv2.copyMakeBorder(t, 0, h - t.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=(255, 255, 255))
               for t in row]
        while len(row) < cols:
            row.append(np.full((h, width + 4, 3), 255, np.uint8))
        rows_.append(np.hstack(row))
    cv2.imwrite(str(out / f"vetted_{args.half}.png"), np.vstack(rows_) if rows_ else sheet([]))
    print(f"{args.half}: {len(records)} names sent to review by vetting")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, fn in (("calibrate", cmd_calibrate), ("sheet", cmd_sheet), ("vetted", cmd_vetted)):
        s = sub.add_parser(name)
        s.add_argument("--workspace", "-w", required=True)
        s.add_argument("--half", default="held_out", choices=("tune", "held_out"))
        s.add_argument("--out", default=str(REPO / "bench" / "out"))
        s.set_defaults(func=fn)
        if name == "calibrate":
            s.add_argument("--truth", help="file of candidate numbers that truly hold a wrong letter")
        if name == "sheet":
            s.add_argument("--tag", required=True)
            s.add_argument("--n", type=int, default=200)
            s.add_argument("--seed", type=int, default=14)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
