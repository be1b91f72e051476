"""The hostile-input corpus: bad CSVs, images, URLs, redirects and zips, each with what
hwocr must answer.

Everything is built in memory by code (nothing big is committed): the bombs are a few
hundred kB that claim gigabytes, and are made when asked for. ``python -m
tests.hostile.corpus OUT`` writes the whole corpus to a folder to look at or to feed to
other tools.

Each :class:`Case` says at which level hwocr must stop it:

* ``file`` -- the input as a whole is refused: ``python -m hwocr import`` exits 2 with
  ``hwocr: <message>`` on one line, and the Import page shows that message as an error;
* ``row`` -- the import goes on, and the row is recorded as ``fetch_failed`` with exactly
  ``expect`` as its reason (the CLI exits 3: done, some rows failed);
* ``ok`` -- odd but legitimate: it is imported (``expect`` is None).

``expect`` is the exact message, so a change of wording fails a test on purpose.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import sys
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

#: The CSVs' file name inside the corpus (messages start with it).
EXPECTED_COLUMNS = "expected unit_id, image_url, transcription[, first_or_last] or FILENAME, IDENTITY"
PRIVATE_HINT = "(set HWOCR_ALLOW_PRIVATE_URLS=1 to allow)"
CATEGORIES = ("csv", "image", "url", "redirect", "zip")


@dataclass(frozen=True)
class Case:
    category: str
    name: str
    #: What it is, for people and for the benchmark's table.
    what: str
    #: "file", "row" or "ok" (see the module docstring).
    level: str
    #: The exact message (file level: after "<input name>: "; row level: the reason).
    expect: str | None
    #: The bytes of the CSV, the image or the zip.
    data: bytes = b""
    #: url/redirect: the image_url ({port}: the test server's port); zip: the CSV's source.
    source: str = ""
    #: csv cases at level ok: {unit_id: (status, reason)} the import must record.
    rows: dict = field(default_factory=dict)


# --- building blocks ----------------------------------------------------------------------


def name_png(text_width: int = 120) -> bytes:
    """A small, valid name-like image: dark strokes on light paper."""
    img = Image.new("L", (text_width, 40), 235)
    draw = ImageDraw.Draw(img)
    for i in range(4):
        x = 10 + i * 26
        draw.rectangle((x, 10, x + 14, 30), fill=30)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _jpeg() -> bytes:
    img = Image.new("L", (120, 40), 230)
    ImageDraw.Draw(img).rectangle((10, 10, 50, 30), fill=20)
    return _save(img, "JPEG", quality=90)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(side: int = 30_000) -> bytes:
    """A real, complete 1-bit PNG of ``side`` x ``side`` white pixels: ~100 kB on disk,
    900 million pixels (and 900 MB as 8-bit gray) once decoded."""
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    parts = []
    block = row * 1000
    for start in range(0, side, 1000):
        parts.append(comp.compress(block if side - start >= 1000 else row * (side - start)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"".join(parts))
            + _png_chunk(b"IEND", b""))


def png_text_bomb() -> bytes:
    """A 1x1 PNG with a compressed text chunk that inflates to 64 MB."""
    small = _save(Image.new("L", (1, 1), 255), "PNG")
    text = b"Comment\x00\x00" + zlib.compress(b"A" * (64 * 1024 * 1024), 9)
    return small[:33] + _png_chunk(b"zTXt", text) + small[33:]


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real JPEG whose frame header is rewritten to claim width x height pixels."""
    data = bytearray(_jpeg())
    i = 2
    while i < len(data):
        marker = data[i + 1]
        seg_len = (data[i + 2] << 8) | data[i + 3]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5 : i + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        i += 2 + seg_len
    raise AssertionError("no SOF marker")


