"""What the compiled kernels of every stage share: the numba decorator, a few small
array helpers, and the one function that turns :class:`hwocr.config.Defaults` into the
rules a kernel reads by name.

The kernels live next to the stage that calls them (``hwocr.preprocess_kernels``,
``hwocr.segment_kernels``, ``hwocr.align_kernels``). Importing any of them imports
numba (about half a second) and loads the compiled code from the on-disk cache
(``cache=True``; compiled on first use when there is none): the stages import them
lazily, when the first name is handled.

Numba checks a cached kernel against its own source file only: a kernel that calls a
helper of this module keeps its cached machine code when only this file changes. After
changing a helper here, clear the caches (``find hwocr -name '*.nbi' -delete``) so that
the callers compile again.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def compiled(fn=None, *, inline: bool = False):
    """``numba.njit`` with the machine code cached on disk (``cache=True``: next to this
    file, or under NUMBA_CACHE_DIR or the user's cache folder, wherever numba can
    write); where it can write nowhere, numba refuses ``cache=True``, and the kernel is
    compiled in memory in each process instead (seconds, once per process).

    ``@compiled(inline=True)``: a step of a larger kernel, written as a function of its
    own for reading, compiled into its caller (numba's ``inline="always"``) so that the
    split costs nothing at run time."""
    if fn is None:
        return lambda f: compiled(f, inline=inline)
    options = {"nogil": True, **({"inline": "always"} if inline else {})}
    try:
        return njit(cache=True, **options)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(**options)(fn)


_rules_made: dict[type, tuple[object, tuple[float, ...]]] = {}


def rules_from(rules_type, defaults) -> tuple[float, ...]:
    """The values of the named tuple ``rules_type``'s fields (each named as a field of
    :class:`hwocr.config.Defaults`) taken from ``defaults``, as floats, in field order.

    A plain tuple, not the named one: numba's dispatcher types a plain tuple of floats
    in under a microsecond, a named tuple in about four (per call, per kernel). A
    kernel's entry point names the values again with ``rules_type(*values)``, which
    costs nothing in compiled code. Made once per table: a replaced DEFAULTS (another
    object) gives new values, and the usual call is a dictionary look-up."""
    made = _rules_made.get(rules_type)
    if made is None or made[0] is not defaults:
        made = (defaults, tuple(float(getattr(defaults, name)) for name in rules_type._fields))
        _rules_made[rules_type] = made
    return made[1]


# --------------------------------------------------------------------------------------
# small helpers (plain loops: numba compiles them far faster than its generic sorts,
# and the arrays here are short or nearly sorted)


@compiled
def stable_order(keys):
    """Indices that sort ``keys`` ascending, equal keys in their order (insertion
    sort: linear on the nearly sorted keys it gets)."""
    n = keys.size
    order = np.arange(n)
    for i in range(1, n):
        o = order[i]
        k = keys[o]
        j = i - 1
        while j >= 0 and keys[order[j]] > k:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = o
    return order


@compiled
def median_of(v):
    """Median of a non-empty array as ``0.5 * (lower + upper)`` of its sorted values
    (the sum in the array's type, as Python does it on ints or floats)."""
    s = v[stable_order(v)]
    m = s.size
    return 0.5 * (s[(m - 1) // 2] + s[m // 2])


@compiled
def flags_to_indices(flags):
    """Indices of the true entries, ascending."""
    out = np.empty(flags.size, np.int64)
    m = 0
    for i in range(flags.size):
        if flags[i]:
            out[m] = i
            m += 1
    return out[:m]
