"""How the reaper tells a running job process from a dead one, without training anything.

A job is marked failed ("stopped unexpectedly") when its pid is judged dead, so judging a
live process dead fails a healthy job; this happened in CI right after a job started.
"""

from __future__ import annotations

import subprocess
import sys

from hwocr import jobs

RUNNING_STAT = b"4242 (python) S 1 4242 4242 0 -1 4194560 3000 0 0 0"
JOB_CMDLINE = b"/usr/bin/python3\x00-m\x00hwocr.jobs\x00run\x00--workspace\x00/tmp/ws\x007\x00"


def test_a_process_is_judged_by_its_state_and_program():
    assert jobs._is_live_job_process(RUNNING_STAT, JOB_CMDLINE)
    # Exited but not yet reaped by its parent: dead.
    assert not jobs._is_live_job_process(RUNNING_STAT.replace(b" S ", b" Z "), JOB_CMDLINE)
    assert not jobs._is_live_job_process(RUNNING_STAT.replace(b" S ", b" X "), JOB_CMDLINE)
    # The pid now belongs to another program: the job is gone.
    assert not jobs._is_live_job_process(RUNNING_STAT, b"/usr/sbin/sshd\x00-D\x00")
    # A program name with a parenthesis and spaces does not confuse the state field.
    assert not jobs._is_live_job_process(b"4242 (odd) R name) Z 1 4242", JOB_CMDLINE)
    assert jobs._is_live_job_process(b"4242 (odd) Z name) R 1 4242", JOB_CMDLINE)


def test_an_empty_command_line_is_not_evidence_of_death():
    # Just started (the kernel has not yet mapped the new program's arguments) or about
    # to become a zombie: the next poll decides.
    assert jobs._is_live_job_process(RUNNING_STAT, b"")


def test_a_process_that_has_just_been_started_is_alive():
    # Right after Popen returns, /proc/PID/cmdline is usually still empty; the reaper
    # used to read that as "not a job process" and fail the job at once.
    for _ in range(20):
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "hwocr.jobs"],
                                stdin=subprocess.DEVNULL)
        try:
            assert jobs._pid_alive(proc.pid)
        finally:
            proc.kill()
            proc.wait()
        assert not jobs._pid_alive(proc.pid)


def test_a_process_running_something_else_is_not_a_job():
    proc = subprocess.Popen([sys.executable, "-c", "import sys, time; print(1, flush=True); time.sleep(30)"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        proc.stdout.readline()  # started and running its own program
        assert not jobs._pid_alive(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_a_native_crash_leaves_its_python_stack_in_the_job_log(workspace_dir):
    # The job process cannot catch a segfault in TensorFlow or the TFLite runtime; the
    # reaper then fails the job, and the log says where it crashed.
    from hwocr.workspace import Workspace, now

    ws = Workspace(workspace_dir)
    with ws.transaction() as conn:
        job_id = conn.execute(
            "INSERT INTO jobs (kind, status, params, created_at, updated_at, message) "
            "VALUES ('train', 'queued', '{}', ?, ?, 'starting')", (now(), now())).lastrowid
    crash = (
        "import ctypes, sys\n"
        "from hwocr import jobs\n"
        "def crash_in_the_handler(ctx):\n"
        "    ctypes.string_at(0)\n"
        "jobs._handlers = lambda: {'train': crash_in_the_handler}\n"
        f"sys.exit(jobs.main(['run', '--workspace', {str(ws.root)!r}, '{job_id}']))\n"
    )
    log = jobs.job_log_path(ws, job_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        rc = subprocess.run([sys.executable, "-c", crash], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, timeout=60).returncode
    assert rc < 0  # killed by the signal, not an orderly exit
    assert jobs.get_job(ws, job_id).status == "running"
    assert jobs.reap_dead_jobs(ws) == 1
    assert jobs.get_job(ws, job_id).status == "failed"
    text = log.read_text()
    assert "Fatal Python error: Segmentation fault" in text
    assert "crash_in_the_handler" in text
