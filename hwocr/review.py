"""What a person does to a name: accept, reject, skip, undo, send back from the audit.

Every action checks the version the person saw, so a tab left open for an hour cannot
overwrite newer work, and records an event with what was there before, which is what
makes Undo possible and the history auditable.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hwocr.config import DEFAULTS
from hwocr.dataset import delete_files, harvestable, remove_name_crops, replace_name_crops, validate_boxes
from hwocr.errors import ConflictError, InputError
from hwocr.images import load_gray
from hwocr.store import events as event_rows
from hwocr.store import names as name_rows
from hwocr.text import letters_of, normalize_transcription
from hwocr.workspace import (
    CLAIMABLE,
    LabeledBox,
    NameRecord,
    Workspace,
    labeled_boxes_from_json,
    labeled_boxes_to_json,
    now,
)

ACCEPTABLE = CLAIMABLE


def ordinal(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th": how a person counts boxes."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class AcceptCheck:
    """What Accept would write, checked against the image and the transcription."""

    box_letters: str          # the boxes' labels left to right ("?" for a box with none)
    transcription_letters: str
    inkless: tuple[int, ...]  # 1-based positions of boxes over blank paper

    @property
    def refused(self) -> str | None:
        """Why Accept must not go ahead (boxes with no ink), in words; None if it may."""
        if not self.inkless:
            return None
        where = ", ".join(ordinal(i) for i in self.inkless)
        one = len(self.inkless) == 1
        noun, it = ("box holds", "it") if one else ("boxes hold", "them")
        return f"the {where} {noun} no ink: move {it} onto a letter or delete {it}"

    @property
    def differs(self) -> str | None:
        """How the boxes disagree with the transcription, in words; None when they spell it."""
        read, want = self.box_letters, self.transcription_letters
        if read == want:
            return None
        if not want:
            return f"the boxes read {read or 'nothing'} and the name has no transcription"
        if len(read) != len(want):
            return (f"the boxes read {read or 'nothing'} ({len(read)} letters), "
                    f"the transcription {want} ({len(want)} letters)")
        wrong = [i + 1 for i, (a, b) in enumerate(zip(read, want)) if a != b]
        detail = ", ".join(f"{ordinal(i)} is {read[i - 1]}, not {want[i - 1]}" for i in wrong[:3])
        return f"the boxes read {read}, the transcription {want}: the {detail}" + (" …" if len(wrong) > 3 else "")


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """The name's ink (bool), as the segmenter binarises it."""
    from hwocr.preprocess import binarize  # lazy: OpenCV

    return binarize(gray) > 0


def _has_ink(ink: np.ndarray, item: LabeledBox) -> bool:
    b = item.box
    return int(ink[max(0, b.y0):b.y1, max(0, b.x0):b.x1].sum()) >= DEFAULTS.review_min_box_ink_px


def check_accept(gray: np.ndarray, boxes: Sequence[LabeledBox], transcription: str | None, *,
                 ink: np.ndarray | None = None) -> AcceptCheck:
    """Check a person's boxes before Accept: ink in every box, letters against the text."""
    ink = ink_mask(gray) if ink is None else ink
    ordered = sorted(boxes, key=lambda b: (b.box.x0, b.box.y0))
    inkless = tuple(i + 1 for i, b in enumerate(ordered) if not _has_ink(ink, b))
    return AcceptCheck(
        box_letters="".join((b.label or "?").upper() for b in ordered),
        transcription_letters=letters_of(normalize_transcription(transcription)[0] or ""),
        inkless=inkless,
    )


def propose_letters(recognizer, gray: np.ndarray, boxes: Sequence[LabeledBox], *,
                    charset: str = "alnum") -> list[LabeledBox]:
    """The boxes, left to right, labelled with what the character model reads in each.
    Boxes with no ink keep their label (Accept refuses them anyway)."""
    ordered = sorted(boxes, key=lambda b: (b.box.x0, b.box.y0))
    ink = ink_mask(gray)
    readable = [i for i, b in enumerate(ordered) if _has_ink(ink, b)]
    crops = [gray[ordered[i].box.y0:ordered[i].box.y1, ordered[i].box.x0:ordered[i].box.x1] for i in readable]
    predictions = recognizer.classify(crops, charset=charset) if crops else []
    labels = {i: p.label for i, p in zip(readable, predictions)}
    return [LabeledBox(b.box, labels.get(i, b.label)) for i, b in enumerate(ordered)]


def next_for_review(ws: Workspace, reviewer: str) -> NameRecord | None:
    """The name this reviewer should look at now (their current claim, or a new one)."""
    return ws.claim_next(reviewer)


def _snapshot(row) -> dict:
    return {
        "status": row["status"],
        "boxes": json.loads(row["boxes"]) if row["boxes"] else [],
        "transcription": row["transcription"],
        "priority": row["priority"],
    }


