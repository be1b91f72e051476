"""Recognize: write a word with the mouse, or upload a picture of one, and read it.

The page cuts the ink into characters, classifies them in one batch with the active
model and shows the text, each character's box, letter and confidence, and the
runner-up letters. A wrong letter can be corrected and its crop added to the class
folders (origin "canvas"), where the next training picks it up.
"""

from __future__ import annotations

import streamlit as st

from hwocr.errors import HwocrError
from hwocr.ui import canvas, recognize, render, resources, state, widgets

widgets.page_setup("Recognize", ":material/draw:", sidebar="collapsed")  # room for the canvas
ws = resources.workspace()

st.title("Recognize")
st.markdown("Write a word with the mouse — or upload a picture of one — and see how the model reads it: a box, "
            "a letter and a confidence per character, and the letters it hesitated between. Correct a wrong "
            "letter and add its crop to the dataset.")
resources.show_flashes()


# --- actions (button callbacks: they run before the page is drawn) -----------------------


def add_to_dataset(reading_key: str, index: int) -> None:
    outcome = st.session_state.get(state.RECOGNIZE_LAST)
    if outcome is None or outcome.key != reading_key:
        st.session_state[state.RECOGNIZE_NOTICE] = ("warning", "The image changed in the meantime; nothing was added.")
        return
    taught = st.session_state.setdefault(state.RECOGNIZE_TAUGHT, {}).setdefault(reading_key, {})
    label = st.session_state.get(state.recognize_label_key(reading_key, index))
    try:
        done = recognize.teach(ws, outcome, index, label, taught=taught, actor=resources.reviewer_id())
    except HwocrError as exc:
        st.session_state[state.RECOGNIZE_NOTICE] = ("error", f"Nothing was added: {exc}")
    else:
        taught[index] = done.label
        st.session_state[state.RECOGNIZE_NOTICE] = ("success", recognize.taught_message(done))


# --- pieces -------------------------------------------------------------------------------


def model_labels() -> tuple[str, ...] | None:
    """The active model's class labels (None when it cannot be loaded: the reading says
    why). Loading it here, before anything is drawn, also means the first stroke does not
    wait for the model."""
    try:
        recognizer = resources.recognizer(ws)
    except HwocrError:
        return None
    return None if recognizer is None else tuple(recognizer.labels)


def settings(labels) -> tuple[str, str]:
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    source = left.segmented_control("Input", list(recognize.SOURCE_LABELS), default="draw", required=True,
                                    key=state.RECOGNIZE_SOURCE, format_func=recognize.SOURCE_LABELS.get)
    charset = right.selectbox("Characters", list(recognize.CHARSET_LABELS),
                              index=list(recognize.CHARSET_LABELS).index(recognize.default_charset(labels)),
                              key=state.RECOGNIZE_CHARSET, format_func=recognize.CHARSET_LABELS.get)
    return source, charset


def lexicon_settings():
    """The lexicon chosen (or None) and a key that changes only with its entries."""
    known = resources.transcription_count(ws)
    typed = recognize.parse_lexicon(st.session_state.get(state.RECOGNIZE_LEXICON_TEXT))
    use_workspace = bool(st.session_state.get(state.RECOGNIZE_SNAP_WORKSPACE)) and known > 0
    lexicon, key = resources.lexicon(ws, workspace_names=use_workspace, typed=typed)
    title = "Lexicon: off" if lexicon is None else f"Lexicon: {recognize.count_text(len(lexicon), 'entry', 'entries')}"
    # A key keeps it open while its title changes with what is typed inside.
    with st.expander(title, icon=":material/menu_book:", key=state.RECOGNIZE_LEXICON_OPEN):
        st.toggle(f"Snap to the workspace's transcriptions ({known:,} distinct)", key=state.RECOGNIZE_SNAP_WORKSPACE,
                  disabled=known == 0,
                  help="A reading close enough to one of the names' transcriptions is replaced by it; the "
                       "classifier's own reading is shown too.")
        st.text_area("Other entries, one per line", key=state.RECOGNIZE_LEXICON_TEXT, height=90,
                     placeholder="HELLO\nWORLD")
    return lexicon, key


