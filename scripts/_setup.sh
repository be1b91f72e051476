# Sourced by scripts/start and scripts/test: a Python 3.11 virtual environment in .venv
# with the pinned requirements, reinstalled only when a requirements file changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_python() {
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "hwocr needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

setup_venv() {
    local requirements="$1"
    if [ ! -x .venv/bin/python ]; then
        local py
        py=$(find_python)
        echo "creating .venv with $py" >&2
        "$py" -m venv .venv
    fi
    local stamp=.venv/.hwocr-requirements
    local want
    want=$(cat requirements.txt "$requirements" | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "installing $requirements into .venv" >&2
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
        echo "$want" > "$stamp"
    fi
    warm_up_kernels
}

# Segmentation and its vetting run compiled kernels (numba), cached on disk: load them now, or compile
# them the first time after an install or an update (about a minute on two cores), so
# that neither the first import nor the tests wait for it unannounced.
warm_up_kernels() {
    .venv/bin/python - <<'PY'
import sys
import threading

from hwocr import kernel_cache
from hwocr.align import warm_up
from hwocr.vet import warm_up_screen

notice = threading.Timer(2.0, lambda: print(
    "compiling the segmentation kernels (once after an install or an update; about a minute)...",
    file=sys.stderr, flush=True))
notice.start()
seconds = warm_up() + warm_up_screen()  # segmentation's kernels, then vetting's cheap copies
notice.cancel()
kernel_cache.mark_ready("segment")  # so segment's parent need not load them again
kernel_cache.mark_ready("screen")
if seconds > 2.0:
    print(f"compiled in {seconds:.0f} s; cached for the next runs", file=sys.stderr)
PY
}