def accept(
    ws: Workspace,
    name_id: int,
    version: int,
    boxes: Sequence[LabeledBox],
    *,
    reviewer: str,
    transcription: str | None = None,
) -> NameRecord:
    """Accept a person's boxes: the name becomes verified and its crops are replaced."""
    record = ws.get_name(name_id)
    if record.status not in ACCEPTABLE:
        raise InputError(f"{record.unit_id} cannot be accepted while it is {record.status}")
    if not boxes:
        raise InputError(f"{record.unit_id}: draw at least one box before accepting, or reject the name")
    new_text = record.transcription
    if transcription is not None:
        new_text, why = normalize_transcription(transcription)
        if new_text is None:
            raise InputError(f"{record.unit_id}: {why}")
    gray = load_gray(ws.image_path_of(record))
    height, width = gray.shape
    clean = validate_boxes(boxes, width, height)
    refused = check_accept(gray, clean, new_text).refused
    if refused:
        raise InputError(f"{record.unit_id}: {refused}")
    with ws.crops_lock(), ws.transaction() as conn:
        row = ws.check_version(conn, name_id, version, reviewer)
        before = _snapshot(row)
        _, stale = replace_name_crops(ws, conn, record, gray, clean, "verified")
        name_rows.mark_verified(conn, name_id, boxes_json=labeled_boxes_to_json(clean), transcription=new_text,
                                reason=_accept_reason(clean, new_text), reviewer=reviewer, t=now())
        ws.log_event(
            conn, "accept", name_id=name_id, actor=reviewer, before=before,
            after={"boxes": [b.to_json() for b in clean], "transcription": new_text, "version": version + 1},
        )
    delete_files(ws, stale)
    return ws.get_name(name_id)


def _accept_reason(boxes: Sequence[LabeledBox], transcription: str | None) -> str:
    labels = "".join(b.label for b in boxes)
    if transcription and labels != letters_of(transcription):
        return f"verified by a person; box letters {labels} differ from the transcription {transcription}"
    return "verified by a person"


def reject(ws: Workspace, name_id: int, version: int, *, reviewer: str, reason: str = "") -> NameRecord:
    """The name is unusable (illegible, wrong image): no crops come from it."""
    with ws.crops_lock(), ws.transaction() as conn:
        row = ws.check_version(conn, name_id, version, reviewer)
        stale = remove_name_crops(conn, name_id)
        name_rows.mark_rejected(conn, name_id, reason=f"rejected by a person{': ' + reason if reason else ''}",
                                reviewer=reviewer, t=now())
        ws.log_event(conn, "reject", name_id=name_id, actor=reviewer, before=_snapshot(row), reason=reason,
                     after={"version": version + 1})
    delete_files(ws, stale)
    return ws.get_name(name_id)


def skip(ws: Workspace, name_id: int, *, reviewer: str) -> None:
    """Put the name at the back of the queue for everyone and release it."""
    with ws.transaction() as conn:
        name_rows.add_skip(conn, name_id, reviewer=reviewer, t=now())
        ws.log_event(conn, "skip", name_id=name_id, actor=reviewer)


def send_back(ws: Workspace, name_id: int, *, actor: str, version: int | None = None) -> NameRecord:
    """From the audit grid: an auto-accepted name was wrong. Its crops leave the folders
    and it goes to the front of the review queue."""
    with ws.crops_lock(), ws.transaction() as conn:
        row = name_rows.by_id(conn, name_id)
        if row is None:
            raise InputError(f"no name with id {name_id}")
        if version is not None and row["version"] != version:
            raise ConflictError(f"{row['unit_id']} was changed elsewhere since you opened it; it was not sent back")
        stale = remove_name_crops(conn, name_id)
        name_rows.send_to_review(conn, name_id, reason=f"sent back from the audit by {actor} (was {row['status']})",
                                 t=now())
        ws.log_event(conn, "send_back", name_id=name_id, actor=actor, before=_snapshot(row),
                     after={"version": row["version"] + 1})
    delete_files(ws, stale)
    return ws.get_name(name_id)


def last_undoable(ws: Workspace, reviewer: str):
    """The reviewer's latest accept or reject that has not been undone, or None."""
    rows = ws.read(event_rows.review_decisions, reviewer, limit=50)
    undone: set[int] = set()
    for r in rows:
        detail = json.loads(r["detail"]) if r["detail"] else {}
        if r["kind"] == "undo":
            undone.add(int(detail.get("event_id", -1)))
        elif r["id"] not in undone:
            return r
    return None


def undo_last(ws: Workspace, *, reviewer: str) -> NameRecord | None:
    """Undo this reviewer's last accept (or reject): the name gets back its earlier boxes
    and status, its crops follow, and it is handed back to the reviewer."""
    event = last_undoable(ws, reviewer)
    if event is None:
        return None
    detail = json.loads(event["detail"])
    name_id = event["name_id"]
    before = detail["before"]
    expected_version = detail.get("after", {}).get("version")
    record = ws.get_name(name_id)
    if expected_version is not None and record.version != expected_version:
        raise ConflictError(f"{record.unit_id} was changed after your {event['kind']}; nothing was undone")
    restored_boxes = labeled_boxes_from_json(json.dumps(before["boxes"]))
    gray = None
    restored = dataclasses.replace(record, status=before["status"], boxes=restored_boxes)
    if harvestable(restored, DEFAULTS.harvest_min_confidence):
        gray = load_gray(ws.image_path_of(record))
    with ws.crops_lock(), ws.transaction() as conn:
        if gray is not None:
            _, stale = replace_name_crops(ws, conn, restored, gray, restored_boxes,
                                          "verified" if before["status"] == "verified" else "auto")
        else:
            stale = remove_name_crops(conn, name_id)
        name_rows.restore(conn, name_id, status=before["status"], boxes_json=labeled_boxes_to_json(restored_boxes),
                          transcription=before["transcription"], priority=before.get("priority", 0),
                          reason=f"{reviewer} undid their {event['kind']}", reviewer=reviewer, t=now())
        ws.log_event(conn, "undo", name_id=name_id, actor=reviewer, event_id=event["id"], undid=event["kind"])
    delete_files(ws, stale)
    return ws.get_name(name_id)
