"""Review: the names the segmenter could not settle, one at a time; any name found by
search or in the history of reviewed names, reopened for editing; and an audit of the
names it settled on its own, where a wrong one goes back to the queue with one click.

Keyboard: A accept · S skip · X reject · N reject as no readable name · O reset the boxes ·
Z undo the last accept.

The review card is a fragment: an action reruns the card alone, and every action is a
button callback, so the next name is drawn in the very run that saved the last one.
"""

from __future__ import annotations

import time

import streamlit as st

from hwocr.config import ALL_CLASSES, DEFAULTS
from hwocr.dataset import validate_boxes
from hwocr.errors import ConflictError, HwocrError
from hwocr.review import accept, check_accept, next_for_review, propose_letters, reject, skip, undo_last
from hwocr.store import queries
from hwocr.text import normalize_transcription
from hwocr.ui import identity, resources, state, widgets
from hwocr.ui.box_editor import reported_boxes
from hwocr.ui.canvas import (
    boxes_from_override,
    default_letter,
    geometry_for,
    letters_in_order,
    transcription_letters,
)
from hwocr.vet import confirmed_repair, readings_for, split_reason
from hwocr.workspace import CLAIMABLE, LabeledBox, NameRecord

widgets.page_setup("Review", ":material/rule:", sidebar="collapsed")
ws = resources.workspace()
reviewer = identity.reviewer()
identity.remember_in_browser(reviewer)

VIEWS = {"Queue": "Review queue", "Find": "Find & history", "Audit": "Audit auto-accepted names"}


# --- the message line and the reviewer ------------------------------------------------------


def say(kind: str, text: str) -> None:
    """The page's message line: stays until the next action replaces it."""
    st.session_state[state.REVIEW_STATUS] = (kind, text)


def show_status() -> None:
    message = st.session_state.get(state.REVIEW_STATUS)
    if message:
        kind, text = message
        getattr(st, kind, st.info)(widgets.inert(text))


def rename() -> None:
    old = reviewer
    new = identity.rename(st.session_state.get(state.REVIEW_RENAME, ""))
    if new is None:
        say("error", "A reviewer name needs at least one letter or digit.")
    elif new != old:
        # What the old name held goes back to the queue at once.
        ws.release_claims(old)
        say("info", f"You review as {new} now: your claims, counts and undo history follow this name.")


@st.fragment(run_every=DEFAULTS.review_heartbeat_s)
def keep_claims_alive() -> None:
    """Say "still here" while the page is open: claims lapse only when a reviewer is gone."""
    ws.touch_reviewer(reviewer)


# --- the actions (button callbacks: they run before the card is drawn again) ----------------


def shown_boxes(record: NameRecord) -> list[LabeledBox]:
    """The boxes the person has on screen: a test's override, else the editor's."""
    override = st.session_state.get(state.REVIEW_BOXES_OVERRIDE)
    if override is not None:
        return boxes_from_override(override)
    now_ = st.session_state.get(state.REVIEW_BOXES_NOW)
    if now_ and now_["for"] == [record.id, record.version]:
        reported = reported_boxes(now_["key"], record.width or 0, record.height or 0) if record.width else None
        return reported if reported is not None else boxes_from_override(now_["boxes"])
    return list(record.boxes)


def forget_edits() -> None:
    for key in (state.REVIEW_BOXES_OVERRIDE, state.REVIEW_CANVAS_START, state.REVIEW_CONFIRM,
                state.REVIEW_BOXES_NOW):
        st.session_state.pop(key, None)


def current(name_id: int, version: int) -> NameRecord | None:
    """The name, if it is still the version the person was looking at; else say so."""
    record = ws.get_name(name_id)
    if record.version != version:
        say("warning", f"{record.unit_id} was changed elsewhere while you had it open; nothing was saved. "
                       "Here it is as it is now.")
        forget_edits()
        return None
    return record


def guarded(action) -> None:
    """Run an action; a conflict or a refusal becomes the message line, never a traceback."""
    try:
        action()
    except ConflictError as exc:
        say("warning", f"{exc} — the current state is shown below.")
        forget_edits()
    except HwocrError as exc:
        say("error", str(exc))


