"""The box editor's conversions between image-pixel boxes and what the browser sends."""

from __future__ import annotations

import pytest

from hwocr.boxes import Box
from hwocr.ui.box_editor import (
    clean_label,
    editor_data,
    editor_revision,
    from_editor_boxes,
    result_boxes,
    to_editor_boxes,
)
from hwocr.workspace import LabeledBox

W, H = 388, 36
BOXES = [
    LabeledBox(Box(3, 4, 17, 30), "A"),
    LabeledBox(Box(17, 0, 40, 36), "B"),
    LabeledBox(Box(380, 10, 388, 36), "7"),
]


def test_round_trip_is_exact():
    items = to_editor_boxes(BOXES)
    assert items == [[3, 4, 17, 30, "A"], [17, 0, 40, 36, "B"], [380, 10, 388, 36, "7"]]
    assert from_editor_boxes(items, W, H) == BOXES


def test_round_trip_sorts_left_to_right():
    assert from_editor_boxes(to_editor_boxes(reversed(BOXES)), W, H) == BOXES


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ([-5, -2, 10, 12, "A"], Box(0, 0, 10, 12)),          # off the top-left corner
        ([380, 30, 400, 50, "A"], Box(380, 30, 388, 36)),     # off the bottom-right corner
        ([10.4, 2.6, 20.5, 9.49, "A"], Box(10, 3, 20, 9)),    # rounded to whole pixels
        ([20, 9, 10, 3, "A"], Box(10, 3, 20, 9)),             # corners given in any order
    ],
)
def test_boxes_are_clipped_and_rounded(item, expected):
    assert from_editor_boxes([item], W, H) == [LabeledBox(expected, "A")]


@pytest.mark.parametrize(
    "item",
    [
        [5, 5, 5, 20, "A"],          # no width
        [5, 5, 20, 5, "A"],          # no height
        [5, 5, 5.2, 20, "A"],        # less than a pixel
        [400, 5, 420, 20, "A"],      # wholly right of the image
        [5, -20, 20, -1, "A"],       # wholly above it
        [1, 2, 3],                   # malformed: dropped, not trusted
        ["x", 0, 3, 3, "A"],
    ],
)
def test_empty_and_malformed_boxes_are_dropped(item):
    assert from_editor_boxes([item, [0, 0, 2, 2, "B"]], W, H) == [LabeledBox(Box(0, 0, 2, 2), "B")]


@pytest.mark.parametrize(
    ("label", "stored"),
    [("k", "K"), ("K", "K"), (" z ", "Z"), ("7", "7"), ("", ""), (None, ""), ("ab", ""), ("é", ""), ("?", "")],
)
def test_labels_are_one_upper_case_letter_or_digit(label, stored):
    assert clean_label(label) == stored
    assert from_editor_boxes([[0, 0, 4, 4, label]], W, H)[0].label == stored


def test_a_box_without_a_label_keeps_an_empty_one():
    assert from_editor_boxes([[0, 0, 4, 4]], W, H) == [LabeledBox(Box(0, 0, 4, 4), "")]


def test_lower_case_labels_from_the_server_are_shown_upper_case():
    assert to_editor_boxes([LabeledBox(Box(0, 0, 4, 4), "k")]) == [[0, 0, 4, 4, "K"]]


def test_revision_changes_with_boxes_or_image_only():
    png = b"\x89PNG fake"
    rev = editor_revision(png, BOXES)
    assert rev == editor_revision(png, list(BOXES))
    assert rev != editor_revision(png, BOXES[:2])
    assert rev != editor_revision(png, [LabeledBox(BOXES[0].box, "C"), *BOXES[1:]])
    assert rev != editor_revision(png + b"!", BOXES)


def test_editor_data_sends_the_natural_image_and_the_boxes():
    data = editor_data(b"\x89PNG", W, H, BOXES, new_label="q", revision="r1")
    assert data["image"].startswith("data:image/png;base64,")
    assert (data["width"], data["height"], data["revision"], data["newLabel"]) == (W, H, "r1", "Q")
    assert data["boxes"] == to_editor_boxes(BOXES)
    assert data["minHeight"] >= 160


def test_result_is_the_browser_report_for_this_revision_else_the_initial_boxes():
    moved = [[7, 4, 21, 30, "a"]]
    assert result_boxes({"revision": "r1", "boxes": moved}, "r1", BOXES, W, H) == [LabeledBox(Box(7, 4, 21, 30), "A")]
    # A report about older boxes (before a Reset) is not the boxes on screen now.
    assert result_boxes({"revision": "r0", "boxes": moved}, "r1", BOXES, W, H) == BOXES
    assert result_boxes(None, "r1", BOXES, W, H) == BOXES
    assert result_boxes({"revision": "r1", "boxes": []}, "r1", BOXES, W, H) == []
