"""Synthetic demo names, so that a fresh install has something to show.

Each image imitates the real forms: a printed ``NOM :`` or ``PRENOM :`` label on the left
and a hand-printed-looking name after it — OpenCV Hershey letters, each with its own
size, slant, rotation, stroke width and baseline jitter. A few names are made hard on
purpose (touching letters, a letter broken in two, a form line) so that the review queue
is not empty.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hwocr.workspace import atomic_write_bytes

FIRST_NAMES = (
    "LEA", "LOUIS", "EMMA", "HUGO", "CHLOE", "JULES", "ALICE", "GABRIEL", "INES", "RAPHAEL",
    "MANON", "ARTHUR", "CAMILLE", "NATHAN", "SARAH", "PAUL", "ZOE", "VICTOR", "JADE", "MAXIME",
    "CLARA", "THEO", "LUCIE", "YANIS", "AXELLE", "QUENTIN", "ROMANE", "KEVIN", "WILLIAM", "OXANA",
)
LAST_NAMES = (
    "MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "PETIT", "DURAND", "LEROY", "MOREAU", "SIMON",
    "LAURENT", "LEFEBVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX", "VINCENT", "FOURNIER", "MOREL",
    "GIRARD", "ANDRE", "MERCIER", "DUPONT", "LAMBERT", "BONNET", "FRANCOIS", "MARTINEZ", "QUEVAL", "WAXIN",
)

# Single-stroke Hershey faces only: the double-stroke ones look printed, not written.
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN)


@dataclass(frozen=True)
class DemoName:
    unit_id: str
    transcription: str
    first_or_last: str
    path: str          # relative to the demo folder
    difficulty: str    # "clean", "touching", "broken", "line"


def render_letter(ch: str, rng: np.random.Generator, target_h: int, thin: int) -> np.ndarray:
    """One letter as a white-on-black mask ``target_h`` tall, slanted, rotated and
    wobbled a little so no two letters look alike. OpenCV scales the stroke with the
    font, which gives about a ballpoint's width; ``thin`` erodes it for a finer pen."""
    font = _FONTS[int(rng.integers(len(_FONTS)))]
    (_, h1), _ = cv2.getTextSize("H", font, 1.0, 1)
    size = target_h / max(h1, 1)
    (tw, th), base = cv2.getTextSize(ch, font, size, 1)
    pad = target_h // 4 + 2
    canvas = np.zeros((th + base + 2 * pad, tw + 2 * pad), np.uint8)
    cv2.putText(canvas, ch, (pad, pad + th), font, size, 255, 1, cv2.LINE_AA)
    if thin:
        canvas = cv2.erode(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)), iterations=thin)
    h, w = canvas.shape
    shear = float(rng.uniform(-0.25, 0.15))
    angle = float(rng.uniform(-6, 6))
    sx = float(rng.uniform(0.8, 1.15))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[0, :2] *= sx
    m[0, 1] += shear
    m[0, 2] = m[0, 2] * sx + (1 - sx) * w / 2 - shear * h / 2
    warped = cv2.warpAffine(canvas, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    # A smooth wobble: the hand is not a plotter.
    amp = target_h * 0.03
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, 2)
    map_x = xx + amp * np.sin(yy / max(h, 1) * np.pi * 2 + phase[0])
    map_y = yy + amp * np.sin(xx / max(w, 1) * np.pi * 2 + phase[1])
    warped = cv2.remap(warped, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR, borderValue=0)
    ys, xs = np.nonzero(warped > 40)
    if len(xs) == 0:
        return canvas
    return warped[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def render_name(text: str, label: str, rng: np.random.Generator, difficulty: str = "clean",
                size: tuple[int, int] = (388, 36)) -> np.ndarray:
    """A gray name image (dark ink on light paper) in the style of the real forms."""
    width, height = size
    scale = 4  # draw at 4x, then shrink: anti-aliased strokes like a scan
    W, H = width * scale, height * scale
    ink = np.zeros((H, W), np.uint8)
    # The printed label: small, regular, bold, vertically centred, at the left.
    label_text = f"{label} :"
    fsize = 0.42 * scale
    (lw, lh), _ = cv2.getTextSize(label_text, cv2.FONT_HERSHEY_SIMPLEX, fsize, 2 * scale // 2 + 1)
    ly = H // 2 + lh // 2
    cv2.putText(ink, label_text, (2 * scale, ly), cv2.FONT_HERSHEY_SIMPLEX, fsize, 255, scale + 1, cv2.LINE_AA)
    x = 2 * scale + lw + int(rng.uniform(8, 16)) * scale
    letter_h = int(H * rng.uniform(0.48, 0.62))
    thin = int(rng.integers(0, 3))  # 0: ballpoint, 1-2: finer pens
    stroke = max(2, 2 * scale - thin * scale // 2)  # the hyphen's stroke, matched to the letters
    gap_lo, gap_hi = (2, 6) if difficulty != "touching" else (-3, -1)
    broken_at = int(rng.integers(len(text))) if difficulty == "broken" else -1
    for i, ch in enumerate(text):
        if ch == " ":
            x += letter_h // 2
            continue
        if ch == "-":
            gw = int(letter_h * rng.uniform(0.4, 0.6))
            glyph = np.zeros((stroke + 2, gw), np.uint8)
            cv2.line(glyph, (1, glyph.shape[0] // 2), (gw - 2, glyph.shape[0] // 2), 255, stroke, cv2.LINE_AA)
        else:
            glyph = render_letter(ch, rng, int(letter_h * rng.uniform(0.9, 1.1)), thin)
        gh, gw = glyph.shape
        if i == broken_at and gw > 6 * scale:
            cut = gw // 2
            glyph[:, cut - scale : cut + 2 * scale] = 0
        y = H // 2 - gh // 2 + int(rng.uniform(-2, 2) * scale)
        if ch == "-":
            y = H // 2 - gh // 2
        y = max(0, min(H - gh, y))
        if x + gw >= W:
            break
        region = ink[y : y + gh, x : x + gw]
        np.maximum(region, glyph, out=region)
        x += gw + int(rng.uniform(gap_lo, gap_hi) * scale + (1 if difficulty == "touching" else 3) * scale)
    if difficulty == "line":
        yline = int(H * rng.uniform(0.82, 0.9))
        cv2.line(ink, (0, yline), (W - 1, yline), 200, scale)
    small = cv2.resize(ink, (width, height), interpolation=cv2.INTER_AREA)
    paper = 255 - (small.astype(np.float32) * rng.uniform(0.75, 0.95))
    noise = rng.normal(0, 4, paper.shape)
    return np.clip(paper + noise, 0, 255).astype(np.uint8)


def generate_demo(out_dir: Path, *, count: int = 40, seed: int = 7) -> tuple[Path, list[DemoName]]:
    """Write ``count`` demo names (JPEG images + names.csv in the original layout)."""
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    names: list[DemoName] = []
    kinds = ("clean",) * 6 + ("touching", "broken", "line")
    for i in range(count):
        first = bool(rng.integers(2))
        pool = FIRST_NAMES if first else LAST_NAMES
        text = pool[int(rng.integers(len(pool)))]
        if not first and rng.random() < 0.12:
            text = f"{text}-{LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]}"[:16]
        difficulty = kinds[i % len(kinds)]
        label = "PRENOM" if first else "NOM"
        gray = render_name(text, label, rng, difficulty)
        _ok, buf = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, 92])
        rel = f"images/DEMO_{i + 1:04d}.jpg"
        atomic_write_bytes(out_dir / rel, buf.tobytes())
        names.append(DemoName(f"DEMO_{i + 1:04d}", text, "first" if first else "last", rel, difficulty))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["unit_id", "image_url", "transcription", "first_or_last"])
    for n in names:
        w.writerow([n.unit_id, n.path, n.transcription, n.first_or_last])
    csv_path = out_dir / "names.csv"
    atomic_write_bytes(csv_path, buf.getvalue().encode("utf-8"))
    return csv_path, names
