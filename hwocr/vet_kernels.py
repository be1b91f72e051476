"""Compiled kernels (numba) behind the cheap glyphs of :func:`hwocr.vet.screen_glyphs`
(crops of a name image) and of :func:`hwocr.lattice.compiled_segment_glyphs` (the
candidate segments of guided repair's lattice: :func:`segment_glyphs`, the same last
steps on the line's ink strength instead of a crop's own ink map).

Model vetting reads every crop of every auto-accepted name. The exact model input
(:func:`hwocr.glyph.render_glyph`, what training saw) costs about a quarter of a
millisecond a crop, most of it the Python and OpenCV call overhead of a dozen steps on
an image of a few hundred pixels. This kernel makes a close copy of that glyph for all
the crops of a chunk of names in one call, at a few tens of µs a crop, so that only the
crops the model finds doubtful on the copy need the exact path (:mod:`hwocr.vet`).

The steps are render_glyph's (see :mod:`hwocr.glyph`), with its rules and thresholds:
the ink difference (closing of the crop padded with paper) bit for bit; the blur,
Otsu's threshold, the speck rule and the soft ink map as OpenCV computes them, give or
take rounding; then the upsampling, stroke measure and normalisation and the final fit
**at ``sub`` times the output resolution instead of 4** (``DEFAULTS.vet_screen_resolution``,
1.5), which is most of the saving, and in plain loops (a 5x5 chamfer distance in
OpenCV's fixed point, bilinear and area resizing, elliptic elements from OpenCV's own
shapes). A copy therefore differs from the exact glyph at the edges of strokes, and
sometimes more where the stroke rule is on the edge of dilating or eroding; nothing is
decided on a copy: :mod:`hwocr.vet` sends every crop whose copy the model reads with
doubt to the exact path, and only the exact path disputes a crop.

A crop that :func:`hwocr.images.ensure_dark_ink` might invert (most of its frame dark),
one bigger than render_glyph's work side, or one whose ink would have to be enlarged in
the last step gets no copy (:data:`UNHANDLED`): it goes the exact way.

Importing this module imports numba and loads the compiled code (see
:mod:`hwocr.kernel_tools`): the caller imports it lazily.
"""

from __future__ import annotations

import math
from functools import cache
from typing import NamedTuple

import numpy as np

from hwocr.kernel_tools import compiled
from hwocr.preprocess_kernels import otsu_threshold

#: Status of a crop: a glyph was made ...
OK = 0
#: ... the crop holds no ink by render_glyph's rules (the exact path will say so too) ...
NO_INK = 1
#: ... or the crop is outside what this copy handles (bigger than the work side, or ink
#: to be enlarged in the last step): the exact path makes its glyph.
UNHANDLED = 2

#: Weights of the 5x5 chamfer distance that OpenCV's DIST_L2 with mask 5 uses (1, 1.4
#: and 2.1969), in its 16-bit fixed point, and a distance farther than any.
_FIX_A, _FIX_B, _FIX_C = 65536, round(1.4 * 65536), round(2.1969 * 65536)
_FAR = 1 << 30


class GlyphRules(NamedTuple):
    """The numbers of render_glyph's rules, as floats, each named as its field of
    :class:`hwocr.config.Defaults`."""

    glyph_work_side: float
    glyph_min_contrast: float
    glyph_min_blob_frac: float
    glyph_stroke_min_frac: float
    glyph_stroke_max_frac: float


@cache
def ellipse_spans(k_max: int) -> np.ndarray:
    """For every odd ``k`` up to ``k_max``, the column span ``[first, last]`` of each row
    of OpenCV's elliptic structuring element of side k (int32 ``(k_max + 1, k_max, 2)``;
    rows past k unused). Made once per ``k_max``: callers must not write to it."""
    import cv2  # lazy: the caller has it loaded already

    spans = np.zeros((k_max + 1, k_max, 2), np.int32)
    for k in range(1, k_max + 1, 2):
        element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        for r in range(k):
            cols = np.flatnonzero(element[r])
            spans[k, r] = (cols[0], cols[-1]) if cols.size else (1, 0)
    return spans