def gif_claiming(width: int, height: int) -> bytes:
    """A 1x1 GIF whose logical screen claims width x height."""
    data = bytearray(_save(Image.new("L", (1, 1), 255), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def bmp_claiming(width: int, height: int) -> bytes:
    data = bytearray(_save(Image.new("L", (4, 4), 255), "BMP"))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def sixteen_bit_png() -> bytes:
    arr = np.full((40, 120), 60000, np.uint16)
    arr[10:30, 10:60] = 3000
    return _save(Image.fromarray(arr), "PNG")


def cmyk_jpeg() -> bytes:
    img = Image.new("CMYK", (120, 40), (0, 0, 0, 10))
    ImageDraw.Draw(img).rectangle((10, 10, 50, 30), fill=(0, 0, 0, 240))
    return _save(img, "JPEG")


def animated_gif() -> bytes:
    frames = []
    for i in range(3):
        img = Image.new("L", (120, 40), 240)
        ImageDraw.Draw(img).rectangle((10 + 20 * i, 10, 30 + 20 * i, 30), fill=10)
        frames.append(img)
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def transparent_png() -> bytes:
    return _save(Image.new("RGBA", (120, 40), (0, 0, 0, 0)), "PNG")


def tiny_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40">'
       b'<script>alert(document.domain)</script><rect width="50" height="20"/></svg>')
HTML = b"<!DOCTYPE html><html><head><title>404</title></head><body>Not found</body></html>"


# --- CSVs ---------------------------------------------------------------------------------

HEADER = b"unit_id,image_url,transcription,first_or_last\n"
GOOD_ROWS = b"A1,images/ok.png,MARTIN,last\nA2,images/ok.png,JEAN,first\n"
OK_ROWS = {"A1": ("fetched", None), "A2": ("fetched", None)}


def csv_cases() -> list[Case]:
    rng = random.Random(1234)
    garbage = bytes(rng.randrange(256) for _ in range(4096))
    text = (HEADER + GOOD_ROWS).decode()
    huge = HEADER + b"A1,images/ok.png," + b"X" * 100_000 + b",last\n"
    cases = [
        Case("csv", "wrong_delimiter", "colons instead of commas", "file",
             "missing columns 'unit_id', 'image_url', 'transcription'; found columns: "
             f"'unit_id:image_url:transcription:first_or_last' ({EXPECTED_COLUMNS})",
             (HEADER + GOOD_ROWS).replace(b",", b":")),
        Case("csv", "semicolons_in_a_comma_file", "header with semicolons, rows with commas", "ok", None,
             HEADER.replace(b",", b";") + b"A1;images/ok.png;MARTIN;last\nA2,images/ok.png,JEAN,first\n",
             rows={"A1": ("fetched", None), "A2,images/ok.png,JEAN,first": ("skipped", "no image_url")}),
        Case("csv", "utf8_bom", "UTF-8 with a byte-order mark (Excel)", "ok", None,
             b"\xef\xbb\xbf" + HEADER + GOOD_ROWS, rows=OK_ROWS),
        Case("csv", "bom_only", "nothing but a byte-order mark", "file", "the file is empty", b"\xef\xbb\xbf"),
        Case("csv", "empty", "0 bytes", "file", "the file is empty", b""),
        Case("csv", "blank_lines", "only blank lines", "file", "the file is empty", b"\n\r\n  \n\t\n"),
        Case("csv", "header_only", "a header and no rows", "file", "the file has a header but no data rows", HEADER),
        Case("csv", "huge_field", "a 100,000-character transcription", "file",
             "line 2: a field is 100,000 characters long, more than the limit of 65,536 (is a quote left open?)", huge),
        Case("csv", "huge_header", "a 70,000-character first line", "file",
             "the first line is 70,000 characters long; it is not a CSV header", b"x" * 70_000 + b"\n"),
        Case("csv", "binary_garbage", "4 kB of random bytes", "file",
             "contains NUL bytes; it looks like a binary file, not a CSV", garbage),
        Case("csv", "nul_in_a_row", "a NUL byte inside a row", "file",
             "contains NUL bytes; it looks like a binary file, not a CSV",
             HEADER + b"A1,images/o\x00k.png,MARTIN,last\n"),
        Case("csv", "utf16_with_bom", "UTF-16 with a byte-order mark (Excel 'Unicode text')", "ok", None,
             text.encode("utf-16"), rows=OK_ROWS),
        Case("csv", "utf16_without_bom", "UTF-16 little-endian without a byte-order mark", "ok", None,
             text.encode("utf-16-le"), rows=OK_ROWS),
        Case("csv", "utf16_big_endian_without_bom", "UTF-16 big-endian without a byte-order mark", "ok", None,
             text.encode("utf-16-be"), rows=OK_ROWS),
        Case("csv", "bad_utf8_after_bom", "a UTF-8 byte-order mark, then invalid UTF-8", "file",
             "starts with a utf-8-sig byte-order mark but is not valid utf-8-sig (byte 70)",
             b"\xef\xbb\xbf" + HEADER + b"A1,images/ok.png,MART\xffIN,last\n"),
        Case("csv", "cp1252", "Windows-1252 accents", "ok", None,
             HEADER + "A1,images/ok.png,HÉLÈNE,first\n".encode("cp1252"),
             rows={"A1": ("fetched", None)}),
        Case("csv", "old_mac_newlines", "lines ended by CR alone (classic Mac OS)", "ok", None,
             (HEADER + GOOD_ROWS).replace(b"\n", b"\r"), rows=OK_ROWS),
        Case("csv", "unclosed_quote", "a quote opened and never closed, swallowing the next row", "ok", None,
             HEADER + b'A1,"images/ok.png,MARTIN,last\nA2,images/ok.png,JEAN,first\n',
             rows={"A1": ("skipped", 'lines 2-3 were read as one record: a quote (") is left open on line 2')}),
        Case("csv", "too_many_fields", "an unquoted comma inside a transcription", "ok", None,
             HEADER + b"A1,images/ok.png,MARTIN, JR,last\nA2,images/ok.png,JEAN,first\n",
             rows={"A1": ("skipped", "has 5 fields where the header has 4 (an unquoted comma?)"),
                   "A2": ("fetched", None)}),
        Case("csv", "xlsx", "an Excel workbook named .csv", "file",
             "is a zip archive or an Excel workbook, not a CSV; save it as CSV (UTF-8)",
             b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200),
        Case("csv", "xls", "an old Excel workbook named .csv", "file",
             "is an old Excel workbook (.xls), not a CSV; save it as CSV (UTF-8)",
             b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200),
        Case("csv", "html_page", "an HTML error page saved as .csv", "file",
             "missing columns 'unit_id', 'image_url', 'transcription'; found columns: "
             "'<!DOCTYPE html><html><head><title>404</title></head><body>Not found</body></html>' "
             f"({EXPECTED_COLUMNS})",
             HTML),
        Case("csv", "markdown_in_header", "markdown image and link in the header", "file",
             "missing column 'image_url'; found columns: 'unit_id', '![pwned](http://evil.example/x.png)', "
             f"'[click](javascript:alert(1))', 'transcription' ({EXPECTED_COLUMNS})",
             b"unit_id,![pwned](http://evil.example/x.png),[click](javascript:alert(1)),transcription\nA1,a,b,AB\n"),
        Case("csv", "formula_cells", "spreadsheet formulas in every cell", "ok", None,
             HEADER + b'"=HYPERLINK(""http://evil.example"",""x"")",images/ok.png,MARTIN,last\n'
                      b"+1+1,images/ok.png,@SUM(A1),first\n"
                      b"-2,=cmd|' /C calc'!A0,JEAN,first\n",
             rows={'=HYPERLINK("http://evil.example","x")': ("fetched", None), "+1+1": ("fetched", None),
                   "-2": ("fetch_failed", "no such file =cmd|' /C calc'!A0")}),
    ]
    return cases


# --- images -------------------------------------------------------------------------------


def image_cases() -> list[Case]:
    png, jpeg = name_png(), _jpeg()
    gif = _save(Image.new("L", (40, 20), 255), "GIF")
    return [
        Case("image", "truncated_png", "a PNG cut in half", "row", "the image file is truncated", png[: len(png) // 2]),
        Case("image", "truncated_jpeg", "a JPEG cut in half", "row", "the image file is truncated",
             jpeg[: len(jpeg) // 2]),
        Case("image", "zero_bytes", "an empty file", "row", "the file is empty (0 bytes)", b""),
        Case("image", "html_named_jpg", "an HTML error page named .jpg", "row",
             "the content is an HTML page, not an image", HTML),
        Case("image", "svg_named_png", "an SVG with a script, named .png", "row",
             "the content is an SVG drawing, not a PNG, JPEG, GIF, BMP, TIFF or WebP image", SVG),
        Case("image", "pdf_named_jpg", "a PDF named .jpg", "row", "the content is a PDF, not an image",
             b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
        Case("image", "jpeg_magic_then_garbage", "JPEG magic bytes, then noise", "row",
             "the image cannot be decoded: cannot identify image file",
             b"\xff\xd8\xff" + bytes(random.Random(5).randrange(256) for _ in range(3000))),
        Case("image", "sixteen_bit_png", "a 16-bit gray PNG", "ok", None, sixteen_bit_png()),
        Case("image", "cmyk_jpeg", "a CMYK JPEG", "ok", None, cmyk_jpeg()),
        Case("image", "animated_gif", "an animated GIF (its first frame is used)", "ok", None, animated_gif()),
        Case("image", "transparent_png", "a fully transparent PNG (blank paper)", "ok", None, transparent_png()),
        Case("image", "png_bomb_30000", "a 30000x30000 1-bit PNG (~100 kB, 900 Mpixels)", "row",
             "the image is more than the limit of 40,000,000 pixels", png_bomb()),
        Case("image", "jpeg_pixel_flood", "a JPEG header claiming 65000x65000", "row",
             "the image is more than the limit of 40,000,000 pixels", jpeg_claiming(65000, 65000)),
        Case("image", "gif_screen_bomb", "a 1x1 GIF on a 65535x65535 screen", "row",
             "the image is more than the limit of 40,000,000 pixels", gif_claiming(65535, 65535)),
        Case("image", "bmp_claiming_huge", "a BMP header claiming 100000x100000", "row",
             "the image is more than the limit of 40,000,000 pixels", bmp_claiming(100_000, 100_000)),
        Case("image", "png_text_bomb", "a 1x1 PNG with a 64 MB compressed text chunk", "row",
             "the image cannot be decoded: Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK",
             png_text_bomb()),
        Case("image", "polyglot_png_zip", "a valid PNG with a zip appended (a polyglot)", "ok", None,
             png + tiny_zip({"payload.html": HTML})),
        Case("image", "polyglot_gif_js", "GIF89a magic followed by JavaScript", "row",
             "the image cannot be decoded: cannot identify image file",
             b"GIF89a/*\x00\x00\x00\x00*/=1;alert(document.domain);//" + b"\x00" * 64),
        Case("image", "polyglot_jpeg_html_comment", "a valid JPEG whose comment holds HTML", "ok", None,
             jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(HTML) + 2) + HTML + jpeg[2:]),
        Case("image", "zip_named_png", "a zip named .png", "row", "the content is a zip archive, not an image",
             tiny_zip({"a.png": png})),
        Case("image", "gif_truncated_header", "the first 13 bytes of a GIF", "row",
             "the image cannot be decoded: cannot identify image file", gif[:13]),
    ]


# --- URLs and paths -------------------------------------------------------------------------


def url_cases() -> list[Case]:
    """``{port}`` is a live test server on 127.0.0.1 that must never be hit."""
    loop = f"a loopback address {PRIVATE_HINT}"

    def refused(name: str, source: str, reason: str, what: str) -> Case:
        return Case("url", name, what, "row", f"refused: {reason}", source=source)

    return [
        refused("file_scheme", "file:///etc/passwd", "file:// URLs are not allowed", "file://"),
        refused("ftp_scheme", "ftp://example.com/a.jpg", "ftp:// URLs are not allowed", "ftp://"),
        refused("javascript_scheme", "javascript:alert(document.cookie)", "javascript: URLs are not allowed",
                "javascript:"),
        refused("data_scheme", "data:image/png;base64,iVBORw0KGgo=", "data: URLs are not allowed", "data:"),
        refused("dotdot_path", "../../../../etc/passwd",
                "the path ../../../../etc/passwd leaves the images folder", "../ path"),
        refused("absolute_path", "/etc/passwd", "absolute paths are not allowed (/etc/passwd)", "absolute path"),
        refused("windows_path", "C:\\Windows\\win.ini", "absolute paths are not allowed (C:\\Windows\\win.ini)",
                "Windows drive path"),
        refused("home_path", "~/.ssh/id_rsa", "paths starting with ~ are not allowed (~/.ssh/id_rsa)", "~ path"),
        refused("metadata", "http://169.254.169.254/latest/meta-data/",
                "169.254.169.254 is a link-local address (list it in HWOCR_ALLOW_PRIVATE_URLS to allow)",
                "cloud metadata service"),
        refused("loopback", "http://127.0.0.1:{port}/a.png", f"127.0.0.1 is {loop}", "127.0.0.1"),
        refused("ipv6_loopback", "http://[::1]:{port}/a.png", f"::1 is {loop}", "[::1]"),
        refused("ipv4_mapped_ipv6", "http://[::ffff:127.0.0.1]:{port}/a.png", f"127.0.0.1 is {loop}",
                "[::ffff:127.0.0.1]"),
        refused("ipv4_compatible_ipv6", "http://[::127.0.0.1]:{port}/a.png",
                f"::7f00:1 embeds 127.0.0.1, {loop}", "[::127.0.0.1]"),
        refused("nat64", "http://[64:ff9b::a9fe:a9fe]/a.png",
                "64:ff9b::a9fe:a9fe embeds 169.254.169.254, a link-local address "
                "(list it in HWOCR_ALLOW_PRIVATE_URLS to allow)", "NAT64 metadata"),
        refused("sixtofour", "http://[2002:7f00:1::]:{port}/a.png", f"2002:7f00:1:: embeds 127.0.0.1, {loop}",
                "6to4 loopback"),
        refused("decimal_ip", "http://2130706433:{port}/a.png", f"2130706433 resolves to 127.0.0.1, {loop}",
                "decimal IP"),
        refused("octal_ip", "http://0177.0.0.1:{port}/a.png", f"0177.0.0.1 resolves to 127.0.0.1, {loop}",
                "octal IP"),
        refused("hex_ip", "http://0x7f000001:{port}/a.png", f"0x7f000001 resolves to 127.0.0.1, {loop}", "hex IP"),
        refused("short_ip", "http://127.1:{port}/a.png", f"127.1 resolves to 127.0.0.1, {loop}", "127.1"),
        refused("localhost", "http://localhost:{port}/a.png", f"localhost resolves to 127.0.0.1, {loop}",
                "a DNS name for 127.0.0.1"),
        refused("unspecified", "http://0.0.0.0:{port}/a.png", "0.0.0.0 is an unspecified address", "0.0.0.0"),
        refused("private_10", "http://10.0.0.1/a.png", f"10.0.0.1 is a private address {PRIVATE_HINT}", "10/8"),
        refused("credentials", "http://user:secret@example.com/a.png",
                "URLs with a user name or password are not allowed", "user:password@"),
        refused("control_chars", "http://example.com/a\x1b[31m.png", "the URL contains control characters",
                "an escape sequence in the URL"),
    ]


def redirect_cases() -> list[Case]:
    """A server on 127.0.0.1 (allowed by HWOCR_ALLOW_PRIVATE_URLS=127.0.0.1) redirects to
    ``source``; the redirect must be refused before anything is requested there."""

    def refused(name: str, location: str, reason: str) -> Case:
        return Case("redirect", name, f"a redirect to {location}", "row",
                    f"refused: redirected to {location}: {reason}", source=location)

    return [
        refused("to_file", "file:///etc/passwd", "file:// URLs are not allowed"),
        refused("to_ftp", "ftp://example.com/a.png", "ftp:// URLs are not allowed"),
        refused("to_javascript", "javascript:alert(1)", "javascript: URLs are not allowed"),
        refused("to_data", "data:image/png;base64,iVBORw0KGgo=", "data: URLs are not allowed"),
        refused("to_metadata", "http://169.254.169.254/latest/meta-data/iam/",
                "169.254.169.254 is a link-local address (list it in HWOCR_ALLOW_PRIVATE_URLS to allow)"),
        refused("to_ipv6_loopback", "http://[::1]/a.png", f"::1 is a loopback address {PRIVATE_HINT}"),
        refused("to_private", "http://192.168.0.1/a.png", f"192.168.0.1 is a private address {PRIVATE_HINT}"),
        refused("to_unspecified", "http://0.0.0.0/a.png", "0.0.0.0 is an unspecified address"),
    ]


# --- zips ---------------------------------------------------------------------------------


def _zip(build) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore", UserWarning)  # the duplicate-name case is on purpose
        zf.writestr("images/ok.png", name_png())
        build(zf)
    return buf.getvalue()


def _entry(zf: zipfile.ZipFile, name: str, data: bytes, *, mode: int | None = None, flags: int = 0) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    if mode is not None:
        info.create_system = 3
        info.external_attr = mode << 16
    info.flag_bits |= flags
    zf.writestr(info, data)


def _claiming_sizes(data: bytes, size: int) -> bytes:
    """Rewrite every central-directory entry but the first to claim ``size`` bytes."""
    out = bytearray(data)
    pos, seen = 0, 0
    while (pos := out.find(b"PK\x01\x02", pos)) != -1:
        if seen:
            out[pos + 24 : pos + 28] = struct.pack("<I", size)
        seen += 1
        pos += 4
    return bytes(out)


def _lying_size(data: bytes, name: bytes, size: int) -> bytes:
    """Rewrite the uncompressed size of ``name`` (local header and central directory)."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = 0
        while (pos := out.find(sig, pos)) != -1:
            name_at = pos + (30 if sig == b"PK\x03\x04" else 46)
            if out[name_at : name_at + len(name)] == name:
                out[pos + offset : pos + offset + 4] = struct.pack("<I", size)
            pos += 4
    return bytes(out)


def _patch_headers(data: bytes, name: bytes, patch) -> bytes:
    """Apply ``patch(buffer, header_offset, is_central)`` to both headers of ``name``."""
    out = bytearray(data)
    for sig, central in ((b"PK\x03\x04", False), (b"PK\x01\x02", True)):
        pos = 0
        while (pos := out.find(sig, pos)) != -1:
            name_at = pos + (46 if central else 30)
            if out[name_at : name_at + len(name)] == name:
                patch(out, pos, central)
            pos += 4
    return bytes(out)


def _unsupported_method(data: bytes, name: bytes) -> bytes:
    def patch(out: bytearray, pos: int, central: bool) -> None:
        at = pos + (10 if central else 8)
        out[at : at + 2] = struct.pack("<H", 99)  # AES: we do not decrypt
    return _patch_headers(data, name, patch)


def _flag_encrypted(data: bytes, name: bytes) -> bytes:
    """Set the 'encrypted' bit of ``name`` (zipfile cannot write encrypted entries)."""
    def patch(out: bytearray, pos: int, central: bool) -> None:
        out[pos + (8 if central else 6)] |= 0x01
    return _patch_headers(data, name, patch)


def _ratio(data: bytes, name: str) -> float:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    return info.file_size / info.compress_size


def zip_bomb_entry() -> bytes:
    """50 MB of zeros behind PNG magic: ~50 kB compressed."""
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * (50 * 1024 * 1024)


def nested_zip(depth: int = 3, width: int = 4) -> bytes:
    """42.zip in small: zips of zips of a megabyte of zeros."""
    inner = tiny_zip({"zeros.bin": b"\x00" * (1024 * 1024)})
    for _ in range(depth):
        inner = tiny_zip({f"{i}.zip": inner for i in range(width)})
    return inner


def zip_cases() -> list[Case]:
    png = name_png()
    bomb = zip_bomb_entry()
    noise = bytes(random.Random(3).randrange(256) for _ in range(20_000))
    bomb_zip = _zip(lambda zf: zf.writestr("images/bomb.png", bomb))
    two_big = _claiming_sizes(_zip(lambda zf: [zf.writestr(f"images/big{i}.png", png) for i in range(2)]),
                              3_000_000_000)
    return [
        Case("zip", "zip_slip", "an entry named ../../evil.png", "row",
             "refused: the zip entry ../../evil.png has an unsafe name (the path ../../evil.png leaves the images "
             "folder)", _zip(lambda zf: zf.writestr("../../evil.png", png)), source="evil.png"),
        Case("zip", "zip_slip_asked_directly", "the CSV asks for ../../evil.png itself", "row",
             "refused: the path ../../evil.png leaves the images folder",
             _zip(lambda zf: zf.writestr("../../evil.png", png)), source="../../evil.png"),
        Case("zip", "zip_absolute", "an entry named /tmp/evil.png", "row",
             "refused: the zip entry /tmp/evil.png has an unsafe name (absolute paths are not allowed "
             "(/tmp/evil.png))", _zip(lambda zf: zf.writestr("/tmp/evil.png", png)), source="tmp/evil.png"),
        Case("zip", "zip_backslash_slip", "an entry named ..\\..\\evil.png", "row",
             "refused: the zip entry ..\\..\\evil.png has an unsafe name (the path ..\\..\\evil.png leaves the images "
             "folder)", _zip(lambda zf: _entry(zf, "..\\..\\evil.png", png)), source="evil.png"),
        Case("zip", "zip_symlink", "a symbolic link to /etc/passwd", "row",
             "refused: the zip entry images/link.png is a symbolic link",
             _zip(lambda zf: _entry(zf, "images/link.png", b"/etc/passwd", mode=0o120777)), source="images/link.png"),
        Case("zip", "zip_device", "a character-device entry", "row",
             "refused: the zip entry images/dev.png is not a regular file",
             _zip(lambda zf: _entry(zf, "images/dev.png", png, mode=0o020644)), source="images/dev.png"),
        Case("zip", "zip_ratio_bomb", "an entry of 50 MB of zeros (~1000x)", "row",
             f"refused: the zip entry images/bomb.png expands {_ratio(bomb_zip, 'images/bomb.png'):,.0f} times to "
             "52,428,808 bytes (a zip bomb?)", bomb_zip, source="images/bomb.png"),
        Case("zip", "zip_nested", "zips of zips of zeros (42.zip in small) named .png", "row",
             "the content is a zip archive, not an image",
             _zip(lambda zf: zf.writestr("images/nested.png", nested_zip())), source="images/nested.png"),
        Case("zip", "zip_claims_6_gb", "a central directory claiming 2 x 3 GB", "file",
             f"expands to {6_000_000_000 + len(png):,} bytes, more than the limit of 4,294,967,296", two_big,
             source="images/big0.png"),
        Case("zip", "zip_lying_size", "an entry that inflates past the size it declares", "row",
             "the zip entry images/liar.png is corrupt (Bad CRC-32 for file 'images/liar.png')",
             _lying_size(_zip(lambda zf: zf.writestr("images/liar.png", png + b"\x00" * 100_000)),
                         b"images/liar.png", len(png)), source="images/liar.png"),
        Case("zip", "zip_duplicate_names", "two entries named images/dup.png", "row",
             "refused: the zip has 2 entries named images/dup.png",
             _zip(lambda zf: [_entry(zf, "images/dup.png", png), _entry(zf, "images/dup.png", HTML)]),
             source="images/dup.png"),
        Case("zip", "zip_encrypted", "an encrypted entry", "row",
             "refused: the zip entry images/secret.png is encrypted",
             _flag_encrypted(_zip(lambda zf: _entry(zf, "images/secret.png", png)), b"images/secret.png"),
             source="images/secret.png"),
        Case("zip", "zip_unsupported_method", "an entry compressed with AES (method 99)", "row",
             "the zip entry images/aes.png uses an unsupported compression method",
             _unsupported_method(_zip(lambda zf: _entry(zf, "images/aes.png", png)), b"images/aes.png"),
             source="images/aes.png"),
        Case("zip", "zip_control_chars", "an entry name with a terminal escape sequence", "row",
             "refused: the path images/?[2J?[31mevil.png contains control characters",
             _zip(lambda zf: zf.writestr("images/\x1b[2J\x1b[31mevil.png", png)),
             source="images/\x1b[2J\x1b[31mevil.png"),
        Case("zip", "zip_truncated", "a zip cut in half", "file", "is neither a folder nor a zip file of images",
             _zip(lambda zf: zf.writestr("images/noise.png", noise, compress_type=zipfile.ZIP_STORED))[:3000],
             source="images/ok.png"),
        Case("zip", "not_a_zip", "random bytes named .zip", "file", "is neither a folder nor a zip file of images",
             bytes(random.Random(9).randrange(256) for _ in range(2000)), source="images/ok.png"),
    ]


@functools.lru_cache(maxsize=1)
def all_cases() -> tuple[Case, ...]:
    """The whole corpus (built once per process: the bombs take a second)."""
    return tuple(csv_cases() + image_cases() + url_cases() + redirect_cases() + zip_cases())


def cases_of(category: str) -> list[Case]:
    return [case for case in all_cases() if case.category == category]


def write_corpus(out: Path) -> int:
    """Write every case with data to ``out/<category>/<name>`` (sources to sources.txt)."""
    count = 0
    for case in all_cases():
        folder = out / case.category
        folder.mkdir(parents=True, exist_ok=True)
        if case.category in ("url", "redirect"):
            with open(folder / "sources.txt", "a", encoding="utf-8") as fh:
                fh.write(f"{case.name}\t{case.source!r}\n")
        else:
            ext = {"csv": ".csv", "image": ".img", "zip": ".zip"}[case.category]
            (folder / f"{case.name}{ext}").write_bytes(case.data)
        count += 1
    return count


if __name__ == "__main__":  # pragma: no cover - a tool for people
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile_corpus")
    print(f"wrote {write_corpus(target)} cases to {target}")
