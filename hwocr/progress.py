"""Progress of long work, as a person reads it: done of total, rate and time left.

One formatter for the command line (stderr) and the pages. On a terminal the line is
redrawn in place a few times a second; anywhere else (a log file, a CI job, a pipe) a
plain line is written every few seconds and at the end, never a carriage return, so a
130,000-name run leaves a readable log instead of a wall of redraws.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _rate(per_s: float) -> str:
    return f"{per_s:,.0f}" if per_s >= 10 else f"{per_s:,.1f}"


@dataclass(frozen=True)
class Snapshot:
    """Where a stage stands."""

    done: int
    total: int
    elapsed_s: float

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.done / self.total)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def left_s(self) -> float | None:
        """Seconds left at the rate so far; None until there is a rate to go by."""
        if self.done <= 0 or self.elapsed_s <= 0 or self.total <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)

    def describe(self, unit: str) -> str:
        """``12,345 of 130,000 names (9%) · 2,310 names/s · 0:51 left`` (or ``… in 0:56`` when done)."""
        text = f"{self.done:,} of {self.total:,} {unit}"
        if self.total > 0:
            text += f" ({self.fraction:.0%})"
        if self.done > 0 and self.elapsed_s > 0:
            text += f" · {_rate(self.rate)} {unit}/s"
        if self.total > 0 and self.done >= self.total:
            text += f" · in {_duration(self.elapsed_s)}"
        elif (left := self.left_s) is not None:
            text += f" · {_duration(left)} left"
        return text


class StderrProgress:
    """A ``callback(done, total)`` that reports on ``stream`` (stderr by default)."""

    def __init__(self, label: str, unit: str = "names", *, stream: TextIO | None = None,
                 tty_every_s: float = 0.25, log_every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.unit = label, unit
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = tty_every_s if self.tty else log_every_s
        self.start: float | None = None
        self.last_shown = float("-inf")
        self.last: Snapshot | None = None
        self.width = 0
        self.ended = False

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.start is None:
            self.start = now
        self.last = Snapshot(done, total, now - self.start)
        finished = total > 0 and done >= total
        if self.ended:
            return
        if finished or now - self.last_shown >= self.every:
            self._show(self.last, final=finished)
            self.last_shown = now

    def _show(self, snap: Snapshot, *, final: bool) -> None:
        self.ended = final
        line = f"{self.label}: {snap.describe(self.unit)}"
        if self.tty:
            pad = max(0, self.width - len(line))
            self.stream.write("\r" + line + " " * pad + ("\n" if final else ""))
            self.width = 0 if final else len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the line where the stage stopped (before its total: Ctrl-C, a stop, an error)."""
        if self.last is not None and not self.ended:
            self._show(self.last, final=True)


class StatusLine:
    """One line of free text about long work (a training job's epoch and accuracy),
    redrawn in place on a terminal, written at most every ``log_every_s`` elsewhere."""

    def __init__(self, *, stream: TextIO | None = None, log_every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every, self.clock = log_every_s, clock
        self.last_shown = float("-inf")
        self.text = ""
        self.width = 0

    def show(self, text: str, *, force: bool = False) -> None:
        if text == self.text and not force:
            return
        self.text = text
        now = self.clock()
        if self.tty:
            self.stream.write("\r" + text + " " * max(0, self.width - len(text)))
            self.width = len(text)
        elif force or now - self.last_shown >= self.every:
            self.stream.write(text + "\n")
            self.last_shown = now
        else:
            return
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0
