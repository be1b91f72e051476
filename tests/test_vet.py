"""Model-vetted harvest (issue 14): the model reads each crop of an auto-accepted name at
segmentation; a name with a crop it strongly disputes goes to review with the reason,
and the Review page shows that reason, the model's reading per box, and a one-key
reject for a name nobody can read."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from hwocr.boxes import Box
from hwocr.cli import main
from hwocr.config import DEFAULTS
from hwocr.ui import state
from hwocr.vet import Reading, Verdict, disputes, excused, parse_vet, readings_for, split_reason, vet_batch
from hwocr.workspace import LabeledBox, Workspace, labeled_boxes_to_json
from tests.helpers import add_name, no_exception, open_page, printed_abc_workspace

REPO = Path(__file__).resolve().parent.parent
REVIEW = str(REPO / "pages" / "2_Review.py")


# --- the rule, on made-up probabilities ---------------------------------------------------


class FakeRecognizer:
    """Answers each glyph with the probability rows it was given, in order."""

    labels = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    def __init__(self, rows: list[dict[str, float]]) -> None:
        self.rows = rows

    def probabilities(self, glyphs, charset="letters"):
        out = np.zeros((len(glyphs), len(self.labels)), np.float32)
        for i, row in enumerate(self.rows[: len(glyphs)]):
            for label, p in row.items():
                out[i, self.labels.index(label)] = p
        return out


def test_a_strongly_disputed_crop_is_named_with_its_place_and_both_letters():
    boxes = [Box(0, 0, 10, 10), Box(10, 0, 20, 10), Box(20, 0, 30, 10)]
    rec = FakeRecognizer([{"K": 0.99}, {"A": 0.9, "R": 0.1}, {"M": 0.95, "N": 0.01}])
    [verdict] = vet_batch(rec, [(np.zeros((3, 8, 8, 1), np.float32), boxes, "KAN")])
    assert verdict.disputed == (2,)
    assert verdict.reason == "model-vetted: the model reads the 3rd letter as M (0.95), not N (0.01)"
    reason, readings = parse_vet(verdict.to_json())
    assert reason == verdict.reason and [r.read for r in readings] == ["K", "A", "M"]


@pytest.mark.parametrize(("label", "read", "p_label", "p_read", "expected"), [
    ("N", "M", 0.01, 0.95, True),
    ("N", "M", 0.10, 0.85, False),   # the label not improbable enough
    ("N", "M", 0.001, 0.60, False),  # the other letter not sure enough
    ("E", "F", 0.00, 1.00, False),   # a pair the model confuses on good crops
    ("M", "H", 0.00, 1.00, False),   # the school-form M drawn like an H, either way
    ("H", "M", 0.00, 1.00, False),
    ("M", "K", 0.00, 1.00, True),
    ("C", "G", 0.00, 0.99, False),   # a C with a cedilla (FAYÇAL) read as G ...
    ("I", "Y", 0.00, 0.96, False),   # ... an I with a diaeresis (LOÏC) read as Y ...
    ("G", "C", 0.00, 0.99, True),    # ... but not the other way: no diacritic makes a G look like a C
    ("Y", "I", 0.00, 0.99, True),
    ("N", "N", 0.00, 1.00, False),
])
def test_what_counts_as_a_dispute(label, read, p_label, p_read, expected):
    assert disputes(p_label, p_read, read, label) is expected


def test_the_stored_reason_splits_into_what_vetting_and_segmentation_said():
    verdict = Verdict((Reading((0, 0, 9, 9), "N", "M", 0.95, 0.01),), (0,))
    stored = f"{verdict.reason}; repaired: split a wide piece"
    assert split_reason(stored, verdict.to_json()) == (
        "the model reads the 1st letter as M (0.95), not N (0.01)", "repaired: split a wide piece")
    assert split_reason(verdict.reason, verdict.to_json())[1] == ""
    assert split_reason("3 pieces for 4 letters", None) == (None, "3 pieces for 4 letters")
    assert split_reason(None, None) == (None, "")


def test_readings_follow_the_boxes_a_person_has_now():
    box = Box(5, 5, 25, 25)
    vet = Verdict((Reading((5, 5, 25, 25), "N", "M", 0.95, 0.01),), (0,)).to_json()
    assert readings_for(vet, [LabeledBox(box, "N")])[0].read == "M"
    assert readings_for(vet, [LabeledBox(Box(6, 5, 25, 25), "N")]) == [None]  # moved
    assert readings_for(vet, [LabeledBox(box, "M")]) == [None]                 # relabelled
    assert readings_for(None, [LabeledBox(box, "N")]) == [None]


# --- segmentation with the shipped model, on clearly drawn names ---------------------------


def drawn_name(word: str) -> np.ndarray:
    """A name in clear, well-spaced capitals: the shipped model reads each at ~1.0."""
    img = np.full((60, 60 * len(word) + 20), 255, np.uint8)
    for i, ch in enumerate(word):
        cv2.putText(img, ch, (10 + i * 60, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 0, 4, cv2.LINE_AA)
    return img


@pytest.fixture(scope="module")
def names_csv(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("vet_names")
    rows = [("GOOD", "KAMEL", "KAMEL"), ("SWAPPED", "KAMEL", "KANEL")]
    for unit_id, drawn, _ in rows:
        cv2.imwrite(str(folder / f"{unit_id}.png"), drawn_name(drawn))
    with open(folder / "names.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["unit_id", "image_url", "transcription", "first_or_last"])
        for unit_id, _, text in rows:
            w.writerow([unit_id, f"{unit_id}.png", text, "last"])
    return folder / "names.csv"


def segment(capsys, workspace_dir: Path, names_csv: Path, *extra: str) -> dict:
    assert main(["import", "-w", str(workspace_dir), str(names_csv), "-q", "--json"]) == 0
    capsys.readouterr()
    assert main(["segment", "-w", str(workspace_dir), "--workers", "1", "-q", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_vetting_sends_a_name_with_a_mislabelled_letter_to_review(capsys, workspace_dir, names_csv):
    report = segment(capsys, workspace_dir, names_csv)
    ws = Workspace(workspace_dir)
    good, swapped = ws.get_name_by_unit("GOOD"), ws.get_name_by_unit("SWAPPED")
    assert good.status == "matched" and good.vet is None
    assert swapped.status == "needs_review"
    assert "the model reads the 3rd letter as M" in swapped.reason and "not N" in swapped.reason
    reason, readings = parse_vet(swapped.vet)
    assert "3rd letter as M" in reason and [r.read for r in readings] == list("KAMEL")
    assert report["vetted"] == 1 and report["this_run"]["vetted"] == 1
    assert report["this_run"]["vet_confirmed_repairs"] == 0 and report["auto_labelled"] == 1
    # What a person reads without --json: the same run says what vetting did.
    assert main(["segment", "-w", str(workspace_dir), "--workers", "1", "-q", "--redo"]) == 0
    assert "model vetting sent 1 name(s) to review this run\n" in capsys.readouterr().out
    # Harvest then writes only the good name's crops.
    assert main(["harvest", "-w", str(workspace_dir), "-q", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["names"] == 1


def test_no_vet_leaves_the_name_accepted(capsys, workspace_dir, names_csv):
    report = segment(capsys, workspace_dir, names_csv, "--no-vet")
    ws = Workspace(workspace_dir)
    assert ws.get_name_by_unit("SWAPPED").status == "matched"
    assert report["vetted"] == 0 and report["auto_labelled"] == 2


def test_a_name_a_person_accepted_is_never_vetted_away(capsys, workspace_dir, names_csv):
    from hwocr.review import accept

    segment(capsys, workspace_dir, names_csv)
    ws = Workspace(workspace_dir)
    swapped = ws.get_name_by_unit("SWAPPED")
    accept(ws, swapped.id, swapped.version, list(swapped.boxes), reviewer="alice")
    assert main(["segment", "-w", str(workspace_dir), "--redo", "--workers", "1", "-q", "--json"]) == 0
    capsys.readouterr()
    assert Workspace(workspace_dir).get_name(swapped.id).status == "verified"


def test_vetting_is_on_by_default():
    assert DEFAULTS.vet_harvest is True


# --- the Review page ---------------------------------------------------------------------------


def vetted_name(ws: Workspace) -> int:
    name_id = add_name(ws, "VETTED", "AB", status="needs_review", confidence=1.0)
    record = ws.get_name(name_id)
    readings = tuple(Reading(tuple(b.box.to_list()), b.label, read, p, 0.01)
                     for b, read, p in zip(record.boxes, "AH", (0.98, 0.93)))
    verdict = Verdict(readings, (1,))
    with ws.transaction() as conn:
        conn.execute("UPDATE names SET vet = ?, reason = ? WHERE id = ?",
                     (verdict.to_json(), f"{verdict.reason}; matched 2 pieces", name_id))
    return name_id


def page_text(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in (*at.success, *at.info, *at.warning, *at.error)]
    return "\n".join(str(p) for p in parts)


def test_the_review_page_shows_the_vetting_reason_and_the_model_reading(workspace_dir):
    vetted_name(Workspace(workspace_dir))
    at = no_exception(open_page(REVIEW, reviewer="alice").run())
    warnings = [w.value for w in at.warning]
    assert any("Model vetting" in w and "the 2nd letter as H (0.93), not B (0.01)" in w for w in warnings)
    # Said once, in the warning; what segmentation said stays on the name's line.
    assert page_text(at).count("the 2nd letter as H") == 1
    assert any("matched 2 pieces" in m.value for m in at.markdown)
    captions = [c.value for c in at.caption]
    assert any("Model reads 2: B → **H** 0.93" in c for c in captions), captions
    assert not any("1: A →" in c for c in captions)  # a box the model reads as its own letter is not listed


def test_a_name_that_was_not_vetted_shows_no_model_reading(workspace_dir):
    add_name(Workspace(workspace_dir), "PLAIN", "AB", status="needs_review")
    at = no_exception(open_page(REVIEW, reviewer="alice").run())
    assert "Model vetting" not in page_text(at) and "Model reads" not in page_text(at)


def test_reject_no_readable_name_is_one_key(workspace_dir):
    ws = Workspace(workspace_dir)
    name_id = add_name(ws, "BLANK", "AB", status="needs_review", confidence=0.0)
    at = no_exception(open_page(REVIEW, reviewer="alice").run())
    button = at.button(key=state.REVIEW_REJECT_UNREADABLE)
    assert button.proto.shortcut.upper() == "N"
    button.click().run()
    no_exception(at)
    record = ws.get_name(name_id)
    assert record.status == "rejected" and "no readable name" in record.reason
    assert "BLANK rejected (no readable name)" in page_text(at)


def test_segmentation_workers_answer_with_the_8_bit_model():
    from hwocr import pipeline
    from hwocr.config import shipped_models_dir

    pipeline._use_model(str(shipped_models_dir() / "base"))
    try:
        rec = pipeline._worker_recognizer()
        assert rec.quantised and rec.bundle.q8 is not None
        assert rec.bundle.quantised_predictor is not rec.bundle.predictor
    finally:
        pipeline._use_model(None)


def test_a_name_result_is_one_stored_row_and_knows_if_harvest_takes_it():
    import sqlite3

    from hwocr.config import DEFAULTS
    from hwocr.pipeline import NameResult
    from hwocr.store import names as name_rows
    from hwocr.store.schema import MIGRATIONS, migrate

    boxes = labeled_boxes_to_json([LabeledBox(Box(0, 0, 9, 9), "A")])
    sure = NameResult(7, "repaired", DEFAULTS.harvest_min_confidence, "split a wide piece", boxes, 40, 20)
    unsure = NameResult(8, "repaired", DEFAULTS.harvest_min_confidence - 0.01, None, boxes, 40, 20)
    failed = NameResult.failed(9, "no ink")
    assert sure.auto_labelled and not unsure.auto_labelled and not failed.auto_labelled
    assert NameResult(1, "matched", 0.5, None, boxes, 1, 1).auto_labelled
    assert failed.boxes is None and failed.confidence == 0.0 and failed.status == "failed"
    # The row is exactly what the store's update takes: it runs against the real schema.
    conn = sqlite3.connect(":memory:")
    migrate(conn, MIGRATIONS)
    conn.execute("INSERT INTO names (id, unit_id, source, status, created_at, updated_at) "
                 "VALUES (7, 'U7', 'u7.png', 'fetched', 0, 0)")
    name_rows.set_segment_results(conn, [sure.row()], 1.0)
    assert conn.execute("SELECT status, reason, width, boxes FROM names WHERE id = 7").fetchone() == (
        "repaired", "split a wide piece", 40, boxes)


# --- screened vetting (issue 15): cheap copies first, the exact path decides ------------------


@pytest.fixture(scope="module")
def model8():
    from hwocr.config import shipped_models_dir
    from hwocr.recognize import Recognizer

    return Recognizer.load(shipped_models_dir() / "base", quantised=True)


def drawn_boxes(word: str) -> list[Box]:
    """The boxes of :func:`drawn_name`'s letters."""
    return [Box(4 + i * 60, 4, 4 + i * 60 + 56, 56) for i in range(len(word))]


