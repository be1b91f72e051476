"""Background training jobs, for real: a separate process trains a tiny model on a few
dozen crops in a temporary workspace. Success, cancel, failure, a killed process, a
second job while one runs, and model versions (activation, rollback, damaged files).

Every training here is one epoch (or is stopped early) on 36 crops with batches of 8:
a job costs about 10 s, most of it TensorFlow's import.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from hwocr import jobs
from hwocr.config import ALL_CLASSES
from hwocr.errors import JobError, ModelError
from hwocr.jobs import job_epochs, request_cancel, start_job, wait_for
from hwocr.rehearsal import shared_data_available
from hwocr.train_job import split_losses
from hwocr.versions import (
    activate,
    active_version,
    list_versions,
    model_files_problem,
    previous_active,
    shipped_version,
)
from hwocr.workspace import Workspace
from tests.helpers import add_letter_crops

pytestmark = pytest.mark.skipif(not (shipped_version(True).path / "model.keras").is_file(),
                                reason="the shipped base model is not built yet")

TINY = {"epochs": 1, "batch_size": 8, "from_active": True}
#: Long enough to be still running when the test cancels or kills it (stopped well before).
LONG = {"epochs": 300, "batch_size": 8, "from_active": True}
JOB_TIMEOUT_S = 240


@pytest.fixture
def ws(workspace_dir) -> Workspace:
    return Workspace(workspace_dir)


@pytest.fixture
def tiny_ws(ws) -> Workspace:
    add_letter_crops(ws, "ABC", 12)
    return ws


def version_folders(ws: Workspace) -> list[str]:
    """Everything in the models folder, hidden folders included."""
    return sorted(p.name for p in ws.models_dir.iterdir())


def wait_until(predicate, timeout_s: float = JOB_TIMEOUT_S, what: str = "the condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout_s} s")


def running_with_an_epoch(ws: Workspace, job_id: int):
    """Wait until the job has finished its first epoch (it is then well inside training)."""
    def ready():
        job = jobs.get_job(ws, job_id)
        assert not job.finished, f"job ended early: {job.status} {job.error}"
        return job if job_epochs(ws, job_id) else None

    return wait_until(ready, what=f"job {job_id}'s first epoch")


# --- success ------------------------------------------------------------------------------


def test_one_epoch_job_makes_a_loadable_inactive_version(tiny_ws):
    from hwocr.model import load_bundle

    ws = tiny_ws
    # What training must skip and report, not choke on.
    (ws.dataset_dir / "A" / "notes.txt").write_text("not a crop")
    (ws.dataset_dir / "B" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")

    job = start_job(ws, "train", TINY)
    assert job.status == "queued" and job.pid
    job = wait_for(ws, job.id, timeout_s=JOB_TIMEOUT_S)
    assert job.status == "succeeded", job.error
    assert job.error is None and job.progress == 1.0 and job.message == "succeeded"

    result = job.result
    assert result["version"] == "v0001"
    assert result["active_version"] == "base" and result["activated"] is False
    # 36 crops, each its own group (canvas crops): groups go to validation until 15% (5.4) is reached.
    assert (result["train_count"], result["val_count"]) == (30, 6)
    # As many rehearsal glyphs as training crops, balanced over the model's 36 classes
    # (hwocr.rehearsal): 30 glyphs of 30 different classes.
    assert result["rehearsal_count"] == 30
    assert result["device"] == "CPU" or result["device"].startswith("GPU")

    # Nothing changed what is active: a new version waits to be activated.
    assert active_version(ws).name == "base"
    assert [(v.name, v.active) for v in list_versions(ws)] == [("v0001", False), ("base", True)]
    assert version_folders(ws) == ["v0001"]  # no staging or temp folder left behind

    v = list_versions(ws)[0]
    assert v.path == ws.models_dir / "v0001" and v.job_id == job.id
    assert v.note == "1 epochs, fine-tuned from base"
    bundle = load_bundle(v.path)
    # Fine-tuning keeps the base model's classes, in its order.
    assert list(bundle.labels) == json.loads((shipped_version(True).path / "labels.json").read_text())
    metrics = json.loads((v.path / "metrics.json").read_text())
    assert metrics["val_accuracy"] == v.val_accuracy == result["val_accuracy"]
    assert 0.0 <= v.val_accuracy <= 1.0
    assert {k for k, acc in metrics["per_class_accuracy"].items() if acc is not None} <= {"A", "B", "C"}
    assert metrics["epochs"] == 1 and metrics["trained_from"] == "base" and metrics["job_id"] == job.id
    assert metrics["data"]["counts"] == {"A": 12, "B": 12, "C": 12}
    assert metrics["data"]["skipped_files"] == 2
    # From the rehearsal set shipped with the base model (hwocr.rehearsal), on any machine.
    assert metrics["data"]["rehearsal"]["count"] == 30
    assert metrics["data"]["rehearsal"]["source"] == result["rehearsal_source"]
    assert result["rehearsal_source"].startswith("the rehearsal set shipped with the base model")
    # What the new version and base read outside the workspace, when the base model's data is here.
    if shared_data_available():
        check = metrics["base_check"]
        assert [(r["set"], r["count"]) for r in check] == [
            ("letters (UNIPEN, unseen writers)", 26 * 30), ("digits (MNIST, held out)", 300),
            ("digits among letters and digits", 300)]
        assert all(0.0 <= r[side] <= 1.0 for r in check for side in ("new", "active"))
        # A digit read right among letters and digits is read right among digits alone.
        for side in ("new", "active"):
            assert check[2][side] <= check[1][side]
    else:
        assert metrics["base_check"] is None
    assert metrics["compared_with"]["version"] == "base"
    assert metrics["compared_with"]["count"] == 6
    assert metrics["compared_with"]["accuracy"] == result["active_val_accuracy"]
    # Letter crops only: the new model (36 outputs, fine-tuned) and the active one are both
    # scored among letters, never marked wrong for a digit answer.
    assert metrics["charset"] == metrics["compared_with"]["charset"] == result["charset"] == "letters"
    assert metrics["data"]["charset"] == "letters"
    assert (v.path / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    logs = job_epochs(ws, job.id)
    assert [e["epoch"] for e in logs] == [1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "eta_s"} <= set(logs[0])
    assert logs[0]["eta_s"] == 0.0 and logs[0]["val_accuracy"] == result["val_accuracy"]

    # The job process ended and wrote its log.
    assert "Traceback" not in jobs.job_log_path(ws, job.id).read_text()


def test_activate_if_better_follows_the_scores_on_the_same_split(tiny_ws):
    ws = tiny_ws
    params = {**TINY, "activate_if_better": True, "rehearsal": False}
    job = wait_for(ws, start_job(ws, "train", params).id, timeout_s=JOB_TIMEOUT_S)
    assert job.status == "succeeded", job.error
    r = job.result
    assert r["rehearsal_count"] == 0  # the class folders alone, as asked
    better = r["val_accuracy"] > r["active_val_accuracy"]
    # Better on the crops is not enough when it reads the base model's letters clearly
    # worse (hwocr.train_job.split_losses); those are then named. A loss on digits, which
    # this workspace of letters does not hold, is only a warning.
    checked = json.loads((ws.models_dir / "v0001" / "metrics.json").read_text())["base_check"]
    vetoes, warnings = split_losses(checked, r["charset"])
    assert r["not_activated_because"] == (vetoes if better and vetoes else None)
    assert r["warnings"] == (warnings or None)
    assert r["names_check"] is None  # these crops were not cut from names
    assert r["activated"] is (better and not vetoes)
    assert active_version(ws).name == ("v0001" if r["activated"] else "base")


# --- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize("crops, reason", [
    ("", "{dataset}: no usable character images in the class folders"),
    ("A", "{dataset}: only class A has images; training needs at least two classes"),
])
def test_unusable_folders_fail_with_a_one_line_reason(ws, crops, reason):
    if crops:
        add_letter_crops(ws, crops, 3)
    job = wait_for(ws, start_job(ws, "train", TINY).id, timeout_s=JOB_TIMEOUT_S)
    assert job.status == "failed"
    assert job.error == reason.format(dataset=ws.dataset_dir)
    assert list_versions(ws) == [shipped_version(active=True)]
    assert version_folders(ws) == []


def test_bad_epochs_fail_without_training(ws):
    add_letter_crops(ws, "AB", 3)
    job = wait_for(ws, start_job(ws, "train", {"epochs": 0}).id, timeout_s=JOB_TIMEOUT_S)
    assert (job.status, job.error) == ("failed", "epochs must be between 1 and 500, not 0")


def test_unknown_job_kind_is_refused(ws):
    with pytest.raises(JobError, match="unknown job kind 'bake'"):
        start_job(ws, "bake", {})
    with pytest.raises(JobError, match="no job with id 99"):
        jobs.get_job(ws, 99)


# --- cancel, concurrency, kill -----------------------------------------------------------


def test_cancel_during_training_makes_no_version_and_refuses_a_second_job(tiny_ws):
    ws = tiny_ws
    job = start_job(ws, "train", LONG)
    running = running_with_an_epoch(ws, job.id)
    assert running.status == "running"
    assert [j.id for j in jobs.active_jobs(ws, "train")] == [job.id]

    with pytest.raises(JobError, match=f"a train job is already running \\(job {job.id}\\); cancel it or wait"):
        start_job(ws, "train", TINY)

    flagged = request_cancel(ws, job.id)
    assert flagged.cancel_requested and flagged.message == "cancelling…"
    done = wait_for(ws, job.id, timeout_s=60)
    assert done.status == "cancelled"
    assert done.error == "cancelled by request; the active model is unchanged"
    assert done.result is None
    assert len(job_epochs(ws, job.id)) < LONG["epochs"]
    assert active_version(ws).name == "base"
    assert [v.name for v in list_versions(ws)] == ["base"]
    assert version_folders(ws) == []
    # Cancelling a finished job changes nothing.
    assert request_cancel(ws, job.id).status == "cancelled"


def _process_state(pid: int) -> str | None:
    """The state letter in /proc/PID/stat ("Z" for a zombie), or None once the pid is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return stat.rsplit(b")", 1)[-1].split()[0].decode()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_cancelled_job_leaves_no_zombie_behind(ws):
    # The server that starts a job is its parent: unless someone waits for the process,
    # it stays a zombie ("defunct") until the server stops.
    add_letter_crops(ws, "AB", 3)
    job = start_job(ws, "train", TINY)
    request_cancel(ws, job.id)  # noticed before any training: the job ends within seconds
    assert wait_for(ws, job.id, timeout_s=JOB_TIMEOUT_S, poll_s=0.1).status == "cancelled"
    # The process writes its status and then exits: give it time to, but not to linger.
    wait_until(lambda: _process_state(job.pid) is None, timeout_s=30,
               what=f"job process {job.pid} to be reaped, not left a zombie")
    assert not jobs._pid_alive(job.pid)


