"""Drawn-word benchmark: words composed from the UNIPEN pen-stroke letters of the
*validation writers* (writer-disjoint: the model never saw them), read by hwocr's reader
under charset ``all``, with and without case from geometry.

    .venv/bin/python bench/drawn_words.py [--model DIR] [--words N] [--seed S]
                                          [--save-sheet PNG] [--json OUT]

Words (a fixed list; ``--seed`` picks the letters' samples, sizes and gaps):

* **lower**: lower-case English and French words (``hello``, ``cocoa``, ``paper``…);
* **Capitalised**: ``Cocoa``, ``Paris``, ``Sophie``…;
* **CAPS**: ``COCOA``, ``PARIS``, ``SOS``…;
* **mixed digits**: ``R2D2``, ``AB12``, ``B4``, ``2025``, ``x86``, ``A4``…;

with many c/o/p/s/u/v/w/x/y/z (letters whose capital and small forms share a shape, so
only their height in the line tells the case) in both cases.

Each character is a random validation sample of its label (one writer for the whole
word when a validation writer drew every character needed, else one per alphabet —
capitals, lower case, digits — when one did, else any validation writer), its strokes
scaled to the height its class has in handwriting (:mod:`hwocr.drawn_words`: capitals,
digits and ascenders a cap height of ~60 px on the baseline, x-height letters 0.55 of
it, descenders hanging below, a dotted i 0.75), ±8 % size and ±3 % baseline jitter,
gaps of 0.15–0.3 cap heights between letters (they never touch), a 3–4 px dark pen on
white. Samples UNIPEN cut down to one straight stroke (``hwocr.render.is_fragment``) are
left out, and i and j are drawn from their dotted samples; so is a writer whose letters
are on the median more than 1.7 times wider (or narrower) than everyone's same letters
(x and y of the tablet not to one scale: the words come out squashed flat).

Figures: exact-word rate case-sensitive (with and without case from geometry), the
same with case folded, character accuracy (1 - edit distance / letters, summed over the
words, case-sensitive and folded), per category, and the read time per word (median and
mean, with case geometry). A reading's spaces are not counted as characters (a word is
one line; a space inside it is reported separately as a split word).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hwocr import namelm  # noqa: E402
from hwocr.basemodel import load_base_data  # noqa: E402
from hwocr.drawn_words import compose_word  # noqa: E402
from hwocr.errors import HwocrError  # noqa: E402
from hwocr.read import read_image  # noqa: E402
from hwocr.recognize import Recognizer  # noqa: E402
from hwocr.render import is_fragment  # noqa: E402
from hwocr.text import edit_distance  # noqa: E402


def _words(text: str) -> list[str]:
    return text.split()


LOWER = _words("""
hello cocoa paper sous vous cours sucre voix zoo pizza sky joy yes wax box fox cozy oxygen
puzzle swim snow vowel cow cup soup sport pays voyage jour bijou noix cuve vase prix zest quiz
jazz yoyo zero seven two onze douze voiture ciel cheval maison pomme chose nous avec pour sur
tout leur aussi ville voici lundi jeudi mardi merci world water house music coffee window
yellow purple velvet vivid zipper oxen exam wave over cover vacuum sweep spoon scoop pocket
puppy copy lazy fuzzy dizzy query proxy syrup system style type yoga ozone zone crux swap cusp
opus virus souvenir pouvoir savoir recevoir cuisine couscous cocoon zigzag view vow wow pop
cook soccer success wizard vortex
""")

CAPITALISED = _words("""
Cocoa Paris Sophie Oscar Victor Zoe Lucas Sylvie Xavier Yves Simon Paul Pierre Pascal Octave
Cyril Olivia Suzanne Vincent Yvonne Ursule Wendy Oxford Zurich Vienne Vosges Provence Corse
Savoie Lyon Toulouse Nice Cannes Jules Hugo Emma Louis Chloe Cosette Valence Ypres Vichy Sousa
Cusco Oslo Seoul Sydney Warsaw Cuba Peru Congo Monaco Poitou Caen Calais Colmar Vannes Woody
Zorro Scooby Popeye Snoopy Copper Ozzy Olive Suzy Wolf Xerxes Vesuvius Sevres
""")

CAPS = _words("""
COCOA PARIS SOPHIE OSCAR VICTOR SOS USA UK CV OK ZOO WOW POP SPY COPY SWOP ZONE OXO VOX POUR
VOUS SOUS PRIX CUVE SUCRE XYZ TAXI WAX JAZZ QUIZ PIZZA CAPS STOP EXIT SUV WC UNESCO OPEC NASA
CNRS SNCF PSG YOYO LOVE COOL SWIM VOICI CIRCUS OXYGEN SKY ZIP CUP POLO FOX SEVEN CROSS SPOON
""")

MIXED = _words("""
R2D2 AB12 B4 2025 x86 A4 C3PO 4x4 3D 2B A1 M6 F1 V8 Z80 P38 XP2 7up 1er 2e 3eme 42 1984 2000
360 007 911 S10 COVID19 G7 H2O CO2 B52 K9 U2 UB40 W3C X11 Y2K Z3 iOS12 v2 v10 mp3 mp4 pdf2 6pm
9am 10h 12cm 5kg 3s 75005 A380 PS5
""")

CATEGORIES = {"lower": LOWER, "Capitalised": CAPITALISED, "CAPS": CAPS, "mixed digits": MIXED}

GROUPS = ("upper", "lower", "digits")

#: A validation writer whose letters are this many times wider or narrower than usual is left out.
ODD_ASPECT = 1.7


def group_of(ch: str) -> str:
    return "digits" if ch.isdigit() else "upper" if ch.isupper() else "lower"


def word_list(n: int | None, seed: int) -> list[tuple[str, str]]:
    """``(category, word)`` pairs: the whole fixed list, or ``n`` of them chosen with the
    seed in proportion to the categories (the list repeated, with other samples, when
    ``n`` exceeds it)."""
    words = [(cat, w) for cat, ws in CATEGORIES.items() for w in ws]
    if n is None or n == len(words):
        return words
    rng = np.random.default_rng(seed + 1)
    out = []
    while len(out) < n:
        order = rng.permutation(len(words))
        out.extend(words[i] for i in order[: n - len(out)])
    order = {cat: k for k, cat in enumerate(CATEGORIES)}
    return sorted(out, key=lambda cw: order[cw[0]])


class SamplePool:
    """The validation writers' samples, by label and by writer."""

    def __init__(self, data_dir=None):
        self.by_label: dict[str, list[tuple[str, list]]] = {}
        self.by_writer: dict[str, dict[str, list]] = {}
        sets = load_base_data(data_dir).stroke_sets()
        missing = [g for g in GROUPS if g not in sets]
        if missing:
            raise SystemExit(f"UNIPEN {', '.join(missing)} strokes not found in the shared data")
        for group in GROUPS:
            split = sets[group]
            s = split.strokes
            for i in split.val:
                label, strokes = str(s.labels[i]), s.strokes[i]
                if is_fragment(strokes, label):
                    continue
                if label in "ij" and sum(1 for st in strokes if len(st)) < 2:
                    continue  # undotted
                writer = f"{group}|{s.writers[i]}"  # the three UNIPEN sets' writers kept apart
                self.by_writer.setdefault(writer, {}).setdefault(label, []).append(strokes)
        self.skipped_writers = self._odd_aspect_writers()
        for writer in self.skipped_writers:
            del self.by_writer[writer]
        for writer, labels in self.by_writer.items():
            for label, samples in labels.items():
                self.by_label.setdefault(label, []).extend((writer, strokes) for strokes in samples)

    def _odd_aspect_writers(self, limit: float = ODD_ASPECT) -> list[str]:
        """Writers whose letters are, on the median, more than ``limit`` times wider (or
        narrower) than everyone's same letters: their tablet's x and y were not to the same
        scale, and their words come out squashed flat."""
        logs: dict[str, list[tuple[str, float]]] = {}
        by_label: dict[str, list[float]] = {}
        for writer, labels in self.by_writer.items():
            for label, samples in labels.items():
                for strokes in samples:
                    pts = np.concatenate([np.asarray(st, np.float64).reshape(-1, 2) for st in strokes if len(st)])
                    w, h = np.ptp(pts, axis=0)
                    a = float(np.log((w + 1e-6) / (h + 1e-6)))
                    logs.setdefault(writer, []).append((label, a))
                    by_label.setdefault(label, []).append(a)
        med = {label: float(np.median(v)) for label, v in by_label.items()}
        return sorted(w for w, v in logs.items()
                      if abs(float(np.median([a - med[label] for label, a in v]))) > np.log(limit))

    def writers_of(self) -> dict[str, set[str]]:
        return {w: set(labels) for w, labels in self.by_writer.items()}

    def pick(self, word: str, rng: np.random.Generator) -> tuple[list[tuple[str, list]], int]:
        """One sample per character, and how many writers drew them."""
        chosen: dict[str, str] = {}  # group -> writer
        for group in GROUPS:
            need = {ch for ch in word if group_of(ch) == group}
            if not need:
                continue
            able = sorted(w for w, labels in self.by_writer.items() if w.startswith(group + "|")
                          and need <= set(labels))
            if able:
                chosen[group] = able[int(rng.integers(len(able)))]
        samples, writers = [], set()
        for ch in word:
            writer = chosen.get(group_of(ch))
            if writer is not None:
                options = self.by_writer[writer][ch]
                strokes = options[int(rng.integers(len(options)))]
            else:
                options = self.by_label[ch]
                writer, strokes = options[int(rng.integers(len(options)))]
            writers.add(writer)
            samples.append((ch, strokes))
        return samples, len(writers)


