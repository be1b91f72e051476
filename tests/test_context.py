"""Case from geometry and letter/digit runs (hwocr.context), on hand-made lines and on
hand-drawn strokes read by the shipped model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hwocr.boxes import Box
from hwocr.config import ALL_CLASSES, CHARSETS
from hwocr.context import case_from_geometry, letter_digit_runs, line_metrics, short_digits_are_letters
from hwocr.read import ReadChar

LABELS = ALL_CLASSES
INDEX = {c: i for i, c in enumerate(LABELS)}
ALL = np.ones(len(LABELS), bool)


def _char(label: str, x: int, top: int, bottom: int = 100) -> ReadChar:
    return ReadChar(Box(x, top, x + 30, bottom), label, 0.5, ((label, 0.5),))


def _row(**probs: float) -> np.ndarray:
    row = np.full(len(LABELS), 1e-4)
    for label, p in probs.items():
        row[INDEX[label]] = p
    return row / row.sum()


def test_cocoa_takes_its_case_from_the_height_of_each_letter():
    # The classifier says small c and small o everywhere (the shapes are the same); the
    # first c rises to the cap height (60 px), the rest to the a's x-height (33 px).
    chars = [_char("c", 0, 40), _char("o", 40, 67), _char("c", 80, 67), _char("o", 120, 68), _char("a", 160, 67)]
    rows = [_row(c=0.6, C=0.4), _row(o=0.7, O=0.3), _row(c=0.6, C=0.4), _row(o=0.7, O=0.3), _row(a=0.95)]
    out = case_from_geometry(chars, rows, LABELS, ALL)
    assert "".join(c.label for c in out) == "Cocoa"
    assert out[0].confidence == pytest.approx(rows[0][INDEX["c"]] + rows[0][INDEX["C"]])
    assert out[0].top[0] == ("C", out[0].confidence)


def test_a_digit_as_short_as_the_small_letters_is_a_letter():
    # "sy5tem": the s in the middle was read as a 5 (sure of it), yet it stands at the
    # e's and m's x-height (33 px) under the t's 60: digits are written as tall as
    # capitals, so it is the likeliest small letter; case from geometry keeps it small.
    chars = [_char("s", 0, 67), _char("y", 40, 67, 125), _char("5", 80, 66), _char("t", 120, 40),
             _char("e", 160, 67), _char("m", 200, 67)]
    rows = [_row(s=0.6, S=0.4), _row(y=0.9), _row(**{"5": 0.9, "S": 0.06, "s": 0.04}), _row(t=0.9),
            _row(e=0.9), _row(m=0.9)]
    out = case_from_geometry(chars, rows, LABELS, ALL)
    assert "".join(c.label for c in out) == "system"
    assert out[2].confidence == pytest.approx(rows[2][INDEX["S"]] + rows[2][INDEX["s"]])
    # The same 5 as tall as the t stays a 5 ("mp3", "12cm"), and so does a digit
    # beside a single "small" letter, which may be a capital read as small ("A4" read a4).
    tall = [*chars[:2], _char("5", 80, 41), *chars[3:]]
    assert short_digits_are_letters(tall, rows, LABELS, ALL)[2].label == "5"
    pair = [_char("a", 0, 40), _char("4", 40, 41)]
    assert [c.label for c in short_digits_are_letters(pair, [_row(a=0.6, A=0.4), _row(**{"4": 0.9})],
                                                      LABELS, ALL)] == ["a", "4"]
    # A line with no x-height to measure against ("2000", "R2D2") is left alone.
    caps = [_char("R", 0, 40), _char("2", 40, 41), _char("D", 80, 40), _char("2", 120, 41)]
    caps_rows = [_row(R=0.9), _row(**{"2": 0.9, "Z": 0.1}), _row(D=0.9), _row(**{"2": 0.9, "Z": 0.1})]
    assert "".join(c.label for c in short_digits_are_letters(caps, caps_rows, LABELS, ALL)) == "R2D2"


def test_a_bar_is_an_l_also_when_the_small_letters_show_only_by_their_height():
    # "OLiviA": no letter was read small before the line's heights were looked at (the
    # last a read as a capital, the i's dot makes it tall), so the x-height was unknown
    # when the bars were; the a at half the L's height makes it a line of small letters.
    chars = [_char("O", 0, 40), _char("L", 40, 40), _char("i", 80, 52), _char("v", 120, 66),
             _char("i", 160, 50), _char("A", 200, 65)]
    rows = [_row(O=0.7, o=0.3), _row(L=0.9, l=0.05), _row(i=0.9), _row(v=0.6, V=0.4), _row(i=0.9),
            _row(A=0.6, a=0.4)]
    out = case_from_geometry(chars, rows, LABELS, ALL)
    assert "".join(c.label for c in out) == "Olivia"
    assert out[1].confidence == pytest.approx(rows[1][INDEX["L"]] + rows[1][INDEX["l"]])


def test_small_letters_among_capitals_and_descenders():
    # "RoAp": the capitals R and A witness the cap height (60 px); the o rises 25 px;
    # the p hangs below the baseline and its top is at x-height; the S is a capital.
    chars = [_char("R", 0, 40), _char("O", 40, 75), _char("A", 80, 40), _char("P", 120, 75, 125),
             _char("s", 160, 42)]
    rows = [_row(R=0.9), _row(O=0.6, o=0.4), _row(A=0.8), _row(P=0.5, p=0.5), _row(s=0.5, S=0.5)]
    baseline, x_height, cap = line_metrics(chars)
    assert (baseline, x_height, cap) == (100, None, 60)
    out = case_from_geometry(chars, rows, LABELS, ALL)
    assert [c.label for c in out] == ["R", "o", "A", "p", "S"]


def test_a_e_m_n_r_take_their_case_from_their_height_where_the_line_gives_a_measure():
    # "leur" written with an epsilon-like e and a small R: the classifier reads the
    # capital shapes E and R, yet both stand at the u's x-height, under the l's height.
    chars = [_char("l", 0, 40), _char("E", 40, 67), _char("u", 80, 67), _char("R", 120, 66)]
    rows = [_row(l=0.9), _row(E=0.6, e=0.3), _row(u=0.7, U=0.3), _row(R=0.99)]
    out = case_from_geometry(chars, rows, LABELS, ALL)
    assert "".join(c.label for c in out) == "leur"
    assert out[1].confidence == pytest.approx(rows[1][INDEX["E"]] + rows[1][INDEX["e"]])
    # "Anna" whose first letter has the small a's shape but the capitals' height.
    chars = [_char("a", 0, 40), _char("n", 40, 67), _char("n", 80, 67), _char("a", 120, 67)]
    rows = [_row(a=0.9, A=0.05), _row(n=0.9), _row(n=0.9), _row(a=0.9)]
    assert "".join(c.label for c in case_from_geometry(chars, rows, LABELS, ALL)) == "Anna"
    # Capitals of one height stay capitals; so does everything when the line has no
    # measure (one letter) or the charset holds one case.
    chars = [_char("M", 0, 40), _char("E", 40, 41), _char("N", 80, 40)]
    rows = [_row(M=0.9), _row(E=0.9, e=0.05), _row(N=0.9, n=0.05)]
    assert "".join(c.label for c in case_from_geometry(chars, rows, LABELS, ALL)) == "MEN"
    assert [c.label for c in case_from_geometry([_char("E", 0, 67)], [_row(E=0.9)], LABELS, ALL)] == ["E"]
    upper_only = np.array([c in CHARSETS["letters"] for c in LABELS])
    chars = [_char("L", 0, 40), _char("E", 40, 67), _char("U", 80, 67), _char("R", 120, 66)]
    assert [c.label for c in case_from_geometry(chars, rows[:1] * 4, LABELS, upper_only)] == ["L", "E", "U", "R"]


def test_a_bar_among_small_letters_is_an_l_and_stays_an_i_among_capitals():
    hello = [_char("h", 0, 40), _char("e", 40, 67), _char("l", 80, 40), _char("I", 120, 40), _char("o", 160, 67)]
    rows = [_row(h=0.9), _row(e=0.9), _row(l=0.6, I=0.4), _row(I=0.6, l=0.4), _row(o=0.6, O=0.4)]
    out = case_from_geometry(hello, rows, LABELS, ALL)
    assert "".join(c.label for c in out) == "hello"
    assert out[3].confidence == pytest.approx(rows[3][INDEX["I"]] + rows[3][INDEX["l"]])
    caps = [_char("B", 0, 40), _char("I", 40, 40), _char("N", 80, 40)]
    rows = [_row(B=0.9), _row(I=0.6, l=0.4), _row(N=0.9)]
    assert "".join(c.label for c in case_from_geometry(caps, rows, LABELS, ALL)) == "BIN"


def test_an_l_that_reads_as_an_L_among_small_letters_is_an_l_but_not_first_nor_among_capitals():
    style = [_char("s", 0, 67), _char("t", 40, 40), _char("y", 80, 67, 130), _char("L", 120, 40),
             _char("e", 160, 67)]
    rows = [_row(s=0.6, S=0.4), _row(t=0.9), _row(y=0.9), _row(L=0.7, l=0.2), _row(e=0.9)]
    out = case_from_geometry(style, rows, LABELS, ALL)
    assert "".join(c.label for c in out) == "style"
    assert out[3].confidence == pytest.approx(rows[3][INDEX["L"]] + rows[3][INDEX["l"]])
    lyon = [_char("L", 0, 40), _char("y", 40, 67, 130), _char("o", 80, 67), _char("n", 120, 67)]
    rows = [_row(L=0.8, l=0.1), _row(y=0.9), _row(o=0.6, O=0.4), _row(n=0.9)]
    assert "".join(c.label for c in case_from_geometry(lyon, rows, LABELS, ALL)) == "Lyon"
    cool = [_char("C", 0, 40), _char("O", 40, 40), _char("O", 80, 40), _char("L", 120, 40)]
    rows = [_row(C=0.6, c=0.4), _row(O=0.6, o=0.4), _row(O=0.6, o=0.4), _row(L=0.8, l=0.1)]
    assert "".join(c.label for c in case_from_geometry(cool, rows, LABELS, ALL)) == "COOL"


def test_case_is_left_alone_when_the_line_cannot_tell_or_the_charset_keeps_one_case():
    single = [_char("O", 0, 60)]
    assert [c.label for c in case_from_geometry(single, [_row(o=0.4, O=0.6)], LABELS, ALL)] == ["O"]
    # Letters all of a height and nothing else to measure: one case for the line,
    # the one the classifier finds likelier over all of them ("CUP", never "cuP").
    same = [_char("c", 0, 40), _char("u", 40, 41), _char("P", 80, 40)]
    rows = [_row(c=0.55, C=0.45), _row(u=0.6, U=0.4), _row(P=0.9, p=0.1)]
    assert [c.label for c in case_from_geometry(same, rows, LABELS, ALL)] == ["C", "U", "P"]
    upper_only = np.array([c in CHARSETS["letters"] for c in LABELS])
    chars = [_char("C", 0, 40), _char("O", 40, 67), _char("A", 80, 40)]
    assert [c.label for c in case_from_geometry(chars, rows, LABELS, upper_only)] == ["C", "O", "A"]


def test_digits_and_letters_follow_their_neighbours_unless_the_model_is_sure():
    # 2025 with its first 2 read as Z at 0.55 (2 at 0.4): the digits around it win.
    chars = [_char("Z", 0, 40), _char("0", 40, 40), _char("2", 80, 40), _char("5", 120, 40)]
    rows = [_row(Z=0.55, **{"2": 0.4}), _row(**{"0": 0.6, "O": 0.35}), _row(**{"2": 0.9}), _row(**{"5": 0.9})]
    assert "".join(c.label for c in letter_digit_runs(chars, rows, LABELS, ALL)) == "2025"
    # R2D2: the model is sure of each 2, so the letters around them do not turn them to Z.
    chars = [_char("R", 0, 40), _char("2", 40, 40), _char("D", 80, 40), _char("2", 120, 40)]
    rows = [_row(R=0.95), _row(**{"2": 0.97, "Z": 0.02}), _row(D=0.95), _row(**{"2": 0.96, "Z": 0.03})]
    assert "".join(c.label for c in letter_digit_runs(chars, rows, LABELS, ALL)) == "R2D2"
    # BOB with its O read as 0 at 0.5 (O at 0.45): a letter between letters.
    chars = [_char("B", 0, 40), _char("0", 40, 40), _char("B", 80, 40)]
    rows = [_row(B=0.9), _row(**{"0": 0.5, "O": 0.45}), _row(B=0.9)]
    assert "".join(c.label for c in letter_digit_runs(chars, rows, LABELS, ALL)) == "BOB"
    letters_only = np.array([c in CHARSETS["letters"] for c in LABELS])
    assert [c.label for c in letter_digit_runs(chars, rows, LABELS, letters_only)] == ["B", "0", "B"]


def test_a_digit_the_model_hesitates_on_joins_the_letters_but_a_sure_one_keeps_its_kind():
    # "aussi" with both s read as 5 at 0.78 (s at 0.2): two switches cost more than the
    # digits are worth, so the word reads as letters.
    chars = [_char(c, 40 * i, 60) for i, c in enumerate("au55i")]
    rows = [_row(a=0.95), _row(u=0.93), _row(**{"5": 0.78, "s": 0.2}), _row(**{"5": 0.77, "s": 0.21}), _row(i=0.99)]
    assert "".join(c.label for c in letter_digit_runs(chars, rows, LABELS, ALL)).lower() == "aussi"
    # One 2 read at 0.97 (Z at 0.02) between two letters: one stray digit in a word, yet
    # the model is sure of it (read_kind_sure), so it stays a 2 whatever switching costs.
    chars = [_char("R", 0, 40), _char("2", 40, 40), _char("D", 80, 40)]
    rows = [_row(R=0.95), _row(**{"2": 0.97, "Z": 0.02}), _row(D=0.95)]
    assert "".join(c.label for c in letter_digit_runs(chars, rows, LABELS, ALL)) == "R2D"
    # The same 2 read at 0.8 (Z at 0.19) is not sure: between letters it is a Z.
    rows[1] = _row(**{"2": 0.8, "Z": 0.19})
    assert "".join(c.label for c in letter_digit_runs(chars, rows, LABELS, ALL)) == "RZD"


# --- hand-drawn strokes, read by the shipped model --------------------------------------


def _draw_cocoa() -> np.ndarray:
    """'Cocoa' drawn as a pen would: a tall C, small o, c, o and a on one baseline."""
    img = np.full((160, 420), 255, np.uint8)
    base, cap, xh = 120, 70, 38
    t = 4

    def ring(cx, h, start=0, end=360):
        cv2.ellipse(img, (cx, base - h // 2), (int(h * 0.42), h // 2), 0, start, end, 0, t, cv2.LINE_AA)

    ring(50, cap, 40, 320)   # C
    ring(120, xh)            # o
    ring(185, xh, 40, 320)   # c
    ring(250, xh)            # o
    ring(320, xh)            # a: a ring and its stem
    cv2.line(img, (336, base - xh), (338, base), 0, t, cv2.LINE_AA)
    return img


@pytest.fixture(scope="module")
def cased_recognizer():
    from hwocr.config import shipped_models_dir
    from hwocr.recognize import Recognizer

    rec = Recognizer.load(shipped_models_dir() / "base")
    if not any(c.islower() for c in rec.labels):
        pytest.skip("the shipped model has no lower case")
    return rec


def test_drawn_cocoa_reads_with_its_case(cased_recognizer):
    img = _draw_cocoa()
    with_case = cased_recognizer.read(img, charset="cased")
    assert with_case.text == "Cocoa"
    assert with_case.chars[0].label == "C" and with_case.chars[3].label == "o"


@pytest.mark.parametrize("hangs, expected", [(True, "spy"), (False, "SPY")])
def test_a_p_or_y_says_the_case_of_a_line_of_same_shape_letters(hangs, expected):
    # S, P and Y look the same in both cases and nothing else in the line measures the
    # x-height: a p and a y that hang 25 px below the s's baseline are small, ones that
    # sit on it are capitals, whatever the classifier leans to.
    bottom = 125 if hangs else 100
    chars = [_char("S", 0, 45), _char("P", 40, 45, bottom), _char("Y", 80, 45, bottom)]
    lean = "upper" if hangs else "lower"
    rows = [_row(**{("S" if lean == "upper" else "s"): 0.7, ("s" if lean == "upper" else "S"): 0.3}),
            _row(**{("P" if lean == "upper" else "p"): 0.7, ("p" if lean == "upper" else "P"): 0.3}),
            _row(**{("Y" if lean == "upper" else "y"): 0.7, ("y" if lean == "upper" else "Y"): 0.3})]
    out = case_from_geometry(chars, rows, LABELS, ALL)
    assert "".join(c.label for c in out) == expected


def test_a_p_that_sits_on_the_line_among_small_letters_is_a_capital():
    # "aPe" vs "ape": x-height witnesses a and e; the p's case comes from its descent.
    for bottom, expected in [(100, "aPe"), (125, "ape")]:
        chars = [_char("a", 0, 67), _char("p", 40, 67, bottom), _char("e", 80, 67)]
        rows = [_row(a=0.9), _row(p=0.5, P=0.5), _row(e=0.9)]
        out = case_from_geometry(chars, rows, LABELS, ALL)
        assert "".join(c.label for c in out) == expected
