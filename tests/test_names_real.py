"""The real names (../shared/data/names): overall shares, and hand-checked names.

Skipped when the data is absent. The floors are the measured figures of
bench/segment_bench.py rounded down a little (see docs/BENCHMARKS.md); a change that
drops below them has made segmentation worse.
"""

from __future__ import annotations

import collections

import pandas as pd
import pytest

from hwocr.align import analyze_name
from hwocr.config import DEFAULTS
from hwocr.text import letters_of, normalize_transcription


@pytest.fixture(scope="module")
def all_names(names_dir):
    df = pd.read_csv(names_dir / "names.csv", dtype=str, keep_default_na=False)
    out = {}
    for row in df.itertuples():
        out[row.unit_id] = (row.transcription, analyze_name(names_dir / row.image_url, row.transcription))
    return out


def test_shares_over_the_thousand_names(all_names):
    assert len(all_names) == 1000
    counts = collections.Counter(a.alignment.status for _, a in all_names.values())
    auto = sum(
        1
        for _, a in all_names.values()
        if a.alignment.status == "matched"
        or (a.alignment.status == "repaired" and a.alignment.confidence >= DEFAULTS.harvest_min_confidence)
    )
    # measured 2026-11-21: 901 matched, 52 repaired (32 harvested), 41 needs_review, 6 failed
    assert auto >= 900, counts
    assert counts["matched"] >= 880, counts
    assert counts["failed"] <= 15, counts


def test_every_name_has_one_box_per_letter_unless_failed(all_names):
    for unit_id, (transcription, analysis) in all_names.items():
        al = analysis.alignment
        norm, _ = normalize_transcription(transcription)
        if al.status == "failed":
            assert al.boxes == () and al.reason, unit_id
            continue
        assert al.letters == letters_of(norm), unit_id
        assert len(al.boxes) == len(al.letters), unit_id
        h, w = analysis.cleaned.gray.shape
        for b in al.boxes:
            assert 0 <= b.x0 < b.x1 <= w and 0 <= b.y0 < b.y1 <= h, unit_id


# Hand-checked against the images (boxes drawn and looked at; each crop is one whole letter).
CHECKED = {
    # plain 284x31 name, a lowercase i with its dot
    "VALIDATION_0001": ("matched", [[21, 8, 30, 23], [38, 7, 42, 21], [54, 7, 61, 23], [70, 10, 76, 22],
                                    [87, 8, 95, 22]]),
    # "PRENOM :" label, rotated digits and a form line at the left, row fragments below
    "VALIDATION_0008": ("matched", [[94, 3, 106, 18], [112, 4, 121, 19], [129, 3, 141, 17], [149, 2, 153, 17],
                                    [165, 3, 174, 18], [182, 5, 193, 18]]),
    # JEAN-ROCH: the drawn hyphen is no letter
    "VALIDATION_0004": ("matched", [[20, 10, 29, 23], [37, 10, 43, 25], [51, 10, 61, 24], [68, 10, 76, 24],
                                    [99, 10, 107, 23], [115, 10, 122, 23], [131, 11, 139, 21], [146, 11, 154, 23]]),
    # "PRENOM" printed above, "DATE DE NAISSANCE" below: the name is the middle band
    "VALIDATION_0065": ("matched", [[32, 39, 39, 53], [46, 41, 52, 52], [59, 41, 66, 51], [78, 40, 85, 51],
                                    [92, 40, 99, 51], [107, 41, 113, 51]]),
    # JADE: A and D touch and are split
    "VALIDATION_0997": ("repaired", [[19, 8, 32, 20], [35, 6, 46, 21], [46, 10, 61, 23], [68, 6, 79, 19]]),
    # MAISSANE: the dot of the I stands beside it and is merged into it
    "VALIDATION_0579": ("repaired", [[11, 12, 22, 26], [30, 15, 37, 27], [43, 13, 50, 25], [64, 16, 73, 27],
                                     [80, 15, 89, 28], [98, 15, 105, 27], [115, 14, 128, 26], [133, 15, 143, 26]]),
}


@pytest.mark.parametrize("unit_id", sorted(CHECKED))
def test_hand_checked_names(all_names, unit_id):
    status, expected = CHECKED[unit_id]
    al = all_names[unit_id][1].alignment
    assert al.status == status, al.reason
    assert al.confidence >= DEFAULTS.harvest_min_confidence
    assert [b.to_list() for b in al.boxes] == expected


def test_the_printed_label_is_removed_not_harvested(all_names):
    cleaned = all_names["VALIDATION_0008"][1].cleaned
    labels = [r.box for r in cleaned.removed if r.kind == "label"]
    assert labels and max(b.x1 for b in labels) < 94  # all left of the first letter
    assert not cleaned.ink[:, :90].any()


def test_names_that_need_a_person(all_names):
    # The writer wrote HERRIG, the transcription says HERRING: never harvested.
    al = all_names["VALIDATION_0133"][1].alignment
    assert al.status == "needs_review"
    # "UNREADABLE" is not a name.
    al = all_names["VALIDATION_0006"][1].alignment
    assert al.status == "failed" and al.reason == "transcription is UNREADABLE"
