"""Fuzzing with hypothesis: bytes that are almost images, arrays that are almost names,
bytes that are almost CSVs. Whatever comes in, only hwocr's own one-line errors come out
(ImageError, CsvError), and what does come out keeps its promises (gray uint8 images,
boxes inside the image, sorted and disjoint).

Example counts are kept moderate so the suite stays fast; bench/reliability_bench.py
runs the same properties with many more examples (``--fuzz-examples``).
"""

from __future__ import annotations

import io
import os
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageDraw

from hwocr.errors import CsvError, ImageError
from hwocr.images import decode_image, load_gray
from hwocr.preprocess import clean_name_image
from hwocr.segment import segment
from hwocr.sources import preview_csv, read_csv

#: Multiplies every example count (the benchmark sets it high).
SCALE = float(os.environ.get("HWOCR_FUZZ_SCALE", "1"))
#: A small pixel limit: a mutated header may claim a big image, and decoding 40 Mpixels
#: of noise, again and again, proves nothing more than 2 Mpixels does.
MAX_PIXELS = 2_000_000
FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def examples(n: int) -> int:
    return max(1, int(n * SCALE))


def _name_image(width: int = 160, height: int = 40) -> Image.Image:
    img = Image.new("L", (width, height), 235)
    draw = ImageDraw.Draw(img)
    for i, ch in enumerate("MARTIN"):
        draw.text((8 + 24 * i, 12), ch, fill=20)
        draw.line((8 + 24 * i, 30, 20 + 24 * i, 10), fill=30, width=2)
    return img


def _encoded(fmt: str, **kw) -> bytes:
    img = _name_image()
    if fmt == "GIF":
        img = img.convert("P")
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


SEEDS = {
    "png": _encoded("PNG"),
    "jpeg": _encoded("JPEG", quality=80),
    "progressive_jpeg": _encoded("JPEG", quality=80, progressive=True),
    "gif": _encoded("GIF"),
    "bmp": _encoded("BMP"),
    "tiff": _encoded("TIFF"),
    "webp": _encoded("WEBP"),
}


@hs.composite
def mutated(draw, seed: bytes) -> bytes:
    """``seed`` with a few bytes replaced, a slice removed or repeated, or cut short."""
    data = bytearray(seed)
    for _ in range(draw(hs.integers(1, 6))):
        kind = draw(hs.sampled_from(["flip", "flip", "flip", "cut", "delete", "insert", "dup"]))
        if not data:
            break
        pos = draw(hs.integers(0, len(data) - 1))
        if kind == "flip":
            data[pos] = draw(hs.integers(0, 255))
        elif kind == "cut":
            del data[pos:]
        elif kind == "delete":
            del data[pos : pos + draw(hs.integers(1, 64))]
        elif kind == "insert":
            data[pos:pos] = draw(hs.binary(min_size=1, max_size=32))
        else:
            end = min(len(data), pos + draw(hs.integers(1, 256)))
            data[pos:pos] = data[pos:end]
    return bytes(data)


def _check_gray(gray) -> None:
    assert isinstance(gray, np.ndarray) and gray.dtype == np.uint8 and gray.ndim == 2
    assert gray.shape[0] >= 1 and gray.shape[1] >= 1
    assert gray.shape[0] * gray.shape[1] <= MAX_PIXELS


def _decode_or_image_error(data: bytes) -> np.ndarray | None:
    try:
        gray = decode_image(data, max_pixels=MAX_PIXELS)
    except ImageError as exc:
        message = str(exc)
        assert message and "\n" not in message and " object at 0x" not in message
        return None
    _check_gray(gray)
    return gray


# --- image decoding ---------------------------------------------------------------------------


@settings(max_examples=examples(300), **FUZZ)
@given(hs.binary(max_size=4096))
def test_random_bytes_decode_or_raise_image_error(data):
    _decode_or_image_error(data)


@settings(max_examples=examples(150), **FUZZ)
@given(magic=hs.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*",
                              b"RIFF\x00\x00\x00\x00WEBP"]),
       rest=hs.binary(max_size=2048))
def test_magic_bytes_then_noise(magic, rest):
    _decode_or_image_error(magic + rest)


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_mutated_real_images(kind):
    @settings(max_examples=examples(120), **FUZZ)
    @given(mutated(SEEDS[kind]))
    def check(data):
        _decode_or_image_error(data)

    check()


def test_seeds_decode():
    for kind, data in SEEDS.items():
        gray = decode_image(data)
        assert gray.shape == (40, 160), kind