def test_killed_job_is_reaped_as_failed_and_leaves_no_version(tiny_ws):
    from hwocr.model import load_bundle

    ws = tiny_ws
    job = start_job(ws, "train", LONG)
    running = running_with_an_epoch(ws, job.id)
    # What a kill in the middle of saving would leave: the staging folder and a save's temp folder.
    staging = ws.models_dir / f".staging-job-{job.id}"
    staging.mkdir()
    (staging / "labels.json").write_text('["A", "B"]')
    (ws.models_dir / f"..staging-job-{job.id}.tmp-1a2b3c4d").mkdir()

    os.killpg(running.pid, signal.SIGKILL)
    wait_until(lambda: not jobs._pid_alive(running.pid), 30, "the process's death")
    assert jobs.reap_dead_jobs(ws) == 1
    dead = jobs.get_job(ws, job.id)
    assert dead.status == "failed"
    assert dead.error == ("the job process stopped unexpectedly (killed or out of memory); "
                          "the active model is unchanged")
    assert dead.finished_at is not None
    assert jobs.reap_dead_jobs(ws) == 0  # once is enough
    assert [v.name for v in list_versions(ws)] == ["base"]
    assert version_folders(ws) == []
    assert active_version(ws).name == "base"
    assert len(load_bundle(active_version(ws).path).labels) == len(ALL_CLASSES)
    # A new job may start now.
    assert start_job(ws, "train", {"epochs": 0}).status == "queued"


