"""Tune the names language model's weight (``read_lm_weight``) on the TUNE half of the
dev names only, with the shipped model alone (no transcription of the set in it).

    .venv/bin/python bench/tune_name_lm.py [--weights 0,0.25,0.5,1] [--limit N]

Prints characters and exact names (letters only, clean=True, no lexicon) per weight.
``--workspace-weights 1,2,4`` tunes ``read_lm_workspace_weight`` instead, by cross-fitting
inside the tune half: each of its two folds (a second hash of unit_id) is read with the
shipped model plus the other fold's transcriptions, as a workspace that imported them.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from read_bench import load_names, only_letters, score  # noqa: E402

import hwocr.read as read_module  # noqa: E402
from hwocr import namelm  # noqa: E402
from hwocr.devsplit import TUNE, half_of  # noqa: E402
from hwocr.errors import HwocrError  # noqa: E402
from hwocr.recognize import Recognizer  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--names", type=Path, default=REPO.parent / "shared" / "data" / "names")
    ap.add_argument("--model", type=Path, default=REPO / "models" / "base")
    ap.add_argument("--weights", default="0,0.25,0.5,0.75,1.0,1.5")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="another default for the run (e.g. read_lm_beam=16)")
    ap.add_argument("--workspace-weights", default=None)
    ap.add_argument("--lm-file", type=Path, default=None, help="another model file (default: the shipped one)")
    args = ap.parse_args(argv)
    rows = [r for r in load_names(args.names, None) if half_of(r[0]) == TUNE][: args.limit]
    rec = Recognizer.load(args.model)
    lm = namelm.load(args.lm_file) if args.lm_file else namelm.shipped()
    saved = base = read_module.DEFAULTS
    for item in args.set:
        key, value = item.split("=", 1)
        base = dataclasses.replace(base, **{key: type(getattr(base, key))(value)})
    print(f"{len(rows)} tune names; model: {lm.source}; {' '.join(args.set)}")
    if args.workspace_weights:
        return cross_fit(rec, rows, lm, [float(x) for x in args.workspace_weights.split(",")])
    for w in (float(x) for x in args.weights.split(",")):
        # The weight is read from the table of defaults; the bench swaps the table.
        read_module.DEFAULTS = dataclasses.replace(base, read_lm_weight=w)
        pairs, t0 = [], time.perf_counter()
        for _, path, truth in rows:
            try:
                got = only_letters(rec.read(path, charset="letters", clean=True, lm=lm if w > 0 else False).raw_text)
            except HwocrError:
                got = ""
            pairs.append((truth, got))
        s = score(pairs)
        print(f"weight {w:5.2f}: characters {s['char_accuracy'] * 100:5.1f}%  exact names "
              f"{s['exact_names'] * 100:5.1f}%  ({1000 * (time.perf_counter() - t0) / len(rows):.0f} ms/name)",
              flush=True)
    read_module.DEFAULTS = saved
    return 0


def cross_fit(rec, rows, lm, weights) -> int:
    def fold(unit_id: str) -> int:
        return hashlib.sha256(b"hwocr-lm-fold:" + unit_id.encode()).digest()[0] & 1

    for w in weights:
        pairs = []
        for k in (0, 1):
            other = [t for u, _, t in rows if fold(u) != k]
            fold_lm = lm.with_names(other, w, source="other fold")
            for u, path, truth in rows:
                if fold(u) != k:
                    continue
                try:
                    got = only_letters(rec.read(path, charset="letters", clean=True, lm=fold_lm).raw_text)
                except HwocrError:
                    got = ""
                pairs.append((truth, got))
        s = score(pairs)
        print(f"workspace weight {w:5.2f}: characters {s['char_accuracy'] * 100:5.1f}%  exact names "
              f"{s['exact_names'] * 100:5.1f}%", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