# --- preprocess and segment on arrays --------------------------------------------------------

shapes = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=120)


@hs.composite
def paper_with_marks(draw) -> np.ndarray:
    """Light paper with dark rectangles and lines: names, blots, form lines, noise."""
    h = draw(hs.integers(3, 80))
    w = draw(hs.integers(3, 400))
    paper = draw(hs.integers(120, 255))
    img = np.full((h, w), paper, np.uint8)
    for _ in range(draw(hs.integers(0, 25))):
        x0 = draw(hs.integers(0, w - 1))
        y0 = draw(hs.integers(0, h - 1))
        x1 = draw(hs.integers(x0 + 1, min(w, x0 + 60)))
        y1 = draw(hs.integers(y0 + 1, min(h, y0 + 60)))
        img[y0:y1, x0:x1] = draw(hs.integers(0, 255))
    if draw(hs.booleans()):
        noise = draw(hnp.arrays(np.uint8, (h, w), elements=hs.integers(0, 60)))
        img = np.clip(img.astype(np.int16) - noise, 0, 255).astype(np.uint8)
    return img


def _check_cleaned(gray: np.ndarray) -> None:
    cleaned = clean_name_image(gray)
    assert cleaned.ink.shape == gray.shape[:2] and cleaned.ink.dtype == np.uint8
    assert set(np.unique(cleaned.ink).tolist()) <= {0, 255}
    seg = segment(cleaned.ink)
    _check_boxes(seg.boxes, gray.shape[1], gray.shape[0])
    assert seg.col_profile.shape == (gray.shape[1],) and seg.row_profile.shape == (gray.shape[0],)
    # Every box holds ink, and no ink lies in a column outside every box.
    ink_cols = np.flatnonzero(cleaned.ink.any(axis=0))
    covered = np.zeros(gray.shape[1], bool)
    for b in seg.boxes:
        covered[b.x0 : b.x1] = True
        assert cleaned.ink[b.y0 : b.y1, b.x0 : b.x1].any()
    assert covered[ink_cols].all()


def _check_boxes(boxes, width: int, height: int) -> None:
    for b in boxes:
        assert 0 <= b.x0 < b.x1 <= width and 0 <= b.y0 < b.y1 <= height, (b, width, height)
    for a, b in pairwise(boxes):
        assert a.x1 <= b.x0, (a, b)  # sorted left to right and disjoint


@settings(max_examples=examples(150), **FUZZ)
@given(hnp.arrays(np.uint8, shapes))
def test_clean_and_segment_random_arrays(gray):
    _check_cleaned(gray)


@settings(max_examples=examples(150), **FUZZ)
@given(paper_with_marks())
def test_clean_and_segment_paper_with_marks(gray):
    _check_cleaned(gray)


@settings(max_examples=examples(100), **FUZZ)
@given(hnp.arrays(hs.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.bool_, np.int32]),
                  hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=40)))
def test_any_array_loads_as_gray_or_image_error(arr):
    try:
        gray = load_gray(arr)
    except ImageError:
        return
    _check_gray(gray)


@settings(max_examples=examples(80), **FUZZ)
@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=50)))
def test_segment_any_mask(mask):
    seg = segment(mask)
    _check_boxes(seg.boxes, mask.shape[1], mask.shape[0])


# --- the whole analysis ---------------------------------------------------------------------

transcriptions = hs.one_of(
    hs.text(max_size=12),
    hs.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ -'", min_size=1, max_size=14),
    hs.sampled_from(["MARTIN", "JEAN-PAUL", "O'NEIL", "", " ", "UNREADABLE", "A" * 60]),
)


def _check_analysis(image, transcription: str) -> None:
    from hwocr.align import analyze_name

    try:
        analysis = analyze_name(image, transcription)
    except ImageError:
        return
    gray = analysis.cleaned.gray
    al = analysis.alignment
    assert al.status in ("matched", "repaired", "needs_review", "failed")
    assert 0.0 <= al.confidence <= 1.0
    if al.status != "failed":
        assert len(al.boxes) == len(al.letters)
        for b in al.boxes:
            assert 0 <= b.x0 < b.x1 <= gray.shape[1] and 0 <= b.y0 < b.y1 <= gray.shape[0], b
    _check_boxes(analysis.segmentation.boxes, gray.shape[1], gray.shape[0])


@settings(max_examples=examples(120), **FUZZ)
@given(paper_with_marks(), transcriptions)
def test_analyze_name_on_marks(gray, transcription):
    _check_analysis(gray, transcription)


