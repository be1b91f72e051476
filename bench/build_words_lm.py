"""Build the shipped words language model (``models/words_lm.json.gz``) from the English
and French word-frequency lists of the zxcvbn-ts language packages (MIT; the lists come
from OpenSubtitles 2024 via OPUS, ODC-BY).

    cd /tmp && npm pack @zxcvbn-ts/language-en@4.1.1 @zxcvbn-ts/language-fr@4.1.2
    .venv/bin/python bench/build_words_lm.py --packages /tmp [--out models/words_lm.json.gz]

Only the packages' ``commonWords.json`` is read (each list most frequent first). A word
is kept when, upper-cased with its accents dropped, it holds only letters and digits
(``hwocr.namelm.word_symbols``: "l'" and "est-ce" are left out); the first ``--top`` of
each language, each counted by ``--weighting``: ``types`` once, ``log-rank``
``1 + ln(top / rank)`` (a common word weighs a few times a rare one). ``--exclude FILE``
leaves out the words of a file (one per line): ``bench/drawn_words.py --lm-file`` reads
with a model built without its own words, to show what the model does for words it has
never seen. Only n-gram counts are written: no list of words.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hwocr import namelm  # noqa: E402

PACKAGES = {"en": "zxcvbn-ts-language-en-4.1.1.tgz", "fr": "zxcvbn-ts-language-fr-4.1.2.tgz"}
MEMBER = "package/src/commonWords.json"


def read_list(tgz: Path) -> list[str]:
    with tarfile.open(tgz, "r:gz") as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise SystemExit(f"{tgz}: no {MEMBER}")
        return [str(w) for w in json.load(member)]


def corpus(packages: Path, top: int, weighting: str, exclude: set[str]) -> tuple[list[str], list[float], dict]:
    words: list[str] = []
    weights: list[float] = []
    kept: dict[str, int] = {}
    for lang, name in PACKAGES.items():
        path = packages / name
        if not path.exists():
            raise SystemExit(f"{path} not found: run  cd {packages} && npm pack "
                             f"@zxcvbn-ts/language-{lang}@{name.rsplit('-', 1)[1][:-4]}")
        n = 0
        for word in read_list(path):
            symbols = namelm.word_symbols(word)
            if symbols is None or symbols in exclude:
                continue
            n += 1
            words.append(word)
            weights.append(1.0 if weighting == "types" else 1.0 + math.log(top / n))
            if n >= top:
                break
        kept[lang] = n
    return words, weights, kept


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packages", type=Path, default=Path("/tmp"), help="folder holding the two npm .tgz files")
    ap.add_argument("--out", type=Path, default=namelm.WORDS_PATH)
    ap.add_argument("--order", type=int, default=namelm.ORDER)
    ap.add_argument("--top", type=int, default=25_000, help="most frequent words taken per language")
    ap.add_argument("--weighting", choices=("types", "log-rank"), default="log-rank")
    ap.add_argument("--exclude", type=Path, default=None, help="file of words to leave out, one per line")
    args = ap.parse_args(argv)
    exclude: set[str] = set()
    if args.exclude is not None:
        for line in args.exclude.read_text(encoding="utf-8").split():
            symbols = namelm.word_symbols(line)
            if symbols:
                exclude.add(symbols)
    words, weights, kept = corpus(args.packages, args.top, args.weighting, exclude)
    source = (f"zxcvbn-ts language-en 4.1.1 and language-fr 4.1.2 commonWords (OpenSubtitles 2024 via OPUS, "
              f"ODC-BY; packages MIT): {kept['en']} English and {kept['fr']} French words, {args.weighting}"
              + (f", {len(exclude)} words left out" if exclude else ""))
    lm = namelm.train(words, args.order, source, words=True, weights=weights)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    namelm.save(lm, args.out)
    print(f"{args.out}: order {lm.order}, {len(lm.counts)} contexts; {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
