"""Bad input: how often a scan of the printed label alone, or a 14-px strip cut through
the letters, reads as nothing (with a reason) instead of a wrong name, per half of the
dev split.

A crop that is read is counted as read right when its letters are within one edit of
the name's transcription (a strip cut from a low band keeps most of each letter and can
still be read), else as read wrong: the wrong name the reason is there to prevent.

The crops are made from every dev name as `tests/test_formdetect.py` makes them (the
label found by the cleaning and cut a few pixels past its colon, on the 388-px-wide
forms; a 14 px strip across the middle of the letters).

    .venv/bin/python bench/bad_input_bench.py [--names ../shared/data/names]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devnames import add_dev_args, read_names  # noqa: E402

from hwocr.devsplit import HALVES, half_of  # noqa: E402
from hwocr.images import load_gray  # noqa: E402
from hwocr.recognize import Recognizer  # noqa: E402
from hwocr.text import edit_distance, letters_of  # noqa: E402
from tests.test_formdetect import _label_only, _sliced  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dev_args(ap)
    args = ap.parse_args(argv)
    rows = read_names(args.names)
    rec = Recognizer.load(args.model)
    counts = {(kind, half): [0, 0, 0] for kind in ("label", "strip") for half in HALVES}
    for row in rows.itertuples():
        gray = load_gray(args.names / row.image_url)
        crops = {"label": _label_only(gray) if gray.shape[1] == 388 else None, "strip": _sliced(gray)}
        for kind, crop in crops.items():
            if crop is None:
                continue
            tally = counts[(kind, half_of(row.unit_id))]
            reading = rec.read(crop)
            if reading.reason is not None:
                tally[0] += 1
            elif edit_distance(letters_of(reading.text), letters_of(str(row.transcription))) <= 1:
                tally[1] += 1
            tally[2] += 1
    print(f"{'crop':6} {'half':9} {'read as nothing':>16} {'read right':>17} {'read wrong':>17}")
    for (kind, half), (nothing, right, total) in counts.items():
        wrong = total - nothing - right
        print(f"{kind:6} {half:9} {nothing:6} / {total:<4} {100 * nothing / max(total, 1):5.1f}%"
              + "".join(f" {n:6} {100 * n / max(total, 1):9.1f}%" for n in (right, wrong)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
