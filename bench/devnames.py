"""The dev names every bench script reads: where they are, the shipped model beside them,
and one way to read ``names.csv`` (every column a string, empty cells kept as "").

    from devnames import add_dev_args, read_names
    ap = argparse.ArgumentParser(); add_dev_args(ap); args = ap.parse_args()
    rows = read_names(args.names)

A script in ``bench/`` imports this as a sibling module: Python puts the script's own
folder first on ``sys.path``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
NAMES_DIR = REPO.parent / "shared" / "data" / "names"
BASE_MODEL = REPO / "models" / "base"


def add_dev_args(ap: argparse.ArgumentParser, *, model: bool = True) -> None:
    """``--names`` (the folder holding ``names.csv``) and, unless ``model=False``, ``--model``."""
    ap.add_argument("--names", type=Path, default=NAMES_DIR,
                    help="folder holding names.csv and its images (default: %(default)s)")
    if model:
        ap.add_argument("--model", type=Path, default=BASE_MODEL, help="model version folder (default: %(default)s)")


def read_names(names_dir: Path) -> pd.DataFrame:
    """``names_dir/names.csv`` as strings; a missing file ends the script with one line."""
    path = Path(names_dir) / "names.csv"
    if not path.is_file():
        raise SystemExit(f"no names.csv under {names_dir} (the dev names live in ../shared/data/names)")
    return pd.read_csv(path, dtype=str, keep_default_na=False)