def squeeze(text: str) -> str:
    return "".join(text.split())


def has_case_geometry() -> bool:
    return "case_geometry" in inspect.signature(read_image).parameters


def read_word(rec, image, case_geometry: bool | None, lm=True) -> tuple[str, float]:
    t0 = time.perf_counter()
    if case_geometry is None:
        reading = read_image(rec, image, "all")
    else:
        reading = read_image(rec, image, "all", case_geometry=case_geometry, lm=lm)
    return reading.text, time.perf_counter() - t0


class Tally:
    def __init__(self):
        self.words = self.exact = self.exact_folded = self.chars = self.errors = self.errors_folded = 0
        self.split = 0

    def add(self, truth: str, text: str) -> None:
        read = squeeze(text)
        self.words += 1
        self.split += read != text.strip().replace("\n", "")
        self.exact += read == truth
        self.exact_folded += read.lower() == truth.lower()
        self.chars += len(truth)
        self.errors += edit_distance(truth, read)
        self.errors_folded += edit_distance(truth.lower(), read.lower())

    def figures(self) -> dict:
        n, c = max(self.words, 1), max(self.chars, 1)
        return {
            "words": self.words,
            "exact": self.exact / n,
            "exact_folded": self.exact_folded / n,
            "char_accuracy": 1 - self.errors / c,
            "char_accuracy_folded": 1 - self.errors_folded / c,
            "split_words": self.split,
        }


