"""Review: the names the segmenter could not settle, one at a time; and an audit of the
names it settled on its own, where a wrong one goes back to the queue with one click.

Keyboard: A accept · S skip · X reject · O reset the boxes · Z undo the last accept.
"""

from __future__ import annotations

import streamlit as st

from hwocr.config import ALL_CLASSES, DEFAULTS
from hwocr.errors import ConflictError, HwocrError
from hwocr.review import accept, next_for_review, reject, send_back, skip, undo_last
from hwocr.ui import queries, resources, state, widgets
from hwocr.ui.canvas import boxes_from_override, default_letter, geometry_for, letters_in_order
from hwocr.workspace import LabeledBox

widgets.page_setup("Review", ":material/rule:", sidebar="collapsed")
ws = resources.workspace()
reviewer = resources.reviewer_id()

st.title("Review")
resources.show_flashes()
view = st.segmented_control(
    "View", ["Queue", "Audit"], default="Queue", required=True, key=state.REVIEW_VIEW,
    format_func=lambda v: {"Queue": "Review queue", "Audit": "Audit auto-accepted names"}[v],
    label_visibility="collapsed",
)


def run_action(action, done_message: str | None = None) -> None:
    """Do one review action; then show the next item (or, on a conflict, the fresh one)."""
    try:
        action()
    except ConflictError as exc:
        resources.flash("warning", f"{exc} — the current state is loaded below.")
    except HwocrError as exc:
        st.error(widgets.inert(exc))
        return  # keep the item and the person's boxes on screen
    else:
        if done_message:
            resources.flash("success", done_message)
    st.session_state.pop(state.REVIEW_BOXES_OVERRIDE, None)
    st.session_state.pop(state.REVIEW_CANVAS_START, None)
    st.rerun()


def run_on_shown(record, seen: bool, action, done_message: str) -> None:
    """An action on the name: only if it is the very version the person was looking at."""
    if not seen:
        resources.flash("warning", f"{record.unit_id} was changed elsewhere while you had it open; nothing was "
                                   "saved. Here it is as it is now.")
        st.session_state.pop(state.REVIEW_BOXES_OVERRIDE, None)
        st.rerun()
    run_action(action, done_message)


def count_done() -> None:
    st.session_state[state.REVIEW_SESSION_DONE] = st.session_state.get(state.REVIEW_SESSION_DONE, 0) + 1


def restart_canvas(record, boxes) -> None:
    """Remount the canvas on ``boxes`` (the canvas keeps its own drawing until remounted)."""
    st.session_state[state.REVIEW_CANVAS_START] = {
        "for": [record.id, record.version], "boxes": [b.to_json() for b in boxes]}
    st.session_state[state.REVIEW_CANVAS_NONCE] = st.session_state.get(state.REVIEW_CANVAS_NONCE, 0) + 1
    st.session_state.pop(state.REVIEW_BOXES_OVERRIDE, None)
    st.rerun()


def show_queue() -> None:
    record = next_for_review(ws, reviewer)
    counts = queries.review_counts(ws)
    st.markdown(
        f"**{counts.remaining:,}** to review · {counts.verified:,} verified · {counts.rejected:,} rejected · "
        f"{st.session_state.get(state.REVIEW_SESSION_DONE, 0):,} done in this tab"
    )

    if record is None:
        st.success("Nothing waiting for review. New names arrive from the Import page; "
                   "the Audit view lets you send an auto-accepted name back here.")
        if st.button("Undo my last accept", key=state.REVIEW_UNDO, icon=":material/undo:", shortcut="Z"):
            run_action(undo_or_say)
        return

    with st.container(border=True):
        show_item(record)


