"""Which crops of a class the model doubts most: the likeliest mislabelled ones first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hwocr.config import CHARSETS, DIGITS
from hwocr.errors import ImageError
from hwocr.workspace import Workspace

BATCH = 512


@dataclass(frozen=True)
class Doubt:
    crop_id: int
    p_label: float      # the model's probability for the crop's own label
    predicted: str      # the model's top label ("" when the crop cannot be read)
    confidence: float   # ... and its probability


def _p_of(prediction: Any, label: str) -> float:
    if prediction.label == label:
        return float(prediction.confidence)
    for item in getattr(prediction, "top", ()) or ():
        other, p = item[0], item[1]
        if other == label:
            return float(p)
    return 0.0  # not even among the runners-up


def rank_by_doubt(ws: Workspace, recognizer: Any, label: str, crops: Sequence[tuple[int, str]]) -> list[Doubt]:
    """Classify every crop of ``label`` (in batches) and order them by the probability the
    model gives their own label, lowest first."""
    # Small letters among capitals and small letters (a 62-class model), as the canvas
    # reads them; capitals among capitals, as names are read.
    charset = "digits" if label in DIGITS else ("cased" if label.islower() else "letters")
    # Every class's probability, so the crop's own label is always among them.
    top_k = len(CHARSETS[charset])
    out: list[Doubt] = []
    for start in range(0, len(crops), BATCH):
        chunk = crops[start : start + BATCH]
        paths = [ws.resolve(path) for _, path in chunk]
        try:
            predictions = recognizer.classify(paths, charset=charset, top_k=top_k)
        except ImageError:
            # One unreadable or empty crop fails the batch: go one by one, and put the bad
            # ones first (p = 0): a crop the model cannot even read deserves a look.
            predictions = []
            for path in paths:
                try:
                    predictions.extend(recognizer.classify([path], charset=charset, top_k=top_k))
                except ImageError:
                    predictions.append(None)
        for (crop_id, _), pred in zip(chunk, predictions):
            if pred is None:
                out.append(Doubt(crop_id, 0.0, "", 0.0))
            else:
                out.append(Doubt(crop_id, _p_of(pred, label), str(pred.label), float(pred.confidence)))
    out.sort(key=lambda d: (d.p_label, d.crop_id))
    return out