def test_stop_now_kills_the_process_group(tiny_ws):
    ws = tiny_ws
    job = start_job(ws, "train", LONG)
    running = running_with_an_epoch(ws, job.id)
    stopped = jobs.kill_job(ws, job.id)
    assert (stopped.status, stopped.error) == ("cancelled", "stopped by force; the active model is unchanged")
    assert not jobs._pid_alive(running.pid)
    assert [v.name for v in list_versions(ws)] == ["base"] and version_folders(ws) == []


# --- versions -----------------------------------------------------------------------------


def fake_version(ws: Workspace, name: str, *, accuracy: float) -> Path:
    """A version row and folder holding a copy of the shipped model (no training needed)."""
    import shutil

    from hwocr.workspace import now

    folder = ws.models_dir / name
    shutil.copytree(shipped_version(True).path, folder)
    metrics = {"val_accuracy": accuracy, "per_class_accuracy": {"A": accuracy}}
    with ws.transaction() as conn:
        conn.execute("INSERT INTO model_versions (name, path, created_at, val_accuracy, metrics, active) "
                     "VALUES (?, ?, ?, ?, ?, 0)", (name, f"models/{name}", now(), accuracy, json.dumps(metrics)))
    return folder


def test_activate_and_roll_back(ws):
    fake_version(ws, "v0001", accuracy=0.5)
    fake_version(ws, "v0002", accuracy=0.75)
    assert previous_active(ws) is None
    before = active_version(ws).cache_key
    activate(ws, "v0002")
    assert active_version(ws).name == "v0002" and active_version(ws).cache_key != before
    assert previous_active(ws) == "base"
    activate(ws, "v0001")
    assert previous_active(ws) == "v0002"
    activate(ws, previous_active(ws))  # roll back
    assert active_version(ws).name == "v0002"
    assert [(v.name, v.active) for v in list_versions(ws)] == [("v0002", True), ("v0001", False), ("base", False)]
    activate(ws, "base")
    assert active_version(ws).name == "base" and [v.active for v in list_versions(ws)] == [False, False, True]
    with pytest.raises(ModelError, match="no model version named 'v0009'"):
        activate(ws, "v0009")


