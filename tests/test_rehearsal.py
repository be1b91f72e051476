"""The glyphs fine-tuning rehearses (hwocr.rehearsal): how many of each class, and where
they come from."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from hwocr.config import ALL_CLASSES, ALNUM, DEFAULTS
from hwocr.rehearsal import class_counts, rehearsal_glyphs, shared_data_available, shipped_rehearsal_path

SIZE = DEFAULTS.model_input_size


def test_glyphs_are_shared_out_evenly_in_class_order():
    counts = class_counts(40, ALNUM)
    assert sum(counts.values()) == 40
    assert {c: counts[c] for c in "ABCDE"} == {"A": 2, "B": 2, "C": 2, "D": 2, "E": 1}
    assert counts["9"] == 1 and len(counts) == 36
    counts = class_counts(70, ALL_CLASSES)
    assert len(counts) == 62 and counts["z"] == 1 and counts["H"] == 2
    # Classes hwocr does not know are ignored; the order is A-Z then 0-9, whatever was given.
    assert class_counts(5, ["1", "B", "?", "A"]) == {"A": 2, "B": 2, "1": 1}
    # Fewer glyphs than classes: the first classes get one, the rest none.
    assert class_counts(2, ["Z", "A", "5"]) == {"A": 1, "Z": 1}
    assert class_counts(0, ALL_CLASSES) == {} and class_counts(10, ["?"]) == {}


def ink_everywhere_and_paper_around(glyphs: np.ndarray) -> bool:
    return bool((glyphs.reshape(len(glyphs), -1).max(axis=1) > 0.5).all() and glyphs[:, 0, :].mean() < 0.05)


def test_synthetic_glyphs_cover_the_classes_asked_for():
    drawn = rehearsal_glyphs(26 * 2 + 10, ALNUM, source="synthetic", seed=3)
    assert Counter(drawn.labels.tolist()) == {**{c: 2 for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
                                              **{c: 1 for c in "0123456789"}}
    assert drawn.glyphs.shape == (62, SIZE, SIZE) and drawn.glyphs.dtype == np.float32
    assert ink_everywhere_and_paper_around(drawn.glyphs)
    assert drawn.source == "letters and digits drawn with OpenCV's Hershey fonts"
    # Seeded: the same job draws the same glyphs.
    again = rehearsal_glyphs(62, ALNUM, source="synthetic", seed=3)
    assert np.array_equal(again.glyphs, drawn.glyphs)
    # A letters-only model is never given a digit to learn.
    assert set(rehearsal_glyphs(30, list("ABC"), source="synthetic").labels.tolist()) == {"A", "B", "C"}


def test_nothing_to_draw_is_an_empty_set():
    drawn = rehearsal_glyphs(0, ALL_CLASSES)
    assert len(drawn) == 0 and drawn.glyphs.shape == (0, SIZE, SIZE)


def test_without_the_shipped_set_or_the_shared_data_auto_falls_back_to_synthetic(tmp_path, monkeypatch):
    monkeypatch.setenv("HWOCR_SHARED_DATA", str(tmp_path))
    monkeypatch.setattr("hwocr.rehearsal.shipped_rehearsal_path", lambda: tmp_path / "none.npz")
    assert not shared_data_available()
    drawn = rehearsal_glyphs(12, ALL_CLASSES)
    assert len(drawn) == 12
    assert drawn.source == ("letters and digits drawn with OpenCV's Hershey fonts "
                            "(the shared training data is not on this machine)")
    with pytest.raises(FileNotFoundError, match="shared training data"):
        rehearsal_glyphs(12, ALL_CLASSES, source="shared")
    with pytest.raises(ValueError, match="rehearsal source must be one of auto, shipped, shared, synthetic"):
        rehearsal_glyphs(12, ALL_CLASSES, source="disk")


@pytest.mark.skipif(not shared_data_available(), reason="../shared/data (UNIPEN, MNIST) is not here")
def test_from_the_shared_data_the_base_models_own_training_glyphs():
    drawn = rehearsal_glyphs(124, ALL_CLASSES, source="shared")
    assert Counter(drawn.labels.tolist()) == {c: 2 for c in ALL_CLASSES}
    assert ink_everywhere_and_paper_around(drawn.glyphs)
    assert drawn.source.startswith("UNIPEN training writers and MNIST training digits from ")


@pytest.mark.skipif(not shipped_rehearsal_path().is_file(), reason="no shipped rehearsal set")
def test_an_ordinary_install_rehearses_every_class_from_the_shipped_set(tmp_path, monkeypatch):
    monkeypatch.setenv("HWOCR_SHARED_DATA", str(tmp_path))  # as on a user's machine
    drawn = rehearsal_glyphs(124, ALL_CLASSES)
    assert drawn.source.startswith("the rehearsal set shipped with the base model")
    assert Counter(drawn.labels.tolist()) == {c: 2 for c in ALL_CLASSES}
    assert drawn.glyphs.shape == (124, SIZE, SIZE) and drawn.glyphs.dtype == np.float32
    assert ink_everywhere_and_paper_around(drawn.glyphs)
    # Seeded, and a 36-class model is never given a small letter to learn.
    assert np.array_equal(rehearsal_glyphs(124, ALL_CLASSES).glyphs, drawn.glyphs)
    assert set(rehearsal_glyphs(72, ALNUM).labels.tolist()) == set(ALNUM)


def test_shared_glyphs_come_from_the_training_side_of_the_splits_only():
    # Two training A's and two validation A's (other writers); two training 7's and one
    # held-out 7. Asked for ten of each, rehearsal may only use the training ones.
    from hwocr.basemodel import BaseData, rehearsal_sample
    from hwocr.render import StrokeSet

    def letter_a(shift: float) -> list[np.ndarray]:
        return [np.array([[0, 0], [5 + shift, 10], [10, 0]], float), np.array([[2.5, 5], [7.5, 5]], float)]

    letters = StrokeSet(labels=np.array(["A"] * 4), writers=np.array(["s:w1", "s:w1", "s:w2", "s:w2"]),
                        sources=np.array(["s"] * 4), strokes=tuple(letter_a(i * 0.1) for i in range(4)))
    digits = np.zeros((3, 28, 28), np.uint8)
    digits[:, 4:24, 12:16] = 255  # a bar, white on black like MNIST
    data = BaseData(letters=letters, letters_train=np.array([0, 1]), letters_val=np.array([2, 3]), letters_npz=None,
                    digits=digits, digit_labels=np.array(["7", "7", "7"]), digits_train=np.array([0, 2]),
                    digits_val=np.array([1]))
    x, y = rehearsal_sample(data, {"A": 10, "7": 10})
    assert Counter(y.tolist()) == {"A": 2, "7": 2}
    assert x.shape == (4, SIZE, SIZE) and ink_everywhere_and_paper_around(x)