def exact(rec, names):
    from hwocr.vet import name_glyphs

    return vet_batch(rec, [(name_glyphs(gray, boxes, letters), boxes, letters) for gray, boxes, letters in names])


class RecordingRecognizer(FakeRecognizer):
    """Answers every glyph with ``answer(call, glyph index)`` (a row of probabilities)
    and keeps the glyphs of each call."""

    def __init__(self, answer) -> None:
        super().__init__([])
        self.answer = answer
        self.calls: list[np.ndarray] = []

    def probabilities(self, glyphs, charset="letters"):
        self.calls.append(np.array(glyphs))
        self.rows = [self.answer(len(self.calls) - 1, i) for i in range(len(glyphs))]
        return super().probabilities(glyphs, charset)


def test_the_screen_sends_a_doubtful_crop_to_the_exact_path_which_decides():
    from hwocr.dataset import crop_gray
    from hwocr.glyph import prepare_glyph
    from hwocr.vet import vet_screened

    gray, boxes = drawn_name("KAMEL"), drawn_boxes("KAMEL")

    def answer(call, i):
        if call == 0:  # the cheap copies: all sure but the 3rd, which reads M
            return {"M": 0.95, "N": 0.04} if i == 2 else {"KAMEL"[i]: 0.99}
        return {"M": 0.97, "N": 0.01} if call == 1 or i == 2 else {"KAMEL"[i]: 0.99}

    rec = RecordingRecognizer(answer)
    [verdict] = vet_screened(rec, [(gray, boxes, "KANEL")])
    cheap, doubtful, whole = rec.calls
    assert len(cheap) == 5 and len(doubtful) == 1 and len(whole) == 5
    # The doubtful crop is read on the exact glyph, and the disputed name wholly exactly.
    assert np.array_equal(doubtful[0, ..., 0], prepare_glyph(crop_gray(gray, boxes[2])))
    assert np.array_equal(whole[..., 0], np.stack([prepare_glyph(crop_gray(gray, b)) for b in boxes]))
    assert verdict.disputed == (2,) and [r.read for r in verdict.readings] == list("KAMEL")

    # The exact reading overrules the copy's: the label likely after all, no dispute.
    rec = RecordingRecognizer(lambda call, i: {"M": 0.95, "N": 0.04} if call == 0 and i == 2
                              else {"KANEL"[i]: 0.9, "M": 0.1})
    [verdict] = vet_screened(rec, [(gray, boxes, "KANEL")])
    assert verdict.disputed == () and len(rec.calls) == 2 and len(rec.calls[1]) == 1
    # ... and a crop the copy reads surely as its label is never made exactly nor disputed.
    rec = RecordingRecognizer(lambda call, i: {"KANEL"[i]: 0.99} if call == 0 else {"M": 1.0})
    [verdict] = vet_screened(rec, [(gray, boxes, "KANEL")])
    assert verdict.disputed == () and len(rec.calls) == 1


