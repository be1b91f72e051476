"""Whether this install's compiled kernels are already in numba's on-disk cache.

Before its workers start, ``segment`` makes every compiled kernel ready in its own
process (:func:`hwocr.align.warm_up`, :func:`hwocr.vet.warm_up_screen`): about 30 s the
first time after an install or an update, so that the workers then load the machine
code instead of each compiling it at the same time. Once the cache is warm that step only
loads kernels the parent never uses (about 0.8 s of a 3-second segment of 1,000 names).

So the parent leaves a mark once a warm-up has finished, and skips the warm-up while the
mark is there. The mark is keyed by what numba's cache depends on: the kernels' source
files (numba checks each against its own source stamp), numba's install and the CPU. An
update, another numba or another machine finds no mark and warms up again. The mark lives
where numba keeps its index files (``*.nbi``) and is named like one, so clearing the cache
(``find hwocr -name '*.nbi' -delete``, removing ``__pycache__`` or ``NUMBA_CACHE_DIR``)
clears the mark too. Should the cache go some other way while the mark stays, nothing is
wrong, only slower once: each worker compiles what it needs.

No numba here: checking the mark must not cost numba's import (a quarter of a second).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

#: The modules with compiled kernels (``hwocr.kernel_tools.compiled``), beside this one.
KERNEL_SOURCES = ("kernel_tools.py", "preprocess_kernels.py", "segment_kernels.py", "align_kernels.py",
                  "vet_kernels.py")


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"


def _cpu() -> str:
    """The CPU's model name (numba compiles for the host CPU), or '' where unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _cache_dir(here: Path) -> Path | None:
    """Where numba writes the caches of the modules in ``here``: NUMBA_CACHE_DIR when set,
    else the package's ``__pycache__`` when it can be written; None otherwise (numba then
    uses a per-user folder that this module does not try to guess)."""
    configured = os.environ.get("NUMBA_CACHE_DIR")
    if configured:
        return Path(configured)
    pycache = here / "__pycache__"
    probe = pycache if pycache.is_dir() else here
    return pycache if os.access(probe, os.W_OK) else None


def ready_mark(tag: str, here: Path | None = None) -> Path | None:
    """The mark that says the kernels ``tag`` names (``"segment"``: what
    :func:`hwocr.align.warm_up` readies; ``"screen"``: vetting's cheap copies) are in the
    cache for this install, or None where it cannot be kept (then always warm up)."""
    here = Path(__file__).resolve().parent if here is None else here
    directory = _cache_dir(here)
    spec = importlib.util.find_spec("numba")
    if directory is None or spec is None or spec.origin is None:
        return None
    try:
        parts = [tag, sys.version, sys.platform, os.uname().machine, _cpu(), _stamp(Path(spec.origin)),
                 *(_stamp(here / name) for name in KERNEL_SOURCES)]
    except OSError:
        return None
    key = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:20]
    return directory / f"hwocr-kernels-ready-{tag}-{key}.nbi"


def is_ready(tag: str, here: Path | None = None) -> bool:
    """Whether a warm-up of ``tag``'s kernels finished for this very install."""
    mark = ready_mark(tag, here)
    return mark is not None and mark.is_file()


def mark_ready(tag: str, here: Path | None = None) -> None:
    """Record that ``tag``'s kernels were just made ready (compiled into the cache or
    loaded from it); a mark that cannot be written is no error (the next run warms up)."""
    mark = ready_mark(tag, here)
    if mark is None:
        return
    try:
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.touch()
    except OSError:
        pass
