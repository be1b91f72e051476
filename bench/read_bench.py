"""Reading benchmark: hwocr's reader (cut + classifier-guided lattice) against the
classic 2020 tutorial's contour pipeline, same model, same real names, same run.

    .venv/bin/python bench/read_bench.py [--names DIR] [--model DIR] [--limit N] [--json OUT]
                                         [--clean auto|on|off] [--no-detector-check] [--lm on|off]

On every name of ``names.csv``, reported over all names and over each half of the fixed
dev split (``hwocr.devsplit``: thresholds are tuned on ``tune``, ``held_out`` is the figure
to report) (letters charset, comparing letters only: spaces,
hyphens and apostrophes of the transcription are not drawn characters):

* **hwocr**: ``Recognizer.read(image, clean=None)``: the form detector
  (:mod:`hwocr.formdetect`) decides whether the image is a name cut from a form, and if
  so the printed label and form lines are removed as import does, then read; without a
  lexicon (``raw_text``) and with one. ``--clean on`` cleans every name (the figures
  before issue 14), ``--clean off`` none;
* **the detector** (with ``--clean auto``, unless ``--no-detector-check``): every name is
  also read cleaned and not cleaned (no lexicon); cleaning *helps* a name when the
  cleaned reading has fewer edit errors, *hurts* when more. Reported: names called forms,
  names cleaning helps, those of them called forms (recall), and the names called forms
  where cleaning hurts;
* **classic**: gray -> Gaussian blur -> Canny -> external contours sorted left to right
  -> boxes 5-150 px wide and 15-120 px high -> each crop Otsu-thresholded, padded and
  classified by the same model (``Recognizer.classify``, one batch per name).

``--lm on`` (the default) weighs the names language model (:mod:`hwocr.namelm`) into
every reading: the shipped model plus the transcriptions of the *tune* half, as a
workspace that imported them would have; the held-out names' transcriptions are never
in it, so ``held_out`` is the figure to report (``tune`` and ``all`` are optimistic).
``--lm off`` reads with the classifier and the lattice alone.

Character accuracy is 1 - CER (edit distance over the transcription's letters, summed
over all names); exact-name accuracy counts names read letter for letter. The lexicon
is every transcription of the set: a *closed* lexicon that always holds the right
answer, so its figures are an optimistic upper bound for a real list of names.

Latency: reading one 10-letter canvas-like drawing (600x150 px, thick anti-aliased
Hershey strokes, like the Recognize page's canvas), server side, median of the
repetitions after a warm-up, over several words.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devnames import add_dev_args, read_names  # noqa: E402

from hwocr import namelm  # noqa: E402
from hwocr.config import DEFAULTS  # noqa: E402
from hwocr.devsplit import HALVES, TUNE, half_of  # noqa: E402
from hwocr.errors import HwocrError  # noqa: E402
from hwocr.read import Lexicon  # noqa: E402
from hwocr.recognize import Recognizer  # noqa: E402
from hwocr.text import capitals_of, edit_distance, letters_of, normalize_transcription  # noqa: E402

LATENCY_WORDS = ("CHARACTERS", "WORLDMAPXY", "QUICKBROWN", "JUMPEDOVER", "LAZYFOXHIM")


#: Kept under its old name: bench/tune_name_lm.py imports it from here.
only_letters = capitals_of


def load_names(names_dir: Path, limit: int | None) -> list[tuple[str, Path, str]]:
    df = read_names(names_dir)
    rows = []
    for r in df.itertuples():
        norm, _ = normalize_transcription(r.transcription)
        if norm:
            rows.append((r.unit_id, names_dir / r.image_url, letters_of(norm)))
    return rows[:limit] if limit else rows


def classic_read(rec: Recognizer, path: Path) -> str:
    """The 2020 tutorial's pipeline, unimproved, with hwocr's model as the classifier."""
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        return ""
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    edged = cv2.Canny(blurred, 30, 150)
    contours, _ = cv2.findContours(edged.copy(), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = sorted((cv2.boundingRect(c) for c in contours), key=lambda b: b[0])
    crops = []
    for x, y, w, h in boxes:
        if not (5 <= w <= 150 and 15 <= h <= 120):
            continue
        roi = gray[y : y + h, x : x + w]
        thresh = cv2.threshold(roi, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
        th, tw = thresh.shape
        if tw > th:
            thresh = cv2.resize(thresh, (32, max(1, round(th * 32 / tw))))
        else:
            thresh = cv2.resize(thresh, (max(1, round(tw * 32 / th)), 32))
        th, tw = thresh.shape
        dx, dy = max(0, 32 - tw) // 2, max(0, 32 - th) // 2
        padded = cv2.copyMakeBorder(thresh, dy, 32 - th - dy, dx, 32 - tw - dx, cv2.BORDER_CONSTANT, value=0)
        if padded.any():
            crops.append(padded)  # white ink on black: classify takes either polarity
    if not crops:
        return ""
    try:
        return "".join(p.label for p in rec.classify(crops, charset="letters"))
    except HwocrError:
        return ""


def canvas_word(text: str, width: int = 600, height: int = 150, thickness: int = 9) -> np.ndarray:
    """A word as the canvas would give it: thick anti-aliased strokes, black on white."""
    img = np.full((height, width), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, thickness)
    scale = min((width - 40) / tw, (height - 40) / th)
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    org = ((width - tw) // 2, (height + th) // 2)
    cv2.putText(img, text, org, font, scale, 0, thickness, cv2.LINE_AA)
    return img


def latency(rec: Recognizer, repeats: int, lm=True) -> dict:
    """Wall time, and this process's CPU time (which other jobs on a busy machine
    inflate far less), of reading each word, after a warm-up."""
    per_word, cpu, texts = [], [], {}
    for word in LATENCY_WORDS:
        img = canvas_word(word)
        for _ in range(3):  # warm-up: first batches of a new size allocate
            texts[word] = rec.read(img, lm=lm).text
        times = []
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            rec.read(img, lm=lm)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        per_word.append(times)
    all_times = np.array(per_word) * 1000.0
    return {
        "median_ms": round(float(np.median(all_times)), 2),
        "cpu_median_ms": round(float(np.median(cpu)) * 1000.0, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "p90_ms": round(float(np.percentile(all_times, 90)), 2),
        "per_word_median_ms": {w: round(float(np.median(t)), 2) for w, t in zip(LATENCY_WORDS, all_times)},
        "read_as": texts,
        "correct_words": sum(texts[w] == w for w in LATENCY_WORDS),
    }


def by_half(unit_ids: list[str], pairs: list[tuple[str, str]]) -> dict:
    """``score`` over all names and over each half of the fixed dev split (hwocr.devsplit):
    thresholds are tuned on ``tune``; ``held_out`` is the figure to report."""
    out = {"all": score(pairs)}
    for half in HALVES:
        out[half] = score([p for u, p in zip(unit_ids, pairs) if half_of(u) == half])
    return out


def score(pairs: list[tuple[str, str]]) -> dict:
    errors = sum(edit_distance(truth, got) for truth, got in pairs)
    chars = sum(len(truth) for truth, _ in pairs)
    exact = sum(truth == got for truth, got in pairs)
    return {"char_accuracy": round(1.0 - errors / max(chars, 1), 4),
            "exact_names": round(exact / max(len(pairs), 1), 4),
            "names": len(pairs), "letters": chars, "edit_errors": errors}


CLEAN_MODES = {"auto": None, "on": True, "off": False}


def cleaning_effect(rec: Recognizer, path: Path, truth: str) -> int:
    """Edit errors not cleaned minus cleaned (positive: cleaning helps this name)."""
    errors = []
    for clean in (True, False):
        try:
            got = only_letters(rec.read(path, charset="letters", clean=clean).raw_text)
        except HwocrError:
            got = ""
        errors.append(edit_distance(truth, got))
    return errors[1] - errors[0]


def detector_score(called: list[bool], effect: list[int]) -> dict:
    helps = [e > 0 for e in effect]
    hurts = [e < 0 for e in effect]
    helps_called = sum(c and h for c, h in zip(called, helps))
    return {"names": len(called), "called_form": sum(called), "cleaning_helps": sum(helps),
            "cleaning_hurts": sum(hurts), "helps_called": helps_called,
            "helps_missed": sum(h and not c for c, h in zip(called, helps)),
            "hurts_called": sum(c and h for c, h in zip(called, hurts)),
            "recall": round(helps_called / max(sum(helps), 1), 4),
            "precision_not_hurting": round(1 - sum(c and h for c, h in zip(called, hurts)) / max(sum(called), 1), 4)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_dev_args(ap)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=20, help="latency repetitions per word")
    ap.add_argument("--no-classic", action="store_true")
    ap.add_argument("--lm", choices=("on", "off"), default="on",
                    help="the names language model: shipped + the tune half's transcriptions (default on)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--clean", choices=sorted(CLEAN_MODES), default="auto",
                    help="clean names as forms: auto (the detector decides, the default), on, off")
    ap.add_argument("--no-detector-check", action="store_true",
                    help="with --clean auto, skip reading every name cleaned and not (the detector's accuracy)")
    args = ap.parse_args(argv)
    clean = CLEAN_MODES[args.clean]

    rows = load_names(args.names, args.limit)
    unit_ids = [u for u, _, _ in rows]
    rec = Recognizer.load(args.model)
    lexicon = Lexicon.from_entries(t for _, _, t in rows)
    lm = False
    if args.lm == "on":
        # As a workspace that imported the tune half: never a held-out transcription.
        tune_names = [t for u, _, t in rows if half_of(u) == TUNE]
        lm = namelm.shipped().with_names(tune_names, DEFAULTS.read_lm_workspace_weight,
                                         source=f"{len(tune_names)} tune-half transcriptions")
    raw_pairs, lex_pairs, classic_pairs, failures, called = [], [], [], 0, []
    t0 = time.perf_counter()
    for _unit_id, path, truth in rows:
        try:
            reading = rec.read(path, charset="letters", lexicon=lexicon, clean=clean, lm=lm)
            raw, snapped = only_letters(reading.raw_text), only_letters(reading.text)
            failures += reading.reason is not None
            called.append(reading.cleaned)
        except HwocrError:
            failures += 1
            raw = snapped = ""
            called.append(False)
        raw_pairs.append((truth, raw))
        lex_pairs.append((truth, snapped))
    read_s = time.perf_counter() - t0
    detector = None
    if clean is None and not args.no_detector_check:
        effect = [cleaning_effect(rec, path, truth) for _, path, truth in rows]
        detector = {"all": detector_score(called, effect)}
        for half in HALVES:
            keep = [half_of(u) == half for u in unit_ids]
            detector[half] = detector_score([c for c, k in zip(called, keep) if k],
                                            [e for e, k in zip(effect, keep) if k])
    t0 = time.perf_counter()
    if not args.no_classic:
        classic_pairs = [(truth, classic_read(rec, path)) for _, path, truth in rows]
    classic_s = time.perf_counter() - t0
    lat = latency(rec, args.repeats, lm=lm)

    result = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        "model": str(args.model),
        "hwocr": score(raw_pairs),
        "hwocr_lexicon": score(lex_pairs),
        "classic": score(classic_pairs) if classic_pairs else None,
        "halves": {"hwocr": by_half(unit_ids, raw_pairs), "hwocr_lexicon": by_half(unit_ids, lex_pairs),
                   **({"classic": by_half(unit_ids, classic_pairs)} if classic_pairs else {})},
        "clean": args.clean,
        "detector": detector,
        "unreadable_images": failures,
        "ms_per_name": {"hwocr_with_lexicon": round(1000 * read_s / max(len(rows), 1), 1),
                        "classic": round(1000 * classic_s / max(len(rows), 1), 1) if classic_pairs else None},
        "latency_10_chars": lat,
        "lexicon_entries": len(lexicon),
        "names_lm": lm.source if lm else "off",
        "names_lm_weight": DEFAULTS.read_lm_weight if lm else None,
    }
    print(f"{len(rows)} names, {result['hwocr']['letters']} letters, "
          f"lexicon of {len(lexicon)} entries (closed: optimistic); --clean {args.clean}")
    print(f"names language model: {result['names_lm']}"
          + (f" (weight {DEFAULTS.read_lm_weight})" if lm else ""))
    print(f"{'method':32} {'half':>9} {'names':>6} {'characters':>10} {'exact names':>12}")
    table = [("hwocr read, no lexicon", "hwocr"), ("hwocr read, closed lexicon", "hwocr_lexicon")]
    if classic_pairs:
        table.append(("classic contours + same model", "classic"))
    for name, key in table:
        for half, s in result["halves"][key].items():
            print(f"{name:32} {half:>9} {s['names']:6} {s['char_accuracy'] * 100:9.1f}% "
                  f"{s['exact_names'] * 100:11.1f}%")
    if detector is not None:
        for half, d in detector.items():
            print(f"detector {half:>9}: {d['called_form']}/{d['names']} called forms; cleaning helps "
                  f"{d['cleaning_helps']}, of them called forms {d['helps_called']} (recall "
                  f"{d['recall'] * 100:.1f}%); called forms where cleaning hurts {d['hurts_called']}, "
                  f"not called where it helps {d['helps_missed']}")
    print(f"time per name: hwocr {result['ms_per_name']['hwocr_with_lexicon']} ms (with lexicon), "
          f"classic {result['ms_per_name']['classic']} ms")
    print(f"latency, 10-letter canvas drawing: median {lat['median_ms']} ms, p90 {lat['p90_ms']} ms, "
          f"CPU median {lat['cpu_median_ms']} ms ({lat['correct_words']}/{len(LATENCY_WORDS)} words read right; "
          f"load average {lat['load_average'][0]})")
    print(result["machine"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
