"""A fixed split of the development names into a half that thresholds are tuned on and a
half that figures are reported on.

The split is a hash of ``unit_id`` (SHA-256 of a fixed salt and the id; the first byte's
low bit), so it never changes with the order, the number or the subset of names read, and
the same unit_id falls on the same side on every machine. Benches report both halves;
nothing is tuned on ``HELD_OUT``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal, TypeVar

Half = Literal["tune", "held_out"]
TUNE: Half = "tune"
HELD_OUT: Half = "held_out"
HALVES: tuple[Half, Half] = (TUNE, HELD_OUT)
_SALT = b"hwocr-dev-split-v1:"

T = TypeVar("T")


def half_of(unit_id: str) -> Half:
    """Which half ``unit_id`` belongs to: ``"tune"`` or ``"held_out"``."""
    digest = hashlib.sha256(_SALT + str(unit_id).encode("utf-8")).digest()
    return HELD_OUT if digest[0] & 1 else TUNE


def select(items: Iterable[T], half: Half | None, key=lambda item: item[0]) -> list[T]:
    """The items whose ``key(item)`` (a unit_id; by default the first field) falls in
    ``half``; every item when ``half`` is None."""
    if half is not None and half not in HALVES:
        raise ValueError(f"unknown half {half!r}: choose one of {', '.join(HALVES)}")
    return [item for item in items if half is None or half_of(key(item)) == half]
