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
