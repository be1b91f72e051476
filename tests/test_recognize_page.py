"""The Recognize page, run in-process with Streamlit's AppTest on a temporary workspace.

The drawing canvas is a custom component that does not run in AppTest (it returns no
pixels), so the tests put a "drawing" into ``state.RECOGNIZE_DRAWING_OVERRIDE``, which
the page reads as if it came from the canvas; uploads go through the real file uploader.
Words are drawn with OpenCV's Hershey font, big and clear, which the shipped model reads.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from hwocr.boxes import Box
from hwocr.errors import InputError
from hwocr.images import encode_png
from hwocr.ui import recognize, render, state
from hwocr.versions import shipped_version
from hwocr.workspace import Workspace
from tests.helpers import add_name, no_exception, open_page

REPO = Path(__file__).resolve().parent.parent
RECOGNIZE = str(REPO / "pages" / "5_Recognize.py")
HAS_MODEL = (shipped_version(True).path / "model.keras").is_file()
needs_model = pytest.mark.skipif(not HAS_MODEL, reason="the shipped base model is not in models/base")


@pytest.fixture
def ws(workspace_dir) -> Workspace:
    return Workspace(workspace_dir)


def word(text: str, *, scale: float = 5, thickness: int = 12) -> bytes:
    """``text`` written big in black on white, as PNG bytes (like a canvas drawing)."""
    img = np.full((260, 900), 255, np.uint8)
    cv2.putText(img, text, (30, 200), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, thickness, cv2.LINE_AA)
    return encode_png(img)


def app(**session) -> AppTest:
    return ok(open_page(RECOGNIZE, timeout=90, **session).run())


ok = no_exception


def headers(at: AppTest) -> list[str]:
    return [h.value for h in at.header]


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in ("success", "info", "warning", "error") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def chars_table(at: AppTest):
    return at.dataframe[0].value


# --- without the model ----------------------------------------------------------------------


def test_an_empty_canvas_gives_a_hint_not_an_error():
    at = app()
    assert not at.error
    assert any("Nothing drawn yet" in i.value for i in at.info)
    assert state.RECOGNIZE_LAST not in at.session_state  # nothing was read, no model loaded


def test_a_blank_drawing_is_empty_too():
    at = app(**{state.RECOGNIZE_DRAWING_OVERRIDE: encode_png(np.full((300, 1000), 255, np.uint8))})
    assert not at.error
    assert any("Nothing drawn yet" in i.value for i in at.info)


def test_a_bad_upload_gives_one_clear_error():
    at = app(**{state.RECOGNIZE_SOURCE: "upload"})
    assert any("Upload a picture" in i.value for i in at.info)
    at.file_uploader(key=state.RECOGNIZE_UPLOAD).set_value(("scan.png", b"this is not a picture", "image/png"))
    ok(at.run())
    assert len(at.error) == 1
    message = at.error[0].value
    assert message.startswith("scan.png:") and "Traceback" not in message
    assert not at.header


def test_pure_helpers():
    assert recognize.parse_lexicon(" HELLO\n\nworld, HELLO ,Jean-Pierre ") == ("HELLO", "world", "Jean-Pierre")
    assert recognize.valid_label(" e ") == "e"  # small letters are classes of their own (dataset/e_lower/)
    assert recognize.valid_label(" E ") == "E"
    assert recognize.valid_label("7") == "7"
    for bad in ("", "EE", "é", "-", None, "ä"):
        assert recognize.valid_label(bad) is None
    assert recognize.label_options("digits")[:10] == list("0123456789")
    assert sorted(recognize.label_options("digits")) == sorted(recognize.label_options("letters"))
    gray = np.full((40, 60), 255, np.uint8)
    assert not recognize.has_ink(gray)
    gray[10:20, 10:12] = 0
    assert recognize.has_ink(gray)
    a = recognize.reading_key(gray, charset="letters", clean=False, lexicon_key=(), model_key="base")
    assert a == recognize.reading_key(gray.copy(), charset="letters", clean=False, lexicon_key=(), model_key="base")
    assert a != recognize.reading_key(gray, charset="digits", clean=False, lexicon_key=(), model_key="base")
    assert a != recognize.reading_key(gray, charset="letters", clean=False, lexicon_key=(), model_key="v0001")


def test_the_overlay_draws_a_box_and_a_label_per_character():
    gray = np.full((100, 200), 255, np.uint8)
    picture = render.reading_overlay(gray, [(Box(10, 10, 50, 90), "A", 0.97), (Box(100, 10, 140, 90), "B", 0.3)],
                                     width=400, selected=1)
    assert picture.shape[1] == 400 and picture.shape[2] == 3
    green = np.all(picture == render.confidence_bgr(0.97), axis=2)
    red = np.all(picture == render.confidence_bgr(0.3), axis=2)
    assert green[:, :150].any() and not green[:, 150:].any()  # A ends at x 100, B starts at 200
    assert red[:, 150:].any() and not red[:, :150].any()


def test_workspace_transcriptions_for_the_lexicon(ws):
    add_name(ws, "u1", "MARTIN")
    add_name(ws, "u2", "MARTIN")
    add_name(ws, "u3", "DUPONT")
    add_name(ws, "u4", "REJECTED", status="rejected")
    assert recognize.workspace_transcriptions(ws) == ("MARTIN", "DUPONT")


# --- reading with the shipped model -----------------------------------------------------------


@needs_model
def test_a_drawing_is_read_with_a_box_and_confidence_per_character():
    at = app(**{state.RECOGNIZE_DRAWING_OVERRIDE: word("HELLO")})
    assert not at.error
    assert headers(at) == ["HELLO"]
    table = chars_table(at)
    assert list(table["read"]) == list("HELLO")
    assert table["confidence"].between(0, 1).all() and table["confidence"].min() > 0.5
    assert (table["2nd"] != "").all()  # the runner-ups
    outcome = at.session_state[state.RECOGNIZE_LAST]
    boxes = [c.box for c in outcome.reading.chars]
    assert all(a.x1 <= b.x0 for a, b in itertools.pairwise(boxes))  # left to right, disjoint
    assert all(0 <= b.x0 < b.x1 <= 900 and 0 <= b.y0 < b.y1 <= 260 for b in boxes)
    assert len(at.image) == 2  # the overlay and the teach form's crop


@needs_model
def test_the_charset_changes_the_reading():
    at = app(**{state.RECOGNIZE_DRAWING_OVERRIDE: word("42")})
    assert headers(at) == ["42"]  # the default charset reads digits too
    at.selectbox(key=state.RECOGNIZE_CHARSET).set_value("letters")
    ok(at.run())
    letters = headers(at)
    assert letters and not any(ch.isdigit() for ch in letters[0])
    at.selectbox(key=state.RECOGNIZE_CHARSET).set_value("digits")
    ok(at.run())
    assert headers(at) == ["42"]
    assert list(chars_table(at)["read"]) == ["4", "2"]


@needs_model
def test_a_lexicon_snaps_and_both_readings_are_shown(ws):
    at = app(**{state.RECOGNIZE_DRAWING_OVERRIDE: word("HFLLO")})
    assert headers(at) == ["HFLLO"]
    at.text_area(key=state.RECOGNIZE_LEXICON_TEXT).input("HELLO\nWORLD")
    ok(at.run())
    assert headers(at) == ["HELLO"]
    shown = texts(at)
    assert "Snapped to the lexicon entry **HELLO**" in shown and "read **HFLLO**" in shown
    # The teach form starts from the entry's letter where the model read another one.
    assert at.selectbox(key=state.recognize_label_key(at.session_state[state.RECOGNIZE_LAST].key, 0)).value == "H"


@needs_model
def test_the_workspace_transcriptions_make_a_lexicon(ws):
    add_name(ws, "u1", "HELLO")
    add_name(ws, "u2", "WORLD")
    at = app(**{state.RECOGNIZE_DRAWING_OVERRIDE: word("HFLLO")})
    assert headers(at) == ["HFLLO"]
    toggle = at.toggle(key=state.RECOGNIZE_SNAP_WORKSPACE)
    assert "(2 distinct)" in toggle.label and not toggle.disabled
    toggle.set_value(True)
    ok(at.run())
    assert headers(at) == ["HELLO"]
    assert "read **HFLLO**" in texts(at)


@needs_model
def test_teaching_adds_exactly_one_crop_with_origin_canvas(ws):
    at = app(**{state.RECOGNIZE_DRAWING_OVERRIDE: word("HFLLO")})
    outcome = at.session_state[state.RECOGNIZE_LAST]
    assert outcome.reading.chars[1].label == "F"
    at.selectbox(key=state.recognize_char_key(outcome.key)).set_value(1)
    ok(at.run())
    at.selectbox(key=state.recognize_label_key(outcome.key, 1)).set_value("E")
    ok(at.run())
    button = at.button(key=state.RECOGNIZE_TEACH)
    assert button.label == "Add to the dataset as E" and not button.disabled
    button.click()
    ok(at.run())
    assert any("as E (the model read F)" in s.value for s in at.success)
    assert at.session_state[state.RECOGNIZE_LAST] is outcome  # not read again

    # Reruns (and another click, were it possible) add nothing more.
    ok(at.run())
    assert at.button(key=state.RECOGNIZE_TEACH).disabled
    assert list(chars_table(at)["added as"]) == ["", "E", "", "", ""]
    rows = ws.query("SELECT * FROM chars")
    assert len(rows) == 1
    crop = rows[0]
    assert crop["label"] == "E" and crop["origin"] == "canvas" and crop["name_id"] is None
    path = ws.resolve(crop["path"])
    assert path.is_file() and path.parent == ws.class_dir("E")
    stored = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    box = outcome.reading.chars[1].box
    assert stored.shape[0] >= box.height and stored.shape[1] >= box.width
    assert ws.query_one("SELECT COUNT(*) AS n FROM events WHERE kind = 'crop_added'")["n"] == 1
    with pytest.raises(InputError, match="already added"):
        recognize.teach(ws, outcome, 1, "E", taught=at.session_state[state.RECOGNIZE_TAUGHT][outcome.key])


@needs_model
def test_teach_refuses_labels_that_are_not_classes(ws):
    at = app(**{state.RECOGNIZE_DRAWING_OVERRIDE: word("HELLO")})
    outcome = at.session_state[state.RECOGNIZE_LAST]
    for bad in ("", "EE", "é", "?"):
        with pytest.raises(InputError):
            recognize.teach(ws, outcome, 0, bad, taught={})
    with pytest.raises(InputError):
        recognize.teach(ws, outcome, 9, "H", taught={})
    assert ws.query("SELECT * FROM chars") == []


@needs_model
def test_an_uploaded_name_from_a_form_is_read_clean():
    img = np.full((60, 520), 255, np.uint8)
    cv2.putText(img, "NOM :", (4, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 0, 1, cv2.LINE_AA)
    cv2.putText(img, "HELLO", (130, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 0, 4, cv2.LINE_AA)
    at = app(**{state.RECOGNIZE_SOURCE: "upload"})
    at.file_uploader(key=state.RECOGNIZE_UPLOAD).set_value(("name.png", encode_png(img), "image/png"))
    at.selectbox(key=state.RECOGNIZE_CLEAN).set_value("Clean")
    ok(at.run())
    assert not at.error
    assert headers(at) == ["HELLO"]
    assert at.session_state[state.RECOGNIZE_LAST].reading.cleaned
    assert any(c.value.startswith("Cleaned as a name cut from a form") for c in at.caption)


@needs_model
def test_an_uploaded_form_strip_is_cleaned_by_default_and_a_drawing_never():
    """Auto is the default: the detector's verdict decides and shows in a caption;
    Don't clean reads the label as letters; the canvas is never cleaned."""
    from tests.test_formdetect import form_strip

    at = app(**{state.RECOGNIZE_SOURCE: "upload"})
    assert at.selectbox(key=state.RECOGNIZE_CLEAN).value == "Auto"
    at.file_uploader(key=state.RECOGNIZE_UPLOAD).set_value(("name.png", encode_png(form_strip()), "image/png"))
    ok(at.run())
    assert not at.error
    reading = at.session_state[state.RECOGNIZE_LAST].reading
    assert reading.cleaned and reading.clean_reason.startswith("a name cut from a form")
    assert any("the printed label at the left" in c.value for c in at.caption)
    at.selectbox(key=state.RECOGNIZE_CLEAN).set_value("Don't clean")
    ok(at.run())
    assert not at.session_state[state.RECOGNIZE_LAST].reading.cleaned
    assert any(c.value.startswith("Read as it is") for c in at.caption)
    # Blank paper: nothing read, and why.
    at.selectbox(key=state.RECOGNIZE_CLEAN).set_value("Auto")
    at.file_uploader(key=state.RECOGNIZE_UPLOAD).set_value(
        ("label.png", encode_png(_label_scan()), "image/png"))
    ok(at.run())
    assert not at.error
    assert any("no handwriting found in the image: only the printed label" in w.value for w in at.warning)
    drawn = app(**{state.RECOGNIZE_DRAWING_OVERRIDE: word("HELLO")})
    assert not drawn.session_state[state.RECOGNIZE_LAST].reading.cleaned