def test_the_cheap_copy_is_close_to_the_exact_glyph(model8):
    from hwocr import glyph, vet_kernels
    from hwocr.dataset import crop_gray
    from hwocr.vet import screen_glyphs

    gray, boxes = drawn_name("KAMEL"), drawn_boxes("KAMEL")
    copies, made = screen_glyphs([(gray, boxes)])
    assert made.all()
    for copy, box, letter in zip(copies[..., 0], boxes, "KAMEL"):
        exact_glyph = glyph.prepare_glyph(crop_gray(gray, box))
        assert np.abs(copy - exact_glyph).mean() < 0.06, letter
        assert np.abs(np.array(glyph.ink_bbox(copy)) - glyph.ink_bbox(exact_glyph)).max() <= 1, letter
    probs = model8.probabilities(copies, "letters")
    assert [model8.labels[k] for k in probs.argmax(axis=1)] == list("KAMEL")
    # Its first step is render_glyph's, bit for bit, on any crop.
    rng = np.random.default_rng(15)
    for _ in range(50):
        h, w = rng.integers(3, 50, 2)
        crop = np.where(rng.random((h, w)) < 0.8, rng.integers(180, 256), rng.integers(0, 120)).astype(np.uint8)
        assert np.array_equal(vet_kernels._ink_difference(crop), glyph._ink_difference(crop))