@compiled
def screen_glyphs(images, image_offsets, image_shapes, crops, size, ink_box, sub, rules, blur, spans):
    """Glyphs for ``crops`` (int64 ``(N, 5)``: image index, x0, y0, x1, y1) cut from
    ``images`` (uint8 gray images, dark ink on paper, flattened one after another:
    image i starts at ``image_offsets[i]`` and is ``image_shapes[i]`` = (h, w)).

    Returns float32 ``(N, size, size)`` glyphs (ink 1.0 on 0.0, long side of the ink
    ``ink_box``) and uint8 ``(N,)`` statuses (:data:`OK`, :data:`NO_INK`,
    :data:`UNHANDLED`; the glyph is all zero unless OK). ``rules`` are
    :class:`GlyphRules`' values, ``blur`` the 3-tap Gaussian of render_glyph's blur and
    ``spans`` :func:`ellipse_spans`; ``sub`` is the resolution of the stroke work, in
    multiples of the output's."""
    r = GlyphRules(*rules)
    n = crops.shape[0]
    out = np.zeros((n, size, size), np.float32)
    status = np.zeros(n, np.uint8)
    for i in range(n):
        img = crops[i, 0]
        h, w = image_shapes[img, 0], image_shapes[img, 1]
        flat = images[image_offsets[img] : image_offsets[img] + h * w]
        x0, y0, x1, y1 = crops[i, 1], crops[i, 2], crops[i, 3], crops[i, 4]
        gray = flat.reshape((h, w))[y0:y1, x0:x1]
        status[i] = _one(gray, out[i], ink_box, sub, r, blur, spans)
    return out, status


@compiled
def segment_glyphs(soft, ox, oy, atom_boxes, masks, mask_starts, seg_i, seg_j, seg_boxes, margin,
                   size, ink_box, sub, rules, spans):
    """Cheap copies of the glyphs of a lattice's segments (:func:`hwocr.lattice.segment_glyph`'s
    steps, the stroke work at ``sub`` times the output resolution), all in one call.

    ``soft`` is the line's ink strength (:func:`hwocr.lattice.line_ink_strength`) and
    ``(ox, oy)`` where it lies in the image; atom a has box ``atom_boxes[a]`` (int64
    x0, y0, x1, y1) and its ink mask, box-sized, flattened in ``masks`` from
    ``mask_starts[a]``; segment s is atoms ``seg_i[s]`` to ``seg_j[s]`` (exclusive)
    with box ``seg_boxes[s]``, and its crop is that box grown by ``margin`` (clipped to
    ``soft``). Returns float32 ``(N, size, size)`` glyphs and uint8 ``(N,)`` statuses,
    as :func:`screen_glyphs` does (an atom's ink outside its segment's crop: UNHANDLED)."""
    r = GlyphRules(*rules)
    n = seg_boxes.shape[0]
    out = np.zeros((n, size, size), np.float32)
    status = np.zeros(n, np.uint8)
    sh, sw = soft.shape
    for s in range(n):
        x0, y0 = max(ox, seg_boxes[s, 0] - margin), max(oy, seg_boxes[s, 1] - margin)
        x1, y1 = min(ox + sw, seg_boxes[s, 2] + margin), min(oy + sh, seg_boxes[s, 3] + margin)
        if x1 <= x0 or y1 <= y0:
            status[s] = NO_INK
            continue
        own = np.zeros((y1 - y0, x1 - x0), np.uint8)
        inside = True
        for a in range(seg_i[s], seg_j[s]):
            ax0, ay0, ax1, ay1 = atom_boxes[a, 0], atom_boxes[a, 1], atom_boxes[a, 2], atom_boxes[a, 3]
            if ax0 < x0 or ay0 < y0 or ax1 > x1 or ay1 > y1:
                inside = False
                break
            aw, start = ax1 - ax0, mask_starts[a]
            for y in range(ay1 - ay0):
                for x in range(aw):
                    if masks[start + y * aw + x]:
                        own[ay0 - y0 + y, ax0 - x0 + x] = 1
        if not inside:
            status[s] = UNHANDLED
            continue
        status[s] = _segment_one(soft[y0 - oy : y1 - oy, x0 - ox : x1 - ox], own, out[s], ink_box, sub, r, spans)
    return out, status


