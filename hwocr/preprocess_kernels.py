"""Compiled kernels (numba) behind :func:`hwocr.preprocess.clean_name_image`.

A name is a small image with a few dozen connected components, and the decisions of
the cleaning are made per component: in Python that is a few hundred µs of list code
per name, here it is a few µs. The pixels are described by their horizontal **runs**
(row, first column, end column), found in one pass; the components are the runs joined
8-connectedly, and every later question about the ink (which rows hold ink in these
columns, how much ink a row holds) is answered from the runs, not from the pixels.

The rules themselves are documented in :mod:`hwocr.preprocess`, which calls these
kernels; each kernel computes exactly what the list code it replaced did (the same
comparisons, the same floating-point operations in the same order, the same order of
removals), so that results are bit for bit the same. Their numbers come from
:class:`hwocr.config.Defaults` as a :class:`CleanRules` (:func:`clean_rules`).

Importing this module imports numba and loads the compiled code (see
:mod:`hwocr.kernel_tools`): the caller imports it lazily.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from hwocr.kernel_tools import compiled, flags_to_indices, median_of, rules_from, stable_order

# Kinds of removal, as indices into hwocr.preprocess.REMOVED_KINDS.
LABEL, LINE, SPECK, BORDER, OTHER_TEXT = 0, 1, 2, 3, 4

#: Single-precision machine epsilon: OpenCV's Otsu skips classes this close to empty.
FLT_EPSILON = 1.1920928955078125e-07
#: Rules measured in pen widths never allow less than this many pixels (a colon dot, a
#: vertical form line), whatever a thin pen's width says ...
MIN_STROKE_RULE_PX = 3.0
#: ... and rules measured in band or letter heights never less than this (gaps, reaches).
MIN_BAND_RULE_PX = 2.0


class CleanRules(NamedTuple):
    """The numbers of the component rules, as floats, each named as its field of
    :class:`hwocr.config.Defaults` (where it is explained)."""

    speck_max_area: float
    colon_max_dot_size: float
    colon_max_dot_aspect: float
    colon_max_gap_dots: float
    label_max_x_fraction: float
    label_max_word_heights: float
    label_letter_min_dots: float
    label_letter_max_dots: float
    band_valley_fraction: float
    band_voter_min_area_strokes: float
    band_inner_min_share: float
    printed_max_gap: float
    printed_min_density: float
    band_printed_penalty: float
    band_label_boost: float
    band_centre_sigma: float
    band_edge_penalty: float
    vline_min_band: float
    vline_max_width_strokes: float
    vline_min_fill: float
    vline_min_gap_band: float
    accent_max_band: float
    accent_max_width_band: float
    accent_core_scale: float
    accent_max_width_core: float
    core_margin: float
    core_gap: float
    speck_max_area_strokes: float
    speck_max_side_band: float
    speck_reach_x_share: float
    blot_max_band: float
    speck_reach_band: float


def clean_rules(defaults) -> tuple[float, ...]:
    """``defaults``' component rules, as :func:`clean_components` takes them (the values
    of a :class:`CleanRules`; made once per table)."""
    return rules_from(CleanRules, defaults)


# --------------------------------------------------------------------------------------
# runs and components


@compiled
def _histogram(img):
    """256-bin histogram of a uint8 image (four interleaved partial histograms, so that
    runs of equal pixels, the paper, do not wait on each other's increments)."""
    flat = img.ravel()
    n = flat.size
    parts = np.zeros((4, 256), np.int64)
    i = 0
    while i + 4 <= n:
        parts[0, flat[i]] += 1
        parts[1, flat[i + 1]] += 1
        parts[2, flat[i + 2]] += 1
        parts[3, flat[i + 3]] += 1
        i += 4
    while i < n:
        parts[0, flat[i]] += 1
        i += 1
    return parts[0] + parts[1] + parts[2] + parts[3]


@compiled
def otsu_threshold(hist, total):
    """Otsu's threshold of a 256-bin histogram of ``total`` pixels, computed exactly as
    OpenCV's ``threshold(..., THRESH_OTSU)`` computes it for 8-bit images (the same
    double arithmetic in the same order): the last value of the darker class."""
    scale = 1.0 / total
    mu = 0.0
    for i in range(256):
        mu += i * float(hist[i])
    mu *= scale
    mu1 = 0.0
    q1 = 0.0
    max_sigma = 0.0
    max_val = 0.0
    for i in range(256):
        p_i = hist[i] * scale
        mu1 *= q1
        q1 += p_i
        q2 = 1.0 - q1
        if min(q1, q2) < FLT_EPSILON or max(q1, q2) > 1.0 - FLT_EPSILON:
            continue
        mu1 = (mu1 + i * p_i) / q1
        mu2 = (mu - q1 * mu1) / q2
        sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2)
        if sigma > max_sigma:
            max_sigma = sigma
            max_val = float(i)
    return max_val


