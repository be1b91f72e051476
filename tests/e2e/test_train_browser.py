"""The Train page in a real browser: start a small training job, watch the page follow
it (the live part polls the workspace on its own), and see the finished job and its
new version. Screenshots: train.png (before), train_running.png, train_done.png.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from hwocr.versions import shipped_version
from hwocr.workspace import Workspace
from tests.e2e.browser import wait_idle
from tests.e2e.test_review_browser import _open, _rows, _shot
from tests.helpers import add_letter_crops

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (shipped_version(True).path / "model.keras").is_file(),
                       reason="the shipped base model is not built yet"),
]

EPOCHS = 3


def _job_rows(workspace: Path) -> list[sqlite3.Row]:
    return _rows(workspace, "SELECT * FROM jobs WHERE kind = 'train' ORDER BY id")


def test_train_a_version_and_watch_it(page, app_url, e2e_workspace, artifacts):
    ws = Workspace(e2e_workspace)
    # Enough crops that an epoch outlasts a few of the page's one-second polls: on the
    # demo's ~200 crops alone an epoch takes under half a second, and the page could
    # go from "0 of 3" straight to "3 of 3" without ever showing the epochs between.
    add_letter_crops(ws, "ABC", 400)
    before = len(_job_rows(e2e_workspace))
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}") if msg.type in ("warning", "error")
            else None)

    _open(page, f"{app_url}/Train")
    page.get_by_role("button", name="Start training").wait_for()
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for()
    _shot(page, artifacts / "train.png")
    # The crops chart is drawn without Vega's warnings in the console (it once warned of
    # a field with no extent, drawn before its data arrived).
    assert not [line for line in console if "WARN" in line], console

    epochs = page.get_by_label("Epochs")
    epochs.fill(str(EPOCHS))
    epochs.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Start training").click()
    page.get_by_role("button", name="Cancel training").wait_for(timeout=60_000)
    rows = _job_rows(e2e_workspace)
    assert len(rows) == before + 1 and '"epochs": 3' in rows[-1]["params"]

    # The live part redraws itself from the workspace: an epoch count appears without any click.
    page.get_by_text(re.compile(rf"^[12] of {EPOCHS}$")).first.wait_for(timeout=240_000)
    _shot(page, artifacts / "train_running.png")

    page.get_by_text(re.compile(r"Job \d+ trained")).wait_for(timeout=240_000)
    wait_idle(page)
    job = _job_rows(e2e_workspace)[-1]
    assert job["status"] == "succeeded", job["error"]
    # One place to activate the new version: under Model versions, beside its scores.
    assert page.get_by_role("button", name=re.compile(r"^Activate v\d{4}$")).count() == 1
    assert "Traceback" not in page.content()
    _shot(page, artifacts / "train_done.png")

    # Finished: the live view (and its polling) gave way to the result and the form.
    assert page.locator("[data-testid='stProgress']").count() == 0
    assert page.get_by_role("button", name="Start training").count() == 1