@compiled
def _segment_one(soft, own, out, ink_box, sub, r, spans):
    """One segment: ``soft`` kept within a pixel of its own ink (``own``'s 3x3
    dilation), cut to what is above 0.5, then render_glyph's last steps."""
    h, w = own.shape
    crop = np.zeros((h, w), np.float32)
    bx0, by0, bx1, by1 = w, h, 0, 0
    for y in range(h):
        for x in range(w):
            near = False
            for yy in range(max(0, y - 1), min(h, y + 2)):
                for xx in range(max(0, x - 1), min(w, x + 2)):
                    if own[yy, xx]:
                        near = True
            if near:
                v = soft[y, x]
                crop[y, x] = v
                if v > 0.5:
                    bx0, bx1 = min(bx0, x), max(bx1, x + 1)
                    by0, by1 = min(by0, y), max(by1, y + 1)
    if bx1 <= bx0:
        return NO_INK
    # The ink's box with one pixel of empty border, as the upsampling wants it.
    padded = np.zeros((by1 - by0 + 2, bx1 - bx0 + 2), np.float32)
    padded[1:-1, 1:-1] = crop[by0:by1, bx0:bx1]
    return _render_tail(padded, out, ink_box, sub, r, spans)


@compiled
def _one(gray, out, ink_box, sub, r, blur, spans):
    h, w = gray.shape
    if h == 0 or w == 0:
        return NO_INK
    if h < 3 or w < 3 or max(h, w) > r.glyph_work_side or not _light_frame(gray):
        return UNHANDLED
    diff = _ink_difference(gray)
    smooth = _blur3(diff, blur)
    contrast = smooth.max()
    if contrast < r.glyph_min_contrast:
        return NO_INK
    hist = np.zeros(256, np.int64)
    for y in range(h):
        for x in range(w):
            hist[int(min(max(smooth[y, x], 0.0), 255.0))] += 1
    threshold = max(otsu_threshold(hist, h * w), 0.25 * contrast, r.glyph_min_contrast / 2.0)
    mask = _drop_specks(diff > threshold, r.glyph_min_blob_frac)
    bx0, by0, bx1, by1 = _bbox(mask)
    if bx1 <= bx0:
        return NO_INK
    soft = _soft_ink(diff, mask, threshold, bx0, by0, bx1, by1)
    return _render_tail(soft, out, ink_box, sub, r, spans)


@compiled(inline=True)
def _render_tail(soft, out, ink_box, sub, r, spans):
    """render_glyph's steps after the soft ink map (``soft``, with its one pixel of
    empty border): upsampling to ``sub`` times the ink box, stroke normalisation, fit
    and centring into ``out``."""
    long_side = ink_box * sub
    binary = _upsample(soft, long_side)
    if not binary.any():
        return NO_INK
    binary = _normalise_strokes(binary, long_side, r, spans)
    if binary.shape[0] == 0:
        return UNHANDLED
    return _fit_and_centre(binary, out, ink_box)


@compiled(inline=True)
def _light_frame(gray):
    """Whether most of the crop's outer frame is lighter than 129: the case in which
    :func:`hwocr.images.ensure_dark_ink` surely leaves the crop as it is (any other
    crop it may invert, and this copy leaves it to the exact path)."""
    h, w = gray.shape
    dark = 0
    for x in range(w):
        dark += (gray[0, x] < 129) + (gray[h - 1, x] < 129)
    for y in range(1, h - 1):
        dark += (gray[y, 0] < 129) + (gray[y, w - 1] < 129)
    return dark <= (2 * w + 2 * (h - 2) - 1) // 2