@compiled
def contrast_runs(contrast, min_contrast, weak_fraction):
    """The ink of a contrast image (uint8: darkness below the paper) as
    ``hwocr.preprocess._weak_and_strong`` finds it, as runs (see :func:`_scan`).

    Certain ink lies above Otsu's threshold of the contrast, or above ``min_contrast``
    if that is higher; possible ink above ``weak_fraction`` of that. A pixel is above a
    threshold t when it is above floor(t), as OpenCV's ``threshold`` decides it for
    8-bit images. Returns (weak threshold, strong threshold, runs, run_strong,
    row_count, outline), the thresholds 0 and no runs when no pixel reaches
    ``min_contrast``.
    """
    h, w = contrast.shape
    hist = _histogram(contrast)
    top = 255
    while top > 0 and hist[top] == 0:
        top -= 1
    if top < min_contrast:
        runs, run_strong, row_count, outline = _scan(contrast, 255, contrast, 255)
        return 0.0, 0.0, runs, run_strong, row_count, outline
    strong_t = max(otsu_threshold(hist, h * w), float(min_contrast))
    weak_t = strong_t * weak_fraction
    runs, run_strong, row_count, outline = _scan(contrast, math.floor(weak_t), contrast, math.floor(strong_t))
    return weak_t, strong_t, runs, run_strong, row_count, outline


@compiled
def scan_runs(weak, strong):
    """Horizontal runs of the non-zero pixels of ``weak`` (uint8, 2-D), in raster order,
    and which hold a non-zero pixel of ``strong``: see :func:`_scan`."""
    return _scan(weak, 0, strong, 0)