def on_accept(name_id: int, version: int, *, force: bool = False, text: str | None = None) -> None:
    def run() -> None:
        record = current(name_id, version)
        if record is None:
            return
        boxes = shown_boxes(record)
        typed = text if text is not None else st.session_state.get(state.review_text_key(name_id, version))
        typed = record.transcription or "" if typed is None else typed
        changed = typed.strip() != (record.transcription or "")
        if changed and normalize_transcription(typed)[0] is None:
            say("error", f"{record.unit_id}: {normalize_transcription(typed)[1]}")
            return
        if not boxes:
            say("error", f"{record.unit_id}: draw at least one box before accepting, or reject the name")
            return
        gray = widgets.name_gray(ws, record)
        clean = validate_boxes(boxes, gray.shape[1], gray.shape[0])
        check = check_accept(gray, clean, normalize_transcription(typed)[0])
        if check.refused:
            say("error", f"{record.unit_id}: {check.refused}. Nothing was saved.")
            return
        asked = {"for": [name_id, version], "letters": check.box_letters, "text": typed}
        if check.differs and not force and st.session_state.get(state.REVIEW_CONFIRM) != asked:
            st.session_state[state.REVIEW_CONFIRM] = asked
            say("warning", f"{record.unit_id}: {check.differs}. Press Accept again to accept anyway, "
                           "or choose below.")
            return
        accept(ws, name_id, version, clean, reviewer=reviewer, transcription=typed if changed else None)
        forget_edits()
        note = f" (box letters {check.box_letters}, transcription {check.transcription_letters})" \
            if check.box_letters != transcription_letters(typed) else ""
        say("success", f"{record.unit_id} accepted: {len(clean)} letters in the class folders{note}.")

    guarded(run)


#: The reason stored by the one-key reject of a blank or unreadable image.
NO_READABLE_NAME = "no readable name"


def on_reject(name_id: int, version: int, reason: str | None = None) -> None:
    def run() -> None:
        record = current(name_id, version)
        if record is None:
            return
        why = reason if reason is not None else (
            st.session_state.get(state.review_reason_key(name_id, version)) or "").strip()
        reject(ws, name_id, version, reviewer=reviewer, reason=why)
        forget_edits()
        say("success", f"{record.unit_id} rejected{' (' + why + ')' if why else ''}: no crops come from it.")

    guarded(run)


def on_skip(name_id: int, unit_id: str) -> None:
    def run() -> None:
        skip(ws, name_id, reviewer=reviewer)
        forget_edits()
        say("info", f"{unit_id} skipped: it goes to the back of the queue.")

    guarded(run)


def on_release(name_id: int, unit_id: str) -> None:
    ws.release_claim(name_id, reviewer)
    forget_edits()
    st.session_state[state.REVIEW_PAUSED] = True
    say("info", f"{unit_id} released: anyone can review it now. You hold no name until you take the next one.")


def on_resume() -> None:
    st.session_state.pop(state.REVIEW_PAUSED, None)
    st.session_state.pop(state.REVIEW_STATUS, None)


def on_undo() -> None:
    def run() -> None:
        forget_edits()
        st.session_state.pop(state.REVIEW_PAUSED, None)
        record = undo_last(ws, reviewer=reviewer)
        if record is None:
            say("info", f"Nothing to undo: {reviewer} has no accept or reject left to take back.")
        else:
            say("info", f"{record.unit_id} is back as it was ({record.status.replace('_', ' ')}).")

    guarded(run)


def restart_canvas(record: NameRecord, boxes: list[LabeledBox]) -> None:
    """Start the editor again from ``boxes`` (a new key remounts it)."""
    st.session_state[state.REVIEW_CANVAS_START] = {
        "for": [record.id, record.version], "boxes": [b.to_json() for b in boxes]}
    st.session_state[state.REVIEW_CANVAS_NONCE] = st.session_state.get(state.REVIEW_CANVAS_NONCE, 0) + 1
    st.session_state.pop(state.REVIEW_BOXES_OVERRIDE, None)
    st.session_state.pop(state.REVIEW_CONFIRM, None)