@compiled
def _ink_difference(gray):
    """render_glyph's ``_ink_difference``: the closing of the crop padded with its
    paper level (the 90th percentile), minus the crop."""
    h, w = gray.shape
    hist = np.zeros(256, np.int64)
    for y in range(h):
        for x in range(w):
            hist[gray[y, x]] += 1
    target = 0.9 * (h * w)
    paper = 0
    acc = 0
    for v in range(256):
        acc += hist[v]
        if acc >= target:
            paper = v
            break
    k = max(5, round(0.25 * max(h, w)) | 1)
    r = k // 2
    pad = r + 1
    padded = np.full((h + 2 * pad, w + 2 * pad), paper, np.uint8)
    padded[pad : pad + h, pad : pad + w] = gray
    # The closing is read on the crop only: its erosion needs the dilation within r of
    # the crop (rows and columns 1 .. pad + h + r of the padded image), no further.
    grown = _max_filter(padded, r)
    diff = np.empty((h, w), np.float32)
    rows = np.empty((h + 2 * r, w), np.uint8)
    for y in range(h + 2 * r):
        for x in range(w):
            v = grown[y + 1, x + 1]
            for xx in range(x + 2, x + 2 * r + 2):
                v = min(v, grown[y + 1, xx])
            rows[y, x] = v
    for y in range(h):
        for x in range(w):
            v = rows[y, x]
            for yy in range(y + 1, y + 2 * r + 1):
                v = min(v, rows[yy, x])
            diff[y, x] = np.float32(v) - np.float32(gray[y, x])
    return diff


@compiled
def _max_filter(img, radius):
    """Dilation by a square of side ``2 * radius + 1`` (rows, then columns); pixels
    outside the image are ignored (OpenCV's default border)."""
    h, w = img.shape
    rows = np.empty_like(img)
    for y in range(h):
        for x in range(w):
            v = img[y, x]
            for xx in range(max(0, x - radius), min(w, x + radius + 1)):
                v = max(v, img[y, xx])
            rows[y, x] = v
    out = np.empty_like(img)
    for y in range(h):
        y0, y1 = max(0, y - radius), min(h, y + radius + 1)
        for x in range(w):
            out[y, x] = rows[y0, x]
        for yy in range(y0 + 1, y1):
            for x in range(w):
                out[y, x] = max(out[y, x], rows[yy, x])
    return out


@compiled(inline=True)
def _reflect101(i, n):
    if n == 1:
        return 0
    if i < 0:
        return -i
    if i >= n:
        return 2 * (n - 1) - i
    return i


@compiled
def _blur3(img, k):
    """A separable 3-tap blur, borders reflected (OpenCV's BORDER_REFLECT_101)."""
    h, w = img.shape
    tmp = np.empty((h, w), np.float32)
    for y in range(h):
        for x in range(w):
            tmp[y, x] = (k[0] * img[y, _reflect101(x - 1, w)] + k[1] * img[y, x]
                         + k[2] * img[y, _reflect101(x + 1, w)])
    out = np.empty((h, w), np.float32)
    for y in range(h):
        for x in range(w):
            out[y, x] = (k[0] * tmp[_reflect101(y - 1, h), x] + k[1] * tmp[y, x]
                         + k[2] * tmp[_reflect101(y + 1, h), x])
    return out


