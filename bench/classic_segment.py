"""The classic 2018 tutorial method, kept as the baseline the new segmenter is measured against.

Read the image, cut a fixed 75 px strip off the left (where the printed "NOM :" label
sits on the 388x36 forms the tutorial used), Otsu-threshold it, compute the vertical
projection with a per-column Python loop, take runs of non-empty columns as characters
and their row extent from the horizontal projection, and keep the name only when the
number of pieces equals the number of letters of its transcription.

Deliberately unimproved: this is the yardstick, including its speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hwocr.boxes import Box
from hwocr.text import letters_of, normalize_transcription

LABEL_STRIP_PX = 75


@dataclass(frozen=True)
class ClassicResult:
    status: str  # "matched" or "failed"
    boxes: tuple[Box, ...]  # in the original image's coordinates; () unless matched
    pieces: int


def classic_segment(path: str | Path, transcription: str) -> ClassicResult:
    norm, _ = normalize_transcription(transcription)
    letters = letters_of(norm) if norm else ""
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None or not letters:
        return ClassicResult("failed", (), 0)
    crop = img[:, LABEL_STRIP_PX:]
    if crop.size == 0:
        return ClassicResult("failed", (), 0)
    _, binary = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    _height, width = binary.shape

    # The tutorial's vertical projection: one Python iteration per column.
    col_profile = []
    for x in range(width):
        col_profile.append(int(np.count_nonzero(binary[:, x])))

    runs = []
    start = None
    for x, count in enumerate(col_profile):
        if count > 0 and start is None:
            start = x
        elif count == 0 and start is not None:
            runs.append((start, x))
            start = None
    if start is not None:
        runs.append((start, width))

    boxes = []
    for x0, x1 in runs:
        rows = np.flatnonzero(binary[:, x0:x1].sum(axis=1) > 0)
        boxes.append(Box(x0 + LABEL_STRIP_PX, int(rows[0]), x1 + LABEL_STRIP_PX, int(rows[-1]) + 1))
    if len(boxes) != len(letters):
        return ClassicResult("failed", (), len(boxes))
    return ClassicResult("matched", tuple(boxes), len(boxes))