@pytest.mark.parametrize("damage, problem", [
    ("truncate", "model.keras is damaged (not a complete Keras archive)"),
    ("flip", "fails its checksum"),
    ("delete", "model.keras is missing from"),
    ("labels", "labels.json is not a readable list of labels"),
])
def test_a_damaged_version_cannot_be_activated(ws, damage, problem):
    folder = fake_version(ws, "v0001", accuracy=0.9)
    model = folder / "model.keras"
    data = model.read_bytes()
    if damage == "truncate":
        model.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        # A byte inside the weights file's compressed data: the archive's index stays readable.
        mid = len(data) // 2
        model.write_bytes(data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:])
    elif damage == "delete":
        model.unlink()
    else:
        (folder / "labels.json").write_text("[not json")
    assert problem in model_files_problem(folder)
    with pytest.raises(ModelError, match="model version v0001 cannot be activated: "):
        activate(ws, "v0001")
    assert active_version(ws).name == "base"
    assert model_files_problem(shipped_version(True).path) is None


def test_fine_tuning_a_damaged_active_model_fails_cleanly(tiny_ws):
    ws = tiny_ws
    folder = fake_version(ws, "v0001", accuracy=0.9)
    activate(ws, "v0001")
    (folder / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")  # damaged after activation
    job = wait_for(ws, start_job(ws, "train", TINY).id, timeout_s=JOB_TIMEOUT_S)
    assert job.status == "failed"
    assert job.error.startswith("the active model v0001 cannot be loaded, so it cannot be fine-tuned: ")
    assert job.error.endswith("Activate another version or train from scratch")
    assert "\n" not in job.error
    assert active_version(ws).name == "v0001"
    assert [v.name for v in list_versions(ws)] == ["v0001", "base"]


def test_recognizer_load_follows_the_active_version(workspace_dir):
    """Recognizer.load() with no path answers with the default workspace's active model,
    and with the shipped base when nothing is active (or no workspace exists)."""
    import json
    import shutil

    from hwocr.config import shipped_models_dir
    from hwocr.recognize import Recognizer, resolve_active_model_dir
    from hwocr.versions import activate, register_version

    base = shipped_models_dir() / "base"
    if not (base / "model.keras").is_file():
        pytest.skip("no shipped base model")
    assert resolve_active_model_dir() == base  # no workspace database yet: nothing created
    assert not (workspace_dir / "hwocr.sqlite3").exists()
    ws = Workspace(workspace_dir)
    staged = workspace_dir / "models" / "staged"
    shutil.copytree(base, staged)
    version = register_version(ws, staged, job_id=None, metrics=json.loads((base / "metrics.json").read_text()))
    assert Recognizer.load().path == base
    activate(ws, version.name)
    assert Recognizer.load().path == version.path
    activate(ws, "base")
    assert resolve_active_model_dir() == base