def test_screened_vetting_disputes_a_mislabelled_letter_on_a_real_name(names_dir, model8):
    """A real name, one of its letters relabelled to a letter the model rules out: the
    screen must send that crop on, and the verdict is exact vetting's, word for word."""
    import pandas as pd

    from hwocr.align import analyze_name
    from hwocr.dataset import crop_gray
    from hwocr.glyph import prepare_glyph
    from hwocr.vet import screen, vet_screened

    rows = pd.read_csv(names_dir / "names.csv", dtype=str, keep_default_na=False)
    tried = 0
    for row in rows.head(40).itertuples():
        analysis = analyze_name(names_dir / row.image_url, row.transcription)
        al = analysis.alignment
        if al.status != "matched":
            continue
        name = (analysis.cleaned.gray, list(al.boxes), al.letters)
        [verdict] = exact(model8, [name])
        for j, reading in enumerate(verdict.readings):
            if reading.read != reading.label or reading.p_read < 0.99:
                continue
            # The letter furthest from what the model reads, among those no pair excuses.
            probs = model8.probabilities(prepare_glyph(crop_gray(name[0], name[1][j]))[None, ..., None], "letters")[0]
            wrong = min((c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         if c != reading.read and not excused(c, reading.read)),
                        key=lambda c: probs[model8.labels.index(c)])
            letters = al.letters[:j] + wrong + al.letters[j + 1 :]
            relabelled = (name[0], name[1], letters)
            first = screen(model8, [relabelled])
            assert first.doubtful[j], (row.unit_id, j, wrong)
            [screened] = vet_screened(model8, [relabelled])
            [expected] = exact(model8, [relabelled])
            assert j in expected.disputed and screened == expected, (row.unit_id, j, wrong)
            tried += 1
            break
        if tried >= 3:
            break
    assert tried == 3


