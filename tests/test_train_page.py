"""The Train page, run in-process with Streamlit's AppTest on a temporary workspace.

Most tests put job and version rows straight into the workspace (or replace
``hwocr.jobs.start_job``) so no TensorFlow runs; one test starts a real one-epoch job
from the page's button, waits for it and checks what the page shows afterwards.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hwocr import jobs
from hwocr.contracts import ModelMetrics, TrainParams, TrainReport
from hwocr.errors import JobError
from hwocr.ui import state, training
from hwocr.versions import activate, active_version, shipped_version
from hwocr.workspace import Workspace, now
from tests.helpers import add_letter_crops, no_exception, open_page

REPO = Path(__file__).resolve().parent.parent
TRAIN = str(REPO / "pages" / "4_Train.py")
HAS_BASE = (shipped_version(True).path / "model.keras").is_file()


@pytest.fixture
def ws(workspace_dir) -> Workspace:
    return Workspace(workspace_dir)


def app(**session) -> AppTest:
    return ok(open_page(TRAIN, **session).run())


ok = no_exception


def texts(at: AppTest, *kinds: str) -> list[str]:
    kinds = kinds or ("markdown", "caption", "success", "info", "warning", "error")
    return [str(e.value) for kind in kinds for e in getattr(at, kind)]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def buttons(at: AppTest) -> dict[str, object]:
    return {b.key: b for b in at.button}


def insert_job(ws: Workspace, *, status: str, pid: int | None = None, params: dict | None = None,
               progress: float = 0.0, message: str | None = None, error: str | None = None,
               result: dict | None = None) -> int:
    t = now()
    with ws.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO jobs (kind, status, params, progress, message, pid, created_at, started_at, updated_at, "
            "finished_at, error, result) VALUES ('train', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (status, json.dumps(params or {"epochs": 5}), progress, message, pid, t - 30, t - 30, t,
             None if status in ("queued", "running") else t, error, json.dumps(result) if result else None),
        )
        return cur.lastrowid


def fake_version(ws: Workspace, name: str, *, accuracy: float, compared: dict | None = None,
                 copy_model: bool = True, extra: dict | None = None) -> Path:
    folder = ws.models_dir / name
    if copy_model:
        shutil.copytree(shipped_version(True).path, folder)
        (folder / "confusion.png").write_bytes(_png())
    metrics_ = {"val_accuracy": accuracy, "per_class_accuracy": {"A": 1.0, "B": 0.5}, "epochs": 2,
                "train_count": 40, "val_count": 8, "trained_from": "base",
                "compared_with": compared or {"version": "base", "accuracy": 0.625,
                                              "per_class_accuracy": {"A": 0.75, "B": 0.5}, "count": 8},
                **(extra or {})}
    with ws.transaction() as conn:
        conn.execute("INSERT INTO model_versions (name, path, created_at, val_accuracy, metrics, active, note) "
                     "VALUES (?, ?, ?, ?, ?, 0, ?)",
                     (name, f"models/{name}", now(), accuracy, json.dumps(metrics_), "2 epochs, fine-tuned from base"))
    return folder


def _png() -> bytes:
    import numpy as np

    from hwocr.images import encode_png

    return encode_png(np.full((10, 10), 200, np.uint8))


# --- training data ------------------------------------------------------------------------


def test_empty_workspace_says_what_to_do_and_cannot_start(ws):
    at = app()
    assert texts(at, "error") == [("The class folders are empty: import names and review them (or add crops from "
                                  "the Recognize page) before training.")]
    assert buttons(at)[state.TRAIN_START].disabled
    assert metrics(at)["Crops"] == "0"
    assert at.dataframe[0].value["version"].tolist() == ["base"]
    assert at.dataframe[0].value["active"].tolist() == ["●"]
    assert not [b for b in at.button if b.key == state.TRAIN_CANCEL]


def test_one_class_and_small_classes_are_explained(ws):
    add_letter_crops(ws, "A", 3)
    at = app()
    assert texts(at, "error") == [("Only class A has crops (3); a classifier needs at least two classes. "
                                  "Add crops of other letters first.")]
    assert buttons(at)[state.TRAIN_START].disabled

    add_letter_crops(ws, "B", 1)
    add_letter_crops(ws, "C", 6)
    (ws.dataset_dir / "C" / "readme.txt").write_text("x")
    at = app()
    assert texts(at, "error") == []
    assert not buttons(at)[state.TRAIN_START].disabled
    assert texts(at, "warning") == [
        "Class B has a single crop: trained on, but never validated.",
        "Class A has fewer than 5 crops: the model will learn little about it.",
        "1 file in the class folders is not an image and will be skipped (`dataset/C/readme.txt`).",
    ]
    assert metrics(at)["Crops"] == "10"
    assert metrics(at)["Classes with crops"] == "3 of 26 letters"  # names hold letters: no digit columns
    assert metrics(at)["Smallest class"] == "B: 1"
    add_letter_crops(ws, "7", 2)
    assert metrics(app())["Classes with crops"] == "4 of 36"


def test_folder_summary_charset():
    assert training.FolderSummary({"A": 3, "Q": 1}, (), 0).charset_classes == tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert training.FolderSummary({"0": 3, "9": 1}, (), 0).charset == "digits"
    assert training.FolderSummary({"A": 3, "9": 1}, (), 0).charset == "alnum"


# --- starting and refusing ------------------------------------------------------------------


def test_start_button_passes_the_choices_to_the_job(ws, monkeypatch):
    add_letter_crops(ws, "AB", 2)
    calls = []

    def fake_start(ws_, kind, params=None, **_):
        calls.append((kind, params))
        return jobs.JobRecord(41, kind, "queued", params, 0.0, None, 1, False, now(), None, None, None, None, None)

    monkeypatch.setattr(jobs, "start_job", fake_start)
    at = app()
    assert at.toggle(key=state.TRAIN_FROM_ACTIVE).value is True
    assert at.toggle(key=state.TRAIN_ACTIVATE_IF_BETTER).value is False
    at.number_input(key=state.TRAIN_EPOCHS).set_value(3)
    at.toggle(key=state.TRAIN_FROM_ACTIVE).set_value(False)
    at.toggle(key=state.TRAIN_ACTIVATE_IF_BETTER).set_value(True)
    ok(at.button(key=state.TRAIN_START).click().run())
    assert [(kind, TrainParams.from_json(params)) for kind, params in calls] == [
        ("train", TrainParams(epochs=3, from_active=False, activate_if_better=True))]
    assert "Training job 41 started: 3 epochs, from scratch." in texts(at, "info")


def test_a_second_job_is_refused_with_the_reason(ws, monkeypatch):
    add_letter_crops(ws, "AB", 2)

    def busy(*_, **__):
        raise JobError("a train job is already running (job 7); cancel it or wait")

    monkeypatch.setattr(jobs, "start_job", busy)
    at = app()
    ok(at.button(key=state.TRAIN_START).click().run())
    assert texts(at, "error") == [("The training job was not started: a train job is already running (job 7); "
                                  "cancel it or wait")]


# --- a running job ------------------------------------------------------------------------------


@pytest.fixture
def sleeper(monkeypatch):
    """A stand-in for a job process (its own process group, like a real one); the page's
    liveness check accepts it."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    monkeypatch.setattr(jobs, "_pid_alive", lambda pid: pid == proc.pid and proc.poll() is None)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_running_job_shows_progress_curves_and_cancels(ws, sleeper):
    job_id = insert_job(ws, status="running", pid=sleeper.pid, params={"epochs": 5}, progress=0.45,
                        message="epoch 3/5: batch 2/4")
    with ws.transaction() as conn:
        for epoch, (loss, acc) in enumerate([(1.5, 0.4), (0.9, 0.7)], start=1):
            logs = {"loss": loss, "accuracy": acc, "val_loss": loss + 0.1, "val_accuracy": acc - 0.05,
                    "eta_s": 600.0}
            conn.execute("INSERT INTO job_epochs (job_id, epoch, logs, ts) VALUES (?, ?, ?, ?)",
                         (job_id, epoch, json.dumps(logs), now()))
    at = app()
    m = metrics(at)
    assert m["Epoch"] == "2 of 5"
    assert m["Validation accuracy, last epoch"] == "65.0%" and m["Training accuracy, last epoch"] == "70.0%"
    # The last epoch's estimate (600 s) less the second or two since it was logged.
    assert re.fullmatch(r"(9 min 5\d|10 min 00) s", m["Time left"]), m["Time left"]
    assert at.get("progress")[0].value == 45
    assert at.get("vega_lite_chart")  # the loss and accuracy curves
    assert not [b for b in at.button if b.key == state.TRAIN_START]  # no second job from here

    ok(at.button(key=state.TRAIN_CANCEL).click().run())
    assert jobs.get_job(ws, job_id).cancel_requested
    assert "Cancelling: the job stops after the current batch…" in texts(at, "info")
    assert state.TRAIN_STOP_NOW not in buttons(at)

    # The job did not stop within the grace period: the page offers to kill it.
    with ws.transaction() as conn:
        conn.execute("UPDATE events SET ts = ts - 60 WHERE kind = 'job_cancel_requested'")
    ok(at.run())
    ok(at.button(key=state.TRAIN_STOP_NOW).click().run())
    sleeper.wait(timeout=10)  # killed with its process group
    job = jobs.get_job(ws, job_id)
    assert (job.status, job.error) == ("cancelled", "stopped by force; the active model is unchanged")
    assert f"Job {job_id} was cancelled: stopped by force; the active model is unchanged." in texts(at, "warning")
    assert active_version(ws).name == "base"