def _label_scan() -> np.ndarray:
    img = np.full((36, 110), 250, np.uint8)
    cv2.putText(img, "PRENOM :", (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 0, 1, cv2.LINE_AA)
    return img


@needs_model
def test_a_newly_activated_model_is_used_without_a_restart(ws):
    import shutil

    from hwocr.versions import activate
    from hwocr.workspace import now

    at = app(**{state.RECOGNIZE_DRAWING_OVERRIDE: word("HELLO")})
    first = at.session_state[state.RECOGNIZE_LAST]
    ok(at.run())
    assert at.session_state[state.RECOGNIZE_LAST] is first  # same input, same model: not read again

    shutil.copytree(shipped_version(True).path, ws.models_dir / "v0001")
    with ws.transaction() as conn:
        conn.execute("INSERT INTO model_versions (name, path, created_at, val_accuracy, metrics, active, note) "
                     "VALUES ('v0001', 'models/v0001', ?, 0.9, '{}', 0, 'copy of base')", (now(),))
    activate(ws, "v0001")
    ok(at.run())
    second = at.session_state[state.RECOGNIZE_LAST]
    assert second.key != first.key
    assert headers(at) == ["HELLO"]
    from hwocr.ui import resources

    assert resources.recognizer(ws).path == ws.models_dir / "v0001"


def test_reading_problems_come_back_as_one_line_not_an_exception():
    from hwocr.errors import ModelError

    class Broken:
        def __init__(self, exc):
            self.exc = exc

        def read(self, *args, **kwargs):
            raise self.exc

    gray = np.full((20, 20), 255, np.uint8)
    outcome = recognize.read(Broken(ModelError("the model file is damaged")), gray, key="k", charset="letters")
    assert outcome.reading is None and outcome.error == "the model file is damaged"
    outcome = recognize.read(Broken(RuntimeError("boom\nTraceback")), gray, key="k", charset="letters")
    assert outcome.reading is None
    assert "RuntimeError" in outcome.error and "\n" not in outcome.error and "boom" not in outcome.error


# --- the charset: everything by default, capitals and digits with a 36-class model ----------


class _Labels:
    """A stand-in for the active model that only has class labels (nothing is read)."""

    def __init__(self, labels):
        self.labels = tuple(labels)


def test_the_default_charset_reads_everything_with_a_62_class_model(monkeypatch):
    from hwocr.config import ALL_CLASSES
    from hwocr.ui import resources

    assert len(ALL_CLASSES) == 62
    monkeypatch.setattr(resources, "recognizer", lambda ws: _Labels(ALL_CLASSES))
    at = app()
    box = at.selectbox(key=state.RECOGNIZE_CHARSET)
    assert box.value == "all"
    assert box.options == [recognize.CHARSET_LABELS[c] for c in ("all", "cased", "alnum", "letters", "lower",
                                                                   "digits")]
    assert "Everything (A–Z a–z 0–9)" in box.options
    captions = " ".join(c.value for c in at.caption)
    assert "capitals, small letters and digits" in captions
    assert "Capital letters" not in captions and "knows no small letters" not in captions


def test_the_default_charset_is_capitals_and_digits_with_a_36_class_model(monkeypatch):
    from hwocr.config import ALNUM
    from hwocr.ui import resources

    monkeypatch.setattr(resources, "recognizer", lambda ws: _Labels(ALNUM))
    at = app()
    assert at.selectbox(key=state.RECOGNIZE_CHARSET).value == "alnum"
    assert "capitals and digits" in " ".join(c.value for c in at.caption)


def test_charset_helpers():
    from hwocr.config import ALL_CLASSES, ALNUM, CHARSETS

    assert recognize.default_charset(ALL_CLASSES) == "all"
    assert recognize.default_charset(ALNUM) == "alnum"
    assert recognize.default_charset(None) == "alnum"
    for asked in ("all", "cased", "lower"):
        assert recognize.effective_charset(asked, ALNUM) == "alnum"
        assert recognize.effective_charset(asked, ALL_CLASSES) == asked
        assert "knows no small letters" in recognize.fallback_note(asked, "alnum", 36)
    for asked in ("alnum", "letters", "digits"):
        assert recognize.effective_charset(asked, ALNUM) == asked
        assert recognize.fallback_note(asked, asked, 36) is None
    assert set(recognize.CHARSET_LABELS) == set(recognize.CHARSET_READS) == set(CHARSETS)
    assert all(recognize.valid_label(c) == c for c in recognize.label_options("all"))


@needs_model
def test_a_36_class_model_asked_for_everything_reads_capitals_and_digits(monkeypatch):
    """The fallback: a 36-class model cannot answer small letters; the page reads the
    widest charset it serves (alnum) and says so in a caption, never a traceback."""
    from hwocr.config import ALNUM
    from hwocr.errors import ModelError
    from hwocr.recognize import Recognizer
    from hwocr.ui import resources

    real = Recognizer.load(shipped_version(True).path)
    asked = []

    class ThirtySix:
        labels = ALNUM

        def read(self, gray, *, charset, **kwargs):
            asked.append(charset)
            if charset in ("all", "cased", "lower"):
                raise ModelError(f"this model knows no {charset}")
            return real.read(gray, charset=charset, **kwargs)

    monkeypatch.setattr(resources, "recognizer", lambda ws: ThirtySix())
    at = app(**{state.RECOGNIZE_DRAWING_OVERRIDE: word("HELLO")})
    assert at.selectbox(key=state.RECOGNIZE_CHARSET).value == "alnum"
    at.selectbox(key=state.RECOGNIZE_CHARSET).set_value("all")
    ok(at.run())
    assert not at.error and not at.exception
    assert headers(at) == ["HELLO"]
    assert asked and set(asked) == {"alnum"}
    assert at.session_state[state.RECOGNIZE_LAST].charset == "alnum"
    note = " ".join(c.value for c in at.caption)
    assert "36 classes" in note and "knows no small letters" in note and "“Capitals and digits”" in note


@needs_model
def test_a_small_letter_is_taught_to_its_own_folder(ws):
    at = app(**{state.RECOGNIZE_DRAWING_OVERRIDE: word("HELLO")})
    outcome = at.session_state[state.RECOGNIZE_LAST]
    assert "e" in recognize.label_options(outcome.charset)
    done = recognize.teach(ws, outcome, 1, " e ", taught={})
    assert done.label == "e" and done.record.label == "e"
    assert "dataset/e_lower/" in recognize.taught_message(done)
    assert ws.resolve(done.record.path).parent == ws.class_dir("e")


def test_the_pen_canvas_drawing_is_decoded_from_its_data_url():
    import base64

    from hwocr.ui.canvas import drawing_png

    png = word("A")
    assert drawing_png({"png": "data:image/png;base64," + base64.b64encode(png).decode(), "strokes": 1}) == png
    for nothing in (None, {}, {"png": None}, {"png": "data:image/jpeg;base64,AAAA"},
                    {"png": "data:image/png;base64,%%"}, "not a mapping"):
        assert drawing_png(nothing) is None
    assert recognize.decode(png).shape == (260, 900)
