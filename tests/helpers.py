"""Building blocks for tests: names with known images and boxes, made without the
segmenter so that workspace, crop and review logic are tested on their own."""

from __future__ import annotations

import numpy as np

from hwocr.boxes import Box
from hwocr.images import encode_png
from hwocr.workspace import LabeledBox, Workspace, labeled_boxes_to_json, now


def blocks_image(n: int, *, width: int = 20, gap: int = 10, height: int = 30,
                 margin: int = 5) -> tuple[np.ndarray, list[Box]]:
    """White paper with ``n`` solid dark blocks; returns the image and each block's box."""
    w = margin * 2 + n * width + (n - 1) * gap
    img = np.full((height, w), 255, np.uint8)
    boxes = []
    for i in range(n):
        x0 = margin + i * (width + gap)
        img[5 : height - 5, x0 : x0 + width] = 20 + i  # each block a slightly different gray
        boxes.append(Box(x0, 5, x0 + width, height - 5))
    return img, boxes


def add_name(
    ws: Workspace,
    unit_id: str,
    transcription: str,
    *,
    status: str = "matched",
    confidence: float = 1.0,
    image: np.ndarray | None = None,
    boxes: list[Box] | None = None,
    labels: str | None = None,
) -> int:
    """Insert a name with a stored image and boxes; returns its id."""
    letters = transcription.replace("-", "").replace(" ", "")
    if image is None:
        image, boxes = blocks_image(len(letters))
    labels = letters if labels is None else labels
    lboxes = [LabeledBox(b, ch) for b, ch in zip(boxes or [], labels)]
    t = now()
    with ws.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO names (unit_id, source, raw_transcription, transcription, status, confidence, "
            "auto_boxes, boxes, width, height, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (unit_id, f"images/{unit_id}.png", transcription, transcription, status, confidence,
             labeled_boxes_to_json(lboxes), labeled_boxes_to_json(lboxes), image.shape[1], image.shape[0], t, t),
        )
        name_id = cur.lastrowid
    rel = ws.store_image(name_id, encode_png(image), ".png")
    with ws.transaction() as conn:
        conn.execute("UPDATE names SET image_path = ? WHERE id = ?", (rel, name_id))
    return name_id


def printed_abc_workspace(root, count: int = 300) -> Workspace:
    """A workspace of ``count`` fetched names "ABC", printed in one gray image: enough
    (with segment's 64-name chunks) for segment to start its pool of workers."""
    import cv2

    ws = Workspace(root)
    image = np.full((36, 200), 235, np.uint8)
    cv2.putText(image, "ABC", (40, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 30, 2)
    for i in range(count):
        add_name(ws, f"U{i:04d}", "ABC", status="fetched", image=image)
    return ws


def files_in_dataset(ws: Workspace) -> set[str]:
    return {p.relative_to(ws.root).as_posix() for p in ws.dataset_dir.rglob("*") if p.is_file()}


def rows_in_chars(ws: Workspace) -> set[str]:
    return {r["path"] for r in ws.query("SELECT path FROM chars")}


def add_letter_crops(ws: Workspace, letters: str, per_class: int, *, seed: int = 0) -> None:
    """``per_class`` printed-looking crops of each letter in the class folders (through
    hwocr.dataset.add_crop, so each has its chars row), slightly varied in size, stroke
    and position: a tiny training set."""
    import cv2

    from hwocr.dataset import add_crop

    rng = np.random.default_rng(seed)
    fonts = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN)
    for letter in letters:
        for i in range(per_class):
            img = np.full((44, 36), 255, np.uint8)
            font = fonts[i % len(fonts)]
            scale = (1.0 if font != cv2.FONT_HERSHEY_PLAIN else 2.2) + float(rng.uniform(-0.1, 0.1))
            org = (4 + int(rng.integers(0, 5)), 34 + int(rng.integers(0, 5)))
            cv2.putText(img, letter, org, font, scale, 0, 2 + i % 2, cv2.LINE_AA)
            add_crop(ws, img, letter, origin="canvas")


def open_page(path: str, *, timeout: float = 60, reviewer: str = "tester", **session):
    """A Streamlit AppTest of the page script at ``path`` with a reviewer name and the
    given session state preset; not run yet."""
    from streamlit.testing.v1 import AppTest

    from hwocr.ui import state

    at = AppTest.from_file(path, default_timeout=timeout)
    at.session_state[state.REVIEWER] = reviewer
    for key, value in session.items():
        at.session_state[key] = value
    return at


def no_exception(at):
    """``at`` after asserting its run raised nothing (the exceptions are the message)."""
    assert not at.exception, [e.value for e in at.exception]
    return at

