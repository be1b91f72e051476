"""Build the shipped names language model (``models/names_lm.json.gz``) from the first
names and surnames of the Faker package (MIT licence).

    .venv/bin/pip install faker==40.63.0   # only to build; hwocr does not need it to read
    .venv/bin/python bench/build_name_lm.py [--out models/names_lm.json.gz]

Every Latin-script locale's ``first_names*`` and ``last_names`` lists are taken, each
distinct name once per locale that lists it; the French-speaking locales (fr_FR, fr_BE,
fr_CA, fr_CH, fr_QC, fr_DZ) count ``--french-weight`` times, since the names hwocr reads
first are French. Only n-gram counts are written: no list of names.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hwocr import namelm  # noqa: E402

NAME_LISTS = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary",
              "first_names_unisex", "last_names")


def locale_names(provider) -> set[str]:
    names: set[str] = set()
    for attr in NAME_LISTS:
        value = vars(provider).get(attr)
        if value is None:
            for base in provider.__mro__[1:]:  # a locale may inherit its lists
                if attr in vars(base):
                    value = vars(base)[attr]
                    break
        if isinstance(value, (dict, list, tuple, set, frozenset)):  # a dict: name -> frequency
            names.update(value)
    return {n for n in names if isinstance(n, str)}


def collect(french_weight: int) -> tuple[list[str], dict[str, int], str]:
    import faker
    import faker.providers.person as person

    corpus: list[str] = []
    per_locale: dict[str, int] = {}
    for mod in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{mod.name}").Provider
        except (ImportError, AttributeError):
            continue
        # Latin script only: a name the model can hold once accents are dropped.
        names = [n for n in sorted(locale_names(provider)) if _latin(n) and namelm.name_letters(n)]
        if len(names) < 20:  # placeholders ("John Doe") and non-Latin locales
            continue
        weight = french_weight if mod.name.startswith("fr_") else 1
        corpus.extend(names * weight)
        per_locale[mod.name] = len(names)
    return corpus, per_locale, faker.VERSION


def _latin(name: str) -> bool:
    import unicodedata

    return all(not ch.isalpha() or "LATIN" in unicodedata.name(ch, "") for ch in name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=namelm.SHIPPED_PATH)
    ap.add_argument("--order", type=int, default=namelm.ORDER)
    ap.add_argument("--french-weight", type=int, default=3)
    args = ap.parse_args(argv)
    try:
        corpus, per_locale, version = collect(args.french_weight)
    except ImportError:
        print("build_name_lm: needs the faker package (pip install faker==40.63.0)", file=sys.stderr)
        return 2
    source = (f"Faker {version} (MIT licence): first names and surnames of {len(per_locale)} "
              f"Latin-script locales, French-speaking locales x{args.french_weight}")
    lm = namelm.train(corpus, args.order, source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    namelm.save(lm, args.out)
    print(f"{lm.names} names ({sum(per_locale.values())} distinct per locale) from {len(per_locale)} locales, "
          f"{len(lm.counts)} contexts -> {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    print(source)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