def show_item(record) -> None:
    seen = st.session_state.get(state.REVIEW_SHOWN) == [record.id, record.version]
    st.session_state[state.REVIEW_SHOWN] = [record.id, record.version]
    st.markdown(
        f"**{widgets.md(record.unit_id)}** · {record.status.replace('_', ' ')} · confidence {record.confidence:.2f}"
        + (" · :orange[sent back]" if record.priority else "")
        + (f" · :gray[{widgets.md(record.reason)}]" if record.reason else "")
    )
    try:
        gray = widgets.name_gray(ws, record)
    except HwocrError as exc:
        st.error(widgets.inert(f"The image of {record.unit_id} cannot be shown: {exc}. Reject it or skip it."))
        gray = None

    t_col, l_col, _ = st.columns([3, 1, 2], vertical_alignment="bottom")
    transcription = t_col.text_input(
        "Transcription", value=record.transcription or "", key=state.review_text_key(record.id, record.version),
        help="Fix it when the writer wrote something else; it becomes the name's transcription on Accept.",
    )
    boxes = []
    if gray is not None:
        geometry = geometry_for(gray.shape[1], gray.shape[0])
        start = st.session_state.get(state.REVIEW_CANVAS_START)
        initial = record.boxes
        if start and start["for"] == [record.id, record.version]:
            initial = boxes_from_override(start["boxes"])
        new_label = l_col.selectbox(
            "Letter for new boxes", ALL_CLASSES, index=ALL_CLASSES.index(default_letter(transcription, initial)),
            key=state.review_label_key(record.id, record.version),
        )
        nonce = st.session_state.get(state.REVIEW_CANVAS_NONCE, 0)
        drawn = widgets.box_editor(ws, record, geometry, initial, new_label=new_label,
                                   key=state.review_canvas_key(record.id, record.version, nonce))
        boxes = review_boxes(drawn)
        widgets.boxes_summary(boxes, transcription)

    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button("Accept", key=state.REVIEW_ACCEPT, type="primary", icon=":material/check:", shortcut="A",
                     disabled=gray is None):
            changed = transcription.strip() != (record.transcription or "")
            run_on_shown(record, seen,
                         lambda: (accept(ws, record.id, record.version, boxes, reviewer=reviewer,
                                         transcription=transcription if changed else None), count_done()),
                         f"{record.unit_id} accepted: {len(boxes)} letters in the class folders.")
        if st.button("Skip", key=state.REVIEW_SKIP, icon=":material/skip_next:", shortcut="S"):
            run_action(lambda: skip(ws, record.id, reviewer=reviewer), f"{record.unit_id} skipped.")
        reason = st.text_input("Reason, if you reject it", key=state.review_reason_key(record.id, record.version),
                               width=260, placeholder="reason to reject (optional)", label_visibility="collapsed")
        if st.button("Reject", key=state.REVIEW_REJECT, icon=":material/block:", shortcut="X"):
            run_on_shown(record, seen,
                         lambda: (reject(ws, record.id, record.version, reviewer=reviewer, reason=reason.strip()),
                                  count_done()),
                         f"{record.unit_id} rejected: no crops come from it.")
        if st.button("Reset boxes", key=state.REVIEW_RESET, icon=":material/restart_alt:", shortcut="O",
                     help="Back to the automatic boxes", disabled=gray is None):
            restart_canvas(record, record.auto_boxes)
        if st.button("Letters from transcription", key=state.REVIEW_LETTERS_FROM_TEXT, icon=":material/abc:",
                     help="Give the boxes, left to right, the transcription's letters in order",
                     disabled=gray is None):
            restart_canvas(record, letters_in_order(transcription, boxes))
        if st.button("Undo", key=state.REVIEW_UNDO, icon=":material/undo:", shortcut="Z",
                     help="Undo your last accept or reject"):
            run_action(undo_or_say)

    if gray is not None:
        st.caption("Draw a box for the letter above by dragging on the paper. To move, resize, delete or relabel a "
                   "box, switch on the pencil (edit) in the canvas toolbar; click a selected box to change its "
                   "letter. Below: the ink the segmenter kept, ink per column (red: its cuts) and ink per row.")
        widgets.analysis_panel(ws, record, geometry)


def review_boxes(drawn: list[LabeledBox]) -> list[LabeledBox]:
    """The boxes to accept: the canvas's, unless a test (or script) set an override."""
    override = st.session_state.get(state.REVIEW_BOXES_OVERRIDE)
    return boxes_from_override(override) if override is not None else drawn


def undo_or_say() -> None:
    record = undo_last(ws, reviewer=reviewer)
    if record is None:
        resources.flash("info", "Nothing to undo in this tab.")
    else:
        st.session_state[state.REVIEW_SESSION_DONE] = max(0, st.session_state.get(state.REVIEW_SESSION_DONE, 0) - 1)
        resources.flash("info", f"{record.unit_id} is back as it was ({record.status.replace('_', ' ')}).")


def show_audit() -> None:
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
            text_col.markdown(f"**{widgets.md(record.unit_id)}** · {widgets.md(record.transcription or '')}  \n"
                              f":gray[{record.status} · confidence {record.confidence:.2f}]")
            if button_col.button("Send back", key=state.audit_send_back_key(record.id), icon=":material/undo:",
                                 width="stretch"):
                run_action(lambda r=record: send_back(ws, r.id, actor=reviewer, version=r.version),
                           f"{record.unit_id} sent back to the review queue.")


if view == "Audit":
    show_audit()
else:
    show_queue()
