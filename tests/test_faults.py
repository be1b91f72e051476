"""Faults: kill -9 in the middle of import and harvest, a crash inside a transaction, a
full disk. After a restart nothing is lost or duplicated, the database passes its
integrity check, every crop file has its row and every row its file, and running the
command again finishes the work."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwocr.dataset import harvest, reconcile
from hwocr.demo import generate_demo
from hwocr.errors import WorkspaceError
from hwocr.pipeline import import_csv, segment_workspace
from hwocr.workspace import Workspace
from tests.helpers import files_in_dataset, rows_in_chars

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo_set(tmp_path_factory) -> Path:
    csv_path, _ = generate_demo(tmp_path_factory.mktemp("faults_demo"), count=150, seed=11)
    return csv_path


@pytest.fixture
def served_demo(demo_set, tmp_path):
    """The demo names with image URLs on a local server that takes 0.5 s per image, so
    an import runs long enough to be killed in the middle of its downloads."""
    from tests.httpserver import LocalServer, image

    lines = demo_set.read_text().splitlines()
    with LocalServer() as server:
        out = [lines[0]]
        for line in lines[1:]:
            unit_id, rel, text, which = line.split(",")
            url = server.route(f"/{rel}", image((demo_set.parent / rel).read_bytes(), delay=0.5))
            out.append(",".join([unit_id, url, text, which]))
        csv_path = tmp_path / "served.csv"
        csv_path.write_text("\n".join(out) + "\n")
        yield csv_path


def cli_env(ws: Path) -> dict:
    # The test server is on 127.0.0.1, which downloads refuse unless allowed.
    return {**os.environ, "HWOCR_WORKSPACE": str(ws), "HWOCR_ALLOW_PRIVATE_URLS": "1"}


def start_cli(ws: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hwocr", *args, "--quiet", "--workspace", str(ws)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=cli_env(ws),
    )


def kill_after(proc: subprocess.Popen, delay: float) -> bool:
    """SIGKILL the process after ``delay`` s; False if it had already finished."""
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def kill_once_writing(proc: subprocess.Popen, dataset: Path, timeout: float = 120.0) -> bool:
    """SIGKILL the process as soon as its first crop file appears under ``dataset``
    (mid-batch: files written, their rows not yet committed), however fast or slow the
    machine is; False if it finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if dataset.is_dir() and any(f.is_file() for d in os.scandir(dataset) if d.is_dir() for f in os.scandir(d)):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def assert_consistent(ws: Workspace) -> None:
    assert ws.integrity_check() == "ok"
    # Every stored image belongs to a fetched name, and every fetched name has its image.
    for r in ws.query("SELECT image_path FROM names WHERE image_path IS NOT NULL"):
        assert (ws.root / r["image_path"]).is_file(), r["image_path"]
    dup = ws.query_one(
        "SELECT COUNT(*) - COUNT(DISTINCT name_id || ':' || idx) FROM chars WHERE name_id IS NOT NULL")[0]
    assert dup == 0