@settings(max_examples=examples(60), **FUZZ)
@given(hnp.arrays(np.uint8, shapes), transcriptions)
def test_analyze_name_on_random_arrays(gray, transcription):
    _check_analysis(gray, transcription)


@settings(max_examples=examples(80), **FUZZ)
@given(hs.one_of(mutated(SEEDS["png"]), mutated(SEEDS["jpeg"]), mutated(SEEDS["gif"])), transcriptions)
def test_analyze_name_on_mutated_files(data, transcription):
    _check_analysis(data, transcription)


def test_analyze_name_on_mutated_real_names(names_dir):
    """Mutations of real name scans from the shared data (skipped when absent)."""
    paths = sorted((names_dir / "images").glob("*.jpg"))[:20]
    if not paths:
        pytest.skip("no real name images")
    seeds = [p.read_bytes() for p in paths]

    @settings(max_examples=examples(60), **FUZZ)
    @given(hs.sampled_from(range(len(seeds))).flatmap(lambda i: mutated(seeds[i])), transcriptions)
    def check(data, transcription):
        _check_analysis(data, transcription)

    check()


# --- CSV ------------------------------------------------------------------------------------

HEADERS = [b"unit_id,image_url,transcription,first_or_last\n", b"FILENAME,IDENTITY\n",
           b"\xef\xbb\xbfunit_id;image_url;transcription\r\n", b"unit_id\timage_url\ttranscription\n"]
csv_alphabet = hs.sampled_from(list(b'abcAB1,;\t|"\'\r\n =+-@ \xc3\xa9\xff\x00'))


def _read_or_csv_error(data: bytes) -> None:
    for reader in (read_csv, lambda d, name: preview_csv(d, 5, name=name)):
        try:
            table = reader(data, name="fuzz.csv")
        except CsvError as exc:
            assert str(exc).startswith("fuzz.csv: ") and "\n" not in str(exc)
            continue
        for row in table.rows:
            assert (row.transcription is None) == (row.skip_reason is not None)
            assert row.line >= 2


@settings(max_examples=examples(300), **FUZZ)
@given(hs.binary(max_size=2048))
def test_random_bytes_as_csv(data):
    _read_or_csv_error(data)


@settings(max_examples=examples(300), **FUZZ)
@given(hs.sampled_from(HEADERS), hs.lists(csv_alphabet, max_size=400).map(bytes))
def test_csv_header_then_random_cells(header, body):
    _read_or_csv_error(header + body)


@settings(max_examples=examples(150), **FUZZ)
@given(hs.sampled_from(HEADERS), hs.lists(csv_alphabet, max_size=300).map(bytes),
       hs.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1"]))
def test_csv_in_other_encodings(header, body, encoding):
    text = (header + body).decode("latin-1")
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    _read_or_csv_error(data)


# --- zips of images ---------------------------------------------------------------------------


def _zip_seed() -> bytes:
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("images/a.png", SEEDS["png"], compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("images/b.jpg", SEEDS["jpeg"], compress_type=zipfile.ZIP_STORED)
        zf.writestr("names/c.gif", SEEDS["gif"], compress_type=zipfile.ZIP_BZIP2)
        zf.writestr("d.bmp", SEEDS["bmp"], compress_type=zipfile.ZIP_LZMA)
    return buf.getvalue()


ZIP_SEED = _zip_seed()


def _read_zip_or_input_error(data: bytes, tmp_path) -> None:
    from hwocr.errors import InputError
    from hwocr.fetch import FetchRequest, ZipStore, fetch_all

    path = tmp_path / "fuzz.zip"
    path.write_bytes(data)
    try:
        store = ZipStore(path)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    with store:
        names = ["images/a.png", "images/b.jpg", "names/c.gif", "d.bmp", *store.names()[:6]]
        for name in names:
            try:
                store.read(name, max_bytes=1_000_000)
            except (InputError, ImageError):
                pass
        # The fetcher turns every one of them into a result, never an exception.
        results = list(fetch_all([FetchRequest(str(i), n) for i, n in enumerate(names)], images_root=store))
        assert len(results) == len(names)
        assert not [r.error for r in results if r.error and r.error.startswith("internal error")]


@settings(max_examples=examples(200), **FUZZ)
@given(mutated(ZIP_SEED))
def test_mutated_zips(tmp_path_factory, data):
    _read_zip_or_input_error(data, tmp_path_factory.mktemp("zipfuzz"))
