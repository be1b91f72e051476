"""hwocr's worker pools: spawned children that get one math-library thread each."""

from __future__ import annotations

import os

from hwocr.workers import WORKER_ENV, process_pool


def test_workers_get_one_blas_thread_and_the_parent_keeps_its_environment(monkeypatch):
    for key in WORKER_ENV:
        monkeypatch.delenv(key, raising=False)
    with process_pool(1) as pool:
        seen = {key: pool.submit(os.getenv, key).result(timeout=60) for key in WORKER_ENV}
    assert seen == {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    assert not any(key in os.environ for key in WORKER_ENV)


def test_a_thread_count_the_user_set_wins(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    with process_pool(1) as pool:
        assert pool.submit(os.getenv, "OPENBLAS_NUM_THREADS").result(timeout=60) == "3"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "3"