def test_the_start_form_keeps_the_persons_values_through_a_job(ws, sleeper):
    add_letter_crops(ws, "AB", 2)
    at = app()
    at.number_input(key=state.TRAIN_EPOCHS).set_value(7)
    at.toggle(key=state.TRAIN_ACTIVATE_IF_BETTER).set_value(True)
    ok(at.run())
    # A job runs: the live view replaces the form, whose widgets are not drawn meanwhile.
    job_id = insert_job(ws, status="running", pid=sleeper.pid, params={"epochs": 7})
    ok(at.run())
    assert state.TRAIN_START not in buttons(at)
    ok(at.run())
    with ws.transaction() as conn:
        conn.execute("UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ?", (now(), job_id))
    ok(at.run())
    assert state.TRAIN_START in buttons(at)
    assert at.number_input(key=state.TRAIN_EPOCHS).value == 7
    assert at.toggle(key=state.TRAIN_ACTIVATE_IF_BETTER).value is True
    assert at.toggle(key=state.TRAIN_FROM_ACTIVE).value is True


def test_a_dead_job_process_is_shown_as_failed(ws):
    add_letter_crops(ws, "AB", 2)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    job_id = insert_job(ws, status="running", pid=gone.pid)
    at = app()
    assert texts(at, "error") == [(f"Job {job_id} failed: the job process stopped unexpectedly (killed or out of "
                                  "memory); the active model is unchanged")]
    assert jobs.get_job(ws, job_id).status == "failed"
    assert at.dataframe[-1].value["status"].tolist() == ["failed"]  # the jobs history


