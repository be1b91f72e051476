"""Background jobs: long work in a separate process, its state in the workspace.

A page (or the CLI) starts a job with :func:`start_job`; the job runs as
``python -m hwocr.jobs run`` in its own process group, so closing the page, reloading it
or opening a second tab changes nothing: every viewer polls the same ``jobs`` row. The
job writes its progress, epoch logs and result there; :func:`request_cancel` sets a flag
the job checks between batches. A job whose process died (killed, out of memory) is
found by :func:`reap_dead_jobs` and marked failed with that reason.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hwocr.config import REPO_ROOT
from hwocr.errors import HwocrError, JobError
from hwocr.store import jobs as store
from hwocr.workspace import Workspace, now, process_exists

JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class JobRecord:
    id: int
    kind: str
    status: str
    params: dict
    progress: float
    message: str | None
    pid: int | None
    cancel_requested: bool
    created_at: float
    started_at: float | None
    updated_at: float | None
    finished_at: float | None
    result: dict | None
    error: str | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @classmethod
    def from_row(cls, row) -> JobRecord:
        return cls(
            id=row["id"], kind=row["kind"], status=row["status"],
            params=json.loads(row["params"]) if row["params"] else {},
            progress=float(row["progress"] or 0.0), message=row["message"], pid=row["pid"],
            cancel_requested=bool(row["cancel_requested"]), created_at=row["created_at"],
            started_at=row["started_at"], updated_at=row["updated_at"], finished_at=row["finished_at"],
            result=json.loads(row["result"]) if row["result"] else None, error=row["error"],
        )


class JobContext:
    """What a running job sees: report progress, log an epoch, ask whether to stop."""

    def __init__(self, ws: Workspace, job: JobRecord) -> None:
        self.ws = ws
        self.job = job
        self._last_cancel_check = 0.0
        self._cancelled = False

    def progress(self, fraction: float, message: str | None = None) -> None:
        store.set_progress(self.ws, self.job.id, fraction, message)

    def log_epoch(self, epoch: int, logs: dict) -> None:
        store.put_epoch(self.ws, self.job.id, epoch, logs)

    def should_stop(self) -> bool:
        """True once cancel was requested. Cheap: reads the flag at most twice a second."""
        if self._cancelled:
            return True
        t = time.monotonic()
        if t - self._last_cancel_check >= 0.5:
            self._last_cancel_check = t
            self._cancelled = store.cancel_requested(self.ws, self.job.id)
        return self._cancelled


class JobCancelled(Exception):
    """Raised inside a job handler when it noticed the cancel flag and stopped."""


Handler = Callable[[JobContext], dict]


#: Each job kind's handler, named ``module:function``. Named, not imported: a handler
#: builds on this module (JobContext, JobCancelled), so the runner must not depend on the
#: handlers in turn; and the train handler pulls in TensorFlow, which pages that only list
#: jobs must not load. The job process imports the one it runs.
HANDLERS: dict[str, str] = {"train": "hwocr.train_job:run_train_job"}


def _handlers() -> dict[str, Handler]:
    def resolve(name: str) -> Handler:
        module, _, function = name.partition(":")
        return getattr(importlib.import_module(module), function)

    return {kind: resolve(name) for kind, name in HANDLERS.items()}


def get_job(ws: Workspace, job_id: int) -> JobRecord:
    row = store.row(ws, job_id)
    if row is None:
        raise JobError(f"no job with id {job_id}")
    return JobRecord.from_row(row)


def list_jobs(ws: Workspace, *, kind: str | None = None, limit: int = 20) -> list[JobRecord]:
    reap_dead_jobs(ws)
    return [JobRecord.from_row(r) for r in store.rows(ws, kind=kind, limit=limit)]


def active_jobs(ws: Workspace, kind: str | None = None) -> list[JobRecord]:
    return [j for j in list_jobs(ws, kind=kind, limit=50) if j.status in ("queued", "running")]


def job_epochs(ws: Workspace, job_id: int) -> list[dict]:
    return store.epochs(ws, job_id)


def job_log_path(ws: Workspace, job_id: int) -> Path:
    return ws.jobs_dir / f"job-{job_id:05d}.log"


def _pid_alive(pid: int | None) -> bool:
    if not pid or not process_exists(pid):
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        return True
    return _is_live_job_process(stat, cmdline)


def _is_live_job_process(stat: bytes, cmdline: bytes) -> bool:
    """Judge a pid from its /proc ``stat`` and ``cmdline``. A zombie (exited, not yet
    reaped by its parent) is dead for our purposes; so is a process that runs another
    program (the pid was reused). An empty cmdline says nothing: a process that has
    just been started shows one until the kernel has mapped the new program's
    arguments, which is after ``Popen`` has already returned (and an exiting process
    shows one just before it becomes a zombie)."""
    state = stat.rsplit(b")", 1)[-1].split()[:1]
    if state in ([b"Z"], [b"X"]):
        return False
    return not cmdline or b"hwocr.jobs" in cmdline


def remove_staging(ws: Workspace, job_id: int) -> None:
    """Delete what a job that did not finish may have left in the models folder: its
    staging folder and save_bundle's temporary siblings of it. Versions are never
    touched (their folders are named vNNNN and listed in the database)."""
    import shutil

    name = f".staging-job-{job_id}"
    leftovers = [ws.models_dir / name, *ws.models_dir.glob(f".{name}.tmp-*"), *ws.models_dir.glob(f".{name}.old-*")]
    for path in leftovers:
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)


def reap_dead_jobs(ws: Workspace) -> int:
    """Mark running jobs whose process is gone as failed. Returns how many."""
    dead = []
    for r in store.unfinished(ws):
        if r["status"] == "running" and not _pid_alive(r["pid"]):
            dead.append(r["id"])
        elif r["status"] == "queued" and not _pid_alive(r["pid"]) and (r["pid"] or now() - r["created_at"] > 60):
            # A recorded pid that is gone: killed while starting, reap it now. No pid yet:
            # start_job may still be between its INSERT and its Popen, so give it a minute.
            dead.append(r["id"])
    if dead:
        store.end_unfinished(
            ws, dead, status="failed", event="job_died",
            error="the job process stopped unexpectedly (killed or out of memory); the active model is unchanged")
        for job_id in dead:
            remove_staging(ws, job_id)
    return len(dead)


def start_job(ws: Workspace, kind: str, params: dict | None = None, *, single: bool = True) -> JobRecord:
    """Record a job and start its process. With ``single``, refuse while one of the kind runs."""
    if kind not in ("train",):
        raise JobError(f"unknown job kind {kind!r}")
    if single:
        running = active_jobs(ws, kind)
        if running:
            raise JobError(f"a {kind} job is already running (job {running[0].id}); cancel it or wait")
    job_id = store.insert(ws, kind, params or {})
    log_path = job_log_path(ws, job_id)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hwocr.jobs", "run", "--workspace", str(ws.root), str(job_id)],
            cwd=str(REPO_ROOT), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    _reap_when_done(proc, job_id)
    store.set_pid(ws, job_id, proc.pid)
    return get_job(ws, job_id)


def _reap_when_done(proc: subprocess.Popen, job_id: int) -> None:
    """Collect the job process's exit status the moment it ends. Nobody else waits for it
    (the pages poll the jobs row, not the process), and an unwaited child stays a zombie
    of the Streamlit server until the server stops. A thread blocked in ``wait`` reaps it
    without a SIGCHLD handler (which would fight the server's own) and without polling;
    the liveness checks then find /proc/PID gone, which they read as dead, as they did
    the zombie."""
    threading.Thread(target=proc.wait, name=f"hwocr-job-{job_id}-reaper", daemon=True).start()


def request_cancel(ws: Workspace, job_id: int) -> JobRecord:
    job = get_job(ws, job_id)
    if job.finished:
        return job
    store.request_cancel(ws, job_id)
    return get_job(ws, job_id)


def kill_job(ws: Workspace, job_id: int) -> JobRecord:
    """Stop a job that does not answer its cancel flag: kill its process group."""
    job = get_job(ws, job_id)
    if job.finished:
        return job
    if job.pid and _pid_alive(job.pid):
        try:
            os.killpg(job.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        # SIGKILL is asynchronous: let the process go before its leftovers are removed.
        deadline = time.monotonic() + 3.0
        while _pid_alive(job.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    store.end_unfinished(ws, [job_id], status="cancelled", event="job_killed",
                         error="stopped by force; the active model is unchanged")
    remove_staging(ws, job_id)
    return get_job(ws, job_id)


def wait_for(ws: Workspace, job_id: int, *, timeout_s: float = 600.0, poll_s: float = 0.5,
             on_update: Callable[[JobRecord], None] | None = None) -> JobRecord:
    """Block until the job finishes (for the CLI and tests)."""
    deadline = time.monotonic() + timeout_s
    while True:
        reap_dead_jobs(ws)
        job = get_job(ws, job_id)
        if on_update:
            on_update(job)
        if job.finished:
            return job
        if time.monotonic() > deadline:
            raise JobError(f"job {job_id} did not finish within {timeout_s:.0f} s")
        time.sleep(poll_s)


def run_job(ws: Workspace, job_id: int) -> int:
    """The body of the job process. Returns the process exit code."""
    job = get_job(ws, job_id)
    if job.status != "queued":
        return 0
    store.mark_running(ws, job_id, os.getpid())
    job = get_job(ws, job_id)
    ctx = JobContext(ws, job)
    status, result, error = "succeeded", None, None
    try:
        handler = _handlers()[job.kind]
        result = handler(ctx)
    except JobCancelled:
        status, error = "cancelled", "cancelled by request; the active model is unchanged"
    except HwocrError as exc:
        status, error = "failed", str(exc)
    except MemoryError:
        status, error = "failed", "out of memory; try fewer epochs or a smaller batch"
    except Exception as exc:  # noqa: BLE001 - the job must end with a reason, not a silent death
        status, error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        traceback.print_exc()
    store.finish(ws, job_id, status=status, result=result, error=error)
    return 0 if status == "succeeded" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hwocr.jobs")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a recorded job (started by start_job)")
    r.add_argument("--workspace", required=True)
    r.add_argument("job_id", type=int)
    args = parser.parse_args(argv)
    # A native crash (TensorFlow, the TFLite runtime) cannot be caught; this at least
    # leaves the Python stack in the job's log, which the reaper's "stopped unexpectedly"
    # cannot tell.
    faulthandler.enable()
    ws = Workspace(args.workspace, create=False)
    return run_job(ws, args.job_id)


if __name__ == "__main__":
    # Run as ``python -m hwocr.jobs`` this file is the module ``__main__``, and the handlers'
    # ``from hwocr.jobs import JobCancelled`` would load a second copy with its own
    # JobCancelled class, which ``run_job`` here would not catch (a cancel would end as
    # "internal error"). Run the one importable copy instead.
    from hwocr.jobs import main as _main

    sys.exit(_main())