@compiled
def _drop_specks(mask, min_blob_frac):
    """The 8-connected blobs of ``mask`` at least ``min_blob_frac`` of the largest (and 2
    pixels), as uint8 0/1 (union-find over the pixels: the crops are tiny)."""
    h, w = mask.shape
    parent = np.arange(h * w)
    for y in range(h):
        for x in range(w):
            if not mask[y, x]:
                continue
            p = y * w + x
            for dy, dx in ((-1, -1), (-1, 0), (-1, 1), (0, -1)):
                yy, xx = y + dy, x + dx
                if yy >= 0 and 0 <= xx < w and mask[yy, xx]:
                    a, b = _root(parent, p), _root(parent, yy * w + xx)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
    area = np.zeros(h * w, np.int64)
    for p in range(h * w):
        if mask[p // w, p % w]:
            area[_root(parent, p)] += 1
    largest = area.max()
    keep = np.zeros((h, w), np.uint8)
    if largest == 0:
        return keep
    min_area = max(2.0, min_blob_frac * float(largest))
    for p in range(h * w):
        if mask[p // w, p % w] and area[_root(parent, p)] >= min_area:
            keep[p // w, p % w] = 1
    return keep


@compiled(inline=True)
def _root(parent, p):
    while parent[p] != p:
        parent[p] = parent[parent[p]]
        p = parent[p]
    return p


@compiled(inline=True)
def _bbox(img):
    """``(x0, y0, x1, y1)`` of the nonzero pixels (exclusive end; x1 <= x0 when none)."""
    h, w = img.shape
    x0, y0, x1, y1 = w, h, 0, 0
    for y in range(h):
        for x in range(w):
            if img[y, x]:
                x0, x1 = min(x0, x), max(x1, x + 1)
                y0, y1 = min(y0, y), max(y1, y + 1)
    return x0, y0, x1, y1


@compiled
def _soft_ink(diff, mask, threshold, x0, y0, x1, y1):
    """render_glyph's soft ink map in the kept ink's box, with one pixel of empty border
    around it (what its upsampling adds): ``diff`` scaled so the threshold is 0.5,
    clipped to [0, 1], kept only within a pixel of kept ink."""
    h, w = y1 - y0, x1 - x0
    # Kept ink within a pixel: the mask's 3x3 dilation (rows, then columns), padded.
    across = np.zeros((h + 2, w), np.uint8)
    for y in range(h):
        for x in range(w):
            across[y + 1, x] = (mask[y0 + y, x0 + max(0, x - 1)] | mask[y0 + y, x0 + x]
                                | mask[y0 + y, x0 + min(w - 1, x + 1)])
    soft = np.zeros((h + 2, w + 2), np.float32)
    scale = np.float32(0.5 / threshold)
    for y in range(h):
        for x in range(w):
            if across[y, x] | across[y + 1, x] | across[y + 2, x]:
                soft[y + 1, x + 1] = min(max(diff[y0 + y, x0 + x] * scale, np.float32(0.0)), np.float32(1.0))
    return soft


@compiled
def _upsample(soft, long_side):
    """Binary ink with the ink's long side at ``long_side``: ``soft`` (with its empty
    border) resized bilinearly (area-averaged when shrinking), above 0.5."""
    h, w = soft.shape
    scale = long_side / max(h - 2, w - 2)
    dw, dh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.empty((dh, dw), np.uint8)
    if scale >= 1.0:
        ys, fy = _linear_taps(h, dh)
        xs, fx = _linear_taps(w, dw)
        for y in range(dh):
            y0, y1, b = ys[y], min(ys[y] + 1, h - 1), fy[y]
            for x in range(dw):
                x0, x1, a = xs[x], min(xs[x] + 1, w - 1), fx[x]
                top = soft[y0, x0] * (1 - a) + soft[y0, x1] * a
                bottom = soft[y1, x0] * (1 - a) + soft[y1, x1] * a
                out[y, x] = np.float32(top * (1 - b) + bottom * b) > 0.5
    else:
        big = _resize_area(soft, dh, dw)
        for y in range(dh):
            for x in range(dw):
                out[y, x] = big[y, x] > 0.5
    return out


@compiled
def _linear_taps(src, dst):
    """Per output index: the first source index and the weight of the next one, as
    OpenCV's bilinear resize places them (pixel centres aligned, edges replicated)."""
    index = np.empty(dst, np.int64)
    frac = np.empty(dst, np.float32)
    inv = src / dst
    for d in range(dst):
        f = (d + 0.5) * inv - 0.5
        s = math.floor(f)
        f -= s
        if s < 0:
            s, f = 0, 0.0
        if s >= src - 1:
            s, f = src - 1, 0.0
        index[d] = s
        frac[d] = f
    return index, frac


@compiled
def _area_taps(src, dst):
    """An area-averaging shrink of ``src`` pixels to ``dst``: per output pixel, the first
    source pixel it covers and the weights of the (at most ``taps``) it covers from
    there, pixels on its edges weighted by the part covered."""
    step = src / dst
    taps = math.ceil(step) + 1
    first = np.zeros(dst, np.int64)
    weights = np.zeros((dst, taps), np.float32)
    for d in range(dst):
        lo, hi = d * step, (d + 1) * step
        s0 = math.floor(lo)
        first[d] = s0
        for s in range(s0, min(src, math.ceil(hi), s0 + taps)):
            weights[d, s - s0] = (min(hi, s + 1.0) - max(lo, float(s))) / step
    return first, weights


@compiled
def _resize_area(img, dh, dw):
    h, w = img.shape
    fy, wy = _area_taps(h, dh)
    fx, wx = _area_taps(w, dw)
    rows = np.zeros((dh, w), np.float32)
    for d in range(dh):
        for t in range(wy.shape[1]):
            y = fy[d] + t
            if y < h and wy[d, t] != 0:
                for x in range(w):
                    rows[d, x] += wy[d, t] * img[y, x]
    out = np.zeros((dh, dw), np.float32)
    for y in range(dh):
        for d in range(dw):
            v = np.float32(0.0)
            for t in range(wx.shape[1]):
                x = fx[d] + t
                if x < w:
                    v += wx[d, t] * rows[y, x]
            out[y, d] = v
    return out


@compiled
def _normalise_strokes(binary, box, r, spans):
    """render_glyph's stroke normalisation at this resolution; a (0, 0) array when the
    element needed is beyond ``spans``."""
    width = _stroke_width(binary)
    lo = r.glyph_stroke_min_frac * box
    hi = r.glyph_stroke_max_frac * box
    k_max = spans.shape[0] - 1
    if width < lo:
        k = 2 * round((lo - width) / 2.0) + 1
        if k > 1:
            if k > k_max:
                return np.zeros((0, 0), np.uint8)
            h, w = binary.shape
            padded = np.zeros((h + 2 * k, w + 2 * k), np.uint8)
            padded[k : k + h, k : k + w] = binary
            return _morph_ellipse(padded, k, spans, True)
    elif width > hi:
        k = 2 * round((width - hi) / 2.0) + 1
        if k > 1:
            if k > k_max:
                return np.zeros((0, 0), np.uint8)
            h, w = binary.shape
            padded = np.zeros((h + 2, w + 2), np.uint8)
            padded[1 : 1 + h, 1 : 1 + w] = binary
            thinner = _morph_ellipse(padded, k, spans, False)
            if np.count_nonzero(thinner) >= 0.4 * np.count_nonzero(padded):
                return thinner
            return padded
    return binary


@compiled
def _stroke_width(binary):
    """render_glyph's ``stroke_width``: twice the median of the distance transform on
    its ridge, less half a pixel. The distance is OpenCV's for DIST_L2 with mask 5 (a
    5x5 chamfer in 16-bit fixed point); the image gets its one pixel of empty border,
    and two more so that no neighbour is ever off the array (empty pixels that far out
    are never nearer paper than the first border)."""
    h, w = binary.shape[0] + 6, binary.shape[1] + 6
    a, b, c = np.int32(_FIX_A), np.int32(_FIX_B), np.int32(_FIX_C)
    dist = np.zeros((h, w), np.int32)
    # The ink as horizontal runs (row, first, end): the passes visit ink pixels only
    # (paper stays 0), about a third of the pixels.
    runs = np.empty((binary.size // 2 + binary.shape[0], 3), np.int64)
    n_runs = 0
    count = 0
    for y in range(binary.shape[0]):
        x = 0
        while x < binary.shape[1]:
            if binary[y, x]:
                x0 = x
                while x < binary.shape[1] and binary[y, x]:
                    dist[y + 3, x + 3] = _FAR
                    x += 1
                runs[n_runs, 0], runs[n_runs, 1], runs[n_runs, 2] = y + 3, x0 + 3, x + 3
                n_runs += 1
                count += x - x0
            x += 1
    for i in range(n_runs):
        y = runs[i, 0]
        for x in range(runs[i, 1], runs[i, 2]):
            d = min(dist[y, x], min(dist[y, x - 1], dist[y - 1, x]) + a)
            d = min(d, min(dist[y - 1, x - 1], dist[y - 1, x + 1]) + b)
            d = min(d, min(min(dist[y - 1, x - 2], dist[y - 1, x + 2]),
                           min(dist[y - 2, x - 1], dist[y - 2, x + 1])) + c)
            dist[y, x] = d
    for i in range(n_runs - 1, -1, -1):
        y = runs[i, 0]
        for x in range(runs[i, 2] - 1, runs[i, 1] - 1, -1):
            d = min(dist[y, x], min(dist[y, x + 1], dist[y + 1, x]) + a)
            d = min(d, min(dist[y + 1, x + 1], dist[y + 1, x - 1]) + b)
            d = min(d, min(min(dist[y + 1, x + 2], dist[y + 1, x - 2]),
                           min(dist[y + 2, x + 1], dist[y + 2, x - 1])) + c)
            dist[y, x] = d
    ridge = np.empty(count + 1, np.int32)
    m = 0
    for i in range(n_runs):
        y = runs[i, 0]
        for x in range(runs[i, 1], runs[i, 2]):
            d = dist[y, x]
            top = max(max(max(dist[y - 1, x - 1], dist[y - 1, x]), max(dist[y - 1, x + 1], dist[y, x - 1])),
                      max(max(dist[y, x + 1], dist[y + 1, x - 1]), max(dist[y + 1, x], dist[y + 1, x + 1])))
            ridge[m] = d
            m += d >= top
    if m == 0:
        return 0.0
    values = np.sort(ridge[:m])
    half = m // 2
    scale = np.float32(1.0 / (1 << 16))
    if m % 2:
        median = np.float32(values[half]) * scale
    else:
        median = (np.float32(values[half - 1]) * scale + np.float32(values[half]) * scale) / np.float32(2)
    return max(1.0, 2.0 * float(median) - 0.5)


@compiled
def _morph_ellipse(img, k, spans, dilate):
    """Dilation (any ink under the element) or erosion (all ink under it, pixels off
    the image ignored) of a 0/1 image by the elliptic element of side ``k``, one
    prefix-summed row per row of the element."""
    h, w = img.shape
    prefix = np.zeros((h, w + 1), np.int32)
    for y in range(h):
        for x in range(w):
            prefix[y, x + 1] = prefix[y, x] + img[y, x]
    c = k // 2
    out = np.zeros((h, w), np.uint8)
    for y in range(h):
        for x in range(w):
            hit = not dilate
            for j in range(k):
                a, b = spans[k, j, 0], spans[k, j, 1]
                yy = y + j - c
                if a > b or yy < 0 or yy >= h:
                    continue
                xa, xb = max(0, x + a - c), min(w, x + b - c + 1)
                if xb <= xa:
                    continue
                count = prefix[yy, xb] - prefix[yy, xa]
                if dilate and count > 0:
                    hit = True
                    break
                if not dilate and count < xb - xa:
                    hit = False
                    break
            out[y, x] = hit
    return out


@compiled
def _fit_and_centre(binary, out, ink_box):
    """render_glyph's last step: the ink's box shrunk (area-averaged) so its long side
    is ``ink_box``, centred in ``out``; UNHANDLED when it would have to grow."""
    x0, y0, x1, y1 = _bbox(binary)
    if x1 <= x0:
        return NO_INK
    h, w = y1 - y0, x1 - x0
    scale = ink_box / max(h, w)
    if scale > 1.0:
        return UNHANDLED
    ow, oh = max(1, round(w * scale)), max(1, round(h * scale))
    small = _resize_area(binary[y0:y1, x0:x1], oh, ow)
    size = out.shape[0]
    top, left = (size - oh) // 2, (size - ow) // 2
    for y in range(oh):
        for x in range(ow):
            out[top + y, left + x] = min(max(small[y, x], np.float32(0.0)), np.float32(1.0))
    return OK
