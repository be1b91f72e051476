"""Decoding any image input to gray, dark ink on light paper; normalising transcriptions."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from hwocr.errors import ImageError
from hwocr.images import decode_image, load_gray, sniff_image_type, to_gray
from hwocr.text import gap_after, letters_of, normalize_transcription


def letter_image() -> np.ndarray:
    img = np.full((20, 16), 250, np.uint8)
    img[4:16, 7:9] = 10
    return img


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP"])
def test_decodes_common_formats(fmt):
    data = encode(Image.fromarray(letter_image()), fmt)
    gray = decode_image(data)
    assert gray.dtype == np.uint8 and gray.shape == (20, 16)
    assert gray[10, 8] < 80 and gray[2, 2] > 200


def test_light_ink_on_dark_is_inverted():
    assert np.array_equal(to_gray(255 - letter_image()), letter_image())


def test_bold_crop_keeps_polarity_by_its_paper_frame():
    img = np.full((10, 10), 255, np.uint8)
    img[1:9, 1:9] = 0  # mostly ink, but framed by paper
    assert np.array_equal(to_gray(img), img)


def test_rgba_with_transparent_background_is_composited_on_white():
    rgba = np.zeros((20, 16, 4), np.uint8)
    rgba[4:16, 7:9] = (0, 0, 0, 255)  # black strokes, the rest fully transparent black
    gray = to_gray(rgba)
    assert gray[10, 8] == 0 and gray[0, 0] == 255


def test_fully_transparent_png_is_blank_paper():
    data = encode(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), "PNG")
    assert np.all(decode_image(data) == 255)


def test_sixteen_bit_and_cmyk_and_palette():
    arr16 = (letter_image().astype(np.uint16) * 257)
    assert decode_image(encode(Image.fromarray(arr16), "PNG"))[10, 8] < 80
    cmyk = Image.fromarray(letter_image()).convert("CMYK")
    assert decode_image(encode(cmyk, "JPEG"))[10, 8] < 80
    pal = Image.fromarray(letter_image()).convert("P")
    assert decode_image(encode(pal, "PNG"))[10, 8] < 80


def test_animated_gif_gives_first_frame():
    frames = [Image.fromarray(letter_image()), Image.fromarray(np.full((20, 16), 250, np.uint8))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    assert decode_image(buf.getvalue())[10, 8] < 80


def test_exif_orientation_is_applied():
    img = Image.fromarray(letter_image())
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    gray = decode_image(encode(img, "JPEG", exif=exif))
    assert gray.shape == (16, 20)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><body>404</body></html>", "HTML page"),
        (b'{"error": "nope"}', "JSON"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "cannot be decoded|truncated"),
        (b"GIF89a" + b"\x00" * 4, "cannot be decoded|truncated"),
    ],
)
def test_bad_bytes_are_refused_with_reason(data, reason):
    with pytest.raises(ImageError, match=reason):
        decode_image(data)


@pytest.mark.parametrize("mode", ["L", "RGB", "CMYK"])
def test_jpeg_fast_path_decodes_like_pillow(mode):
    from hwocr.images import _pil_to_gray

    gray = np.full((30, 60), 250, np.uint8)
    gray[5:25, 10:14] = 20
    img = Image.fromarray(gray).convert(mode)
    plain = encode(img, "JPEG", quality=95)
    assert np.array_equal(decode_image(plain), _pil_to_gray(Image.open(io.BytesIO(plain))))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the fast path must leave it to Pillow, which applies it
    rotated = encode(img, "JPEG", quality=95, exif=exif.tobytes())
    assert decode_image(rotated).shape == (60, 30)


def test_truncated_jpeg_is_refused():
    data = encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)), "JPEG")
    with pytest.raises(ImageError):
        decode_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding():
    data = encode(Image.new("L", (5000, 5000), 255), "PNG")
    with pytest.raises(ImageError, match="more than the limit"):
        decode_image(data, max_pixels=1_000_000)


def test_oversize_file_is_refused():
    with pytest.raises(ImageError, match="more than the limit"):
        decode_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, max_bytes=50)


def test_load_gray_paths_bytes_pil(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(encode(Image.fromarray(letter_image()), "PNG"))
    assert np.array_equal(load_gray(path), letter_image())
    assert np.array_equal(load_gray(str(path)), letter_image())
    assert np.array_equal(load_gray(path.read_bytes()), letter_image())
    assert np.array_equal(load_gray(Image.open(path)), letter_image())
    with pytest.raises(ImageError, match="no such file"):
        load_gray(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="cannot read an image from a int"):
        load_gray(42)


def test_sniff():
    assert sniff_image_type(b"\x89PNG\r\n\x1a\n....") == "png"
    assert sniff_image_type(b"\xff\xd8\xff\xdb") == "jpeg"
    assert sniff_image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff_image_type(b"<html>") is None


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 2, 3, 4]),
    st.sampled_from([np.uint8, np.uint16, np.float32, np.bool_]), st.integers(0, 2**32 - 1),
)
def test_to_gray_any_array_gives_uint8_2d(h, w, channels, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = (h, w) if channels == 1 else (h, w, channels)
    if dtype == np.bool_:
        arr = rng.integers(0, 2, shape).astype(bool)
    elif dtype == np.float32:
        arr = rng.random(shape).astype(np.float32)
    else:
        arr = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    gray = to_gray(arr)
    assert gray.dtype == np.uint8 and gray.shape == (h, w)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("jean-roch", ("JEAN-ROCH", None)),
        ("Cavagné-Saubesty", ("CAVAGNE-SAUBESTY", None)),
        ("ÉLÉONORE", ("ELEONORE", None)),
        ("Œdipe", ("OEDIPE", None)),
        ("d’Arc", ("D'ARC", None)),
        ("  la   fontaine ", ("LA FONTAINE", None)),
        ("--A--", ("A", None)),
        ("", (None, "no transcription")),
        (None, (None, "no transcription")),
        ("UNREADABLE", (None, "transcription is UNREADABLE")),
        ("unreadable", (None, "transcription is UNREADABLE")),
        ("???", (None, "transcription '???' has no letters or digits")),
    ],
)
def test_normalize_transcription(raw, expected):
    assert normalize_transcription(raw) == expected


def test_letters_and_gaps():
    assert letters_of("JEAN-ROCH") == "JEANROCH"
    assert gap_after("JEAN-ROCH") == ("", "", "", "-", "", "", "", "")
    assert gap_after("D'ARC") == ("'", "", "", "")
    assert gap_after("LA FONTAINE")[1] == " "