# --- versions -----------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_BASE, reason="the shipped base model is not built yet")
def test_versions_activate_and_roll_back(ws):
    fake_version(ws, "v0001", accuracy=0.75)
    fake_version(ws, "v0002", accuracy=0.875)
    at = app()
    table = at.dataframe[0].value
    assert table["version"].tolist() == ["v0002", "v0001", "base"]
    assert table["active"].tolist() == ["", "", "●"]
    assert table["val accuracy"].tolist()[:2] == [0.875, 0.75]
    assert table["compared with"].tolist()[:2] == ["base 62.5%", "base 62.5%"]
    assert at.selectbox(key=state.TRAIN_VERSION).value == "v0002"  # the newest is shown first
    m = metrics(at)
    assert m["Validation accuracy"] == "87.5%" and m["base on the same crops"] == "62.5%"
    assert m["Training samples / validation"] == "40 / 8"
    assert "Training data: 40 training samples, all crops from the folders; 8 validation." in texts(at, "caption")
    per_class = at.dataframe[1].value
    assert per_class["class"].tolist() == ["A", "B"]
    assert per_class["v0002"].tolist() == [1.0, 0.5] and per_class["base"].tolist() == [0.75, 0.5]
    assert per_class["difference"].tolist() == [0.25, 0.0]
    assert len(at.image) == 1  # the confusion matrix picture

    ok(at.button(key=state.TRAIN_ACTIVATE).click().run())
    assert active_version(ws).name == "v0002"
    assert "Activated v0002: pages that read characters use it from now on." in texts(at, "success")
    assert at.dataframe[0].value["active"].tolist() == ["●", "", ""]

    at.selectbox(key=state.TRAIN_VERSION).set_value("v0001")
    ok(at.run())
    assert buttons(at)[state.TRAIN_ACTIVATE].label == "Roll back to v0001"
    ok(at.button(key=state.TRAIN_ACTIVATE).click().run())
    assert active_version(ws).name == "v0001"
    # Roll back: the version active before the current one.
    assert buttons(at)[state.TRAIN_ROLLBACK].label == "Roll back to v0002"
    ok(at.button(key=state.TRAIN_ROLLBACK).click().run())
    assert active_version(ws).name == "v0002"
    assert buttons(at)[state.TRAIN_ROLLBACK].label == "Roll back to v0001"