def contact_sheet(rows: list[tuple[str, np.ndarray, str, str | None]], path: Path, cols: int = 3) -> None:
    """A PNG of drawn words, each with its truth and readings (green right, red wrong)."""
    cell_w, img_h, text_h = 440, 110, 44
    n_rows = (len(rows) + cols - 1) // cols
    sheet = np.full((n_rows * (img_h + text_h), cols * cell_w, 3), 255, np.uint8)
    for k, (truth, image, geo, plain) in enumerate(rows):
        r, c = divmod(k, cols)
        y0, x0 = r * (img_h + text_h), c * cell_w
        scale = min((img_h - 6) / image.shape[0], (cell_w - 10) / image.shape[1], 1.0)
        small = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
        sheet[y0 + 3 : y0 + 3 + small.shape[0], x0 + 5 : x0 + 5 + small.shape[1]] = small[:, :, None]
        lines = [(f"truth: {truth}", (0, 0, 0)),
                 (f"geometry: {squeeze(geo)}", (0, 140, 0) if squeeze(geo) == truth else (0, 0, 200))]
        if plain is not None:
            lines.append((f"classifier: {squeeze(plain)}", (0, 140, 0) if squeeze(plain) == truth else (0, 0, 200)))
        for j, (txt, colour) in enumerate(lines):
            cv2.putText(sheet, txt, (x0 + 5, y0 + img_h + 12 + 14 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.42, colour, 1,
                        cv2.LINE_AA)
        cv2.rectangle(sheet, (x0, y0), (x0 + cell_w - 1, y0 + img_h + text_h - 1), (200, 200, 200), 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "base")
    ap.add_argument("--words", type=int, default=None, help="how many words (default: the whole list)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cap-height", type=float, default=60.0)
    ap.add_argument("--data", type=Path, default=None, help="shared data folder (default: ../shared/data)")
    ap.add_argument("--save-sheet", type=Path, default=None, help="PNG contact sheet of ~30 words and readings")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--show-misreads", action="store_true",
                    help="list every word read wrong (case included, with geometry): category, truth, reading")
    ap.add_argument("--lm", choices=("on", "off"), default="on",
                    help="the words language model (models/words_lm.json.gz) on or off")
    ap.add_argument("--lm-file", type=Path, default=None,
                    help="read with this words model instead of the shipped one (e.g. one built by "
                         "bench/build_words_lm.py --exclude on the file --write-words wrote)")
    ap.add_argument("--write-words", type=Path, default=None,
                    help="write the benchmark's word list here, one per line, and stop")
    args = ap.parse_args(argv)
    if args.write_words is not None:
        args.write_words.write_text("\n".join(w for ws in CATEGORIES.values() for w in ws) + "\n", encoding="utf-8")
        print(f"{args.write_words}: {sum(len(ws) for ws in CATEGORIES.values())} words")
        return 0
    lm = False if args.lm == "off" else namelm.load(args.lm_file) if args.lm_file is not None else True

    t_start = time.perf_counter()
    try:
        rec = Recognizer.load(args.model)
        rec.charset_mask("all")
    except HwocrError as exc:
        print(f"{args.model}: {exc}", file=sys.stderr)
        return 2
    pool = SamplePool(args.data)
    words = word_list(args.words, args.seed)
    geometry = has_case_geometry()
    if not geometry:
        print("note: hwocr.read.read_image has no case_geometry keyword: one reading per word, default case")
    rng = np.random.default_rng(args.seed)
    read_word(rec, compose_word(pool.pick("Warm", rng)[0], rng, args.cap_height), True if geometry else None, lm)

    tallies = {mode: {cat: Tally() for cat in [*CATEGORIES, "all"]} for mode in ("geometry", "classifier")}
    times, sheet_rows, one_writer, misreads = [], [], 0, []
    sheet_every = max(1, len(words) // 30)
    for k, (cat, word) in enumerate(words):
        samples, n_writers = pool.pick(word, rng)
        one_writer += n_writers == 1
        image = compose_word(samples, rng, args.cap_height)
        geo, dt = read_word(rec, image, True if geometry else None, lm)
        times.append(dt)
        if geo != word:
            misreads.append((cat, word, geo))
        plain = read_word(rec, image, False, lm)[0] if geometry else None
        for c in (cat, "all"):
            tallies["geometry"][c].add(word, geo)
            if plain is not None:
                tallies["classifier"][c].add(word, plain)
        if args.save_sheet is not None and k % sheet_every == 0 and len(sheet_rows) < 30:
            sheet_rows.append((word, image, geo, plain))

    figures = {"model": str(args.model), "lm": args.lm, "lm_file": None if args.lm_file is None else str(args.lm_file),
               "seed": args.seed, "words": len(words), "one_writer_words": one_writer,
               "case_geometry_available": geometry,
               "read_ms_median": 1000 * float(np.median(times)), "read_ms_mean": 1000 * float(np.mean(times)),
               "geometry": {c: t.figures() for c, t in tallies["geometry"].items()}}
    if geometry:
        figures["classifier"] = {c: t.figures() for c, t in tallies["classifier"].items()}

    counts = ", ".join(f"{c} {tallies['geometry'][c].words}" for c in CATEGORIES)
    print(f"model {args.model}  words model {args.lm}{'' if args.lm_file is None else ' ' + str(args.lm_file)}  "
          f"seed {args.seed}  words {len(words)} ({counts}); "
          f"drawn by one writer: {one_writer}; writers left out (odd aspect): "
          f"{', '.join(pool.skipped_writers) or 'none'}")
    head = f"{'category':<14}{'words':>6}  {'exact':>7}{'exact':>8}{'folded':>8}  {'chars':>7}{'chars':>7}{'folded':>8}"
    sub = f"{'':<14}{'':>6}  {'geom':>7}{'no geom':>8}{'':>8}  {'geom':>7}{'no geo':>7}{'':>8}"
    print(head)
    print(sub)
    for c in [*CATEGORIES, "all"]:
        g = figures["geometry"][c]
        p = figures.get("classifier", {}).get(c)
        no_exact = f"{p['exact']:>8.1%}" if p else f"{'-':>8}"
        no_chars = f"{p['char_accuracy']:>7.1%}" if p else f"{'-':>7}"
        print(f"{c:<14}{g['words']:>6}  {g['exact']:>7.1%}{no_exact}{g['exact_folded']:>8.1%}  "
              f"{g['char_accuracy']:>7.1%}{no_chars}{g['char_accuracy_folded']:>8.1%}")
    split = figures["geometry"]["all"]["split_words"]
    print(f"exact = the whole word read letter for letter, case-sensitive; folded = case ignored (with geometry); "
          f"chars = 1 - edit distance / letters. Readings split by a space: {split}.")
    print(f"read time per word (charset all, with case geometry): median {figures['read_ms_median']:.0f} ms, "
          f"mean {figures['read_ms_mean']:.0f} ms; whole run {time.perf_counter() - t_start:.0f} s")
    if args.show_misreads:
        for cat, word, read in misreads:
            print(f"misread  {cat:<14}{word:<16}{read}")
    if args.save_sheet is not None:
        contact_sheet(sheet_rows, args.save_sheet)
        print(f"contact sheet: {args.save_sheet}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
