"""The mark that lets ``segment``'s parent skip its kernel warm-up once the on-disk
cache is warm (:mod:`hwocr.kernel_cache`)."""

from __future__ import annotations

import os
import time

from hwocr import kernel_cache, pipeline
from tests.helpers import printed_abc_workspace


def _sources(folder):
    folder.mkdir()
    for name in kernel_cache.KERNEL_SOURCES:
        (folder / name).write_text(f"# {name}\n")
    return folder


def test_the_mark_follows_the_kernels_sources_and_lives_beside_numbas_index(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    here = _sources(tmp_path / "pkg")
    assert not kernel_cache.is_ready("segment", here)
    kernel_cache.mark_ready("segment", here)
    mark = kernel_cache.ready_mark("segment", here)
    assert mark.parent == here / "__pycache__" and mark.suffix == ".nbi" and mark.is_file()
    assert kernel_cache.is_ready("segment", here)
    # Another tag is another set of kernels: not ready because this one is.
    assert not kernel_cache.is_ready("screen", here)
    # An edited kernel module (an update) needs a new warm-up.
    source = here / "vet_kernels.py"
    source.write_text("# vet_kernels.py, edited\n")
    later = time.time_ns() + 10**9
    os.utime(source, ns=(later, later))
    assert not kernel_cache.is_ready("segment", here)
    # Clearing numba's index files (as kernel_tools' docstring says) clears the mark too.
    kernel_cache.mark_ready("segment", here)
    for index in (here / "__pycache__").glob("*.nbi"):
        index.unlink()
    assert not kernel_cache.is_ready("segment", here)


def test_the_mark_goes_where_numba_caches_or_nowhere(tmp_path, monkeypatch):
    here = _sources(tmp_path / "pkg")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba_cache"))
    kernel_cache.mark_ready("segment", here)
    assert kernel_cache.ready_mark("segment", here).parent == tmp_path / "numba_cache"
    assert kernel_cache.is_ready("segment", here)
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    # A package folder nobody can write to: numba caches per user; no mark, always warm up.
    monkeypatch.setattr(kernel_cache.os, "access", lambda path, mode: False)
    assert kernel_cache.ready_mark("segment", here) is None
    kernel_cache.mark_ready("segment", here)  # no error
    assert not kernel_cache.is_ready("segment", here)
    # A missing kernel module (a broken install): no mark either.
    monkeypatch.undo()
    (here / "align_kernels.py").unlink()
    assert kernel_cache.ready_mark("segment", here) is None


def test_segment_warms_the_kernels_up_once_per_install(tmp_path, monkeypatch):
    """The parent's warm-up runs while there is no mark, then never again; the workers
    load the kernels themselves and the names come out the same."""
    from hwocr import align

    monkeypatch.setattr(kernel_cache, "_cache_dir", lambda here: tmp_path / "marks")
    calls = []
    real = align.warm_up
    monkeypatch.setattr(align, "warm_up", lambda: calls.append(real()))
    ws = printed_abc_workspace(tmp_path / "ws")
    first = pipeline.segment_workspace(ws, workers=2, chunk=64, vet=False)
    assert len(calls) == 1 and kernel_cache.is_ready("segment")
    second = pipeline.segment_workspace(ws, workers=2, chunk=64, vet=False, redo=True)
    assert len(calls) == 1
    assert first.processed == second.processed == 300
    assert (first.matched, first.repaired, first.needs_review) == (second.matched, second.repaired,
                                                                  second.needs_review)
    assert first.matched + first.repaired > 0
