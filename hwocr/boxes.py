"""Boxes in image pixel coordinates, shared by segmentation, review and recognition."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Box:
    """A half-open rectangle: columns x0..x1-1, rows y0..y1-1. Ordered left to right."""

    x0: int
    y0: int
    x1: int
    y1: int

    def __post_init__(self) -> None:
        if self.x1 < self.x0 or self.y1 < self.y0:
            raise ValueError(f"box has negative size: {self}")

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return self.width * self.height

    @property
    def center_x(self) -> float:
        return (self.x0 + self.x1) / 2.0

    def to_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]

    @classmethod
    def from_seq(cls, seq: Sequence[float]) -> Box:
        x0, y0, x1, y1 = (round(float(v)) for v in seq)
        return cls(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    def clip(self, width: int, height: int) -> Box:
        x0 = min(max(self.x0, 0), width)
        y0 = min(max(self.y0, 0), height)
        return Box(x0, y0, max(x0, min(self.x1, width)), max(y0, min(self.y1, height)))

    def union(self, other: Box) -> Box:
        return Box(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def intersects(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def pad(self, margin: int, width: int, height: int) -> Box:
        return Box(self.x0 - margin, self.y0 - margin, self.x1 + margin, self.y1 + margin).clip(width, height)


_new_object = object.__new__


def trusted_box(x0: int, y0: int, x1: int, y1: int) -> Box:
    """``Box(x0, y0, x1, y1)`` for coordinates the caller knows are in order (x0 <= x1,
    y0 <= y1; e.g. read from OpenCV's component stats). The same object, equal and
    hashing alike, built without the frozen dataclass's ``__init__`` (four guarded
    ``object.__setattr__`` calls and the check), which costs three times as much:
    segmentation makes a few dozen boxes per name, and names come by the thousand."""
    box = _new_object(Box)
    box.__dict__.update(x0=x0, y0=y0, x1=x1, y1=y1)
    return box


def boxes_to_json(boxes: Iterable[Box]) -> list[list[int]]:
    return [b.to_list() for b in boxes]


def boxes_from_json(data: Iterable[Sequence[float]] | None) -> tuple[Box, ...]:
    return tuple(Box.from_seq(b) for b in (data or ()))