def on_reset(name_id: int, version: int) -> None:
    record = current(name_id, version)
    if record is not None:
        restart_canvas(record, list(record.auto_boxes))
        say("info", f"{record.unit_id}: back to the automatic boxes.")


def on_letters_from_text(name_id: int, version: int) -> None:
    record = current(name_id, version)
    if record is not None:
        typed = st.session_state.get(state.review_text_key(name_id, version), record.transcription or "")
        restart_canvas(record, letters_in_order(typed, shown_boxes(record)))
        say("info", f"{record.unit_id}: the boxes have the transcription's letters, left to right.")


def on_propose(name_id: int, version: int) -> None:
    def run() -> None:
        record = current(name_id, version)
        if record is None:
            return
        recognizer = resources.recognizer(ws)
        if recognizer is None:
            say("error", "The character model is not available here.")
            return
        boxes = propose_letters(recognizer, widgets.name_gray(ws, record), shown_boxes(record))
        restart_canvas(record, boxes)
        say("info", f"{record.unit_id}: the model reads the boxes as {''.join(b.label or '?' for b in boxes)}. "
                    "Check them, then Accept.")

    guarded(run)


def on_open(name_id: int) -> None:
    def run() -> None:
        record = ws.claim_name(name_id, reviewer)
        forget_edits()
        st.session_state.pop(state.REVIEW_PAUSED, None)
        st.session_state[state.REVIEW_VIEW] = "Queue"
        say("info", f"{record.unit_id} is open for you ({record.status.replace('_', ' ')}). Accept saves your "
                    "boxes; Release hands it back.")

    guarded(run)


def on_send_back(name_id: int, version: int, unit_id: str) -> None:
    from hwocr.review import send_back

    def run() -> None:
        send_back(ws, name_id, actor=reviewer, version=version)
        say("success", f"{unit_id} sent back to the review queue.")

    guarded(run)


# --- the queue card -------------------------------------------------------------------------


def counts_line() -> None:
    counts = queries.review_counts(ws)
    today = time.time() - (time.time() % 86400)
    st.markdown(
        f"**{counts.remaining:,}** to review · {counts.verified:,} verified · {counts.rejected:,} rejected · "
        f"{ws.reviewer_done(reviewer, since=today):,} done by {widgets.md(reviewer)} today"
    )


@st.fragment
def review_card() -> None:
    show_status()
    if st.session_state.get(state.REVIEW_PAUSED):
        counts_line()
        st.button("Review the next name", key=state.REVIEW_RESUME, type="primary", icon=":material/play_arrow:",
                  on_click=on_resume)
        return
    record = next_for_review(ws, reviewer)
    counts_line()
    if record is None:
        st.success("Nothing waiting for review. New names arrive from the Import page; "
                   "the Audit view lets you send an auto-accepted name back here, and Find reopens any name.")
        st.button("Undo my last accept", key=state.REVIEW_UNDO, icon=":material/undo:", shortcut="Z",
                  on_click=on_undo)
        return
    with st.container(border=True):
        show_item(record)