def drawn_image(charset: str):
    """The canvas's drawing as PNG bytes (None before the first stroke), or the test's drawing."""
    stroke = st.slider("Pen width", recognize.STROKE_MIN, recognize.STROKE_MAX, recognize.STROKE_DEFAULT,
                       key=state.RECOGNIZE_STROKE, width=320)
    drawing = canvas.pen_canvas(width=recognize.CANVAS_WIDTH, height=recognize.CANVAS_HEIGHT, stroke_width=stroke,
                                key=state.RECOGNIZE_CANVAS)
    st.caption(f"Reads {recognize.CHARSET_READS[charset]}. Write big, letters a little apart; the text is read "
               "the moment you lift the pen. The buttons over the drawing's top right corner undo, redo and "
               "clear.")
    override = st.session_state.get(state.RECOGNIZE_DRAWING_OVERRIDE)
    return override if override is not None else drawing


def uploaded_image() -> tuple[object | None, str, bool | None]:
    """(image bytes or None, its name, whether to clean it as a form's name: None to detect)."""
    upload = st.file_uploader("A picture of a word, a line or a name", type=recognize.UPLOAD_TYPES,
                              key=state.RECOGNIZE_UPLOAD)
    choice = st.selectbox("Name cut from a form", list(recognize.CLEAN_CHOICES), key=state.RECOGNIZE_CLEAN,
                          width=320, help="Clean removes the printed label (NOM, PRENOM), the form lines and the "
                          "ends of neighbouring rows before reading; Auto does so when the picture looks like a "
                          "name cut from a form.")
    clean = recognize.CLEAN_CHOICES[choice]
    if upload is None:
        return None, "", clean
    return upload.getvalue(), upload.name, clean


def current_reading(gray, *, charset: str, clean: bool | None, lexicon, lexicon_key
                    ) -> recognize.ReadOutcome | None:
    """The reading of this input: the last one again when nothing it depends on changed."""
    key = recognize.reading_key(gray, charset=charset, clean=clean, lexicon_key=lexicon_key,
                                model_key=resources.active_model_key(ws))
    last = st.session_state.get(state.RECOGNIZE_LAST)
    if last is not None and last.key == key:
        return last
    try:
        recognizer = resources.recognizer(ws)
    except HwocrError as exc:
        st.error(widgets.inert(f"The character model cannot be loaded: {exc}"))
        return None
    if recognizer is None:
        st.error("The character model is not installed with this copy of hwocr.")
        return None
    # No spinner: a reading takes milliseconds, and each element costs the rerun time.
    lm = recognize.names_lm(ws) if charset == "letters" else False
    outcome = recognize.read(recognizer, gray, key=key, charset=charset, lexicon=lexicon, clean=clean, lm=lm)
    st.session_state[state.RECOGNIZE_LAST] = outcome
    return outcome


def show_text(reading) -> None:
    for line in recognize.text_lines(reading.text):
        st.header(widgets.md(line), anchor=False)
    note = recognize.snap_note(reading)
    if note is None:
        return
    if note.snapped:
        st.markdown(f"Snapped to the lexicon entry **{widgets.md(note.entry)}** — the classifier alone read "
                    f"**{widgets.md(note.raw_text)}** (cost {note.cost:.1f}).")
    else:
        st.caption(f"The closest lexicon entry, {widgets.md(note.entry)}, is too far from what is written "
                   f"(cost {note.cost:.1f}) to snap to.")


