"""Aligning pieces with letters: repairs on hand-made masks, odd inputs, properties."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from hwocr.align import Alignment, align, analyze_name
from hwocr.boxes import Box
from hwocr.config import DEFAULTS
from hwocr.errors import ImageError
from hwocr.preprocess import CleanedName
from hwocr.segment import segment


def draw_letter(ink: np.ndarray, x: int, *, width: int = 10, top: int = 6, height: int = 16, pen: int = 2) -> None:
    """A box-shaped capital (an O, say): four strokes ``pen`` thick."""
    ink[top : top + height, x : x + pen] = 255
    ink[top : top + height, x + width - pen : x + width] = 255
    ink[top : top + pen, x : x + width] = 255
    ink[top + height - pen : top + height, x : x + width] = 255


def name_of(xs: list[int], width: int = 140) -> np.ndarray:
    ink = np.zeros((28, width), np.uint8)
    for x in xs:
        draw_letter(ink, x)
    return ink


def run(ink: np.ndarray, transcription: str) -> Alignment:
    cleaned = CleanedName(gray=255 - ink, ink=ink, removed=())
    return align(cleaned, segment(ink), transcription)


def boxes(al: Alignment) -> list[list[int]]:
    return [b.to_list() for b in al.boxes]


def test_one_piece_per_letter_is_matched():
    al = run(name_of([8, 32, 56, 80, 104]), "Océan")
    assert al.status == "matched" and al.confidence == 1.0
    assert al.letters == "OCEAN"
    assert boxes(al) == [[8, 6, 18, 22], [32, 6, 42, 22], [56, 6, 66, 22], [80, 6, 90, 22], [104, 6, 114, 22]]
    assert al.reason == "5 pieces for 5 letters"


def test_a_letter_broken_in_two_is_merged():
    ink = name_of([8, 32, 80, 104])
    x = 56  # the third letter drawn as two brackets with a 2-pixel gap
    ink[6:22, x : x + 2] = ink[6:8, x : x + 4] = ink[20:22, x : x + 4] = 255
    ink[6:22, x + 8 : x + 10] = ink[6:8, x + 6 : x + 10] = ink[20:22, x + 6 : x + 10] = 255
    assert len(segment(ink).boxes) == 6
    al = run(ink, "OCEAN")
    assert al.status == "repaired"
    assert al.confidence >= DEFAULTS.harvest_min_confidence
    assert boxes(al)[2] == [56, 6, 66, 22]
    assert al.reason == "6 pieces for 5 letters; merged the 2 pieces of letter 3 (E)"


def test_two_touching_letters_are_split_at_the_valley():
    ink = name_of([8, 32, 44, 68, 92])
    ink[13:15, 42:44] = 255  # letters 2 and 3 joined by a short bar
    assert len(segment(ink).boxes) == 4
    al = run(ink, "OCEAN")
    assert al.status == "repaired"
    assert al.confidence >= DEFAULTS.harvest_min_confidence
    assert boxes(al) == [[8, 6, 18, 22], [32, 6, 43, 22], [43, 6, 54, 22], [68, 6, 78, 22], [92, 6, 102, 22]]
    assert al.reason == "4 pieces for 5 letters; split touching letters 2-3 (CE)"


@pytest.mark.parametrize("transcription", ["JEAN-LUC", "JEAN LUC", "JEANLUC"])
def test_a_drawn_hyphen_is_never_a_letter(transcription):
    ink = name_of([8, 32, 56, 80, 120, 144, 168], width=200)
    ink[13:16, 96:106] = 255  # the hyphen: small, flat, at mid-height
    al = run(ink, transcription)
    assert al.status == "matched"
    assert [b.x0 for b in al.boxes] == [8, 32, 56, 80, 120, 144, 168]
    assert "ignored a hyphen stroke" in al.reason


def test_separators_expect_a_gap_not_a_cut():
    # Letters 2-3 touch, and so do 4-5; "OC EAN" says the break after C is a real one,
    # which the touching pair 2-3 is not, so the aligner must pay for that cut.
    ink = name_of([8, 32, 44, 68, 80])
    ink[13:15, 42:44] = 255
    ink[13:15, 78:80] = 255
    plain = run(ink, "OCEAN")
    spaced = run(ink, "OC EAN")
    assert len(plain.boxes) == len(spaced.boxes) == 5
    assert spaced.confidence <= plain.confidence


def test_far_fewer_pieces_than_letters_is_not_harvested():
    al = run(name_of([8, 32]), "MAXIMILIEN")
    assert al.status in ("needs_review", "failed")
    if al.status == "needs_review":
        assert len(al.boxes) == 10


@pytest.mark.parametrize(
    ("transcription", "reason_part"),
    [("", "no transcription"), ("UNREADABLE", "UNREADABLE"), ("--", "no letters"), ("A" * 41, "more than")],
)
def test_transcriptions_without_letters_fail(transcription, reason_part):
    al = run(name_of([8, 32]), transcription)
    assert al.status == "failed" and al.boxes == () and al.confidence == 0.0
    assert reason_part in al.reason


def test_no_ink_fails_with_a_reason():
    al = run(np.zeros((28, 140), np.uint8), "OCEAN")
    assert al.status == "failed" and al.boxes == ()
    assert al.reason == "no handwriting found in the image"
    al = run(np.zeros((28, 140), np.uint8)[:, :0], "OCEAN")
    assert al.status == "failed"


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    "image",
    [
        np.full((36, 388), 255, np.uint8),  # blank
        np.zeros((36, 388), np.uint8),  # all black (load_gray reads it as blank paper)
        np.full((1, 1), 0, np.uint8),
        np.full((2000, 3000), 255, np.uint8),  # huge and empty
    ],
)
def test_odd_images_fail_without_raising(image):
    analysis = analyze_name(image, "MARTIN")
    assert analysis.alignment.status == "failed"
    assert analysis.alignment.reason
    assert analysis.cleaned.ink.shape == image.shape


def test_analyze_name_reads_paths_bytes_and_arrays_alike(tmp_path):
    gray = np.full((28, 140), 255, np.uint8)
    gray[name_of([8, 32, 56]) > 0] = 0
    from_array = analyze_name(gray, "ABC").alignment
    path = tmp_path / "name.png"
    path.write_bytes(png(gray))
    assert analyze_name(path, "ABC").alignment == from_array
    assert analyze_name(png(gray), "ABC").alignment == from_array
    # JPEG goes through the fast decoder: same boxes as the general one
    import cv2

    _, jpg = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, 95])
    jpath = tmp_path / "name.jpg"
    jpath.write_bytes(jpg.tobytes())
    assert analyze_name(jpath, "ABC").alignment.boxes == from_array.boxes
    assert analyze_name(jpg.tobytes(), "ABC").alignment.boxes == from_array.boxes


def test_undecodable_input_raises_image_error(tmp_path):
    with pytest.raises(ImageError):
        analyze_name(b"not an image", "ABC")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(ImageError):
        analyze_name(bad, "ABC")
    with pytest.raises(ImageError):
        analyze_name(tmp_path / "missing.jpg", "ABC")


@settings(max_examples=120, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 30), st.integers(1, 90)), elements=st.sampled_from([0, 0, 0, 255])),
    st.text(alphabet="ABCDEILMNOW -'", min_size=0, max_size=12),
)
def test_alignment_gives_one_box_per_letter_unless_failed(ink, transcription):
    al = run(ink, transcription)
    assert al.status in ("matched", "repaired", "needs_review", "failed")
    assert 0.0 <= al.confidence <= 1.0
    assert al.reason
    if al.status == "failed":
        assert al.boxes == ()
    else:
        assert len(al.boxes) == len(al.letters) > 0
        h, w = ink.shape
        for b in al.boxes:
            assert isinstance(b, Box)
            assert 0 <= b.x0 < b.x1 <= w and 0 <= b.y0 < b.y1 <= h
            assert ink[b.y0 : b.y1, b.x0 : b.x1].any()
        assert [b.x0 for b in al.boxes] == sorted(b.x0 for b in al.boxes)


# --------------------------------------------------------------------------------------
# the compiled kernels behind align (hwocr.align_kernels)


def test_letter_table_rows():
    import math

    from hwocr.widths import LOG_AVERAGE, LOG_WIDTH, letter_prior, letter_table

    table = letter_table("WIÉ1ŁX")  # Ł is beyond Latin-1: the rows are built directly
    assert table.shape == (6, 6)
    for row, ch in zip(table.tolist(), "WIÉ1ŁX"):
        assert row[:4] == list(letter_prior(ch))
        assert row[4] == LOG_WIDTH.get(ch, LOG_AVERAGE)
        assert row[5] == (1.0 if ch in "I1" else 0.0)
    assert table[0, 4] == math.log(1.34)


def test_layout_and_identity_of_hand_made_pieces():
    import math

    from hwocr import align_kernels
    from hwocr.config import Defaults
    from hwocr.widths import letter_table

    # three letters and a small flat stroke at mid-height (a drawn hyphen)
    pieces = np.array([[0, 10, 10, 30], [14, 10, 22, 30], [26, 18, 32, 21], [36, 11, 46, 30]], np.int64)
    col = np.zeros(50, np.int64)
    for x0, y0, x1, y1 in pieces.tolist():
        col[x0:x1] += y1 - y0
    table = letter_table("ABC")
    rules = align_kernels.align_rules(Defaults(dash_max_height=0.35, dash_min_width=0.3, align_min_height=0.5))
    inks, text_h, dash, costs = align_kernels.layout_and_identity(pieces, col, table, rules, 2.0)
    assert inks.tolist() == [200, 160, 18, 190]
    assert text_h == 20.0 and dash.tolist() == [False, False, True, False]
    # the one-piece-per-letter costs, as the Python formula computes them
    kept = [p for p, d in zip(pieces.tolist(), dash.tolist()) if not d]
    logs = [math.log(x1 - x0) for x0, _, x1, _ in kept]
    rel = sorted(lw - row[4] for lw, row in zip(logs, table.tolist()))
    scale = 0.5 * (rel[1] + rel[1])
    want = []
    for (_, y0, _, y1), lw, (m1, s1, m2, s2, _, _) in zip(kept, logs, table.tolist()):
        z = min(abs(lw - scale - m1) / s1, abs(lw - scale - m2) / s2)
        low = math.log(max(y1 - y0, 1.0) / (0.5 * 20.0))
        want.append(0.5 * z * z + (0.5 * (low / 0.25) ** 2 if low < 0 else 0.0))
    assert costs.tolist() == want
    # with a letter too many there is no one-piece-per-letter answer to cost
    assert align_kernels.layout_and_identity(pieces, col, letter_table("ABCD"), rules, 2.0)[3].size == 0


def test_small_helpers():
    from hwocr import kernel_tools

    keys = np.array([5, 1, 5, 0, 1], np.int64)
    assert kernel_tools.stable_order(keys).tolist() == [3, 1, 4, 0, 2]
    assert kernel_tools.median_of(np.array([4, 1, 3, 2], np.int64)) == 2.5
    assert kernel_tools.median_of(np.array([0.5, -1.0, 7.0])) == 0.5