def show_item(record: NameRecord) -> None:
    rid, ver = record.id, record.version
    vet_reason, rest = split_reason(record.reason, record.vet)
    reason = widgets.md(rest) if rest else ""
    st.markdown(
        f"**{widgets.md(record.unit_id)}** · {record.status.replace('_', ' ')} · confidence {record.confidence:.2f}"
        + (" · :orange[sent back]" if record.priority else "")
        + (f" · :gray[{reason}]" if reason else "")
    )
    if vet_reason:
        st.warning(widgets.inert(f"Model vetting: {vet_reason}."), icon=":material/smart_toy:")
    try:
        gray = widgets.name_gray(ws, record)
    except HwocrError as exc:
        st.error(widgets.inert(f"The image of {record.unit_id} cannot be shown: {exc}. Reject it or skip it."))
        gray = None

    t_col, l_col, _ = st.columns([3, 1, 2], vertical_alignment="bottom")
    transcription = t_col.text_input(
        "Transcription", value=record.transcription or "", key=state.review_text_key(rid, ver),
        help="Fix it when the writer wrote something else; it becomes the name's transcription on Accept.",
    )
    boxes: list[LabeledBox] = []
    geometry = None
    if gray is not None:
        geometry = geometry_for(gray.shape[1], gray.shape[0])
        start = st.session_state.get(state.REVIEW_CANVAS_START)
        initial = list(record.boxes)
        if start and start["for"] == [rid, ver]:
            initial = boxes_from_override(start["boxes"])
        new_label = l_col.selectbox(
            "Letter for new boxes", ALL_CLASSES, index=ALL_CLASSES.index(default_letter(transcription, initial)),
            key=state.review_label_key(rid, ver),
        )
        nonce = st.session_state.get(state.REVIEW_CANVAS_NONCE, 0)
        key = state.review_canvas_key(rid, ver, nonce)
        drawn = widgets.box_editor(ws, record, geometry, initial, new_label=new_label, key=key)
        st.session_state[state.REVIEW_BOXES_NOW] = {"for": [rid, ver], "key": key,
                                                    "boxes": [b.to_json() for b in drawn]}
        boxes = shown_boxes(record)
        widgets.boxes_summary(boxes, transcription)
        model_reading(record, boxes)
        confirm_panel(record, boxes, transcription)

    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Accept", key=state.REVIEW_ACCEPT, type="primary", icon=":material/check:", shortcut="A",
                  disabled=gray is None, on_click=on_accept, args=(rid, ver))
        st.button("Skip", key=state.REVIEW_SKIP, icon=":material/skip_next:", shortcut="S",
                  on_click=on_skip, args=(rid, record.unit_id))
        st.text_input("Reason, if you reject it", key=state.review_reason_key(rid, ver), width=240,
                      placeholder="reason to reject (optional)", label_visibility="collapsed")
        st.button("Reject", key=state.REVIEW_REJECT, icon=":material/block:", shortcut="X",
                  on_click=on_reject, args=(rid, ver))
        st.button("Reject: no readable name", key=state.REVIEW_REJECT_UNREADABLE, icon=":material/hide_image:",
                  shortcut="N", help="Blank paper, a scribble, nothing a person could read: reject it as such",
                  on_click=on_reject, args=(rid, ver, NO_READABLE_NAME))
        st.button("Reset boxes", key=state.REVIEW_RESET, icon=":material/restart_alt:", shortcut="O",
                  help="Back to the automatic boxes", disabled=gray is None, on_click=on_reset, args=(rid, ver))
        st.button("Letters from transcription", key=state.REVIEW_LETTERS_FROM_TEXT, icon=":material/abc:",
                  help="Give the boxes, left to right, the transcription's letters in order",
                  disabled=gray is None, on_click=on_letters_from_text, args=(rid, ver))
        st.button("Model reads the boxes", key=state.REVIEW_PROPOSE, icon=":material/auto_awesome:",
                  help="Let the character model label each box with what it reads there",
                  disabled=gray is None, on_click=on_propose, args=(rid, ver))
        st.button("Undo", key=state.REVIEW_UNDO, icon=":material/undo:", shortcut="Z",
                  help="Undo your last accept or reject (also after a reload)", on_click=on_undo)
        st.button("Release", key=state.REVIEW_RELEASE, icon=":material/logout:",
                  help="Hand this name back to the queue and stop for now",
                  on_click=on_release, args=(rid, record.unit_id))

    if gray is not None and geometry is not None:
        st.caption("Drag on the paper to draw a box for the letter above. Click a box to select it; drag it to "
                   "move it, drag its edges or corners to resize it. After you click the editor, keys act there: a "
                   "letter or digit relabels the selected box, Delete removes it, the arrow keys nudge it by a pixel "
                   "(Shift: 5), Tab goes to the next box. Press Esc twice, or click outside the editor, and "
                   "A · S · X · N · O · Z work again. Ctrl/⌘ + wheel or − / + zoom.")
        with st.expander("The segmenter's view: the ink it kept, ink per column (red: its cuts) and per row"):
            widgets.analysis_panel(ws, record, geometry)


