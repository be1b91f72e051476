"""Review actions: claims, versions, accept, reject, skip, undo, send back."""

from __future__ import annotations

import pytest

from hwocr.boxes import Box
from hwocr.dataset import harvest
from hwocr.errors import ConflictError, InputError
from hwocr.review import accept, next_for_review, reject, send_back, skip, undo_last
from hwocr.workspace import LabeledBox, Workspace
from tests.helpers import add_name, files_in_dataset, rows_in_chars


@pytest.fixture
def ws(workspace_dir) -> Workspace:
    return Workspace(workspace_dir)


def boxes(*items) -> list[LabeledBox]:
    return [LabeledBox(Box(*b), ch) for *b, ch in items]


def test_queue_serves_least_confident_first_and_never_twice(ws):
    a = add_name(ws, "A", "AB", status="needs_review", confidence=0.6)
    b = add_name(ws, "B", "AB", status="needs_review", confidence=0.2)
    c = add_name(ws, "C", "AB", status="needs_review", confidence=0.4)
    add_name(ws, "M", "AB", status="matched", confidence=0.1)
    first = next_for_review(ws, "tab1")
    second = next_for_review(ws, "tab2")
    third = next_for_review(ws, "tab3")
    assert [first.id, second.id, third.id] == [b, c, a]
    assert next_for_review(ws, "tab4") is None
    # A reviewer asking again keeps their own item.
    assert next_for_review(ws, "tab1").id == b


def test_expired_claims_are_handed_out_again(ws):
    a = add_name(ws, "A", "AB", status="needs_review")
    assert ws.claim_next("tab1").id == a
    assert ws.claim_next("tab2") is None
    assert ws.claim_next("tab2", ttl_s=0.0).id == a


def test_accept_writes_verified_crops_and_replaces_old_ones(ws):
    name_id = add_name(ws, "A", "AB", status="matched")
    harvest(ws)
    auto_files = rows_in_chars(ws)
    rec = next_for_review(ws, "r1") or ws.get_name(name_id)
    done = accept(ws, name_id, rec.version, boxes((6, 5, 24, 25, "A"), (36, 5, 54, 25, "b")), reviewer="r1")
    assert done.status == "verified" and done.version == rec.version + 1 and done.claimed_by is None
    rows = ws.query("SELECT * FROM chars ORDER BY idx")
    assert [(r["label"], r["x0"], r["origin"]) for r in rows] == [("A", 6, "verified"), ("B", 36, "verified")]
    assert not (auto_files & rows_in_chars(ws))
    assert files_in_dataset(ws) == rows_in_chars(ws)
    # Harvest afterwards keeps the person's crops as they are.
    assert harvest(ws).written == 0


def test_accept_sorts_boxes_and_fixes_transcription(ws):
    name_id = add_name(ws, "A", "AB", status="needs_review")
    rec = next_for_review(ws, "r1")
    done = accept(ws, name_id, rec.version, boxes((36, 5, 54, 25, "C"), (6, 5, 24, 25, "A")),
                  reviewer="r1", transcription="ac")
    assert [b.label for b in done.boxes] == ["A", "C"]
    assert done.transcription == "AC"
    assert done.reason == "verified by a person"


def test_accept_validates_labels_and_boxes(ws):
    name_id = add_name(ws, "A", "AB", status="needs_review")
    rec = next_for_review(ws, "r1")
    with pytest.raises(InputError, match="needs one letter"):
        accept(ws, name_id, rec.version, boxes((6, 5, 24, 25, "")), reviewer="r1")
    with pytest.raises(InputError, match="outside"):
        accept(ws, name_id, rec.version, boxes((500, 5, 524, 25, "A")), reviewer="r1")
    with pytest.raises(InputError, match="at least one box"):
        accept(ws, name_id, rec.version, [], reviewer="r1")
    with pytest.raises(InputError, match="no transcription"):
        accept(ws, name_id, rec.version, boxes((6, 5, 24, 25, "A")), reviewer="r1", transcription="  ")
    assert ws.get_name(name_id).status == "needs_review"
    assert rows_in_chars(ws) == set()