@pytest.mark.skipif(not HAS_BASE, reason="the shipped base model is not built yet")
def test_a_damaged_version_is_flagged_and_cannot_be_activated(ws):
    folder = fake_version(ws, "v0001", accuracy=0.9)
    data = (folder / "model.keras").read_bytes()
    (folder / "model.keras").write_bytes(data[: len(data) // 3])
    at = app()
    errors = texts(at, "error")[1:]  # after "The class folders are empty"
    assert len(errors) == 1 and errors[0].startswith("v0001 cannot be used: ")
    assert errors[0].endswith("model.keras is damaged (not a complete Keras archive).")
    assert buttons(at)[state.TRAIN_ACTIVATE].disabled
    # Even when asked directly (another tab, an old button), activation refuses and says why.
    from hwocr.errors import ModelError

    with pytest.raises(ModelError, match="cannot be activated"):
        activate(ws, "v0001")
    assert active_version(ws).name == "base"


def test_a_version_activated_elsewhere_gets_a_new_model_key(ws):
    """Pages cache the model by the active version's key: activating changes it."""
    if not HAS_BASE:
        pytest.skip("the shipped base model is not built yet")
    from hwocr.ui.resources import active_model_key

    fake_version(ws, "v0001", accuracy=0.9)
    before = active_model_key(ws)
    activate(ws, "v0001")
    assert active_model_key(ws) != before and active_model_key(ws).startswith("v0001:")


# --- the real thing --------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_BASE, reason="the shipped base model is not built yet")
def test_a_real_one_epoch_job_from_the_page(ws):
    add_letter_crops(ws, "ABC", 12)
    at = app()
    at.number_input(key=state.TRAIN_EPOCHS).set_value(1)
    ok(at.button(key=state.TRAIN_START).click().run())
    assert "Training job 1 started: 1 epoch, fine-tuning the active model." in texts(at, "info")
    assert TrainParams.from_json(jobs.get_job(ws, 1).params) == TrainParams(epochs=1, from_active=True,
                                                                            activate_if_better=False)
    # The live view replaced the form. (This used to fail now and then: the reaper read the
    # just-started process's still-empty /proc cmdline as "not a job" and failed the job at
    # once; see tests/test_job_liveness.py. The job's record says why if it fails again.)
    assert state.TRAIN_CANCEL in buttons(at), (jobs.get_job(ws, 1), texts(at, "error"), texts(at, "info"))

    job = jobs.wait_for(ws, 1, timeout_s=240)
    assert job.status == "succeeded", job.error
    ok(at.run())
    r = job.result
    assert texts(at, "success") == [
        (f"Job 1 trained **v0001**: validation accuracy {training.pct(r['val_accuracy'])} against "
        f"{training.pct(r['active_val_accuracy'])} for base on the same split (30 crops from the folders + 30 "
        "rehearsal glyphs = 60 training samples; 6 validation; answers scored among letters only). "
        "It is not active: activate it under Model versions below if you want it.")
    ]
    # The version's figures are the job's, labelled the same way (the version once said 60 crops).
    assert metrics(at)["Training samples / validation"] == "60 / 6"
    assert ("Training data: 30 crops from the folders + 30 rehearsal glyphs = 60 training samples; 6 validation."
            in texts(at, "caption"))
    assert at.number_input(key=state.TRAIN_EPOCHS).value == 1  # the person's value, not the default
    assert at.dataframe[0].value["version"].tolist() == ["v0001", "base"]
    assert at.selectbox(key=state.TRAIN_VERSION).value == "v0001"
    assert training.charset_note(ModelMetrics(charset="letters")) in texts(at, "caption")
    # One Activate button for the new version, where its scores are shown (not a second one by the outcome).
    activates = [b for b in at.button if b.label.startswith("Activate")]
    assert [(b.key, b.label) for b in activates] == [(state.TRAIN_ACTIVATE, "Activate v0001")]
    ok(at.button(key=state.TRAIN_ACTIVATE).click().run())
    assert active_version(ws).name == "v0001"
    assert not [b for b in at.button if b.label.startswith("Activate")]
    assert texts(at, "success")[-1].endswith("It is the active model.")
    ok(at.button(key=state.TRAIN_ROLLBACK).click().run())
    assert active_version(ws).name == "base"


@pytest.mark.skipif(not HAS_BASE, reason="the shipped base model is not built yet")
def test_dataset_disagreement_follows_a_newly_activated_version(ws):
    """The Dataset page's model (cached across runs) is replaced as soon as another
    version is active: no restart. The new version here is the shipped model with the
    labels of A and B swapped, so every A crop is suddenly read as B."""
    add_letter_crops(ws, "A", 3)
    add_letter_crops(ws, "B", 1)
    at = AppTest.from_file(str(REPO / "pages" / "3_Dataset.py"), default_timeout=120)
    at.session_state[state.REVIEWER] = "tester"
    at.session_state[state.DATASET_SORT] = "Model disagreement"
    ok(at.run())
    assert at.selectbox(key=state.DATASET_CLASS).value == "A"
    assert [c.value[-3:] for c in at.caption if "→" in c.value] == ["→ A"] * 3

    folder = fake_version(ws, "v0001", accuracy=0.5)
    labels = json.loads((folder / "labels.json").read_text())
    labels[0], labels[1] = labels[1], labels[0]
    (folder / "labels.json").write_text(json.dumps(labels))
    activate(ws, "v0001")
    ok(at.run())
    assert [c.value[-3:] for c in at.caption if "→" in c.value] == ["→ B"] * 3


@pytest.mark.skipif(not HAS_BASE, reason="the shipped base model is not built yet")
def test_a_damaged_active_model_is_reported_with_the_way_out(ws):
    add_letter_crops(ws, "AB", 2)
    folder = fake_version(ws, "v0001", accuracy=0.9)
    activate(ws, "v0001")
    (folder / "labels.json").unlink()  # damaged after it was activated
    at = app()
    assert texts(at, "error") == [
        (f"The active model v0001 cannot be loaded: labels.json is missing from {folder}. Pages that read characters "
        "fail until another version is activated (Roll back below).")]
    assert buttons(at)[state.TRAIN_ROLLBACK].label == "Roll back to base"
    ok(at.button(key=state.TRAIN_ROLLBACK).click().run())
    assert active_version(ws).name == "base"
    # Still damaged, no longer active: said where it is shown, and it cannot be activated again.
    assert texts(at, "error") == [f"v0001 cannot be used: labels.json is missing from {folder}."]
    assert buttons(at)[state.TRAIN_ACTIVATE].disabled


def test_gpu_check_answers_in_one_line():
    answer = training.gpu_devices()
    assert answer == "no GPU: training runs on the CPU" or re.fullmatch(r"GPU: /physical_device:GPU:\d.*", answer), \
        answer


def succeeded_job(result: dict) -> jobs.JobRecord:
    return jobs.JobRecord(id=2, kind="train", status="succeeded", params={}, progress=1.0, message=None, pid=None,
                          cancel_requested=False, created_at=0.0, started_at=0.0, updated_at=0.0, finished_at=1.0,
                          result=result, error=None)


def test_the_outcome_says_how_many_base_glyphs_were_rehearsed():
    result = {"version": "v0002", "val_accuracy": 0.9, "active_version": "base", "active_val_accuracy": 0.8,
              "train_count": 5206, "val_count": 933, "charset": "letters"}

    def outcome(**extra) -> str:
        return training.job_outcome(succeeded_job({**result, **extra}), "base")[1]

    assert ("(5,206 crops from the folders + 4,320 rehearsal glyphs = 9,526 training samples; 933 validation;"
            in outcome(rehearsal_count=4320))
    # From scratch, --no-rehearsal, or a version made before rehearsal: the folders alone.
    assert "(5,206 training samples, all crops from the folders; 933 validation;" in outcome(rehearsal_count=0)
    assert "(5,206 training samples, all crops from the folders; 933 validation;" in outcome()


def test_a_job_and_its_version_count_the_same_samples():
    # The job's train_count is the folder crops; the version's (from train()) every sample.
    job = training.result_counts(TrainReport.from_json({"version": "v0001", "train_count": 5390,
                                                        "rehearsal_count": 5390, "val_count": 955}))
    version = training.version_counts(ModelMetrics.from_json({"train_count": 10780, "val_count": 955,
                                                              "data": {"rehearsal": {"count": 5390,
                                                                                     "source": "shared"}}}))
    assert job == version
    assert job.text() == ("5,390 crops from the folders + 5,390 rehearsal glyphs = 10,780 training samples; "
                          "955 validation")
    shipped = training.version_counts(ModelMetrics.from_json({"train_count": 26000, "val_count": 2000}),
                                      shipped=True)
    assert shipped.text() == "26,000 training samples; 2,000 validation"


@pytest.mark.skipif(not HAS_BASE, reason="the shipped base model is not built yet")
def test_what_a_version_reads_outside_the_crops_is_shown_and_a_loss_is_flagged(ws):
    check = [{"set": "letters (UNIPEN, unseen writers)", "count": 780, "new": 0.95, "active": 0.955},
             {"set": "digits (MNIST, held out)", "count": 300, "new": 0.99, "active": 0.99},
             {"set": "digits among letters and digits", "count": 300, "new": 0.44, "active": 0.92}]
    fake_version(ws, "v0001", accuracy=0.9, extra={"base_check": check})
    fake_version(ws, "v0002", accuracy=0.9, extra={"base_check": [{**r, "new": r["active"]} for r in check]})
    fake_version(ws, "v0003", accuracy=0.9)  # trained where the shared data was absent: no check
    at = app()
    at.selectbox(key=state.TRAIN_VERSION).set_value("v0001")
    ok(at.run())
    assert texts(at, "warning") == [
        "Outside your crops, v0001 reads worse than base: digits among letters and digits: 44.0% against 92.0%. "
        "Activated, it would read such characters on the Recognize page less well."]
    table = next(d.value for d in at.dataframe if "glyphs" in d.value.columns)
    assert table.columns.tolist() == ["set", "glyphs", "v0001", "base", "difference"]
    assert table["glyphs"].tolist() == [780, 300, 300]
    assert table["difference"].round(3).tolist() == [-0.005, 0.0, -0.48]
    assert at.expander[0].label.startswith("Outside your crops: v0001 and base")

    at.selectbox(key=state.TRAIN_VERSION).set_value("v0002")
    ok(at.run())
    assert texts(at, "warning") == []  # the same as base everywhere
    assert any("glyphs" in d.value.columns for d in at.dataframe)

    at.selectbox(key=state.TRAIN_VERSION).set_value("v0003")
    ok(at.run())
    assert not any("glyphs" in d.value.columns for d in at.dataframe)
    assert not [e for e in at.expander if e.label.startswith("Outside your crops")]


def test_a_version_that_loses_outside_the_crops_is_not_activated_by_itself():
    from hwocr.train_job import check_losses

    check = [{"set": "letters (UNIPEN, unseen writers)", "count": 780, "new": 0.94, "active": 0.955},
             {"set": "digits (MNIST, held out)", "count": 300, "new": 0.99, "active": None},
             {"set": "digits among letters and digits", "count": 300, "new": 0.44, "active": 0.92}]
    # 1.5 points is under the 2-point threshold; 48 points is not; a missing score says nothing.
    assert check_losses(check) == ["digits among letters and digits: 44.0% against 92.0%"]
    assert check_losses(check, drop=0.01) == ["letters (UNIPEN, unseen writers): 94.0% against 95.5%",
                                              "digits among letters and digits: 44.0% against 92.0%"]
    assert check_losses(None) == [] and check_losses([]) == []

    result = {"version": "v0002", "val_accuracy": 0.955, "active_version": "base", "active_val_accuracy": 0.924,
              "activated": False, "not_activated_because": check_losses(check), "train_count": 5206,
              "val_count": 933, "charset": "alnum"}
    kind, text = training.job_outcome(succeeded_job(result), "base")
    assert kind == "warning"
    assert text.endswith("It beat base on your crops but was not activated: it reads worse "
                         "(digits among letters and digits: 44.0% against 92.0%).")


def test_a_workspace_of_letters_activates_despite_a_digits_loss_and_says_so():
    result = {"version": "v0002", "val_accuracy": 0.955, "active_version": "base", "active_val_accuracy": 0.924,
              "activated": True, "not_activated_because": None, "train_count": 5206, "val_count": 933,
              "charset": "letters", "warnings": ["digits among letters and digits: 88.3% against 90.3%"],
              "names_check": {"names": 95, "letters": 700, "new": {"char_accuracy": 0.941, "exact_names": 0.8},
                              "active": {"char_accuracy": 0.921, "exact_names": 0.72}}}
    kind, text = training.job_outcome(succeeded_job(result), "v0002")
    assert kind == "success"
    assert "Your validation names read whole (95): 94.1% of characters against 92.1%." in text
    assert ("Outside what this workspace holds it reads worse: digits among letters and digits: 88.3% against "
            "90.3% (a warning only: your crops hold none of these classes).") in text
    assert text.endswith("It beat base and was activated.")