def model_reading(record: NameRecord, boxes: list[LabeledBox]) -> None:
    """What the model read in each box when it vetted the name, where that differs from
    the box's letter (stored at segmentation: no model runs here)."""
    read = [(i, r) for i, r in enumerate(readings_for(record.vet, boxes)) if r is not None]
    if not read:
        return
    differ = [f"{i + 1}: {r.label} → **{r.read}** {r.p_read:.2f}" for i, r in read if r.read != r.label]
    # Letters, digits and numbers made here: nothing from a CSV cell reaches the markdown.
    st.caption("Model reads " + (" · ".join(differ) if differ else "every box as its letter")
               + " (box: letter → the model's reading, its confidence)")


def confirm_panel(record: NameRecord, boxes: list[LabeledBox], transcription: str) -> None:
    """Accept asked once about boxes that read differently from the transcription: the ways on."""
    asked = st.session_state.get(state.REVIEW_CONFIRM)
    letters = "".join((b.label or "?").upper() for b in sorted(boxes, key=lambda b: (b.box.x0, b.box.y0)))
    if not asked or asked["for"] != [record.id, record.version] or asked["letters"] != letters:
        return
    want = transcription_letters(transcription)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Accept anyway", key=state.REVIEW_ACCEPT_ANYWAY, type="primary",
                  on_click=on_accept, args=(record.id, record.version), kwargs={"force": True})
        if "?" not in letters and letters:
            st.button(f"Make the transcription {letters} and accept", key=state.REVIEW_FIX_TEXT,
                      on_click=on_accept, args=(record.id, record.version), kwargs={"text": letters})
        if want and len(want) == len(boxes):
            st.button(f"Label the boxes {want}", key=f"{state.REVIEW_LETTERS_FROM_TEXT}_confirm",
                      on_click=on_letters_from_text, args=(record.id, record.version))


# --- find and history ---------------------------------------------------------------------


def when(ts: float | None) -> str:
    if not ts:
        return ""
    ago = time.time() - ts
    if ago < 60:
        return "just now"
    if ago < 3600:
        return f"{int(ago // 60)} min ago"
    if ago < 86400:
        return f"{int(ago // 3600)} h ago"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def name_rows(records: list[NameRecord], where: str) -> None:
    for record in records:
        c_name, c_state, c_open = st.columns([3, 4, 1], vertical_alignment="center")
        c_name.markdown(f"**{widgets.md(record.unit_id)}** · {widgets.md(record.transcription or '—')}")
        who = f" by {widgets.md(record.reviewed_by)}" if record.reviewed_by and record.reviewed_at else ""
        holder = f" · :orange[open for {widgets.md(record.claimed_by)}]" if record.claimed_by else ""
        c_state.markdown(f"{record.status.replace('_', ' ')}{who} {when(record.reviewed_at)}{holder}  \n"
                         f":gray[{widgets.md(record.reason or '')}]")
        c_open.button("Open", key=state.review_open_key(where, record.id), icon=":material/edit:",
                      disabled=record.status not in CLAIMABLE,
                      on_click=on_open, args=(record.id,))