def test_names_without_ink_or_with_odd_boxes_get_no_verdict_and_no_crash(model8):
    from hwocr.vet import screen_glyphs, vet_screened

    blank = np.full((60, 320), 255, np.uint8)
    gray, boxes = drawn_name("KAMEL"), drawn_boxes("KAMEL")
    half_blank = gray.copy()
    half_blank[:, 124:] = 255  # the last three letters erased
    names = [
        (blank, drawn_boxes("KAMEL"), "KAMEL"),                      # no ink anywhere
        (half_blank, boxes, "KAMEL"),                                # no ink in some boxes
        (gray, [*boxes[:4], Box(400, 0, 420, 60)], "KAMEL"),         # a box off the image
        (gray, [*boxes[:4], Box(300, 0, 301, 1)], "KAMEL"),          # a one-pixel box
        (np.zeros((0, 0), np.uint8), [], ""),                        # nothing at all
        (gray, boxes, "KAMEL"),                                      # a good one among them
    ]
    copies, made = screen_glyphs([(g, b) for g, b, _ in names])
    assert copies.shape == (25, DEFAULTS.model_input_size, DEFAULTS.model_input_size, 1)
    assert not made[:5].any() and not copies[:5].any() and made[-5:].all()
    screened = vet_screened(model8, names)
    expected = exact(model8, names)
    assert screened[:5] == expected[:5] == [None] * 5
    assert screened[5] is not None and screened[5].disputed == () == expected[5].disputed
    # An image of another kind than 8-bit gray gets no copies: its crops go the exact way.
    _, made = screen_glyphs([(gray.astype(np.float32), boxes)])
    assert not made.any()


def test_segment_readies_the_screens_kernel_once_before_its_workers_start(monkeypatch, tmp_path):
    """The cheap copies' compiled kernel is loaded (or compiled, after an install) by the
    parent, not by every worker at the same time; and it is ready afterwards. Once that
    is done for this install (hwocr.kernel_cache's mark), the next segment skips it."""
    from hwocr import kernel_cache, pipeline, vet, vet_kernels

    monkeypatch.setattr(kernel_cache, "_cache_dir", lambda here: tmp_path / "marks")
    calls = []
    real = vet.warm_up_screen
    monkeypatch.setattr(pipeline, "warm_up_screen", lambda: calls.append(real()))
    ws = printed_abc_workspace(tmp_path / "ws")
    pipeline.segment_workspace(ws, workers=2, chunk=64, vet=True)
    assert len(calls) == 1 and vet_kernels.screen_glyphs.signatures
    assert kernel_cache.is_ready("screen") and kernel_cache.is_ready("segment")
    report = pipeline.segment_workspace(ws, workers=2, chunk=64, vet=True, redo=True)
    assert len(calls) == 1 and report.processed == 300


