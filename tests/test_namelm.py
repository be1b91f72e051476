"""The names language model (hwocr.namelm) and its use in the reader's lattice decoder
(hwocr.lattice.lm_path): probabilities, the sure-letter guarantee, an ambiguous letter
settled toward a name, workspace transcriptions added."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from hwocr import namelm
from hwocr.boxes import Box
from hwocr.lattice import Lattice, free_path, lm_path
from hwocr.namelm import LETTERS, SYMBOLS
from hwocr.read import resolve_lm
from tests.helpers import add_name

NAMES = ["CHRISTINE", "MARTINE", "CHRISTIAN", "JUSTINE", "DUPONT", "MARTIN", "ANTOINE", "CELINE"]


@pytest.fixture(scope="module")
def small_lm():
    return namelm.train(NAMES, source="test names")


def test_shipped_model_loads_and_says_where_it_comes_from():
    lm = namelm.shipped()
    assert lm.order == namelm.ORDER
    assert "Faker" in lm.source and "MIT" in lm.source
    assert lm.names > 10_000


@pytest.mark.parametrize("name, scramble", [("MARTIN", "NTMRIA"), ("CHRISTINE", "CHRISTIUE"),
                                            ("DUPONT", "DUPCNT"), ("NICOLAS", "NIGQLAS")])
def test_a_frequent_name_scores_above_a_scramble(name, scramble):
    lm = namelm.shipped()
    assert lm.log_prob(name) > lm.log_prob(scramble) + 3.0


@pytest.mark.parametrize("history", ["", "C", "CHRI", "QXZW", "MARTINEZZZZ"])
def test_next_symbol_probabilities_sum_to_one(small_lm, history):
    for lm in (small_lm, namelm.shipped()):
        probs = [math.exp(x) for x in lm.log_next(history)]
        assert len(probs) == len(SYMBOLS)
        assert sum(probs) == pytest.approx(1.0, abs=1e-9)
        assert min(probs) > 0.0  # smoothed: an unseen letter is unlikely, not impossible


def test_names_are_taken_as_the_reader_sees_them(small_lm):
    assert namelm.name_letters("Jean-Rémi d'Aubigné") == "JEANREMIDAUBIGNE"
    assert namelm.name_letters("R2D2") is None
    assert small_lm.log_prob("christine") == small_lm.log_prob("CHRISTINE")
    assert small_lm.log_prob("12") == -math.inf


def test_saved_and_loaded_model_gives_the_same_probabilities(small_lm, tmp_path):
    path = tmp_path / "lm.json.gz"
    namelm.save(small_lm, path)
    again = namelm.load(path)
    assert again.order == small_lm.order and again.names == len(NAMES)
    for name in ("CHRISTINE", "XAVIER"):
        assert again.log_prob(name) == pytest.approx(small_lm.log_prob(name))


# --- the decoder --------------------------------------------------------------------------


def chain_lattice(rows: list[dict[str, float]]) -> tuple[Lattice, np.ndarray, list[str]]:
    """A lattice of one segment per character (no other cut), whose classifier gives
    each character the probabilities in ``rows`` (the rest spread evenly), and its
    score table (log probabilities)."""
    labels = list(LETTERS)
    n = len(rows)
    probs = np.zeros((n, len(labels)))
    for k, row in enumerate(rows):
        rest = max(0.0, 1.0 - sum(row.values())) / (len(labels) - len(row))
        probs[k] = rest
        for label, p in row.items():
            probs[k, labels.index(label)] = p
    boxes = [Box(20 * k, 0, 20 * k + 16, 30) for k in range(n)]
    lat = Lattice(line=None, atoms=[None] * n, cut_cost=np.zeros(n + 1), skip_cost=np.full(n, np.inf),
                  seg_i=np.arange(n), seg_j=np.arange(1, n + 1), seg_box=boxes, seg_gap=np.zeros(n),
                  seg_fixed=np.zeros(n), glyphs=[np.zeros((2, 2))] * n, probs=probs)
    return lat, np.log(np.maximum(probs, 1e-4)), labels


def sure(text: str, p: float = 0.99) -> list[dict[str, float]]:
    return [{ch: p} for ch in text]


def text_of(path, labels) -> str:
    return "".join(labels[c] for c in path.classes)


def test_the_model_settles_an_ambiguous_letter_toward_a_name(small_lm):
    # CHRIST?NE where the classifier slightly prefers U over I: a U there makes no name.
    rows = [*sure("CHRIST"), {"U": 0.5, "I": 0.4}, *sure("NE")]
    lat, table, labels = chain_lattice(rows)
    assert text_of(free_path(lat, table), labels) == "CHRISTUNE"
    assert text_of(lm_path(lat, table, labels, small_lm, weight=0.5), labels) == "CHRISTINE"
    assert text_of(lm_path(lat, table, labels, small_lm, weight=0.0), labels) == "CHRISTUNE"


def test_the_shipped_model_settles_it_too():
    rows = [*sure("MART"), {"L": 0.55, "I": 0.4}, *sure("NE")]
    lat, table, labels = chain_lattice(rows)
    assert text_of(lm_path(lat, table, labels, namelm.shipped(), weight=0.5), labels) == "MARTINE"


@pytest.mark.parametrize("weight", [0.5, 5.0, 100.0])
def test_a_letter_read_at_095_or_more_never_changes(small_lm, weight):
    # The U is read at 0.95: however much the model wants an I there, it stays a U.
    rows = [*sure("CHRIST"), {"U": 0.95, "I": 0.049}, *sure("NE")]
    lat, table, labels = chain_lattice(rows)
    assert text_of(lm_path(lat, table, labels, small_lm, weight=weight), labels) == "CHRISTUNE"


def test_just_under_095_the_model_may_change_it(small_lm):
    rows = [*sure("CHRIST"), {"U": 0.94, "I": 0.059}, *sure("NE")]
    lat, table, labels = chain_lattice(rows)
    assert text_of(lm_path(lat, table, labels, small_lm, weight=100.0), labels) == "CHRISTINE"


@pytest.mark.parametrize("p_u", [0.97, 0.90])
def test_a_sure_letter_keeps_its_box_when_another_cut_would_suit_the_model(p_u):
    # Atoms C H R I S T U N E, plus a segment joining the U and the N, read as an I at
    # 0.6: with a model that knows only CHRISTIE, the joined segment would make the
    # name. A U read at 0.97 keeps its own segment and letter; one read at 0.90 does not
    # (the N, at 0.90, is not sure either).
    rows = [*sure("CHRIST"), {"U": p_u, "I": 0.02}, {"N": 0.9}, *sure("E")]
    lat, _, labels = chain_lattice(rows)
    n = len(rows)
    lat.seg_i = np.r_[lat.seg_i, 6]
    lat.seg_j = np.r_[lat.seg_j, 8]
    lat.seg_box = [*lat.seg_box, lat.seg_box[6].union(lat.seg_box[7])]
    lat.seg_gap = np.zeros(n + 1)
    lat.seg_fixed = np.zeros(n + 1)
    lat.glyphs = [*lat.glyphs, np.zeros((2, 2))]
    joined = np.full((1, len(labels)), 0.4 / 25)
    joined[0, labels.index("I")] = 0.6
    lat.probs = np.vstack([lat.probs, joined])
    table = np.log(np.maximum(lat.probs, 1e-4))
    lm = namelm.train(["CHRISTIE"])
    free = free_path(lat, table)
    assert text_of(free, labels) == "CHRISTUNE" and 6 in free.segments
    with_lm = lm_path(lat, table, labels, lm, weight=100.0)
    if p_u >= 0.95:
        assert 6 in with_lm.segments and text_of(with_lm, labels)[6] == "U"
    else:
        assert text_of(with_lm, labels) == "CHRISTIE" and 6 not in with_lm.segments


def test_the_model_applies_only_to_upper_case_letters(small_lm):
    labels = [*LETTERS, *"0123456789"]
    letters_only = np.array([True] * 26 + [False] * 10)
    assert resolve_lm(True, labels, letters_only) is namelm.shipped()
    assert resolve_lm(small_lm, labels, letters_only) is small_lm
    assert resolve_lm(False, labels, letters_only) is None
    assert resolve_lm(small_lm, labels, np.ones(36, bool)) is None  # digits too: off


# --- the workspace's transcriptions --------------------------------------------------------


def test_workspace_transcriptions_are_added(workspace_dir, small_lm):
    from hwocr.workspace import Workspace

    ws = Workspace(workspace_dir)
    before = namelm.for_workspace(ws, base=small_lm)
    assert before is small_lm  # nothing transcribed yet
    add_name(ws, "u1", "Zbigniew")
    add_name(ws, "u2", "Zbigniew")
    with_ws = namelm.for_workspace(ws, base=small_lm)
    assert with_ws.log_prob("ZBIGNIEW") > small_lm.log_prob("ZBIGNIEW") + 5.0
    assert with_ws.names == small_lm.names + 2 * 2  # counted read_lm_workspace_weight (2) times each
    assert namelm.for_workspace(ws, base=small_lm) is with_ws  # cached while the count holds
    add_name(ws, "u3", "Xavier")
    assert namelm.for_workspace(ws, base=small_lm).log_prob("XAVIER") > with_ws.log_prob("XAVIER")


# --- through the command line ----------------------------------------------------------------


def test_cli_read_weighs_the_model_in_unless_no_lm(capsys, tmp_path, workspace_dir):
    base = Path(__file__).resolve().parent.parent / "models" / "base"
    if not (base / "model.keras").is_file():
        pytest.skip("no shipped base model in models/base")
    import cv2

    from hwocr.cli import main
    from tests.test_read import draw_word

    img, boxes = draw_word("BRUNO")
    # The O left open on its right side: the classifier alone reads a C.
    x0, y0, x1, y1 = boxes[4]
    img[y0 + (y1 - y0) // 3 : y0 + 2 * (y1 - y0) // 3, x0 + 85 * (x1 - x0) // 100 :] = 255
    path = tmp_path / "bruno.png"
    cv2.imwrite(str(path), img)
    texts = {}
    for flags in ((), ("--no-lm",)):
        assert main(["read", str(path), "--json", "--model", str(base), *flags]) == 0
        texts[flags] = json.loads(capsys.readouterr().out)[0]["raw_text"]
    assert texts == {(): "BRUNO", ("--no-lm",): "BRUNC"}


# --- the words model (small letters and digits) --------------------------------------------


WORDS = ["hello", "yellow", "world", "water", "mellow", "fellow", "2025", "1984", "100"]


@pytest.fixture(scope="module")
def small_words_lm():
    return namelm.train(WORDS, source="test words", words=True)


def test_words_are_taken_as_the_reader_sees_them(small_words_lm):
    assert namelm.word_symbols("Élève") == "ELEVE"
    assert namelm.word_symbols("R2D2") == "R0D0"
    assert namelm.word_symbols("l'eau") is None and namelm.word_symbols("") is None
    lm = small_words_lm
    assert lm.is_words and lm.symbols == namelm.WORD_SYMBOLS
    assert lm.symbol_of("h") == lm.symbol_of("H") == namelm.LETTERS.index("H")
    assert lm.symbol_of("7") == lm.symbol_of("0") == namelm.WORD_SYMBOLS.index(namelm.DIGIT)
    assert lm.symbol_of("$") == -1
    assert namelm.shipped().symbol_of("h") == -1  # the names model knows capitals only


def test_shipped_words_model_loads_and_prefers_words():
    lm = namelm.shipped_words()
    assert lm.is_words and "OpenSubtitles" in lm.source and "ODC-BY" in lm.source
    for word, scramble in [("hello", "hcllo"), ("aussi", "au55i"), ("spoon", "spoan"), ("2025", "2o25")]:
        assert lm.log_prob(word) > lm.log_prob(scramble) + 2.0, word
    probs = [math.exp(x) for x in lm.log_next("HEL")]
    assert len(probs) == len(namelm.WORD_SYMBOLS) and sum(probs) == pytest.approx(1.0, abs=1e-9)


def test_saved_and_loaded_words_model_stays_a_words_model(small_words_lm, tmp_path):
    path = tmp_path / "words.json.gz"
    namelm.save(small_words_lm, path)
    again = namelm.load(path)
    assert again.is_words and again.log_prob("hello") == pytest.approx(small_words_lm.log_prob("hello"))


def cased_chain(rows: list[dict[str, float]]) -> tuple[Lattice, np.ndarray, list[str]]:
    """chain_lattice over all 62 classes."""
    from hwocr.config import ALL_CLASSES

    labels = list(ALL_CLASSES)
    lat, _, _ = chain_lattice([{} for _ in rows])
    probs = np.zeros((len(rows), len(labels)))
    for k, row in enumerate(rows):
        probs[k] = max(0.0, 1.0 - sum(row.values())) / (len(labels) - len(row))
        for label, p in row.items():
            probs[k, labels.index(label)] = p
    lat.probs = probs
    return lat, np.log(np.maximum(probs, 1e-4)), labels


def test_the_words_model_settles_small_letters_and_digits(small_words_lm):
    # he1lo: the classifier slightly prefers a 1 over an l; yellow-like words say l.
    lat, table, labels = cased_chain([*sure("he"), {"1": 0.5, "l": 0.4}, *sure("lo")])
    assert text_of(free_path(lat, table), labels) == "he1lo"
    assert text_of(lm_path(lat, table, labels, small_words_lm, weight=0.5), labels) == "hello"
    # ... and a digit among digits: 2o25 -> 2025.
    lat, table, labels = cased_chain([*sure("2"), {"o": 0.5, "0": 0.4}, *sure("25")])
    assert text_of(lm_path(lat, table, labels, small_words_lm, weight=0.5), labels) == "2025"
    # A letter read at 0.95 stays, however much the model wants another.
    lat, table, labels = cased_chain([*sure("he"), {"1": 0.95, "l": 0.04}, *sure("lo")])
    assert text_of(lm_path(lat, table, labels, small_words_lm, weight=100.0), labels) == "he1lo"


def test_which_model_reads_which_charset(small_lm, small_words_lm):
    from hwocr.config import ALL_CLASSES, CHARSETS

    labels = list(ALL_CLASSES)

    def mask(charset):
        return np.array([c in CHARSETS[charset] for c in labels])

    assert resolve_lm(True, labels, mask("letters")) is namelm.shipped()
    for charset in ("lower", "cased", "all"):
        assert resolve_lm(True, labels, mask(charset)) is namelm.shipped_words()
        assert resolve_lm(small_words_lm, labels, mask(charset)) is small_words_lm
        # A names model (the workspace's, as the CLI and the page pass it) knows no small
        # letters: the shipped words model reads instead.
        assert resolve_lm(small_lm, labels, mask(charset)) is namelm.shipped_words()
    for charset in ("digits", "alnum"):
        assert resolve_lm(True, labels, mask(charset)) is None
    assert resolve_lm(small_words_lm, labels, mask("letters")) is None