def teach_form(outcome: recognize.ReadOutcome, taught: dict[int, str]) -> None:
    chars = outcome.reading.chars
    st.markdown("**Teach the model**")
    index = st.selectbox("Character", list(range(len(chars))), key=state.recognize_char_key(outcome.key),
                         format_func=lambda i: recognize.char_option(i, chars[i]))
    options = recognize.label_options(outcome.charset)
    suggested = recognize.suggested_label(outcome.reading, index)
    crop_col, label_col = st.columns([1, 3], vertical_alignment="bottom")
    crop_col.image(render.png(render.square_thumbnail(recognize.char_crop(outcome, index), 72)), width=72)
    label = label_col.selectbox("Right label", options, index=options.index(suggested) if suggested in options else 0,
                                key=state.recognize_label_key(outcome.key, index))
    done = taught.get(index)
    st.button(f"Add to the dataset as {label}", key=state.RECOGNIZE_TEACH, type="primary", icon=":material/add:",
              disabled=done is not None, on_click=add_to_dataset, args=(outcome.key, index),
              help="The crop in the box goes to its class folder (origin canvas); the next training uses it.")
    notice = st.session_state.pop(state.RECOGNIZE_NOTICE, None)
    if notice is not None:
        kind, text = notice
        getattr(st, kind, st.info)(widgets.inert(text))
    elif done is not None:
        st.caption(f"Character {index + 1} was added as {done}.")


def show_reading(outcome: recognize.ReadOutcome, *, drawn: bool) -> None:
    if outcome.error is not None:
        st.error(widgets.inert(f"The image could not be read: {outcome.error}"))
        return
    reading = outcome.reading
    if not drawn:
        st.caption(widgets.md(recognize.cleaning_note(reading)))
    if not reading.chars:
        st.warning(widgets.inert(f"Nothing was read: {reading.reason}." if reading.reason
                                 else "No characters were found in the ink."))
        return
    show_text(reading)
    taught = st.session_state.get(state.RECOGNIZE_TAUGHT, {}).get(outcome.key, {})
    selected = st.session_state.get(state.recognize_char_key(outcome.key), 0)
    picture = render.reading_overlay(outcome.gray, recognize.overlay_chars(reading), width=recognize.CANVAS_WIDTH,
                                     max_height=recognize.CANVAS_HEIGHT, selected=selected, keep_columns=drawn)
    st.image(render.png(picture), width="content", output_format="PNG")
    table_col, teach_col = st.columns([3, 2], gap="large")
    with table_col:
        st.markdown("**Each character and the letters the model hesitated between**")
        st.dataframe(recognize.char_table(reading, taught), hide_index=True, width="stretch",
                     column_config={"confidence": st.column_config.ProgressColumn(
                         "confidence", format="percent", min_value=0.0, max_value=1.0)})
    with teach_col:
        teach_form(outcome, taught)


# --- the page -------------------------------------------------------------------------------


@st.fragment
def reader(source: str, charset: str, note: str | None, lexicon, lexicon_key) -> None:
    """The input and its reading. A fragment: a pen stroke (or the teach form) reruns
    only this, not the page's title, settings and lexicon, so the text shows right after
    the pen lifts."""
    if source == "upload":
        image, image_name, clean = uploaded_image()
        hint = "Upload a picture of handwriting (PNG, JPEG, …) to read it."
    else:
        image, image_name, clean = drawn_image(charset), "the drawing", False
        hint = "Nothing drawn yet: write a word on the white area above."
    if note is not None:
        st.caption(note)

    gray, problem = None, None
    if image is not None:
        try:
            gray = recognize.decode(image)
        except HwocrError as exc:
            problem = f"{image_name}: {exc}"

    if problem is not None:
        st.error(widgets.inert(problem))
    elif gray is None or not recognize.has_ink(gray):
        st.info(hint, icon=":material/gesture:")
    else:
        outcome = current_reading(gray, charset=charset, clean=clean, lexicon=lexicon, lexicon_key=lexicon_key)
        if outcome is not None:
            show_reading(outcome, drawn=source == "draw")


labels = model_labels()
source, asked = settings(labels)
charset = recognize.effective_charset(asked, labels)
lexicon, lexicon_key = lexicon_settings()
reader(source, charset, recognize.fallback_note(asked, charset, len(labels or ())), lexicon, lexicon_key)