@compiled
def _scan(weak, weak_t, strong, strong_t):
    """Horizontal runs of the pixels of ``weak`` above ``weak_t``, in raster order.

    Returns ``runs`` (R x 3 int32: row, first column, end column), ``run_strong`` (R
    bools: the run holds a pixel of ``strong`` above ``strong_t``), ``row_count`` (ink
    pixels per row, int64) and ``outline``: the number of horizontal plus vertical runs
    of ink (a pixel starts a vertical run where the pixel above it is paper), which
    with the area gives the stroke width.
    """
    h, w = weak.shape
    runs = np.empty((h * ((w + 1) // 2), 3), np.int32)
    run_strong = np.empty(h * ((w + 1) // 2), np.bool_)
    row_count = np.zeros(h, np.int64)
    r = 0
    vertical = 0
    for y in range(h):
        x = 0
        count = 0
        while x < w:
            if weak[y, x] <= weak_t:
                x += 1
                continue
            x0 = x
            s = False
            while x < w and weak[y, x] > weak_t:
                if strong[y, x] > strong_t:
                    s = True
                if y == 0 or weak[y - 1, x] <= weak_t:
                    vertical += 1
                x += 1
            runs[r, 0] = y
            runs[r, 1] = x0
            runs[r, 2] = x
            run_strong[r] = s
            count += x - x0
            r += 1
        row_count[y] = count
    return runs[:r], run_strong[:r], row_count, r + vertical


@compiled
def _root(parent, a):
    r = a
    while parent[r] != r:
        r = parent[r]
    while parent[a] != r:
        nxt = parent[a]
        parent[a] = r
        a = nxt
    return r


@compiled(inline=True)
def _join_runs(runs):
    """Union-find over the runs (raster order): runs of consecutive rows that touch (their
    columns overlap or meet diagonally) are joined; each set's root is its first run.
    Returns the parent of each run."""
    nr = runs.shape[0]
    parent = np.arange(nr)
    p = 0  # first run of the previous row not yet passed
    prev_start = 0
    prev_end = 0
    i = 0
    while i < nr:
        y = runs[i, 0]
        j_end = i
        while j_end < nr and runs[j_end, 0] == y:
            j_end += 1
        if prev_end > prev_start and runs[prev_start, 0] == y - 1:
            p = prev_start
            for j in range(i, j_end):
                b0 = runs[j, 1]
                b1 = runs[j, 2]
                while p < prev_end and runs[p, 2] < b0:
                    p += 1
                q = p
                while q < prev_end and runs[q, 1] <= b1:
                    ra = _root(parent, q)
                    rb = _root(parent, j)
                    if ra < rb:
                        parent[rb] = ra
                    elif rb < ra:
                        parent[ra] = rb
                    q += 1
        prev_start = i
        prev_end = j_end
        i = j_end
    return parent


@compiled
def label_runs(runs, run_strong, h, w):
    """8-connected components of the runs from :func:`scan_runs`, numbered exactly as
    OpenCV's ``connectedComponentsWithStats`` numbers them (label - 1).

    OpenCV scans 2x2 blocks in raster order and numbers a component when it meets its
    first block, so the components are ordered by their first block: the smallest
    ``(row // 2, column // 2)`` among their pixels (a 2x2 block never holds pixels of
    two components, all its pixels being 8-connected).

    Returns ``stats`` (n x 5 int32: x, y, width, height, area, as OpenCV's rows 1..n),
    ``has_strong`` (n bools: the component holds certain ink) and ``run_label`` (the
    component of each run, 0..n-1).
    """
    nr = runs.shape[0]
    parent = _join_runs(runs)
    # Stats per root (the root is the set's first run).
    w2 = (w + 1) // 2
    big = np.int64(1) << 62
    key = np.full(nr, big, np.int64)
    x0 = np.empty(nr, np.int32)
    x1 = np.empty(nr, np.int32)
    y0 = np.empty(nr, np.int32)
    y1 = np.empty(nr, np.int32)
    area = np.zeros(nr, np.int32)
    strong = np.zeros(nr, np.bool_)
    root_of = np.empty(nr, np.int64)
    n = 0
    for k in range(nr):
        rt = _root(parent, k)
        root_of[k] = rt
        y = runs[k, 0]
        a = runs[k, 1]
        b = runs[k, 2]
        if rt == k:
            n += 1
            x0[rt] = a
            x1[rt] = b
            y0[rt] = y
            y1[rt] = y
        else:
            if a < x0[rt]:
                x0[rt] = a
            if b > x1[rt]:
                x1[rt] = b
            if y > y1[rt]:
                y1[rt] = y
        area[rt] += b - a
        if run_strong[k]:
            strong[rt] = True
        kk = (y >> 1) * w2 + (a >> 1)
        if kk < key[rt]:
            key[rt] = kk
    roots = np.empty(n, np.int64)
    m = 0
    for k in range(nr):
        if root_of[k] == k:
            roots[m] = k
            m += 1
    order = stable_order(key[roots])
    stats = np.empty((n, 5), np.int32)
    has_strong = np.empty(n, np.bool_)
    final = np.empty(nr, np.int32)
    for c in range(n):
        rt = roots[order[c]]
        final[rt] = c
        stats[c, 0] = x0[rt]
        stats[c, 1] = y0[rt]
        stats[c, 2] = x1[rt] - x0[rt]
        stats[c, 3] = y1[rt] - y0[rt] + 1
        stats[c, 4] = area[rt]
        has_strong[c] = strong[rt]
    run_label = np.empty(nr, np.int32)
    for k in range(nr):
        run_label[k] = final[root_of[k]]
    return stats, has_strong, run_label


@compiled
def paint_runs(runs, run_label, flags, h, w):
    """0/255 uint8 mask (h x w) of the runs whose component is flagged."""
    out = np.zeros((h, w), np.uint8)
    for k in range(runs.shape[0]):
        if flags[run_label[k]]:
            out[runs[k, 0], runs[k, 1] : runs[k, 2]] = 255
    return out


# --------------------------------------------------------------------------------------
# the component rules of clean_name_image


@compiled
def _row_starts(runs, h):
    """Index of the first run of each row (h + 1 entries; runs are in raster order)."""
    starts = np.empty(h + 1, np.int64)
    k = 0
    nr = runs.shape[0]
    for y in range(h + 1):
        while k < nr and runs[k, 0] < y:
            k += 1
        starts[y] = k
    return starts


@compiled
def _rows_with_ink(runs, run_label, ok, h, c0, c1):
    """Rows holding ink of the ``ok`` components in columns [c0, c1), ascending."""
    has = np.zeros(h, np.bool_)
    for k in range(runs.shape[0]):
        if ok[run_label[k]] and runs[k, 1] < c1 and runs[k, 2] > c0:
            has[runs[k, 0]] = True
    return flags_to_indices(has)


@compiled
def _columns_with_ink(runs, run_label, ok, starts, r0, r1, c1):
    """Columns in [0, c1) holding ink of the ``ok`` components on rows [r0, r1),
    ascending, and the ink pixels there."""
    has = np.zeros(max(c1, 0), np.bool_)
    pixels = 0
    for k in range(starts[r0], starts[r1]):
        if ok[run_label[k]]:
            a = runs[k, 1]
            b = min(runs[k, 2], c1)
            if b > a:
                has[a:b] = True
                pixels += b - a
    return flags_to_indices(has), pixels


@compiled(inline=True)
def _colon_dots(X, W, H, A, ok, w, sw, rules):
    """The components that may be a colon's dot (small, compact, solid, in the left part
    of the image), ordered by their centre, left to right."""
    n = X.size
    max_side = max(MIN_STROKE_RULE_PX, rules.colon_max_dot_size * sw)
    x_limit = w * rules.label_max_x_fraction
    aspect = rules.colon_max_dot_aspect
    cand = np.empty(n, np.int64)
    nc = 0
    for i in range(n):
        cw = W[i]
        ch = H[i]
        a = A[i]
        if (
            ok[i]
            and X[i] < x_limit
            and cw <= max_side
            and ch <= max_side
            and a >= 2
            and (cw <= aspect * ch if cw >= ch else ch <= aspect * cw)
            and 2 * a >= cw * ch
        ):
            cand[nc] = i
            nc += 1
    cand = cand[:nc]
    centre = np.empty(nc, np.int64)
    for k in range(nc):
        centre[k] = 2 * X[cand[k]] + W[cand[k]]
    return cand[stable_order(centre)]


@compiled(inline=True)
def _colon_pairs(cand, X, Y, W, H, A, Y1, rules):
    """Pairs of dots one above the other, alike in size, a dot or two apart: the colons.
    Returns the upper dot, the lower dot and the pair's size (its largest side)."""
    nc = cand.size
    pu = np.empty(nc * (nc - 1) // 2, np.int64)
    pl = np.empty_like(pu)
    ps = np.empty_like(pu)
    npairs = 0
    for ai in range(nc):
        a = cand[ai]
        ca = 2 * X[a] + W[a]
        la = max(W[a], H[a])
        for bi in range(ai + 1, nc):
            b = cand[bi]
            size = max(la, W[b], H[b])
            if 2 * X[b] + W[b] - ca > max(2, size):
                break  # sorted by centre: the rest are further right
            if Y[a] < Y[b]:
                up, lo = a, b
            else:
                up, lo = b, a
            if Y[up] == Y[lo]:
                continue
            tol = max(1, size // 2)
            gap = Y[lo] - Y1[up]
            if (
                abs(W[up] - W[lo]) <= tol
                and abs(H[up] - H[lo]) <= tol
                and A[up] <= 2 * A[lo]
                and A[lo] <= 2 * A[up]
                and gap >= 1
                and 3 * gap >= size
                and gap <= rules.colon_max_gap_dots * size + 1
            ):
                pu[npairs] = up
                pl[npairs] = lo
                ps[npairs] = size
                npairs += 1
    return pu[:npairs], pl[:npairs], ps[:npairs]


@compiled
def _find_colons(X, Y, W, H, A, X1, Y1, ok, runs, run_label, starts, h, w, sw, rules):
    """Printed colons that end a label (see ``hwocr.preprocess``): per colon its right
    end, top, bottom and whether the text before it is a name label. Returns four
    arrays (x1, top, bottom, name_label)."""
    n = X.size
    cand = _colon_dots(X, W, H, A, ok, w, sw, rules)
    if cand.size < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.bool_)
    pu, pl, ps = _colon_pairs(cand, X, Y, W, H, A, Y1, rules)
    npairs = pu.size
    out_x1 = np.empty(npairs, np.int64)
    out_top = np.empty(npairs, np.int64)
    out_bottom = np.empty(npairs, np.int64)
    out_named = np.empty(npairs, np.bool_)
    nf = 0
    for k in range(npairs):
        ia = pu[k]
        ib = pl[k]
        sz = ps[k]
        x0 = min(X[ia], X[ib])
        top = Y[ia]
        bottom = Y1[ib]
        # The right end of the ink left of the colon, on its rows.
        wx1 = -1
        for i in range(n):
            if ok[i] and X1[i] <= x0 and Y1[i] > top and Y[i] < bottom and X1[i] > wx1:
                wx1 = X1[i]
        if wx1 < 0:
            continue
        if x0 - wx1 > 3 * sz + 1:
            continue
        # The word's last letter: the ink in a narrow window right before the colon;
        # its first run of rows (gaps of one row bridged) on the colon's rows.
        rows = _rows_with_ink(runs, run_label, ok, h, max(0, wx1 - 2 * sz), wx1)
        r0 = -1
        r1 = -1
        s = 0
        while s < rows.size:
            e = s
            while e + 1 < rows.size and rows[e + 1] - rows[e] <= 1:
                e += 1
            if rows[s] < bottom and rows[e] + 1 > top:
                r0 = rows[s]
                r1 = rows[e] + 1
                break
            s = e + 1
        if r0 < 0:
            continue
        if abs(r1 - bottom) > max(1, sz // 2):
            continue
        if not (rules.label_letter_min_dots * sz <= r1 - r0 <= rules.label_letter_max_dots * sz + 1):
            continue
        # How far the printed text runs left of the colon.
        xs, _ = _columns_with_ink(runs, run_label, ok, starts, r0, r1, wx1)
        start = xs[0]
        for t in range(xs.size - 1, 0, -1):
            if xs[t] - xs[t - 1] > 2 * sz + 1:
                start = xs[t]
                break
        # A caption cut by the image edge belongs to a neighbouring row of the form.
        is_name = (wx1 - start) <= rules.label_max_word_heights * (r1 - r0) and r0 > 0 and r1 < h
        out_x1[nf] = max(X1[ia], X1[ib])
        out_top[nf] = top
        out_bottom[nf] = bottom
        out_named[nf] = is_name
        nf += 1
    return out_x1[:nf], out_top[:nf], out_bottom[:nf], out_named[:nf]


@compiled
def _looks_printed(runs, run_label, ok, starts, y0, y1, w, rules):
    """Printed text is packed: letters one or two pixels apart and heavy for their size."""
    xs, pixels = _columns_with_ink(runs, run_label, ok, starts, y0, y1, w)
    if xs.size < 4:
        return False
    height = y1 - y0
    if pixels < rules.printed_min_density * height * xs.size:
        return False
    gaps = np.empty(xs.size - 1, np.int64)
    m = 0
    for t in range(xs.size - 1):
        if xs[t + 1] - xs[t] > 1:
            gaps[m] = xs[t + 1] - xs[t] - 1
            m += 1
    if m < 2:
        return False
    gaps = gaps[:m][stable_order(gaps[:m])]
    median = 0.5 * (gaps[(gaps.size - 1) // 2] + gaps[gaps.size // 2])
    return median <= max(MIN_BAND_RULE_PX, rules.printed_max_gap * height)


@compiled
def _dominant_band(weights, runs, run_label, ok, starts, h, w, rsw, label_top, label_bottom, rules):
    """The band of rows most likely to hold the name (see ``hwocr.preprocess``), from
    the voters' ink per row ``weights``; (0, 0) when no row has any."""
    min_gap = max(1, rsw)
    most = 0
    for y in range(weights.size):
        if weights[y] > most:
            most = weights[y]
    floor = rules.band_valley_fraction * most
    b0 = np.empty(weights.size, np.int64)
    b1 = np.empty(weights.size, np.int64)
    nb = 0
    start = -1
    last = -1
    for y in range(weights.size):
        if weights[y] > floor:
            if start < 0:
                start = y
            elif y - last > min_gap:
                b0[nb] = start
                b1[nb] = last + 1
                nb += 1
                start = y
            last = y
    if start >= 0:
        b0[nb] = start
        b1[nb] = last + 1
        nb += 1
    if nb == 0:
        return 0, 0
    if nb == 1:
        return b0[0], b1[0]
    cum = np.zeros(weights.size + 1, np.int64)
    for y in range(weights.size):
        cum[y + 1] = cum[y] + weights[y]
    score = np.empty(nb)
    labelled = np.zeros(nb, np.bool_)
    looked = np.zeros(nb, np.bool_)
    for k in range(nb):
        y0 = b0[k]
        y1 = b1[k]
        off = ((y0 + y1) / 2.0 - h / 2.0) / max(h * rules.band_centre_sigma, 1.0)
        sc = float(cum[y1] - cum[y0]) * math.exp(-0.5 * off * off)
        if y0 == 0 or y1 == h:
            sc *= rules.band_edge_penalty
        for t in range(label_top.size):
            if label_top[t] < y1 and label_bottom[t] > y0:
                labelled[k] = True
                break
        if labelled[k]:
            sc *= rules.band_label_boost
        score[k] = sc
    # Printed-looking bands lose weight; only the leader needs the look.
    while True:
        best = 0
        for k in range(1, nb):
            if score[k] > score[best]:
                best = k
        if labelled[best] or looked[best]:
            return b0[best], b1[best]
        looked[best] = True
        if not _looks_printed(runs, run_label, ok, starts, b0[best], b1[best], w, rules):
            return b0[best], b1[best]
        score[best] *= rules.band_printed_penalty


@compiled
def _overlap(X, X1, i, a, pad):
    """Component a's columns, widened by pad, overlap component i's."""
    return X[a] - pad < X1[i] and X1[a] + pad > X[i]


@compiled
def select_components(stats, keep, runs, run_label, h, w, sw, rsw, rules):
    """Steps 2 to 6 of :func:`hwocr.preprocess.clean_name_image`: which components are
    the handwritten name, and why the others are not.

    ``stats``: the components (x, y, width, height, area rows); ``keep``: those holding
    certain ink (changed in place to those kept); ``sw``: the stroke width and ``rsw``
    its rounding; ``rules``: :class:`CleanRules`. Returns the removed components in the
    order they were removed and their kinds (``LABEL`` ...), and the 0/255 mask of the
    kept ink. Each step removes what it finds (:func:`_remove`) before the next looks.
    """
    n = stats.shape[0]
    X = stats[:, 0].astype(np.int64)
    Y = stats[:, 1].astype(np.int64)
    W = stats[:, 2].astype(np.int64)
    H = stats[:, 3].astype(np.int64)
    A = stats[:, 4].astype(np.int64)
    comps = (X, Y, W, H, A, X + W, Y + H)
    speck_max_area = rules.speck_max_area
    removed = np.empty(n, np.int64)
    kinds = np.empty(n, np.int8)
    big_area = max(speck_max_area, rules.band_voter_min_area_strokes * sw * sw)
    pad = max(2, rsw)  # how near a dot or an accent lies to its letter, sideways

    y0, y1, cx1, ctop, cbottom, cnamed = _handwriting_band(comps, keep, runs, run_label, h, w, sw, rsw, big_area, rules)
    band_h = max(1, y1 - y0)
    nrem = _remove_label(comps, keep, cx1, ctop, cbottom, cnamed, y0, y1, removed, kinds, 0)
    nrem = _remove_outside_band(comps, keep, y0, y1, band_h, h, pad, removed, kinds, nrem, rules)
    nrem = _remove_beyond_core(comps, keep, band_h, h, big_area, pad, removed, kinds, nrem, rules)
    nrem = _remove_specks(comps, keep, band_h, sw, removed, kinds, nrem, rules)
    nrem = _remove_standing_apart(comps, keep, band_h, h, sw, removed, kinds, nrem, rules)
    return removed[:nrem], kinds[:nrem], paint_runs(runs, run_label, keep, h, w)


@compiled(inline=True)
def _remove(i, kind, keep, removed, kinds, nrem):
    """Record component i as removed for ``kind`` (the ``nrem``-th removal), drop it
    from ``keep``; returns the new count of removals."""
    removed[nrem] = i
    kinds[nrem] = kind
    keep[i] = False
    return nrem + 1


@compiled(inline=True)
def _handwriting_band(comps, keep, runs, run_label, h, w, sw, rsw, big_area, rules):
    """2. The band of rows holding the name, voted by the big components (the inner
    ones, unless those hold too little of their ink), and the printed colons found on
    the way (see :func:`_find_colons`). Returns (y0, y1, and the colons' x1, top,
    bottom, name label)."""
    X, Y, W, H, A, X1, Y1 = comps
    n = X.size
    starts = _row_starts(runs, h)
    ink = keep.copy()  # the ink the colons and the band are looked for in
    big = np.zeros(n, np.bool_)
    inner = np.zeros(n, np.bool_)
    big_sum = 0
    inner_area = 0
    n_inner = 0
    n_big = 0
    for i in range(n):
        if keep[i] and A[i] >= big_area:
            big[i] = True
            n_big += 1
            big_sum += A[i]
            if Y[i] > 0 and Y1[i] < h:
                inner[i] = True
                n_inner += 1
                inner_area += A[i]
    if inner_area and inner_area >= rules.band_inner_min_share * big_sum:
        voters = inner
        n_voters = n_inner
    else:
        voters = big
        n_voters = n_big
    if n_voters == 0:
        voters = ink
    weights = np.zeros(h, np.int64)
    for k in range(runs.shape[0]):
        if voters[run_label[k]]:
            weights[runs[k, 0]] += runs[k, 2] - runs[k, 1]
    cx1, ctop, cbottom, cnamed = _find_colons(X, Y, W, H, A, X1, Y1, ink, runs, run_label, starts, h, w, sw, rules)
    named = flags_to_indices(cnamed)
    y0, y1 = _dominant_band(weights, runs, run_label, ink, starts, h, w, rsw, ctop[named], cbottom[named], rules)
    return y0, y1, cx1, ctop, cbottom, cnamed


@compiled(inline=True)
def _remove_label(comps, keep, cx1, ctop, cbottom, cnamed, y0, y1, removed, kinds, nrem):
    """3. The printed label: the leftmost colon on the band's rows (a name label's, if
    any), and everything left of it."""
    X, W = comps[0], comps[2]
    n = X.size
    label_x1 = -1
    any_named = False
    for k in range(cx1.size):
        if cbottom[k] > y0 and ctop[k] < y1 and cnamed[k]:
            any_named = True
    for k in range(cx1.size):
        in_band = cbottom[k] > y0 and ctop[k] < y1
        if in_band and (cnamed[k] or not any_named) and (label_x1 < 0 or cx1[k] < label_x1):
            label_x1 = cx1[k]
    if label_x1 >= 0:
        label_end = 2 * (label_x1 + 1)
        for i in range(n):
            if keep[i] and 2 * X[i] + W[i] < label_end:
                nrem = _remove(i, LABEL, keep, removed, kinds, nrem)
    return nrem


@compiled(inline=True)
def _remove_outside_band(comps, keep, y0, y1, band_h, h, pad, removed, kinds, nrem, rules):
    """4. Components outside the band (less than half on its rows), except dots and
    accents right above a letter."""
    X, Y, W, H, A, X1, Y1 = comps
    n = X.size
    speck_max_area = rules.speck_max_area
    inside = np.empty(n, np.bool_)
    small = np.empty(n, np.bool_)
    small_h = rules.accent_max_band * band_h
    small_w = rules.accent_max_width_band * band_h
    for i in range(n):
        inside[i] = 2 * (min(Y1[i], y1) - max(Y[i], y0)) >= H[i]
        small[i] = H[i] <= small_h and W[i] <= small_w
    accent_top = y0 - rules.accent_max_band * band_h
    anchors = np.empty(n, np.int64)
    na = 0
    for i in range(n):
        if keep[i] and inside[i] and not small[i]:
            anchors[na] = i
            na += 1
    near = np.empty(n, np.int64)
    nn = 0
    for i in range(n):
        if keep[i] and small[i] and not inside[i] and Y[i] > 0 and Y1[i] >= accent_top and Y[i] <= y1:
            near[nn] = i
            nn += 1
    for t in range(nn):
        i = near[t]
        for s in range(na):
            if _overlap(X, X1, i, anchors[s], pad):
                inside[i] = True
                break
    for i in range(n):
        if keep[i] and not inside[i]:
            nrem = _remove(i, _auto_kind(Y[i], Y1[i], A[i], h, speck_max_area), keep, removed, kinds, nrem)
    return nrem


@compiled(inline=True)
def _remove_beyond_core(comps, keep, band_h, h, big_area, pad, removed, kinds, nrem, rules):
    """4b. What lies clearly above the typical letter's top or below its bottom (or is
    cut by the image edge just beyond them), except dots and accents."""
    X, Y, W, H, A, X1, Y1 = comps
    n = X.size
    speck_max_area = rules.speck_max_area
    letters = np.empty(n, np.int64)
    nl = 0
    for i in range(n):
        if keep[i] and A[i] >= big_area and H[i] * 3 >= band_h:
            letters[nl] = i
            nl += 1
    if nl >= 3:
        letters = letters[:nl]
        core_top = median_of(Y[letters])
        core_bottom = median_of(Y1[letters])
        core_h = max(1.0, core_bottom - core_top)
        tol = max(1.0, rules.core_margin * core_h)
        gap = max(MIN_BAND_RULE_PX, rules.core_gap * core_h)
        anchors = np.empty(n, np.int64)
        na = 0
        for t in range(nl):
            i = letters[t]
            if Y[i] < core_bottom and Y1[i] > core_top:
                anchors[na] = i
                na += 1
        above_y, above_tol = core_top - gap, core_top + tol
        below_y, below_tol = core_bottom + gap, core_bottom - tol
        for i in range(n):
            if not keep[i]:
                continue
            t = Y[i]
            b = Y1[i]
            above = b < above_y or (t == 0 and b <= above_tol)
            below = t > below_y or (b == h and t >= below_tol)
            if not (above or below):
                continue
            accent_size = (
                H[i] <= rules.accent_max_band * rules.accent_core_scale * core_h
                and W[i] <= rules.accent_max_width_core * core_h
            )
            if above and accent_size and b >= core_top - core_h:
                accent = False
                for s in range(na):
                    if _overlap(X, X1, i, anchors[s], pad):
                        accent = True
                        break
                if accent:
                    continue  # a dot or an accent over its letter
            nrem = _remove(i, _auto_kind(t, b, A[i], h, speck_max_area), keep, removed, kinds, nrem)
    return nrem


@compiled(inline=True)
def _remove_specks(comps, keep, band_h, sw, removed, kinds, nrem, rules):
    """5. Specks inside the band: tiny, compact and far from any stroke."""
    X, Y, W, H, A, X1, Y1 = comps
    n = X.size
    speck_max_area = rules.speck_max_area
    tiny_area = max(speck_max_area, sw * sw * rules.speck_max_area_strokes)
    tiny_side = max(MIN_BAND_RULE_PX, rules.speck_max_side_band * band_h)
    tiny = np.zeros(n, np.bool_)
    n_tiny = 0
    for i in range(n):
        if keep[i] and A[i] <= tiny_area and max(W[i], H[i]) <= tiny_side:
            tiny[i] = True
            n_tiny += 1
    if n_tiny:
        reach = max(MIN_BAND_RULE_PX, rules.speck_reach_band * band_h)
        lone = np.empty(n_tiny, np.int64)
        nlone = 0
        for i in range(n):
            if not tiny[i]:
                continue
            near_stroke = False
            for j in range(n):
                if (
                    keep[j]
                    and not tiny[j]
                    and max(0, X[j] - X1[i], X[i] - X1[j]) <= reach * rules.speck_reach_x_share
                    and max(0, Y[j] - Y1[i], Y[i] - Y1[j]) <= reach
                ):
                    near_stroke = True
                    break
            if not near_stroke:
                lone[nlone] = i
                nlone += 1
        for t in range(nlone):
            i = lone[t]
            nrem = _remove(i, SPECK, keep, removed, kinds, nrem)
    return nrem


@compiled(inline=True)
def _remove_standing_apart(comps, keep, band_h, h, sw, removed, kinds, nrem, rules):
    """6. Things standing apart at either end of the name: vertical form lines (tall,
    thin, straight) and blots (short)."""
    X, Y, W, H, A, X1, Y1 = comps
    kept = flags_to_indices(keep)
    order = kept[stable_order(X[kept])]
    lo = 0
    hi = order.size  # order[lo:hi] is what is left
    if hi - lo >= 2:
        min_gap = rules.vline_min_gap_band * band_h
        while hi - lo >= 2:
            left = order[lo]
            right = order[hi - 1]
            if X[order[lo + 1]] - X1[left] >= min_gap:
                kind = _stands_apart(left, X, Y, W, H, A, Y1, h, band_h, sw, rules)
                if kind >= 0:
                    nrem = _remove(left, kind, keep, removed, kinds, nrem)
                    lo += 1
                    continue
            reach_x1 = X1[order[lo]]
            for t in range(lo + 1, hi - 1):
                if X1[order[t]] > reach_x1:
                    reach_x1 = X1[order[t]]
            if X[right] - reach_x1 >= min_gap:
                kind = _stands_apart(right, X, Y, W, H, A, Y1, h, band_h, sw, rules)
                if kind >= 0:
                    nrem = _remove(right, kind, keep, removed, kinds, nrem)
                    hi -= 1
                    continue
            break
    return nrem


@compiled
def clean_components(runs, run_strong, h, w, sw, rsw, max_components, rule_values):
    """The components of the runs (:func:`label_runs`) and the choice among them
    (:func:`select_components`), in one call.

    Returns a status (0: done; 1: more than ``max_components`` components, nothing kept;
    2: no component holds certain ink), the removed components in the order they were
    removed as rows of (kind, x0, y0, x1, y1), and the 0/255 mask of the kept ink.
    ``rule_values``: :func:`clean_rules`.
    """
    stats, keep, run_label = label_runs(runs, run_strong, h, w)
    n = stats.shape[0]
    none = np.empty((0, 5), np.int64)
    if n > max_components:
        return 1, none, np.zeros((h, w), np.uint8)
    if not flags_to_indices(keep).size:
        return 2, none, np.zeros((h, w), np.uint8)
    which, kinds, ink = select_components(stats, keep, runs, run_label, h, w, sw, rsw, CleanRules(*rule_values))
    out = np.empty((which.size, 5), np.int64)
    for t in range(which.size):
        i = which[t]
        out[t, 0] = kinds[t]
        out[t, 1] = stats[i, 0]
        out[t, 2] = stats[i, 1]
        out[t, 3] = stats[i, 0] + stats[i, 2]
        out[t, 4] = stats[i, 1] + stats[i, 3]
    return 0, out, ink


@compiled
def _auto_kind(top, bottom, area, h, speck_max_area):
    """A removed component's kind by its place and size: a border fragment, a speck or
    other text."""
    if top == 0 or bottom == h:
        return BORDER
    return SPECK if area <= speck_max_area else OTHER_TEXT


@compiled
def _stands_apart(end, X, Y, W, H, A, Y1, h, band_h, sw, rules):
    """The kind of a component standing apart at an end of the name: LINE for a tall,
    thin, straight stroke, SPECK for a short blot, -1 for anything else."""
    tall = H[end] >= rules.vline_min_band * band_h or (Y[end] == 0 and Y1[end] == h)
    thin = W[end] <= max(MIN_STROKE_RULE_PX, rules.vline_max_width_strokes * sw)
    straight = A[end] >= rules.vline_min_fill * W[end] * H[end]
    if tall and thin and straight:
        return LINE
    if H[end] <= rules.blot_max_band * band_h and W[end] <= rules.blot_max_band * band_h:
        return SPECK
    return -1
