"""Charsets over 62 classes (hwocr.charsets, Recognizer): what each may answer, and the
messages for a charset that is unknown or that an older model cannot serve."""

from __future__ import annotations

import numpy as np
import pytest

from hwocr.charsets import fold_matrix, folder_name, label_of_folder, merge47
from hwocr.config import ALL_CLASSES, ALNUM, CHARSETS, LOWER
from hwocr.errors import InputError, ModelError
from hwocr.recognize import Recognizer


class _Bundle:
    """A model that always answers the same probabilities."""

    def __init__(self, labels, probs):
        self.labels = tuple(labels)
        self.probs = np.asarray(probs, float)

    def predict_proba(self, glyphs):
        return np.tile(self.probs, (len(glyphs), 1))


def _peaked(labels, **probs) -> np.ndarray:
    row = np.full(len(labels), 1e-4)
    for label, p in probs.items():
        row[labels.index(label)] = p
    return row / row.sum()


GLYPHS = np.zeros((2, 32, 32, 1), np.float32)


def test_a_small_a_never_comes_out_of_letters_and_each_charset_keeps_to_its_classes():
    rec = Recognizer(_Bundle(ALL_CLASSES, _peaked(ALL_CLASSES, a=0.7, A=0.2, **{"4": 0.09})))
    expected = {"letters": "A", "digits": "4", "alnum": "A", "lower": "a", "cased": "a", "all": "a"}
    for charset, label in expected.items():
        (pred, _) = rec.classify_glyphs(GLYPHS, charset)
        assert pred.label == label, charset
        assert {c for c, _ in pred.top} <= set(CHARSETS[charset])
        probs = rec.probabilities(GLYPHS, charset)
        assert probs.sum(axis=1) == pytest.approx([1.0, 1.0])
        assert not probs[:, ~rec.charset_mask(charset)].any()


def test_an_isolated_same_shape_letter_reports_both_cases():
    rec = Recognizer(_Bundle(ALL_CLASSES, _peaked(ALL_CLASSES, o=0.5, **{"0": 0.3}, Q=0.15, O=0.04)))
    (pred, _) = rec.classify_glyphs(GLYPHS, "all", top_k=3)
    assert pred.label == "o"
    assert [c for c, _ in pred.top] == ["o", "0", "Q", "O"]
    (pred, _) = rec.classify_glyphs(GLYPHS, "lower", top_k=3)
    assert "O" not in {c for c, _ in pred.top}


def test_unknown_charset_names_the_valid_ones():
    rec = Recognizer(_Bundle(ALL_CLASSES, _peaked(ALL_CLASSES, A=1.0)))
    with pytest.raises(InputError, match="unknown charset 'greek': use one of letters, digits, alnum, lower, "
                                         "cased, all"):
        rec.classify_glyphs(GLYPHS, "greek")


def test_a_36_class_model_reads_its_charsets_and_refuses_small_letters_clearly():
    rec = Recognizer(_Bundle(ALNUM, _peaked(list(ALNUM), B=0.6, **{"8": 0.4})))
    assert rec.classify_glyphs(GLYPHS, "letters")[0].label == "B"
    assert rec.classify_glyphs(GLYPHS, "digits")[0].label == "8"
    for charset in ("lower", "cased", "all"):
        with pytest.raises(ModelError, match=f"this model knows no {charset}: it has no small letters.*62-class"):
            rec.classify_glyphs(GLYPHS, charset)


def test_charset_matrix_is_the_mask_and_leaves_a_workspaces_own_classes_in():
    labels = ("A", "a", "7", "?")
    m = fold_matrix(labels, "letters", keep_unknown=True)
    assert m.tolist() == [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]


def test_class_folders_never_differ_by_case_only():
    names = [folder_name(c) for c in ALL_CLASSES]
    assert len({n.casefold() for n in names}) == 62
    assert [label_of_folder(n) for n in names] == list(ALL_CLASSES)
    assert folder_name("a") == "a_lower" and folder_name("A") == "A" and folder_name("7") == "7"
    assert label_of_folder("a") is None and label_of_folder("A_lower") is None and label_of_folder("zz") is None


def test_47_class_score_merges_emnist_balanced_pairs_only():
    merged = {merge47(c) for c in ALL_CLASSES}
    assert len(merged) == 47
    assert merge47("o") == "O" and merge47("a") == "a" and merge47("l") == "L"
    assert set(LOWER) - {c.lower() for c in "CIJKLMOPSUVWXYZ"} <= merged
