"""How a finished training job judges its new version before activating it by itself:
first on what the workspace reads (its crops, then its validation names read whole), and
on the check outside the workspace only for classes the workspace holds."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import pytest

from hwocr.contracts import NamesCheck, NameScore
from hwocr.train_job import names_check, names_loss, split_losses
from hwocr.workspace import Workspace
from tests.helpers import add_name

#: The issue's case: a version fine-tuned on names reads digits among letters slightly worse.
CHECKED = [
    {"set": "letters (UNIPEN, unseen writers)", "count": 100, "classes": "letters", "new": 0.95, "active": 0.95},
    {"set": "digits (MNIST, held out)", "count": 100, "classes": "digits", "new": 0.99, "active": 0.99},
    {"set": "digits among letters and digits", "count": 100, "classes": "digits", "new": 0.883, "active": 0.903},
]


def test_a_digits_loss_only_warns_a_workspace_of_letters():
    vetoes, warnings = split_losses(CHECKED, "letters")
    assert vetoes == []
    assert warnings == ["digits among letters and digits: 88.3% against 90.3%"]


@pytest.mark.parametrize("charset", ["alnum", "digits", "all"])
def test_a_digits_loss_vetoes_a_workspace_that_holds_digits(charset):
    vetoes, warnings = split_losses(CHECKED, charset)
    assert vetoes == ["digits among letters and digits: 88.3% against 90.3%"] and warnings == []


def test_a_letters_loss_vetoes_a_workspace_of_letters_and_rows_saved_before_classes_existed():
    old_rows = [{k: v for k, v in r.items() if k != "classes"} for r in CHECKED]
    old_rows[0] = {**old_rows[0], "new": 0.80}
    vetoes, warnings = split_losses(old_rows, "letters")
    assert vetoes == ["letters (UNIPEN, unseen writers): 80.0% against 95.0%"]
    assert warnings == ["digits among letters and digits: 88.3% against 90.3%"]
    assert split_losses(None, "letters") == ([], [])


class FakeReader:
    """Reads every image as the text it was told for that image's unit (by image size)."""

    def __init__(self, by_width: dict[int, str]):
        self.by_width = by_width

    def read(self, path, charset="letters", clean=False):
        width = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).shape[1]
        assert charset == "letters" and clean is True
        return SimpleNamespace(raw_text=self.by_width[width])


def test_names_check_scores_both_versions_on_whole_names(workspace_dir):
    ws = Workspace(workspace_dir)
    ids = [add_name(ws, "U1", "ANNA"), add_name(ws, "U2", "MARTIN-DUPONT")]
    widths = {ws.get_name(i).width: ws.get_name(i).transcription for i in ids}
    truth = {w: t.replace("-", "") for w, t in widths.items()}
    wrong = {w: t[:-1] + "X" for w, t in truth.items()}
    check = names_check(ws, ids, FakeReader(truth), FakeReader(wrong))
    assert (check.names, check.letters) == (2, 4 + 12)
    assert check.new == NameScore(1.0, 1.0)
    assert check.active == NameScore(1 - 2 / 16, 0.0)
    assert names_loss(check) is None
    swapped = names_check(ws, ids, FakeReader(wrong), FakeReader(truth))
    assert names_loss(swapped) == "the workspace's validation names (2): 87.5% of characters against 100.0%"
    # One letter in 200 less is the noise of a few dozen names, not a loss.
    close = NamesCheck(61, 400, NameScore(0.978, 0.9), NameScore(0.981, 0.9))
    assert names_loss(close) is None
    assert names_loss(close, tolerance=0.0) == ("the workspace's validation names (61): 97.8% of characters "
                                                "against 98.1%")
    assert names_check(ws, ids, FakeReader(truth), None).active is None
    assert names_check(ws, [], FakeReader(truth), None) is None
    assert names_check(ws, ids, FakeReader(truth), None, limit=1).names == 1