def test_import_killed_at_random_moments_resumes_without_loss(served_demo, tmp_path):
    ws_dir = tmp_path / "ws"
    rng = random.Random(5)
    killed = 0
    fetched_before = []
    for _ in range(4):
        proc = start_cli(ws_dir, "import", str(served_demo))
        killed += kill_after(proc, rng.uniform(1.0, 2.5))
        ws = Workspace(ws_dir)
        assert_consistent(ws)
        counts = ws.status_counts()
        # Names are recorded in one transaction: all 150 or none.
        assert sum(counts.values()) in (0, 150)
        fetched_before.append(counts["fetched"])
        ws.close()
    assert killed >= 2, "the import finished before most kills; the test proved little"
    # Each run kept what the runs before it fetched, and added to it.
    assert fetched_before == sorted(fetched_before) and fetched_before[-1] > 0
    done = subprocess.run(
        [sys.executable, "-m", "hwocr", "import", str(served_demo), "--quiet", "--workspace", str(ws_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=cli_env(ws_dir),
    )
    assert done.returncode == 0, done.stderr
    ws = Workspace(ws_dir)
    assert_consistent(ws)
    assert ws.status_counts()["fetched"] == 150
    # One file per name: an interrupted fetch never leaves a second copy behind.
    stored = [p for p in (ws_dir / "images").rglob("*") if p.is_file()]
    assert len(stored) == 150


@pytest.fixture(scope="module")
def big_demo_set(tmp_path_factory) -> Path:
    csv_path, _ = generate_demo(tmp_path_factory.mktemp("faults_big"), count=300, seed=11)
    return csv_path


@pytest.mark.parametrize("workers", ["1", "2"])
def test_harvest_killed_at_random_moments_converges(big_demo_set, tmp_path, workers):
    reference_dir = tmp_path / "reference"
    ref = Workspace(reference_dir)
    import_csv(ref, big_demo_set)
    segment_workspace(ref, workers=1)
    ref.close()
    # An uninterrupted harvest, timed, gives the window to kill the others in.
    t0 = time.monotonic()
    assert start_cli(reference_dir, "harvest", "--workers", workers).wait(timeout=300) == 0
    duration = time.monotonic() - t0
    ref = Workspace(reference_dir)
    expected = sorted((r["name_id"], r["idx"], r["label"]) for r in ref.query("SELECT name_id, idx, label FROM chars"))
    assert len(expected) > 600

    def segmented_workspace(n: int) -> Path:
        ws_dir = tmp_path / f"ws{n}"
        ws = Workspace(ws_dir)
        import_csv(ws, big_demo_set)
        segment_workspace(ws, workers=1)
        ws.close()
        return ws_dir

    ws_dir = segmented_workspace(0)
    rng = random.Random(9)
    killed = 0
    for attempt in range(4):
        proc = start_cli(ws_dir, "harvest", "--workers", workers)
        # The first kill lands by what the harvest has done, not by the clock (a run
        # faster than the timed one would otherwise finish before every kill).
        hit = kill_once_writing(proc, ws_dir / "dataset") if attempt == 0 else \
            kill_after(proc, duration * rng.uniform(0.5, 0.95))
        killed += hit
        ws = Workspace(ws_dir)
        assert_consistent(ws)
        reconcile(ws)
        assert files_in_dataset(ws) == rows_in_chars(ws)
        ws.close()
        if not hit and attempt < 3:
            # It finished before the kill, so nothing is left to interrupt here (every
            # later run would only confirm the crops): the next attempt starts afresh.
            ws_dir = segmented_workspace(attempt + 1)
    assert killed >= 1, "harvest always finished before the kill; the test proved nothing"
    ws = Workspace(ws_dir)
    harvest(ws)
    got = sorted((r["name_id"], r["idx"], r["label"]) for r in ws.query("SELECT name_id, idx, label FROM chars"))
    assert got == expected
    assert files_in_dataset(ws) == rows_in_chars(ws)


def test_crash_inside_a_harvest_transaction_leaves_old_state(demo_set, tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "ws")
    import_csv(ws, demo_set)
    segment_workspace(ws, workers=1)

    import hwocr.dataset as dataset

    real = dataset._write_new_file
    calls = {"n": 0}

    def flaky(path, data):
        calls["n"] += 1
        if calls["n"] == 25:
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(dataset, "_write_new_file", flaky)
    with pytest.raises(OSError):
        harvest(ws)
    # The batch that failed was rolled back; its files written so far are strays.
    assert len(files_in_dataset(ws)) == 24 and rows_in_chars(ws) == set()
    monkeypatch.setattr(dataset, "_write_new_file", real)
    report = harvest(ws)
    assert report.reconciled.stray_files_removed == 24
    assert files_in_dataset(ws) == rows_in_chars(ws) and len(rows_in_chars(ws)) > 300


def test_disk_full_while_storing_an_image_is_a_clear_error(tmp_path, monkeypatch):
    from hwocr import workspace as wsmod

    ws = Workspace(tmp_path / "ws")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    images = tmp_path / "ws" / "images"
    # A first image is created in place: the disk fills while its bytes are written.
    with monkeypatch.context() as m:
        m.setattr(wsmod.os, "write", full)
        with pytest.raises(WorkspaceError, match="the disk is full"):
            ws.store_image(1, b"data", ".png")
    # Nothing half-written is left behind.
    assert [p for p in images.rglob("*") if p.is_file()] == []
    # An image stored again replaces the old one atomically: a full disk keeps the old one whole.
    rel = ws.store_image(1, b"old image", ".png")
    monkeypatch.setattr(wsmod.os, "replace", full)
    with pytest.raises(WorkspaceError, match="the disk is full"):
        ws.store_image(1, b"new image", ".png")
    assert [p for p in images.rglob("*") if p.is_file()] == [tmp_path / "ws" / rel]
    assert (tmp_path / "ws" / rel).read_bytes() == b"old image"


def test_file_size_limit_kills_no_data(demo_set, tmp_path):
    """A real write failure from the OS (RLIMIT_FSIZE, like a full disk for this process):
    the import stops with a clear message and the database stays intact."""
    ws_dir = tmp_path / "ws"
    Workspace(ws_dir).close()
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))\n"
        "from hwocr.cli import main\n"
        f"sys.exit(main(['import', {str(demo_set)!r}, '--quiet', '--workspace', {str(ws_dir)!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("hwocr: ") and proc.stderr.count("\n") == 1
    assert "disk" in proc.stderr
    ws = Workspace(ws_dir)
    assert_consistent(ws)


def test_an_image_cut_short_by_a_kill_is_replaced_by_the_next_fetch(tmp_path):
    """A worker killed while creating a name's image leaves a partial file the database
    never recorded; the next fetch of that name writes the whole image over it."""
    ws = Workspace(tmp_path / "ws")
    rel = ws.store_image(7, b"whole image", ".jpg")
    (tmp_path / "ws" / rel).write_bytes(b"who")  # what a kill mid-write leaves
    assert ws.store_image(7, b"whole image", ".jpg") == rel
    assert (tmp_path / "ws" / rel).read_bytes() == b"whole image"
    assert [p.name for p in (tmp_path / "ws" / "images").rglob("*") if p.is_file()] == [Path(rel).name]
