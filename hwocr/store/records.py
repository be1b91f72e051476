"""Typed rows of the workspace's tables, as the store reads them: a name
(:class:`NameRecord`), a crop (:class:`CharRecord`), an audit event (:class:`Event`) and
the labelled boxes a name's ``boxes``/``auto_boxes`` columns hold as JSON.
:mod:`hwocr.workspace` re-exports them, where most callers import them from."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hwocr.boxes import Box
from hwocr.errors import InputError


@dataclass(frozen=True)
class LabeledBox:
    box: Box
    label: str

    def to_json(self) -> list:
        return [*self.box.to_list(), self.label]

    @classmethod
    def from_json(cls, item: Sequence) -> LabeledBox:
        if len(item) < 4:
            raise InputError(f"a box needs 4 coordinates, got {list(item)!r}")
        label = str(item[4]) if len(item) > 4 and item[4] is not None else ""
        return cls(Box.from_seq(item[:4]), label)


def labeled_boxes_to_json(boxes: Iterable[LabeledBox]) -> str:
    return json.dumps([b.to_json() for b in boxes], separators=(",", ":"))


def labeled_boxes_from_json(text: str | None) -> tuple[LabeledBox, ...]:
    if not text:
        return ()
    return tuple(LabeledBox.from_json(item) for item in json.loads(text))


def _column(row: sqlite3.Row, name: str):
    """``row[name]``, or None when the query did not select that column."""
    try:
        return row[name]
    except IndexError:
        return None


@dataclass(frozen=True)
class NameRecord:
    id: int
    unit_id: str
    source: str
    raw_transcription: str | None
    transcription: str | None
    first_or_last: str | None
    status: str
    reason: str | None
    image_path: str | None
    width: int | None
    height: int | None
    confidence: float
    auto_boxes: tuple[LabeledBox, ...]
    boxes: tuple[LabeledBox, ...]
    version: int
    skips: int
    priority: int
    claimed_by: str | None
    claimed_at: float | None
    reviewed_by: str | None
    reviewed_at: float | None
    updated_at: float
    vet: str | None = None
    """JSON from model vetting at segmentation (:func:`hwocr.vet.parse_vet`), or None."""

    @property
    def letters(self) -> str:
        from hwocr.text import letters_of  # lazy: unicodedata stays off the CLI's start-up

        return letters_of(self.transcription or "")

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> NameRecord:
        return cls(
            id=row["id"],
            unit_id=row["unit_id"],
            source=row["source"],
            raw_transcription=row["raw_transcription"],
            transcription=row["transcription"],
            first_or_last=row["first_or_last"],
            status=row["status"],
            reason=row["reason"],
            image_path=row["image_path"],
            width=row["width"],
            height=row["height"],
            confidence=row["confidence"],
            auto_boxes=labeled_boxes_from_json(row["auto_boxes"]),
            boxes=labeled_boxes_from_json(row["boxes"]),
            version=row["version"],
            skips=row["skips"],
            priority=row["priority"],
            claimed_by=row["claimed_by"],
            claimed_at=row["claimed_at"],
            reviewed_by=row["reviewed_by"],
            reviewed_at=row["reviewed_at"],
            updated_at=row["updated_at"],
            vet=_column(row, "vet"),
        )


@dataclass(frozen=True)
class CharRecord:
    id: int
    name_id: int | None
    idx: int | None
    label: str
    path: str
    box: Box | None
    origin: str
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> CharRecord:
        box = None
        if row["x0"] is not None:
            box = Box(row["x0"], row["y0"], row["x1"], row["y1"])
        return cls(row["id"], row["name_id"], row["idx"], row["label"], row["path"], box, row["origin"],
                   row["created_at"])


@dataclass(frozen=True)
class Event:
    id: int
    ts: float
    kind: str
    name_id: int | None
    actor: str | None
    detail: dict
