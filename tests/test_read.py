"""Reading words and lines (hwocr.read) with the shipped base model: drawn words,
touching letters, charsets, lexicon snapping, several lines, errors; and the align
stage's classifier-guided alignment (hwocr.align_guided, hwocr.align), on the same lattice."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from hwocr.align_guided import align_guided
from hwocr.config import DEFAULTS
from hwocr.cut import cut_ink, drawing_ink
from hwocr.drawn_words import compose_word
from hwocr.errors import ImageError, InputError
from hwocr.lattice import build_lattice, typical_width
from hwocr.read import Lexicon

BASE = Path(__file__).resolve().parent.parent / "models" / "base"
FONT = cv2.FONT_HERSHEY_SIMPLEX


@pytest.fixture(scope="module")
def rec():
    if not (BASE / "model.keras").is_file():
        pytest.skip("no shipped base model in models/base")
    from hwocr.recognize import Recognizer

    return Recognizer.load(BASE)


def draw_word(text: str, *, squeeze: int = 0, thickness: int = 8, height: int = 120, canvas=None, y: int | None = None):
    """``text`` drawn letter by letter with thick anti-aliased strokes, as a canvas
    gives it; ``squeeze`` pixels of overlap between neighbours make them touch.
    Returns the image and each letter's ink box."""
    img = np.full((height, 60 * len(text) + 40), 255, np.uint8) if canvas is None else canvas
    y = height // 2 if y is None else y
    x, boxes = 20, []
    for ch in text:
        (w, th), _ = cv2.getTextSize(ch, FONT, 2.0, thickness)
        alone = np.full_like(img, 255)
        cv2.putText(alone, ch, (x, y + th // 2), FONT, 2.0, 0, thickness, cv2.LINE_AA)
        ys, xs = np.nonzero(alone < 128)
        boxes.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
        img = np.minimum(img, alone)
        x += w - squeeze
    if canvas is not None:
        canvas[...] = img
    return img, boxes


def centre_inside(box, char_box) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return char_box.x0 <= cx <= char_box.x1 and char_box.y0 <= cy <= char_box.y1


@pytest.mark.parametrize("word", ["HELLO", "CHARACTERS", "QUIZ", "JUMBLE"])
def test_reads_a_drawn_word_with_a_box_per_letter(rec, word):
    img, truth = draw_word(word)
    reading = rec.read(img)
    assert reading.text == reading.raw_text == word
    assert len(reading.chars) == len(word)
    for ch, box, letter in zip(reading.chars, truth, word):
        assert ch.label == letter and ch.top[0] == (letter, ch.confidence)
        assert 0.5 < ch.confidence <= 1.0
        assert centre_inside(box, ch.box)
        assert all(a >= b for (_, a), (_, b) in zip(ch.top, ch.top[1:]))
    xs = [c.box.x0 for c in reading.chars]
    assert xs == sorted(xs)


@pytest.mark.parametrize("word, squeeze", [("HELLO", 6), ("TOUCHING", 6), ("NAME", 8)])
def test_touching_letters_are_cut_apart(rec, word, squeeze):
    from hwocr.cut import cut_image

    img, truth = draw_word(word, squeeze=squeeze)
    assert len(cut_image(img).boxes) < len(word)  # the drawing really has touching letters
    reading = rec.read(img)
    assert reading.text == word
    for ch, box in zip(reading.chars, truth):
        assert centre_inside(box, ch.box)


def test_charset_masks_what_can_be_read(rec):
    digits_img, _ = draw_word("3057")
    letters_img, _ = draw_word("HOLE")
    assert rec.read(digits_img, charset="digits").text == "3057"
    as_letters = rec.read(digits_img, charset="letters").text
    assert len(as_letters) == 4 and as_letters.isalpha()
    assert rec.read(letters_img, charset="letters").text == "HOLE"
    as_digits = rec.read(letters_img, charset="digits")
    assert as_digits.text.isdigit()
    assert all(label.isdigit() for c in as_digits.chars for label, _ in c.top)
    alnum = rec.read(letters_img, charset="alnum")
    assert len(alnum.text) == 4


def test_lexicon_snaps_and_keeps_the_raw_reading(rec):
    img, boxes = draw_word("BRUNO")
    # The O left open on its right side: the classifier alone reads a C (the names
    # model, which would read BRUNO, is off: this is about the lexicon). BRUNO, a name,
    # rather than HELLO: for the names model HELLA is the likelier name of the two.
    x0, y0, x1, y1 = boxes[4]
    img[y0 + (y1 - y0) // 3 : y0 + 2 * (y1 - y0) // 3, x0 + 85 * (x1 - x0) // 100 :] = 255
    raw = rec.read(img, lm=False).text
    assert raw == "BRUNC"
    assert rec.read(img).raw_text == "BRUNO"
    reading = rec.read(img, lexicon=["WORLD", "BRUNO", "HALLWAY"], lm=False)
    assert reading.raw_text == raw
    assert reading.text == "BRUNO"
    match = reading.lexicon_match
    assert match.entry == "BRUNO" and match.snapped and match.cost > 0
    assert len(match.chars) == 5 and match.runner_up in ("WORLD", "HALLWAY")
    assert [c.box for c in reading.chars][:4] == [c.box for c in match.chars][:4]


def test_a_far_lexicon_does_not_snap(rec):
    img, _ = draw_word("HELLO")
    reading = rec.read(img, lexicon=Lexicon.from_entries(["WORLD", "ZIGZAG"]))
    assert reading.text == reading.raw_text == "HELLO"
    match = reading.lexicon_match
    assert match is not None and match.entry == "WORLD" and not match.snapped and match.cost > 10
    # An entry with more letters than the drawing can hold is never placed.
    assert rec.read(img, lexicon=["MAXIMUMS"]).lexicon_match is None


def test_lexicon_from_file_normalises_and_rejects_empty(tmp_path):
    f = tmp_path / "lex.txt"
    f.write_text("# names\nJosé\n\nle-blanc\njose\n", encoding="utf-8")
    lex = Lexicon.from_file(f)
    assert lex.entries == ("JOSE", "LE-BLANC") and lex.letters == ("JOSE", "LEBLANC")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(InputError, match="no entries"):
        Lexicon.from_file(empty)
    with pytest.raises(InputError, match="cannot read"):
        Lexicon.from_file(tmp_path / "missing.txt")


def test_several_lines_read_top_to_bottom(rec):
    canvas = np.full((260, 400), 255, np.uint8)
    draw_word("WORD", canvas=canvas, height=260, y=60)
    draw_word("PLAY", canvas=canvas, height=260, y=190)
    reading = rec.read(canvas)
    assert reading.text == "WORD\nPLAY"
    assert len(reading.lines) == 2
    assert [c.line for c in reading.chars] == [0] * 4 + [1] * 4
    assert reading.lexicon_match is None  # only one-line readings have one


def test_bad_inputs_are_clear_errors(rec):
    img, _ = draw_word("HI")
    with pytest.raises(InputError, match="unknown charset"):
        rec.read(img, charset="greek")
    with pytest.raises(InputError, match="unknown charset"):
        rec.read(b"not an image at all", charset="greek")  # refused before decoding
    # Blank paper is no error but nothing to read: an empty reading that says why (issue 14).
    blank = rec.read(np.full((100, 300), 255, np.uint8))
    assert blank.text == "" and blank.chars == () and blank.reason == "no handwriting found in the image"
    with pytest.raises(ImageError):
        rec.read(b"not an image at all")
    with pytest.raises(InputError, match="not one string"):
        rec.read(img, lexicon="HELLO")


def test_to_json_follows_the_contract(rec):
    img, _ = draw_word("OK")
    doc = json.loads(json.dumps(rec.read(img, lexicon=["OK"]).to_json()))
    assert doc["text"] == "OK" and doc["raw_text"] == "OK"
    assert len(doc["chars"]) == 2
    for ch in doc["chars"]:
        assert {"box", "label", "confidence", "top"} <= set(ch)
        assert len(ch["box"]) == 4 and all(isinstance(v, int) for v in ch["box"])
        assert ch["box"][0] < ch["box"][2] and ch["box"][1] < ch["box"][3]
        assert isinstance(ch["confidence"], float)
        assert all(isinstance(label, str) and isinstance(p, float) for label, p in ch["top"])
    assert doc["lexicon_match"]["entry"] == "OK" and doc["lexicon_match"]["snapped"] is True


def test_forced_alignment_puts_each_letter_in_its_box(rec):
    from hwocr.preprocess import clean_name_image

    img, truth = draw_word("LEBLANC", squeeze=6)
    guided = align_guided(rec, clean_name_image(img), "LEBLANC")
    assert guided is not None and guided.letters == "LEBLANC"
    assert len(guided.boxes) == 7
    for box, got in zip(truth, guided.boxes):
        assert centre_inside(box, got)
    assert min(guided.probabilities) > 0.5
    assert guided.gap == pytest.approx(0.0, abs=1e-6)  # the free reading is the transcription
    # A wrong transcription is placed too, but explains the image far worse.
    wrong = align_guided(rec, clean_name_image(img), "MARTINS")
    assert wrong is not None and wrong.gap > 10 and min(wrong.probabilities) < 0.1
    assert align_guided(rec, clean_name_image(img), "") is None


def test_guided_repair_takes_a_name_the_geometry_left_to_review(rec):
    from hwocr.align import Alignment, guided_repair, needs_guidance
    from hwocr.boxes import Box
    from hwocr.config import GUIDED_MARK
    from hwocr.preprocess import clean_name_image

    img, truth = draw_word("LEBLANC", squeeze=6)
    cleaned = clean_name_image(img)
    unsure = Alignment("needs_review", 0.1, tuple(Box(*b) for b in truth), "LEBLANC", "5 pieces for 7 letters")
    assert needs_guidance(unsure)
    fixed = guided_repair(rec, cleaned, unsure)
    assert fixed.status == "repaired" and fixed.confidence >= 0.75
    assert GUIDED_MARK in fixed.reason and fixed.reason.startswith("5 pieces for 7 letters; ")
    for box, got in zip(truth, fixed.boxes):
        assert centre_inside(box, got)
    # A transcription the image does not show stays with a person.
    assert guided_repair(rec, cleaned, Alignment("needs_review", 0.1, (), "MARTINS", "x")) is None
    # Sure geometric answers never pay for the classifier.
    assert not needs_guidance(Alignment("matched", 0.95, (), "AB", ""))
    assert not needs_guidance(Alignment("repaired", 0.9, (), "AB", ""))


def test_the_align_stage_asks_its_judge_only_when_the_geometry_needs_it(rec, monkeypatch):
    import hwocr.align as align_stage
    from hwocr.align import Alignment, guided_repair
    from hwocr.boxes import Box
    from hwocr.preprocess import clean_name_image
    from hwocr.segment import segment

    img, truth = draw_word("LEBLANC", squeeze=6)
    cleaned = clean_name_image(img)
    seg = segment(cleaned.ink)
    calls = []

    def judge():
        calls.append(1)
        return rec

    unsure = Alignment("needs_review", 0.1, tuple(Box(*b) for b in truth), "LEBLANC", "5 pieces for 7 letters")
    monkeypatch.setattr(align_stage, "align_geometric", lambda *args: unsure)
    got = align_stage.align(cleaned, seg, "LEBLANC", judge=judge)
    assert calls == [1] and got == guided_repair(rec, cleaned, unsure) and got.status == "repaired"
    assert align_stage.align(cleaned, seg, "LEBLANC", judge=rec) == got  # a classifier as it is
    assert align_stage.align(cleaned, seg, "LEBLANC", judge=lambda: None) is unsure  # no model loads
    assert align_stage.align(cleaned, seg, "LEBLANC") is unsure  # no judge: the geometric answer
    sure = Alignment("matched", 0.95, unsure.boxes, "LEBLANC", "7 pieces for 7 letters")
    monkeypatch.setattr(align_stage, "align_geometric", lambda *args: sure)
    assert align_stage.align(cleaned, seg, "LEBLANC", judge=judge) is sure and calls == [1]


def _won() -> np.ndarray:
    """'Won' drawn with a pen: a capital W of two V's that touch, then a small o and n,
    on one baseline (hwocr.drawn_words places them at their heights)."""
    w = [[(0, 100), (12, 0), (24, 100)], [(30, 100), (42, 0), (54, 100)]]
    o = [[(12, 0), (0, 15), (0, 40), (12, 55), (24, 40), (24, 15), (12, 0)]]
    n = [[(0, 0), (0, 50), (5, 55), (20, 55), (25, 50), (25, 0)]]
    return compose_word([("W", w), ("o", o), ("n", n)], 0, 60.0, pen_px=3, size_jitter=0.0, baseline_jitter=0.0)


def test_a_wide_capital_among_small_letters_is_one_candidate(rec):
    # The first guess of the letter width, made on the small letters, is narrower than
    # the W: under a charset with small letters the W's four atoms may still be one
    # character (read_words_max_width_letters), as they may not be for names.
    img = _won()
    cutting = cut_ink(img, drawing_ink(img), cleaned=False, single_line=False)
    line = cutting.lines[0]
    w_box = line.parts[0].box

    def whole_w(words: bool) -> bool:
        lat = build_lattice(cutting, line, words=words)
        return any(b.x0 == w_box.x0 and b.x1 == w_box.x1 for b in lat.seg_box)

    assert whole_w(True) and not whole_w(False)
    assert rec.read(img, charset="all").text == "Won"  # "INon" before


def test_one_stroke_however_wide_may_be_one_letter_among_small_letters(rec):
    # An M drawn in one zigzag stroke, far wider than the letter width guessed on the
    # small o and n: cut at its valleys into atoms, it may still be one candidate when
    # reading words (it read "Allon" when it could not), never for names.
    m = [[(0, 0), (20, 100), (40, 10), (60, 100), (80, 0)]]
    o = [[(12, 0), (0, 15), (0, 40), (12, 55), (24, 40), (24, 15), (12, 0)]]
    n = [[(0, 0), (0, 50), (5, 55), (20, 55), (25, 50), (25, 0)]]
    img = compose_word([("M", m), ("o", o), ("n", n)], 0, 60.0, pen_px=3, size_jitter=0.0, baseline_jitter=0.0)
    cutting = cut_ink(img, drawing_ink(img), cleaned=False, single_line=False)
    line = cutting.lines[0]
    m_box = line.parts[0].box

    def whole_m(words: bool) -> bool:
        lat = build_lattice(cutting, line, words=words)
        assert len([a for a in lat.atoms if a.part == 0]) > 1  # the stroke was cut
        return any(b.x0 == m_box.x0 and b.x1 == m_box.x1 for b in lat.seg_box)

    assert m_box.width > DEFAULTS.read_words_max_width_letters * typical_width(line)
    assert whole_m(True) and not whole_m(False)
    assert rec.read(img, charset="all").text == "Mon"
