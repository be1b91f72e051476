"""The one table of defaults that the CLI, the pages and the library all read.

Change a number here and every entry point follows; nothing else in hwocr hard-codes
these values.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Environment variable that points hwocr at another workspace.
WORKSPACE_ENV = "HWOCR_WORKSPACE"
#: Environment variable that allows downloads from private and loopback addresses.
ALLOW_PRIVATE_ENV = "HWOCR_ALLOW_PRIVATE_URLS"

LETTERS = tuple(string.ascii_uppercase)
DIGITS = tuple(string.digits)
#: Class order of the model's output layer; labels.json of every model repeats it.
ALL_CLASSES = LETTERS + DIGITS
CHARSETS: dict[str, tuple[str, ...]] = {
    "letters": LETTERS,
    "digits": DIGITS,
    "alnum": ALL_CLASSES,
}

#: Characters of a transcription that are not drawn as a letter but mark a gap.
SEPARATORS = frozenset(" -'")


@dataclass(frozen=True)
class Defaults:
    # --- images -------------------------------------------------------------------
    #: Largest image we decode, in pixels; anything bigger is refused as a bomb.
    max_image_pixels: int = 40_000_000
    #: Largest image file we read or download, in bytes.
    max_image_bytes: int = 20 * 1024 * 1024
    #: Largest CSV we import, in bytes.
    max_csv_bytes: int = 512 * 1024 * 1024
    #: Largest single CSV field, in characters (pathological files get a clear error).
    max_csv_field: int = 64 * 1024

    # --- downloads ----------------------------------------------------------------
    download_concurrency: int = 16
    download_connect_timeout_s: float = 10.0
    download_read_timeout_s: float = 30.0
    download_retries: int = 3
    download_backoff_s: float = 0.5
    max_redirects: int = 5
    #: Wall-clock limit of one download attempt (guards against a server that drips bytes).
    download_total_timeout_s: float = 120.0
    #: Longest pause between two attempts, whatever the backoff or Retry-After says.
    download_max_backoff_s: float = 30.0
    #: Longest Retry-After we honour; a server asking for more gets this.
    download_max_retry_after_s: float = 60.0

    # --- uploaded zips of images ----------------------------------------------------
    #: Largest total uncompressed size of a zip of images.
    max_zip_total_bytes: int = 4 * 1024 * 1024 * 1024
    #: Largest number of entries in a zip of images.
    max_zip_entries: int = 1_000_000
    #: Largest uncompressed/compressed ratio of an entry bigger than max_zip_ratio_floor.
    max_zip_ratio: float = 100.0
    #: Entries smaller than this are never refused for their ratio (tiny blank BMPs).
    max_zip_ratio_floor: int = 1024 * 1024

    # --- preprocessing (hwocr.preprocess) -------------------------------------------
    #: Least darkness below the paper (0-255) that can be ink at all.
    ink_min_contrast: int = 40
    #: Fainter pixels (this fraction of the ink threshold) count when they touch sure ink.
    ink_weak_fraction: float = 0.5
    #: A horizontal run at least this fraction of the image width is a form line.
    line_min_width_fraction: float = 0.3
    #: A colon dot is at most this many pen widths on a side.
    colon_max_dot_size: float = 3.0
    #: ... and at most this much longer one way than the other.
    colon_max_dot_aspect: float = 2.0
    #: The printed label's colon lies in this left fraction of the image.
    label_max_x_fraction: float = 0.45
    #: A label's printed text is at most this many times as wide as it is tall
    #: ("PRENOM :"); longer captions ("CODE RNE / UAI :") introduce something else.
    label_max_word_heights: float = 8.0
    #: Rows with less ink than this fraction of the fullest row separate two bands.
    band_valley_fraction: float = 0.06
    #: Weight of a band that starts with the name's printed label.
    band_label_boost: float = 4.0
    #: Spread (fraction of the height) of the preference for a band near the middle.
    band_centre_sigma: float = 0.3
    #: Weight of a band cut by the top or bottom edge (a fragment of a neighbouring row).
    band_edge_penalty: float = 0.3
    #: A vertical form line is at least this fraction of the handwriting band tall ...
    vline_min_band: float = 0.7
    #: ... at most this many pen widths wide ...
    vline_max_width_strokes: float = 1.6
    #: ... straight (ink fills this much of its box) ...
    vline_min_fill: float = 0.6
    #: ... and stands this many band heights apart from the name, at either end.
    vline_min_gap_band: float = 1.5
    #: Components of at most this many pixels may be specks.
    speck_max_area: int = 6
    #: ... or of at most this many squared pen widths.
    speck_max_area_strokes: float = 1.5
    #: A speck farther than this fraction of the band height from any stroke is removed.
    speck_reach_band: float = 0.5

    # --- segmentation and alignment -------------------------------------------------
    #: Names whose repair confidence reaches this are harvested without a person.
    harvest_min_confidence: float = 0.75

    # --- character model ------------------------------------------------------------
    #: Side of the square the character model sees.
    model_input_size: int = 32
    #: Side of the box the ink is fitted into, centred inside the model input.
    model_ink_box: int = 24
    #: Side of the crops exported in the Kaggle A–Z CSV layout.
    export_size: int = 28

    #: Paper kept around a character's box when its crop is written.
    crop_margin: int = 2

    # --- review -------------------------------------------------------------------
    #: A reviewer's claim on a name lapses after this long without activity.
    review_claim_ttl_s: float = 15 * 60.0

    # --- jobs ---------------------------------------------------------------------
    job_poll_interval_s: float = 1.0
    train_epochs: int = 8
    train_batch_size: int = 128


DEFAULTS = Defaults()


def default_workspace() -> Path:
    """The workspace used when none is given: $HWOCR_WORKSPACE, else ./data."""
    env = os.environ.get(WORKSPACE_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT / "data").resolve()


def shipped_models_dir() -> Path:
    return REPO_ROOT / "models"


def allow_private_urls() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in {"1", "true", "yes"}
