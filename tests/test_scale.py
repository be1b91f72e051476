"""Large-CSV behaviour of the commands: the worker-process paths of import, segment and
harvest give the same results as one process, and a stop (Ctrl-C, a page's Stop) part
way through keeps what is done and the next run finishes the rest, with nothing lost or
doubled."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwocr import pipeline
from hwocr.dataset import harvest
from hwocr.demo import generate_demo
from hwocr.pipeline import import_csv, segment_workspace
from hwocr.workspace import Workspace
from tests.helpers import files_in_dataset, rows_in_chars


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory) -> Path:
    csv_path, _ = generate_demo(tmp_path_factory.mktemp("scale_demo"), count=300, seed=5)
    return csv_path


def _statuses(ws: Workspace) -> dict[str, tuple]:
    return {r["unit_id"]: (r["status"], r["boxes"]) for r in ws.query("SELECT unit_id, status, boxes FROM names")}


def _crops(ws: Workspace) -> list[tuple]:
    return sorted((r["unit_id"], r["idx"], r["label"], r["x0"], r["x1"]) for r in ws.query(
        "SELECT n.unit_id, c.idx, c.label, c.x0, c.x1 FROM chars c JOIN names n ON n.id = c.name_id"))


class Interrupt(Exception):
    """Stands for Ctrl-C or a page's Stop (both arrive in a progress callback)."""


def _stop_after(calls: int):
    seen = {"n": 0}

    def progress(done: int, total: int) -> None:
        seen["n"] += 1
        if seen["n"] == calls:
            raise Interrupt

    return progress


def test_worker_processes_give_the_same_workspace_as_one_process(demo_csv, tmp_path, monkeypatch):
    one = Workspace(tmp_path / "one")
    import_csv(one, demo_csv)
    segment_workspace(one, workers=1)
    harvest(one, workers=1)

    monkeypatch.setattr(pipeline, "LOCAL_POOL_MIN_NAMES", 10)
    many = Workspace(tmp_path / "many")
    report = import_csv(many, demo_csv)
    assert report.fetch.fetched == 300
    # One stored file per name, named by its id, and nothing else in images/.
    stored = sorted(p.relative_to(many.root).as_posix() for p in many.images_dir.rglob("*") if p.is_file())
    assert stored == sorted(r["image_path"] for r in many.query("SELECT image_path FROM names"))
    segment_workspace(many, workers=2, chunk=16)
    harvest(many, workers=2, batch=64)
    assert _statuses(many) == _statuses(one)
    assert _crops(many) == _crops(one)
    assert files_in_dataset(many) == rows_in_chars(many)


def test_an_import_stopped_part_way_resumes_without_a_second_copy(demo_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "LOCAL_POOL_MIN_NAMES", 10)
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(Interrupt):
        import_csv(ws, demo_csv, progress=_stop_after(100))
    kept = ws.status_counts()["fetched"]
    assert 0 < kept < 300
    again = import_csv(ws, demo_csv)
    assert again.fetch.attempted == 300 - kept and ws.status_counts()["fetched"] == 300
    stored = [p for p in ws.images_dir.rglob("*") if p.is_file()]
    assert len(stored) == 300 and not [p for p in stored if p.name.endswith(".tmp")]


def test_a_segmentation_stopped_part_way_keeps_its_work_and_finishes_the_rest(demo_csv, tmp_path):
    ws = Workspace(tmp_path / "ws")
    import_csv(ws, demo_csv)
    with pytest.raises(Interrupt):
        segment_workspace(ws, workers=2, chunk=16, progress=_stop_after(3))
    done_first = 300 - ws.status_counts()["fetched"]
    assert 48 <= done_first < 300  # three chunks stored before the stop, not every chunk submitted
    rest = segment_workspace(ws, workers=2, chunk=16)
    assert rest.processed == 300 - done_first and ws.status_counts()["fetched"] == 0


def test_a_harvest_stopped_part_way_converges_on_the_next_run(demo_csv, tmp_path):
    ws = Workspace(tmp_path / "ws")
    import_csv(ws, demo_csv)
    segment_workspace(ws, workers=1)
    reference = Workspace(tmp_path / "ref")
    import_csv(reference, demo_csv)
    segment_workspace(reference, workers=1)
    harvest(reference, workers=1)
    with pytest.raises(Interrupt):
        harvest(ws, workers=2, batch=32, progress=_stop_after(2))
    partial = len(rows_in_chars(ws))
    assert 0 < partial < len(rows_in_chars(reference))
    report = harvest(ws, workers=2, batch=32)
    assert report.written == len(rows_in_chars(reference)) - partial
    assert _crops(ws) == _crops(reference)
    assert files_in_dataset(ws) == rows_in_chars(ws)


def test_workers_never_rerun_the_page_that_started_them(demo_csv, tmp_path, monkeypatch):
    # Under `streamlit run` (and AppTest) __main__ is the page being shown; a spawned worker
    # re-runs __main__ first, so an import started from the Import page ran the page again
    # in every worker, and a page that cannot run there killed the pool.
    import sys
    import types

    page = tmp_path / "a_page.py"
    marker = tmp_path / "page_ran_in_a_worker"
    page.write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit('a page, not a worker')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    fake_main.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    monkeypatch.setattr(pipeline, "LOCAL_POOL_MIN_NAMES", 10)
    ws = Workspace(tmp_path / "ws")
    assert import_csv(ws, demo_csv).fetch.fetched == 300
    assert segment_workspace(ws, workers=2, chunk=16).processed == 300
    assert harvest(ws, workers=2, batch=64).written > 0
    assert not marker.exists()