def test_stale_tab_cannot_overwrite_newer_work(ws):
    name_id = add_name(ws, "A", "AB", status="needs_review")
    rec = next_for_review(ws, "r1")
    accept(ws, name_id, rec.version, boxes((6, 5, 24, 25, "A"), (36, 5, 54, 25, "B")), reviewer="r1")
    with pytest.raises(ConflictError, match="changed elsewhere"):
        accept(ws, name_id, rec.version, boxes((6, 5, 24, 25, "X")), reviewer="r2")
    with pytest.raises(ConflictError):
        reject(ws, name_id, rec.version, reviewer="r2")
    assert [b.label for b in ws.get_name(name_id).boxes] == ["A", "B"]


def test_another_reviewers_live_claim_blocks_accept(ws):
    name_id = add_name(ws, "A", "AB", status="needs_review")
    rec = next_for_review(ws, "r1")
    with pytest.raises(ConflictError, match="open for r1 right now"):
        accept(ws, name_id, rec.version, boxes((6, 5, 24, 25, "A")), reviewer="r2")


def test_reject_removes_crops(ws):
    name_id = add_name(ws, "A", "AB", status="matched")
    harvest(ws)
    rec = ws.get_name(name_id)
    done = reject(ws, name_id, rec.version, reviewer="r1", reason="illegible")
    assert done.status == "rejected" and "illegible" in done.reason
    assert rows_in_chars(ws) == set() == files_in_dataset(ws)


def test_skip_sends_to_back_of_queue(ws):
    a = add_name(ws, "A", "AB", status="needs_review", confidence=0.1)
    b = add_name(ws, "B", "AB", status="needs_review", confidence=0.5)
    assert next_for_review(ws, "r1").id == a
    skip(ws, a, reviewer="r1")
    assert next_for_review(ws, "r1").id == b
    skip(ws, b, reviewer="r1")
    # Both skipped once: confidence decides again.
    assert next_for_review(ws, "r1").id == a


def test_undo_last_accept_restores_boxes_status_and_crops(ws):
    name_id = add_name(ws, "A", "AB", status="needs_review")
    rec = next_for_review(ws, "r1")
    accept(ws, name_id, rec.version, boxes((6, 5, 24, 25, "A"), (36, 5, 54, 25, "B")), reviewer="r1")
    assert len(rows_in_chars(ws)) == 2
    restored = undo_last(ws, reviewer="r1")
    assert restored.id == name_id and restored.status == "needs_review"
    assert restored.boxes == rec.boxes
    assert restored.claimed_by == "r1"  # handed straight back to the reviewer
    assert rows_in_chars(ws) == set() == files_in_dataset(ws)
    # Nothing left to undo.
    assert undo_last(ws, reviewer="r1") is None
    assert undo_last(ws, reviewer="r2") is None


def test_undo_of_an_accept_on_an_auto_name_brings_back_auto_crops(ws):
    name_id = add_name(ws, "A", "AB", status="matched")
    harvest(ws)
    rec = ws.get_name(name_id)
    accept(ws, name_id, rec.version, boxes((6, 5, 24, 25, "A"), (36, 5, 54, 25, "H")), reviewer="r1")
    undo_last(ws, reviewer="r1")
    rows = ws.query("SELECT label, origin FROM chars ORDER BY idx")
    assert [(r["label"], r["origin"]) for r in rows] == [("A", "auto"), ("B", "auto")]
    assert files_in_dataset(ws) == rows_in_chars(ws)


def test_undo_refuses_when_someone_changed_the_name_since(ws):
    name_id = add_name(ws, "A", "AB", status="needs_review")
    rec = next_for_review(ws, "r1")
    done = accept(ws, name_id, rec.version, boxes((6, 5, 24, 25, "A")), reviewer="r1")
    send_back(ws, name_id, actor="auditor", version=done.version)
    with pytest.raises(ConflictError, match="changed after"):
        undo_last(ws, reviewer="r1")


def test_send_back_puts_name_first_and_removes_crops(ws):
    add_name(ws, "Q", "AB", status="needs_review", confidence=0.01)
    m = add_name(ws, "M", "AB", status="matched", confidence=1.0)
    harvest(ws)
    done = send_back(ws, m, actor="auditor")
    assert (done.status, done.priority) == ("needs_review", 1)
    assert "sent back" in done.reason
    assert rows_in_chars(ws) == set()
    assert next_for_review(ws, "r1").id == m
    events = [e.kind for e in ws.events(name_id=m)]
    assert events[0] == "send_back"