# --- a repair below the harvest bar: vetted, and harvested when the model agrees -----------


def unsure_repair(word: str, confidence: float = 0.4):
    """A name the geometric aligner repaired below the harvest bar, as segmentation's
    worker hands it to vetting."""
    from types import SimpleNamespace

    from hwocr.pipeline import NameResult, _Analysed

    gray, boxes = drawn_name(word), drawn_boxes(word)
    labeled = [LabeledBox(b, ch) for b, ch in zip(boxes, word)]
    result = NameResult(7, "repaired", confidence, "5 pieces for 5 letters; split touching letters 2-3",
                        labeled_boxes_to_json(labeled), gray.shape[1], gray.shape[0])
    return _Analysed(result, SimpleNamespace(cleaned=SimpleNamespace(gray=gray)),
                     SimpleNamespace(boxes=boxes, letters=word))


def test_an_unsure_repair_the_model_does_not_dispute_is_harvested(monkeypatch):
    import dataclasses

    from hwocr import pipeline
    from hwocr.vet import VET_CONFIRMED

    a = unsure_repair("KAMEL")
    assert not a.result.auto_labelled
    agrees = RecordingRecognizer(lambda call, i: {"KAMEL"[i]: 0.99})
    [after] = pipeline.vet_results(agrees, [a])
    assert after.status == "repaired" and after.auto_labelled and after.vet is None and after.vet_confirmed
    assert after.confidence == DEFAULTS.harvest_min_confidence
    assert after.reason.startswith(a.result.reason) and after.reason.endswith(
        f"{VET_CONFIRMED} (repair confidence 0.40, harvested at {DEFAULTS.harvest_min_confidence})")
    assert after.boxes == a.result.boxes

    # One crop the model strongly disputes: to the review queue, with its reason and readings.
    disputes_m = RecordingRecognizer(lambda call, i: {"N": 0.99, "M": 0.001} if i == 2 else {"KAMEL"[i]: 0.99})
    [after] = pipeline.vet_results(disputes_m, [unsure_repair("KAMEL")])
    assert after.status == "needs_review" and not after.auto_labelled
    assert after.reason.startswith("model-vetted: the model reads the 3rd letter as N (0.99), not M (0.00)")
    assert parse_vet(after.vet)[0] == after.reason.split("; ")[0]

    # Switched off, the repair waits as it did, unvetted.
    monkeypatch.setattr(pipeline, "DEFAULTS", dataclasses.replace(DEFAULTS, vet_confirms_repairs=False))
    [after] = pipeline.vet_results(agrees, [unsure_repair("KAMEL")])
    assert after == unsure_repair("KAMEL").result
    [after] = pipeline.vet_results(disputes_m, [unsure_repair("KAMEL")])
    assert after == unsure_repair("KAMEL").result


def test_segmentation_vets_an_unsure_repair_with_the_shipped_model(tmp_path, monkeypatch):
    """In segmentation's worker code, with the shipped model: a clearly drawn name whose
    alignment comes out as an unsure repair is vetted and harvested; one whose
    transcription the drawing contradicts goes to review."""
    import dataclasses

    from hwocr import align, pipeline

    real = align.analyze_name

    def unsure(*args, **kwargs):
        analysis = real(*args, **kwargs)
        return dataclasses.replace(analysis, alignment=dataclasses.replace(
            analysis.alignment, status="repaired", confidence=0.4))

    monkeypatch.setattr(align, "analyze_name", unsure)
    path = tmp_path / "kamel.png"
    cv2.imwrite(str(path), drawn_name("KAMEL"))
    right, wrong = pipeline._analyze_chunk([(1, str(path), "KAMEL"), (2, str(path), "KAXEL")], vet=True)
    assert (right.status, right.confidence) == ("repaired", DEFAULTS.harvest_min_confidence)
    assert right.auto_labelled and "model-vetted repair" in right.reason
    assert wrong.status == "needs_review" and "the 3rd letter as M" in wrong.reason
    assert not wrong.vet_confirmed and not unsure_repair("KAMEL").result.vet_confirmed
