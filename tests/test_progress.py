"""Progress lines: done of total, rate, time left; redrawn on a terminal, plain lines in a log."""

from __future__ import annotations

import io
import re

from hwocr.progress import Snapshot, StatusLine, StderrProgress


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_snapshot_reads_as_a_person_says_it():
    assert Snapshot(12_345, 130_000, 5.0).describe("names") == \
        "12,345 of 130,000 names (9%) · 2,469 names/s · 0:48 left"
    assert Snapshot(130_000, 130_000, 61.0).describe("names") == \
        "130,000 of 130,000 names (100%) · 2,131 names/s · in 1:01"
    assert Snapshot(0, 50, 0.0).describe("crops") == "0 of 50 crops (0%)"
    assert Snapshot(3, 7, 2.0).describe("images") == "3 of 7 images (43%) · 1.5 images/s · 0:03 left"
    assert Snapshot(1, 100_000, 1.0).left_s == 99_999
    assert Snapshot(1, 100_000, 1.0).describe("names").endswith("27:46:39 left")


def test_a_log_gets_a_plain_line_every_few_seconds_and_one_at_the_end():
    out, clock = io.StringIO(), Clock()
    progress = StderrProgress("segmenting", "names", stream=out, log_every_s=5.0, clock=clock)
    for done in range(0, 1001, 10):  # 100 updates over 10 s
        progress(done, 1000)
        clock.t += 0.1
    progress.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 3  # at 0 s, at 5 s, and the end (not one per update)
    assert lines[0] == "segmenting: 0 of 1,000 names (0%)"
    assert re.fullmatch(r"segmenting: 5[01]0 of 1,000 names \(5[01]%\) · 100 names/s · 0:05 left", lines[1])
    assert lines[-1] == "segmenting: 1,000 of 1,000 names (100%) · 100 names/s · in 0:10"


def test_a_terminal_line_is_redrawn_in_place_and_ended_once():
    out, clock = Tty(), Clock()
    progress = StderrProgress("harvesting", "names", stream=out, clock=clock)
    progress(0, 4)
    clock.t += 1
    progress(2, 4)
    clock.t += 1
    progress(4, 4)
    progress(4, 4)  # a repeated final report draws nothing more
    progress.close()
    text = out.getvalue()
    assert text.count("\r") == 3 and text.count("\n") == 1 and text.endswith("\n")
    assert text.rstrip().endswith("in 0:02")  # padded over the longer line before it


def test_a_stage_stopped_early_ends_its_line_where_it_stood():
    out, clock = io.StringIO(), Clock()
    progress = StderrProgress("fetching images", "images", stream=out, clock=clock)
    progress(0, 10)
    clock.t += 1
    progress(4, 10)  # within 5 s of the last line: not shown yet
    progress.close()  # Ctrl-C
    assert out.getvalue().splitlines()[-1] == "fetching images: 4 of 10 images (40%) · 4.0 images/s · 0:02 left"


def test_a_status_line_is_throttled_in_a_log_but_forced_at_the_end():
    out, clock = io.StringIO(), Clock()
    line = StatusLine(stream=out, clock=clock)
    line.show("training: 10% · epoch 1/8")
    clock.t += 1
    line.show("training: 12% · epoch 1/8: batch 9/40")
    line.show("training: 100% · done", force=True)
    assert out.getvalue().splitlines() == ["training: 10% · epoch 1/8", "training: 100% · done"]