def show_find() -> None:
    show_status()
    query = st.text_input("Find a name", key=state.REVIEW_SEARCH, placeholder="unit_id or transcription",
                          help="Any part of a unit_id or a transcription, in any case.")
    if query.strip():
        found = queries.search_names(ws, query, limit=DEFAULTS.review_list_limit)
        if not found:
            st.info(widgets.inert(f"No name has {query.strip()!r} in its unit_id or transcription."))
        else:
            st.caption(f"{len(found)} name{'s' if len(found) != 1 else ''}"
                       + (f" (the first {DEFAULTS.review_list_limit})" if len(found) == DEFAULTS.review_list_limit
                          else ""))
            name_rows(found, "search")
    st.subheader("Reviewed names", divider="gray")
    f1, f2 = st.columns(2, vertical_alignment="bottom")
    statuses = f1.segmented_control("Status", list(queries.HISTORY_STATUSES), selection_mode="multi",
                                    default=list(queries.HISTORY_STATUSES), key=state.REVIEW_HISTORY_STATUS)
    who = f2.segmented_control("Reviewer", ["Mine", "Everyone"], default="Mine", required=True,
                               key=state.REVIEW_HISTORY_WHO)
    records = queries.reviewed_names(ws, tuple(statuses) or queries.HISTORY_STATUSES,
                                     reviewer=reviewer if who == "Mine" else None, limit=DEFAULTS.review_list_limit)
    if not records:
        st.info("No reviewed names yet" + (f" by {reviewer}." if who == "Mine" else "."))
    name_rows(records, "history")


# --- the audit of auto-accepted names --------------------------------------------------------


def show_audit() -> None:
    show_status()
    st.caption("Names the segmenter accepted on its own. If the boxes or letters of one are wrong, send it "
               "back: its crops leave the class folders and it goes to the front of the review queue.")
    f1, f2 = st.columns(2, vertical_alignment="bottom")
    status = f1.segmented_control("Status", ["matched", "repaired"], selection_mode="multi",
                                  default=["matched", "repaired"], key=state.AUDIT_STATUS)
    order = f2.selectbox("Order", list(queries.AUDIT_ORDERS), key=state.AUDIT_ORDER)
    statuses = tuple(status) or queries.AUDIT_STATUSES
    total = resources.count_with_status(ws, statuses)
    info_col, pager_col = st.columns(2, vertical_alignment="center")
    with pager_col:
        offset = widgets.pager(total, state.AUDIT_PER_PAGE, key=state.AUDIT_PAGE)
    if total == 0:
        st.info("No auto-accepted names yet.")
        return
    records = queries.audit_page(ws, statuses, order=order, offset=offset, limit=state.AUDIT_PER_PAGE)
    info_col.caption(f"{offset + 1:,}–{offset + len(records):,} of {total:,} names (repaired names are harvested "
                     f"when their confidence is at least {DEFAULTS.harvest_min_confidence}).")
    for record, cell in zip(records, widgets.grid(len(records), 3)):
        with cell.container(border=True):
            widgets.name_tile(ws, record)
            text_col, button_col = st.columns([3, 2], vertical_alignment="center")
            unsure = confirmed_repair(record.reason)
            filed = "" if unsure is None else f" · filed by model vetting (repair {unsure:.2f})"
            text_col.markdown(f"**{widgets.md(record.unit_id)}** · {widgets.md(record.transcription or '')}  \n"
                              f":gray[{record.status} · confidence {record.confidence:.2f}{filed}]")
            button_col.button("Send back", key=state.audit_send_back_key(record.id), icon=":material/undo:",
                              width="stretch", on_click=on_send_back, args=(record.id, record.version, record.unit_id))


# --- the page -------------------------------------------------------------------------------

head, who_col = st.columns([4, 1], vertical_alignment="bottom")
head.title("Review")
with who_col.popover(f"Reviewing as {reviewer}", icon=":material/person:", width="stretch"):
    st.text_input("Your name", value=reviewer, key=state.REVIEW_RENAME, max_chars=identity.MAX_LENGTH,
                  help="Claims, counts and your undo history belong to this name. It is kept in the address "
                       "(?reviewer=…) and in this browser, so a reload or a new tab finds your work again.")
    st.button("Review under this name", key=state.REVIEW_RENAME_SAVE, on_click=rename)
keep_claims_alive()
# A reload or a shared link opens the view it was on (?view=Audit), the queue otherwise.
widgets.from_address(state.REVIEW_VIEW, "view", list(VIEWS), "Queue")
view = st.segmented_control("View", list(VIEWS), required=True, key=state.REVIEW_VIEW,
                            format_func=VIEWS.get, label_visibility="collapsed")
widgets.to_address("view", view, "Queue")
if view == "Audit":
    show_audit()
elif view == "Find":
    show_find()
else:
    review_card()
