"""Compiled kernels (numba) behind :func:`hwocr.align.align`: the pieces' layout, the
cost of the one-piece-per-letter answer, and the dynamic programme over letter
boundaries.

The rules are documented in :mod:`hwocr.align`, which calls these kernels; each
computes exactly what the array code it replaced did (the same floating-point
operations in the same order), so that results are bit for bit the same. Their numbers
come from :class:`hwocr.config.Defaults` as an :class:`AlignRules` (:func:`align_rules`).

Importing this module imports numba and loads the compiled code (see
:mod:`hwocr.kernel_tools`): the caller imports it lazily.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from hwocr.kernel_tools import compiled, flags_to_indices, median_of, rules_from


class AlignRules(NamedTuple):
    """The numbers of the alignment rules, as floats, each named as its field of
    :class:`hwocr.config.Defaults` (where it is explained)."""

    dash_max_height: float
    dash_min_width: float
    dash_max_width: float
    dash_centre_below_top: float
    dash_centre_above_bottom: float
    align_min_height: float
    align_height_spread: float
    align_max_aspect: float
    align_aspect_spread: float
    align_aspect_min_height: float
    align_min_letter_strokes: float
    align_little_ink_cost: float
    align_separator_cost: float
    align_narrow_gap: float
    align_narrow_gap_cost: float


def align_rules(defaults) -> tuple[float, ...]:
    """``defaults``' alignment rules, as :func:`layout_and_identity` and
    :func:`solve_boundaries` take them (the values of an :class:`AlignRules`; made once
    per table)."""
    return rules_from(AlignRules, defaults)


# --------------------------------------------------------------------------------------
# alignment: the pieces, and the one-piece-per-letter answer


@compiled
def piece_layout(pieces, col, rules):
    """What :func:`hwocr.align._align` first needs of the pieces (k x 4 int64 boxes, in
    the image) and the ink per column ``col`` (int64): each piece's ink, the writing's
    height, top and bottom (medians over the pieces holding at least 30 % of the
    biggest one's ink), and which pieces are drawn hyphens (small flat strokes around
    mid-height; none when every piece would be one)."""
    k = pieces.shape[0]
    cum = np.cumsum(col)
    inks = np.empty(k, np.int64)
    most = 0
    for i in range(k):
        a0 = pieces[i, 0]
        a1 = pieces[i, 2]
        inks[i] = cum[a1 - 1] - (cum[a0 - 1] if a0 else 0)
        if i == 0 or inks[i] > most:
            most = inks[i]
    hs = np.empty(k, np.int64)
    ts = np.empty(k, np.int64)
    bs = np.empty(k, np.int64)
    m = 0
    for i in range(k):
        if inks[i] * 10 >= 3 * most:
            hs[m] = pieces[i, 3] - pieces[i, 1]
            ts[m] = pieces[i, 1]
            bs[m] = pieces[i, 3]
            m += 1
    text_h = median_of(hs[:m])
    top = median_of(ts[:m])
    bottom = median_of(bs[:m])
    lo = top + rules.dash_centre_below_top * (bottom - top)
    hi = bottom - rules.dash_centre_above_bottom * (bottom - top)
    dash_h = rules.dash_max_height * text_h
    dash_w0 = rules.dash_min_width * text_h
    dash_w1 = rules.dash_max_width * text_h
    dash = np.empty(k, np.bool_)
    n_dash = 0
    for i in range(k):
        a0, b0, a1, b1 = pieces[i, 0], pieces[i, 1], pieces[i, 2], pieces[i, 3]
        dash[i] = (
            (b1 - b0) <= dash_h
            and (a1 - a0) * 5 >= (b1 - b0) * 6
            and dash_w0 <= (a1 - a0) <= dash_w1
            and lo < (b0 + b1) / 2.0 < hi
        )
        if dash[i]:
            n_dash += 1
    if n_dash == k:
        dash[:] = False
    return inks, text_h, dash


@compiled
def layout_and_identity(pieces, col, letters, rule_values, two):
    """:func:`piece_layout`, then, when the pieces left after the hyphens are as many as
    the letters, :func:`identity_costs` of that one-piece-per-letter answer (else no
    costs). ``letters``: per letter :func:`hwocr.align._letter_table`'s row (prior,
    log width, two modes); ``rule_values``: :func:`align_rules`; ``two``: 2.0 (see
    :func:`identity_costs`)."""
    rules = AlignRules(*rule_values)
    inks, text_h, dash = piece_layout(pieces, col, rules)
    kept = pieces[flags_to_indices(~dash)]
    if kept.shape[0] != letters.shape[0]:
        return inks, text_h, dash, np.empty(0)
    min_h = rules.align_min_height * text_h
    costs = identity_costs(kept, letters[:, :4], letters[:, 4], letters[:, 5], min_h, rules.align_height_spread, two)
    return inks, text_h, dash, costs


@compiled
def identity_costs(pieces, prior, log_width, narrow, min_h, height_spread, two):
    """Each letter's cost when piece k is letter k (pieces k x 4, one per letter): its
    width against the letter's two width modes at the writer's scale (the median of
    the letters' log width ratios, over letters with a single mode unless all have
    two), plus its height below ``min_h`` (log, in units of ``height_spread``). ``prior``: per letter (mean log width,
    spread) of each mode; ``log_width``: the log of its median width ratio;
    ``narrow``: it has two modes; ``two``: 2.0 (squares as Python's ``x ** 2``, libm's
    pow, not a multiplication)."""
    n = pieces.shape[0]
    log_kw = np.empty(n)
    rel = np.empty(n)
    m = 0
    for i in range(n):
        log_kw[i] = math.log(max(pieces[i, 2] - pieces[i, 0], 1))
        if not narrow[i]:
            rel[m] = log_kw[i] - log_width[i]
            m += 1
    log_scale = median_of(rel[:m]) if m else median_of(log_kw)
    costs = np.empty(n)
    for i in range(n):
        lw = log_kw[i] - log_scale
        z = min(abs(lw - prior[i, 0]) / prior[i, 1], abs(lw - prior[i, 2]) / prior[i, 3])
        low = math.log(max(pieces[i, 3] - pieces[i, 1], 1.0) / min_h)
        costs[i] = 0.5 * z * z + (0.5 * math.pow(low / height_spread, two) if low < 0 else 0.0)
    return costs


# --------------------------------------------------------------------------------------
# alignment: the dynamic programme over letter boundaries

_GAP, _CUT, _END = 1, 2, 3  # boundary kinds, as hwocr.align's _GAP, _CUT, _END
#: The cost of what cannot be (a letter closing at the wrong boundary, an invalid span).
_INF = 1e18


@compiled
def solve_boundaries(start, end, kind, cost, skip, gap_width, next_ink, prev_ink, top_ext, bottom_ext, cum_ink,
                     h, w, prior, seps, log_scale, text_h, sw, rule_values):
    """The dynamic programme of :func:`hwocr.align._solve`, given the boundaries (start,
    end, kind, cost, skip, width: see ``hwocr.align._boundaries``) and the column tables
    of ``hwocr.align._columns``.

    Letter k spanning boundaries i to j costs its width against the letter's prior
    (``prior``: per letter mean log width and spread of two modes), its height below
    ``align_min_height`` of the writing's, its being much wider than tall, holding too
    little ink, the gaps it merges (``skip``) and the price of the boundary closing it
    (the numbers: ``rule_values``, from :func:`align_rules`). Two programmes run at
    once: F1 keeps to one piece per letter, F2 has deviated at least once; with more or
    fewer pieces than letters only F2 runs.

    Returns (chosen boundary indices, cost per letter, width per letter, margin between
    the two programmes' best answers, inf when one has none), or an empty ``chosen``
    when the letters cannot be placed. Every cost is computed with the same operations
    in the same order as the array code it replaced.
    """
    rules = AlignRules(*rule_values)
    n = prior.shape[0]
    B = start.size
    W, valid, cell_top, cell_bottom = _spans(start, end, next_ink, prev_ink, top_ext, bottom_ext, w)
    cut_close, sep_close = _closing_costs(kind, cost, gap_width, log_scale, rules)
    LC = _letter_costs(start, end, kind, skip, cum_ink, W, valid, cell_top, cell_bottom, cut_close, sep_close,
                       h, w, prior, seps, log_scale, text_h, sw, rules)
    chosen, best1, best2 = _two_programmes(LC, kind, n, B)
    costs = np.empty(n)
    widths = np.empty(n)
    if not chosen.size:
        return chosen, costs, widths, 0.0
    for k in range(n):
        costs[k] = LC[k, chosen[k], chosen[k + 1]]
        widths[k] = W[chosen[k], chosen[k + 1]]
    margin = abs(best2 - best1) if max(best1, best2) < _INF / 2 else np.inf
    return chosen, costs, widths, margin


@compiled(inline=True)
def _spans(start, end, next_ink, prev_ink, top_ext, bottom_ext, w):
    """Per pair of boundaries (i, j), the letter between them: its width from its first
    to its last ink column (``W``) and whether it can be a letter (``valid``); per cell
    between consecutive boundaries, its first and last ink row."""
    B = start.size
    # Letter spans: first and last ink column, width, validity.
    first = np.empty(B, np.int64)
    last = np.empty(B, np.int64)
    for i in range(B):
        first[i] = next_ink[min(start[i], w - 1)]
        last[i] = prev_ink[max(end[i], 1) - 1]
    W = np.empty((B, B))
    valid = np.zeros((B, B), np.bool_)
    for i in range(B):
        for j in range(B):
            W[i, j] = float(last[j]) - first[i] + 1.0
            valid[i, j] = j > i and end[j] > start[i] and W[i, j] > 0 and j != 0 and i != B - 1
    # Rows: min/max over the cells between consecutive boundaries, accumulated.
    cell_top = np.empty(max(B - 1, 0), np.int64)
    cell_bottom = np.empty(max(B - 1, 0), np.int64)
    for c in range(B - 1):
        a = min(start[c], w - 1)
        b = max(end[c + 1], a + 1)
        t = top_ext[a]
        u = bottom_ext[a]
        for x in range(a + 1, b):
            if top_ext[x] < t:
                t = top_ext[x]
            if bottom_ext[x] > u:
                u = bottom_ext[x]
        cell_top[c] = t
        cell_bottom[c] = u
    return W, valid, cell_top, cell_bottom


@compiled(inline=True)
def _closing_costs(kind, cost, gap_width, log_scale, rules):
    """The price of boundary j closing a letter: a cut's price (``cut_close``), and that
    of a letter followed by a space or hyphen of the transcription, which wants a real
    gap there (``sep_close``)."""
    B = kind.size
    separator_cost = rules.align_separator_cost
    narrow_limit = rules.align_narrow_gap * math.exp(log_scale)
    cut_close = np.empty(B)
    sep_close = np.empty(B)
    for j in range(B):
        is_cut = kind[j] == _CUT
        cut_close[j] = cost[j] if is_cut else 0.0
        narrow_gap = kind[j] == _GAP and gap_width[j] < narrow_limit
        sep_close[j] = (
            cut_close[j]
            + (separator_cost if is_cut else 0.0)
            + (rules.align_narrow_gap_cost * separator_cost if narrow_gap else 0.0)
        )
    return cut_close, sep_close


@compiled(inline=True)
def _letter_costs(start, end, kind, skip, cum_ink, W, valid, cell_top, cell_bottom, cut_close, sep_close,
                  h, w, prior, seps, log_scale, text_h, sw, rules):
    """``LC[k, i, j]``: the cost of letter k spanning boundaries i to j (inf where it
    cannot): its width against its prior, its height, its aspect, its ink, the gaps it
    merges and the boundary closing it (only the last letter may close at the end)."""
    n = prior.shape[0]
    B = start.size
    cum_skip = np.zeros(B + 1)
    for i in range(B):
        cum_skip[i + 1] = cum_skip[i] + skip[i]
    ink_limit = rules.align_min_letter_strokes * sw * text_h * 0.5  # strokes of half the writing's height
    min_h = rules.align_min_height * text_h
    height_spread = rules.align_height_spread
    aspect_spread = rules.align_aspect_spread
    log_max_aspect = math.log(rules.align_max_aspect)
    LC = np.full((n, B, B), _INF)
    for i in range(B):
        top = h
        bottom = -1
        for j in range(i + 1, B):
            # cells i .. j - 1
            if cell_top[j - 1] < top:
                top = cell_top[j - 1]
            if cell_bottom[j - 1] > bottom:
                bottom = cell_bottom[j - 1]
            if not valid[i, j]:
                continue
            log_w = math.log(max(W[i, j], 1.0))
            Hs = max(float(bottom - top + 1), 1.0)
            merge = max(cum_skip[j] - cum_skip[min(i + 1, B)], 0.0)
            low = math.log(max(Hs, 1.0) / min_h)
            shared = merge + (0.5 * ((low / height_spread) * (low / height_spread)) if low < 0 else 0.0)
            # Whatever the writer's scale, a capital is rarely much wider than it is tall: a
            # box that is, holds two letters (this keeps the scale from following a bad answer).
            wide = max(log_w - math.log(max(Hs, rules.align_aspect_min_height * text_h)) - log_max_aspect, 0.0)
            shared = shared + 0.5 * ((wide / aspect_spread) * (wide / aspect_spread))
            ink = cum_ink[min(end[j], w)] - cum_ink[min(max(start[i], 0), w)]
            shared = shared + (rules.align_little_ink_cost if ink < ink_limit else 0.0)
            rel = log_w - log_scale
            for k in range(n):
                z1 = (rel - prior[k, 0]) / prior[k, 1]
                z2 = (rel - prior[k, 2]) / prior[k, 3]
                zz = min(z1 * z1, z2 * z2)
                if k == n - 1:
                    close = 0.0 if kind[j] == _END else _INF
                elif kind[j] == _END:
                    close = _INF
                else:
                    close = sep_close[j] if seps[k] else cut_close[j]
                LC[k, i, j] = 0.5 * zz + shared + close
    return LC


@compiled(inline=True)
def _two_programmes(LC, kind, n, B):
    """The cheapest boundaries for the n letters, by two programmes at once: F1 keeps to
    one piece per letter, F2 has deviated at least once (with more or fewer pieces than
    letters only F2 runs). Returns (the chosen boundary indices of the better answer,
    empty when none; F1's and F2's best costs)."""
    cum_gap = np.zeros(B + 1, np.int64)
    for i in range(B):
        cum_gap[i + 1] = cum_gap[i] + (1 if kind[i] == _GAP else 0)
    piece_edges = 0
    for j in range(B):
        if kind[j] != _CUT:
            piece_edges += 1
    two = piece_edges - 1 == n
    F1 = np.full(B, _INF)
    F2 = np.full(B, _INF)
    if two:
        F1[0] = 0.0
    else:
        F2[0] = 0.0
    back1 = np.zeros((n + 1, B), np.int64)
    back2 = np.zeros((n + 1, B), np.int64)
    from2 = np.zeros((n + 1, B), np.bool_)
    new1 = np.empty(B)
    new2 = np.empty(B)
    for k in range(n):
        for j in range(B):
            # Each argmin is the first index of the minimum, as numpy's.
            a_dev = 0
            v_dev = F2[0] + LC[k, 0, j]
            for i in range(1, B):
                v = F2[i] + LC[k, i, j]
                if v < v_dev:
                    v_dev = v
                    a_dev = i
            if two:
                a1 = 0
                a_leave = 0
                v1 = np.inf
                v_leave = np.inf
                for i in range(B):
                    one_piece = kind[i] != _CUT and kind[j] != _CUT and cum_gap[j] - cum_gap[min(i + 1, B)] == 0
                    v_stay = F1[i] + (LC[k, i, j] if one_piece else _INF)
                    v_lv = F1[i] + (_INF if one_piece else LC[k, i, j])
                    if i == 0 or v_stay < v1:
                        v1 = v_stay
                        a1 = i
                    if i == 0 or v_lv < v_leave:
                        v_leave = v_lv
                        a_leave = i
                new1[j] = v1
                back1[k + 1, j] = a1
                if v_leave < v_dev:
                    new2[j] = v_leave
                    back2[k + 1, j] = a_leave
                    from2[k + 1, j] = True
                else:
                    new2[j] = v_dev
                    back2[k + 1, j] = a_dev
            else:
                new2[j] = v_dev
                back2[k + 1, j] = a_dev
        if two:
            F1[:] = new1
        F2[:] = new2
    best1 = F1[B - 1]
    best2 = F2[B - 1]
    chosen = np.empty(n + 1, np.int64)
    if min(best1, best2) >= _INF / 2:
        return chosen[:0], best1, best2
    # Backtrack the better of the two.
    in2 = best2 < best1
    chosen[n] = B - 1
    for k in range(n, 0, -1):
        j = chosen[k]
        if in2:
            chosen[k - 1] = back2[k, j]
            in2 = not from2[k, j]
        else:
            chosen[k - 1] = back1[k, j]
    return chosen, best1, best2
