"""Guided repair's compiled lattice glyphs (hwocr.lattice.compiled_segment_glyphs, the
kernel hwocr.vet_kernels.segment_glyphs): close to the exact glyphs of
hwocr.lattice.segment_glyph (the same at the exact path's resolution, give or take
rounding), made exact where the answer reads them (classify_exactly), and guided repair
deciding on real names exactly as with the exact glyphs."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pandas as pd
import pytest

import hwocr.align_guided as guided_module
from hwocr import vet_kernels
from hwocr.align import analyze_name, needs_guidance, warm_up
from hwocr.config import DEFAULTS, shipped_models_dir
from hwocr.cut import cut_ink
from hwocr.glyph import ink_bbox
from hwocr.lattice import (
    build_lattice,
    classify_exactly,
    classify_lattices,
    compiled_segment_glyphs,
    line_ink_strength,
    segment_glyph,
)
from hwocr.preprocess import clean_name_image
from tests.test_vet import FakeRecognizer


@pytest.fixture(scope="module")
def model8():
    from hwocr.recognize import Recognizer

    return Recognizer.load(shipped_models_dir() / "base", quantised=True)


def drawn_lattice(word: str = "MARTIN", thickness: int = 2):
    """A name form's worth of handwriting-like capitals, some touching, and its lattice."""
    img = np.full((40, 60 + 22 * len(word)), 235, np.uint8)
    x = 20
    for i, ch in enumerate(word):
        cv2.putText(img, ch, (x, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 30, thickness, cv2.LINE_AA)
        x += 19 if i % 2 else 22  # every other pair touches
    cleaned = clean_name_image(img)
    cutting = cut_ink(cleaned.gray, cleaned.ink, cleaned=True, single_line=True)
    line = cutting.lines[0]
    lat = build_lattice(cutting, line, cut_wide=DEFAULTS.read_cut_wide_forced)
    return cutting, lat, line_ink_strength(cutting, line)


@pytest.mark.parametrize("thickness", [1, 2, 4])
def test_compiled_glyphs_are_the_exact_ones_at_the_exact_resolution_and_close_at_less(thickness):
    _, lat, strength = drawn_lattice(thickness=thickness)
    assert strength is not None and len(lat.seg_box) >= 10
    exact = [segment_glyph(lat, s, strength) for s in range(len(lat.seg_box))]
    same, _ = compiled_segment_glyphs(lat, strength, 4.0)
    identical = [g is not None and np.allclose(g, e, rtol=0, atol=1e-5) for g, e in zip(same, exact)]
    assert [g is None for g in same] == [e is None for e in exact]
    assert np.mean(identical) >= 0.9
    for g, e in zip(same, exact):
        if e is not None:  # any other differs by rounding: a few edge pixels
            assert np.abs(g - e).mean() < 0.02
    cheap, is_exact = compiled_segment_glyphs(lat, strength, 1.5)
    assert [g is None for g in cheap] == [e is None for e in exact]
    for s, (g, e) in enumerate(zip(cheap, exact)):
        if e is None:
            continue
        assert g.shape == e.shape and g.dtype == np.float32
        assert np.abs(g - e).mean() < 0.08, s
        assert np.abs(np.array(ink_bbox(g)) - ink_bbox(e)).max() <= 1, s
    # Copies, not the exact glyphs (which the kernel made none of here).
    assert not is_exact.any()
    assert any(not np.array_equal(g, e) for g, e in zip(cheap, exact) if e is not None)


def test_segments_the_answer_reads_are_made_exactly_and_classified_again():
    cutting, lat, strength = drawn_lattice()
    rec = FakeRecognizer([])
    classify_lattices(rec, cutting, [lat], "letters", resolution=1.5)
    copies = np.flatnonzero(~lat.exact)
    assert len(copies) >= 3
    picked = [int(s) for s in copies[:3]]
    rec.rows = [{"Q": 0.9}] * 3
    assert classify_exactly(rec, lat, [picked[0], *picked, picked[2]], "letters") == 3
    for s in picked:
        assert lat.exact[s] and np.array_equal(lat.glyphs[s], segment_glyph(lat, s, strength))
        assert lat.probs[s, rec.labels.index("Q")] == pytest.approx(0.9)
    assert classify_exactly(rec, lat, picked, "letters") == 0  # already exact: nothing to do


def test_guided_repair_decides_on_real_names_as_with_exact_glyphs(names_dir, model8, monkeypatch):
    """The first dev names that need guidance (among them those whose confidence the
    copies alone moved, one below the harvest threshold): boxes, probabilities, scores
    and free reading identical to the exact lattice's."""
    rows = pd.read_csv(names_dir / "names.csv", dtype=str, keep_default_na=False)
    assert DEFAULTS.guided_glyph_resolution > 0
    checked = 0
    for row in rows.head(130).itertuples():
        analysis = analyze_name(names_dir / row.image_url, row.transcription)
        if not needs_guidance(analysis.alignment):
            continue
        letters = analysis.alignment.letters
        monkeypatch.setattr(guided_module, "DEFAULTS", DEFAULTS)
        got = guided_module.align_guided(model8, analysis.cleaned, letters)
        monkeypatch.setattr(guided_module, "DEFAULTS", dataclasses.replace(DEFAULTS, guided_glyph_resolution=0.0))
        want = guided_module.align_guided(model8, analysis.cleaned, letters)
        assert got == want, row.unit_id
        checked += 1
    assert checked >= 5


def test_warm_up_readies_the_compiled_lattice_glyphs():
    warm_up()
    assert vet_kernels.segment_glyphs.signatures
