"""The loop a user of hwocr is promised, measured: import -> segment -> harvest the dev
names of one half, fine-tune from the active model, and read the names of the other half
(never imported) with the base model and with the new version; then segments the
held-out names with each (the auto-labelled share, model vetting included).

    .venv/bin/python bench/loop_bench.py [--names DIR] [--epochs N] [--json OUT]

The halves are the fixed dev split (:mod:`hwocr.devsplit`): the workspace gets the
``tune`` half, the reading is scored on ``held_out``. Every stage is the real command
(``python -m hwocr …``) in its own process, as a user runs it; training is
``train --from-active --epochs N --activate-if-better``, so the bench also shows whether
the job activated its version by itself and why not. Reading is ``Recognizer.read``
(letters, no lexicon, clean=True as segment cleans names) over the held-out names, scored
as bench/read_bench.py scores: characters (1 - CER) and exact names.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devnames import add_dev_args, read_names  # noqa: E402
from read_bench import score  # noqa: E402  (bench/ is this script's folder)

from hwocr.devsplit import HELD_OUT, TUNE, half_of  # noqa: E402
from hwocr.errors import HwocrError  # noqa: E402
from hwocr.recognize import Recognizer  # noqa: E402
from hwocr.text import capitals_of, letters_of, normalize_transcription  # noqa: E402


def run(args: list[str], ws: Path) -> tuple[dict, float]:
    """One CLI command with --json; its document and its wall time."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "hwocr", *args, "-w", str(ws), "--json", "-q"], cwd=REPO,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(args)} failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout), wall


def read_all(rec: Recognizer, rows: list[tuple[Path, str]]) -> dict:
    """Read every name and score it as bench/read_bench.py does."""
    pairs = []
    for path, truth in rows:
        try:
            got = capitals_of(rec.read(path, charset="letters", clean=True).raw_text)
        except HwocrError:
            got = ""
        pairs.append((truth, got))
    return score(pairs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dev_args(ap, model=False)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    df = read_names(args.names)
    halves = df["unit_id"].map(half_of)
    held = []
    for r in df[halves == HELD_OUT].itertuples():
        norm, _ = normalize_transcription(r.transcription)
        if norm:
            held.append((args.names / r.image_url, letters_of(norm)))

    with tempfile.TemporaryDirectory(prefix="hwocr-loop-") as tmp:
        ws, csv_path = Path(tmp) / "ws", Path(tmp) / "tune.csv"
        df[halves == TUNE].to_csv(csv_path, index=False)
        stages = {}
        stages["import"] = run(["import", str(csv_path), "--images-root", str(args.names)], ws)
        stages["segment"] = run(["segment"], ws)
        stages["harvest"] = run(["harvest"], ws)
        stages["train"] = run(["train", "--from-active", "--epochs", str(args.epochs), "--activate-if-better"], ws)
        trained = stages["train"][0]
        base = read_all(Recognizer.load(REPO / "models" / "base"), held)
        new = read_all(Recognizer.load(ws / "models" / trained["version"]), held)
        # Auto-labelling the held-out names: in a fresh workspace with the base model, and
        # in this one with the new version active (as a user would make it on the Models
        # page when the job left it inactive).
        held_csv, base_ws = Path(tmp) / "held_out.csv", Path(tmp) / "base_ws"
        df[halves == HELD_OUT].to_csv(held_csv, index=False)
        run(["import", str(held_csv), "--images-root", str(args.names)], base_ws)
        auto_base = run(["segment"], base_ws)[0]["this_run"]
        if not trained.get("activated"):
            run(["models", "--activate", trained["version"]], ws)
        run(["import", str(held_csv), "--images-root", str(args.names)], ws)
        auto_new = run(["segment"], ws)[0]["this_run"]

    result = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        "workspace_names": int((halves == TUNE).sum()),
        "stages_s": {k: round(w, 1) for k, (_, w) in stages.items()},
        "segment": stages["segment"][0],
        "train": {k: trained.get(k) for k in ("version", "val_accuracy", "active_val_accuracy", "activated",
                                              "not_activated_because", "warnings", "names_check", "train_count",
                                              "rehearsal_count", "samples_per_s")},
        "held_out_read": {"base": base, "fine_tuned": new},
        "held_out_segment": {"base": auto_base, "fine_tuned": auto_new},
    }
    print(f"workspace: the {result['workspace_names']} tune-half names; "
          + ", ".join(f"{k} {v} s" for k, v in result["stages_s"].items()))
    t = result["train"]
    print(f"train: {t['version']} val {t['val_accuracy']:.3f} vs active {t['active_val_accuracy']:.3f}; "
          f"activated {t['activated']}"
          + (f" (not because: {'; '.join(t['not_activated_because'])})" if t["not_activated_because"] else "")
          + (f"; warnings: {'; '.join(t['warnings'])}" if t["warnings"] else ""))
    print(f"{'held-out names read by':28} {'names':>6} {'characters':>11} {'exact names':>12}")
    for name, s in (("base model", base), (f"fine-tuned {t['version']}", new)):
        print(f"{name:28} {s['names']:6} {s['char_accuracy'] * 100:10.1f}% {s['exact_names'] * 100:11.1f}%")
    print(f"gain: {100 * (new['char_accuracy'] - base['char_accuracy']):+.1f} points of characters, "
          f"{100 * (new['exact_names'] - base['exact_names']):+.1f} points of exact names")
    print(f"{'held-out names segmented by':28} {'names':>6} {'auto-labelled':>14} {'vetted':>7}")
    for name, seg in (("base model", auto_base), (f"fine-tuned {t['version']}", auto_new)):
        share = seg["auto_labelled"] / max(1, seg["processed"])
        print(f"{name:28} {seg['processed']:6} {seg['auto_labelled']:7} ({share:.1%}) {seg['vetted']:7}")
    print(result["machine"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
