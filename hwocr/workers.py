"""Worker processes for the long stages (import of local files, segment, harvest).

One way to make them: ``spawn`` (never ``fork``: the caller may hold Streamlit's or
TensorFlow's threads), with workers that never re-run the caller's main script.

Why the last part matters: a spawned child re-executes the parent's ``__main__`` module
before it starts working (``multiprocessing.spawn`` "fixes up" the main module from its
file). Under ``streamlit run`` (and under AppTest) ``__main__`` is the *page* being
shown, so every worker of an import started from the Import page would run the page
again, with no browser session, and could die doing it ("a process in the process pool
was terminated abruptly"). hwocr's worker functions all live in importable modules and
need nothing from ``__main__``, so the children are started without it.
"""

from __future__ import annotations

import multiprocessing.context as mp_context
import multiprocessing.popen_spawn_posix as popen_spawn_posix
import multiprocessing.spawn as mp_spawn
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

_MAIN_KEYS = ("init_main_from_path", "init_main_from_name")
_PATCH_LOCK = threading.Lock()


#: Set in each worker's environment before it starts (a value the user set wins). A pool
#: already keeps every core busy with one worker each, so a worker's math libraries get one
#: thread: OpenBLAS's idle threads otherwise spin after every small product (the model's
#: probability folding) and take the other worker's core.
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class _NoMainPopen(popen_spawn_posix.Popen):
    def _launch(self, process_obj) -> None:
        # The preparation data is read inside _launch through the module's global; the lock
        # keeps two threads that start workers at once from restoring each other's patch.
        # The child inherits os.environ as it is during the launch, so WORKER_ENV is set for
        # that moment only (the parent's own later children, a training job, keep theirs).
        with _PATCH_LOCK:
            real = mp_spawn.get_preparation_data

            def without_main(name):
                data = real(name)
                for key in _MAIN_KEYS:
                    data.pop(key, None)
                return data

            added = [key for key in WORKER_ENV if key not in os.environ]
            mp_spawn.get_preparation_data = without_main
            try:
                os.environ.update({key: WORKER_ENV[key] for key in added})
                super()._launch(process_obj)
            finally:
                mp_spawn.get_preparation_data = real
                for key in added:
                    os.environ.pop(key, None)


class _NoMainProcess(mp_context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj):  # noqa: N802 - multiprocessing's name
        return _NoMainPopen(process_obj)


class _NoMainContext(mp_context.SpawnContext):
    Process = _NoMainProcess


def process_pool(workers: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple = ()) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes that do not re-run ``__main__``."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=_NoMainContext(), initializer=initializer,
                               initargs=initargs)


def default_workers() -> int:
    """One worker per core, at most 8."""
    return min(os.cpu_count() or 1, 8)
