"""Fetching images: a local HTTP server on 127.0.0.1 for downloads, tmp folders and zips
for relative paths. Every failure is asserted by its exact one-line reason."""

from __future__ import annotations

import io
import os
import socket
import struct
import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from hwocr.errors import ImageError, InputError, UnsafeSourceError
from hwocr.fetch import (
    FetchRequest,
    FetchResult,
    FetchSettings,
    FolderStore,
    ZipStore,
    check_url,
    fetch_all,
    fetch_one,
    normalize_relative,
    open_images_root,
    resolve_relative,
)
from tests.httpserver import (
    LocalServer,
    chunked,
    drop_after,
    image,
    lying_length,
    no_length,
    redirect,
    retry_after,
    sequence,
    slow,
    status,
)

HINT = "(set HWOCR_ALLOW_PRIVATE_URLS=1 to allow)"


def _jpeg(width: int = 120, height: int = 40) -> bytes:
    img = Image.new("L", (width, height), 255)
    ImageDraw.Draw(img).rectangle((10, 10, 50, 30), fill=0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _png(width: int = 60, height: int = 20) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (width, height), 200).save(buf, "PNG")
    return buf.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A real PNG whose header is rewritten to claim ``width`` x ``height`` pixels."""
    png = _png()
    body = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:8] + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body)) + png[33:]


JPEG = _jpeg()
PNG = _png()

# Quick settings for tests: 127.0.0.1 allowed explicitly (other private hosts are not),
# short timeouts and backoff.
FAST = FetchSettings(
    connect_timeout_s=1.0,
    read_timeout_s=0.3,
    total_timeout_s=5.0,
    retries=2,
    backoff_s=0.01,
    max_backoff_s=0.05,
    max_retry_after_s=2.0,
    max_image_bytes=100_000,
    allow_private=("127.0.0.1",),
)


@pytest.fixture(scope="module")
def server():
    with LocalServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _clean_counts(request):
    if "server" in request.fixturenames:
        request.getfixturevalue("server").reset_counts()


def _one(url: str, settings: FetchSettings = FAST, **kwargs) -> FetchResult:
    return fetch_one(FetchRequest("k1", url), settings=settings, **kwargs)


def _fail(url_or_source: str, error: str, attempts: int) -> FetchResult:
    return FetchResult("k1", url_or_source, False, None, None, error, attempts)


# --- downloads ----------------------------------------------------------------------------


def test_ok_image(server):
    url = server.route("/ok.jpg", image(JPEG))
    result = _one(url)
    assert result == FetchResult("k1", url, True, JPEG, "jpeg", None, 1)
    assert server.hits["/ok.jpg"] == 1
    (_, headers), = server.headers
    assert headers["User-Agent"].startswith("hwocr/")
    assert headers["Accept-Encoding"] == "identity"


def test_png_with_wrong_content_type_is_judged_by_its_bytes(server):
    url = server.route("/png-as-text", image(PNG, content_type="text/plain"))
    result = _one(url)
    assert (result.ok, result.kind, result.data) == (True, "png", PNG)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (404, "HTTP 404 Not Found"),
        (403, "HTTP 403 Forbidden"),
        (410, "HTTP 410 Gone"),
        (501, "HTTP 501 Not Implemented"),
        (204, "the file is empty (0 bytes)"),
    ],
)
def test_client_errors_are_not_retried(server, code, error):
    url = server.route(f"/status-{code}", status(code, b"" if code == 204 else b"nope"))
    assert _one(url) == _fail(url, error, 1)
    assert server.hits[f"/status-{code}"] == 1


def test_500_then_ok_is_retried(server):
    url = server.route("/flaky.jpg", sequence(status(500), status(503), image(JPEG)))
    result = _one(url)
    assert (result.ok, result.kind, result.error, result.attempts) == (True, "jpeg", None, 3)
    assert server.hits["/flaky.jpg"] == 3


def test_408_is_retried(server):
    url = server.route("/408.jpg", sequence(status(408), image(JPEG)))
    assert _one(url).attempts == 2
    assert server.hits["/408.jpg"] == 2


def test_5xx_gives_up_after_all_attempts(server):
    url = server.route("/down.jpg", status(502))
    assert _one(url) == _fail(url, "HTTP 502 Bad Gateway after 3 attempts", 3)
    assert server.hits["/down.jpg"] == 3


def test_no_retries_means_one_attempt(server):
    url = server.route("/down-once.jpg", status(503))
    settings = FetchSettings(**{**FAST.__dict__, "retries": 0})
    assert _one(url, settings) == _fail(url, "HTTP 503 Service Unavailable", 1)
    assert server.hits["/down-once.jpg"] == 1


def test_slow_server_times_out_and_is_retried(server):
    url = server.route("/slow.jpg", slow(1.5, image(JPEG)))
    settings = FetchSettings(**{**FAST.__dict__, "retries": 1, "read_timeout_s": 0.2})
    started = time.monotonic()
    assert _one(url, settings) == _fail(url, "timed out after 2 attempts", 2)
    assert time.monotonic() - started < 1.4
    assert server.hits["/slow.jpg"] == 2


def test_total_timeout_cuts_a_server_that_drips(server):
    def drip(handler, hit):
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(100):  # one byte every 0.1 s: never idle long enough for the read timeout
            handler.wfile.write(b"\xff")
            handler.wfile.flush()
            time.sleep(0.1)

    url = server.route("/drip.jpg", drip)
    settings = FetchSettings(**{**FAST.__dict__, "retries": 0, "read_timeout_s": 1.0, "total_timeout_s": 0.5})
    started = time.monotonic()
    assert _one(url, settings) == _fail(url, "timed out (no complete answer within 0.5 s)", 1)
    assert time.monotonic() - started < 1.5


def test_html_page_served_as_jpeg(server):
    url = server.route("/login.jpg", image(b"<!DOCTYPE html><html><body>Please log in</body></html>"))
    assert _one(url) == _fail(url, "the content is an HTML page, not an image", 1)


def test_zero_byte_body(server):
    url = server.route("/empty.jpg", image(b""))
    assert _one(url) == _fail(url, "the file is empty (0 bytes)", 1)


def test_truncated_jpeg(server):
    url = server.route("/truncated.jpg", image(JPEG[: len(JPEG) // 2]))
    assert _one(url) == _fail(url, "the image file is truncated", 1)


def test_jpeg_magic_with_garbage(server):
    url = server.route("/garbage.jpg", image(b"\xff\xd8\xff" + b"\x00" * 10))
    assert _one(url) == _fail(url, "the image cannot be decoded: cannot identify image file", 1)


def test_absurd_pixel_count(server):
    url = server.route("/huge.png", image(_png_claiming(10_000, 5_000), "image/png"))
    assert _one(url) == _fail(url, "the image is 10000x5000 pixels, more than the limit of 40,000,000", 1)


def test_header_only_verification_still_refuses_absurd_sizes(server):
    url = server.route("/huge2.png", image(_png_claiming(10_000, 5_000), "image/png"))
    settings = FetchSettings(**{**FAST.__dict__, "verify": "header"})
    assert _one(url, settings) == _fail(url, "the image is 10000x5000 pixels, more than the limit of 40,000,000", 1)
    ok = server.route("/ok-header.jpg", image(JPEG))
    assert _one(ok, settings).ok


def test_oversize_body_without_content_length(server):
    url = server.route("/big-nolength.jpg", no_length(b"\xff\xd8\xff" + b"\x00" * 300_000))
    assert _one(url) == _fail(url, "the download is larger than the limit of 100,000 bytes", 1)


def test_oversize_content_length_is_refused_before_reading(server):
    url = server.route("/big.jpg", image(b"\xff\xd8\xff" + b"\x00" * 200_000))
    assert _one(url) == _fail(url, "the server announces 200,003 bytes, more than the limit of 100,000", 1)


def test_small_body_without_content_length_is_fine(server):
    url = server.route("/small-nolength.jpg", no_length(JPEG))
    assert _one(url).data == JPEG


def test_chunked_body(server):
    url = server.route("/chunked.jpg", chunked(JPEG, chunk=100))
    assert _one(url).data == JPEG


def test_connection_closed_before_the_announced_length(server):
    url = server.route("/short.jpg", lying_length(JPEG, 5000))
    error = f"the server closed the connection after {len(JPEG):,} of 5,000 bytes after 3 attempts"
    assert _one(url) == _fail(url, error, 3)


def test_connection_refused_is_retried():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.jpg"
    assert _one(url) == _fail(url, "connection refused after 3 attempts", 3)


def test_keep_alive_connections_are_reused(server):
    url = server.route("/reuse.jpg", image(JPEG))
    results = list(fetch_all([FetchRequest(str(i), url) for i in range(20)], settings=FAST, concurrency=1))
    assert [r.ok for r in results] == [True] * 20
    assert server.connections == 1


def test_a_connection_the_server_dropped_is_replaced_without_costing_an_attempt(server):
    url = server.route("/dropped.jpg", drop_after(JPEG))
    results = list(fetch_all([FetchRequest(str(i), url) for i in range(5)], settings=FAST, concurrency=1))
    assert [(r.ok, r.attempts) for r in results] == [(True, 1)] * 5
    assert server.hits["/dropped.jpg"] == 5


# --- redirects ------------------------------------------------------------------------------


def test_redirect_chain_is_followed(server):
    server.route("/r1", redirect("/r2", 301))
    server.route("/r2", redirect(server.url("/r3"), 307))
    server.route("/r3", redirect("final.jpg", 308))
    server.route("/final.jpg", image(JPEG))
    url = server.url("/r1")
    result = _one(url)
    assert (result.ok, result.data, result.attempts) == (True, JPEG, 1)
    assert [server.hits[p] for p in ("/r1", "/r2", "/r3", "/final.jpg")] == [1, 1, 1, 1]


def test_too_many_redirects(server):
    url = server.route("/loop", redirect("/loop"))
    settings = FetchSettings(**{**FAST.__dict__, "max_redirects": 3})
    assert _one(url, settings) == _fail(url, "too many redirects (more than 3)", 1)
    assert server.hits["/loop"] == 4


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("file:///etc/passwd", "file:// URLs are not allowed"),
        ("ftp://example.com/x.jpg", "ftp:// URLs are not allowed"),
        ("javascript:alert(1)", "javascript: URLs are not allowed"),
        ("data:image/png;base64,iVBORw0KGgo=", "data: URLs are not allowed"),
        ("http://10.1.2.3/x.jpg", f"10.1.2.3 is a private address {HINT}"),
        ("http://169.254.169.254/latest/meta-data/",
         "169.254.169.254 is a link-local address (list it in HWOCR_ALLOW_PRIVATE_URLS to allow)"),
        ("http://[::1]/x.jpg", f"::1 is a loopback address {HINT}"),
    ],
)
def test_redirects_to_forbidden_places_are_refused(server, location, reason):
    url = server.route("/bad-redirect", redirect(location))
    assert _one(url) == _fail(url, f"refused: redirected to {location}: {reason}", 1)


# --- 429 and Retry-After --------------------------------------------------------------------


def test_429_with_retry_after_waits_then_succeeds(server):
    url = server.route("/busy.jpg", sequence(retry_after("1"), image(JPEG)))
    started = time.monotonic()
    result = _one(url)
    elapsed = time.monotonic() - started
    assert (result.ok, result.attempts) == (True, 2)
    assert 0.9 <= elapsed < 3.0


def test_retry_after_is_capped(server):
    url = server.route("/very-busy.jpg", sequence(retry_after("3600"), image(JPEG)))
    settings = FetchSettings(**{**FAST.__dict__, "max_retry_after_s": 0.2})
    started = time.monotonic()
    assert _one(url, settings).attempts == 2
    assert time.monotonic() - started < 2.0


def test_429_forever_gives_up(server):
    url = server.route("/always-busy.jpg", retry_after("0"))
    assert _one(url) == _fail(url, "HTTP 429 Too Many Requests after 3 attempts", 3)


# --- schemes, hosts and private addresses ----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "file:// URLs are not allowed"),
        ("FILE:///etc/passwd", "file:// URLs are not allowed"),
        ("ftp://example.com/a.jpg", "ftp:// URLs are not allowed"),
        ("javascript:alert(document.cookie)", "javascript: URLs are not allowed"),
        ("data:image/png;base64,iVBORw0KGgo=", "data: URLs are not allowed"),
        ("gopher://example.com/", "gopher:// URLs are not allowed"),
        ("http://user:pw@example.com/a.jpg", "URLs with a user name or password are not allowed"),
        ("http:///a.jpg", "the URL has no host"),
        ("http://exa mple.com/a.jpg", "the URL's host exa mple.com is not valid"),
        ("http://example.com:99999/a.jpg", "the URL is malformed (Port out of range 0-65535)"),
        ("http://example.com/a\nb.jpg", "the URL contains control characters"),
    ],
)
def test_check_url_refuses(url, reason):
    with pytest.raises(UnsafeSourceError) as info:
        check_url(url, resolve=False)
    assert str(info.value) == reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/a.jpg", f"127.0.0.1 is a loopback address {HINT}"),
        ("http://127.1.2.3/a.jpg", f"127.1.2.3 is a loopback address {HINT}"),
        ("http://2130706433/a.jpg", f"2130706433 resolves to 127.0.0.1, a loopback address {HINT}"),
        ("http://localhost/a.jpg", f"localhost resolves to 127.0.0.1, a loopback address {HINT}"),
        ("http://[::ffff:127.0.0.1]/a.jpg", f"127.0.0.1 is a loopback address {HINT}"),
        ("http://10.0.0.8/a.jpg", f"10.0.0.8 is a private address {HINT}"),
        ("http://192.168.1.1/a.jpg", f"192.168.1.1 is a private address {HINT}"),
        ("http://100.64.0.1/a.jpg", f"100.64.0.1 is a non-public address {HINT}"),
        ("http://169.254.169.254/a.jpg",
         "169.254.169.254 is a link-local address (list it in HWOCR_ALLOW_PRIVATE_URLS to allow)"),
        ("http://0.0.0.0/a.jpg", "0.0.0.0 is an unspecified address"),
        ("http://224.0.0.1/a.jpg", "224.0.0.1 is a multicast address"),
    ],
)
def test_private_addresses_are_refused_by_resolved_ip(url, reason):
    with pytest.raises(UnsafeSourceError) as info:
        check_url(url, allow_private=False)
    message = str(info.value)
    if url == "http://localhost/a.jpg" and "::1" in message:  # an IPv6-first resolver
        reason = f"localhost resolves to ::1, a loopback address {HINT}"
    assert message == reason


def test_allow_private_by_env_and_by_list(monkeypatch):
    monkeypatch.setenv("HWOCR_ALLOW_PRIVATE_URLS", "1")
    assert check_url("http://10.0.0.8/a.jpg") == "http://10.0.0.8/a.jpg"
    monkeypatch.setenv("HWOCR_ALLOW_PRIVATE_URLS", "0")
    with pytest.raises(UnsafeSourceError):
        check_url("http://10.0.0.8/a.jpg")
    assert check_url("http://10.0.0.8/a.jpg", allow_private=["10.0.0.0/8"]) == "http://10.0.0.8/a.jpg"
    with pytest.raises(UnsafeSourceError):
        check_url("http://10.0.0.8/a.jpg", allow_private=["127.0.0.1"])
    # Never allowed, even when private addresses are.
    with pytest.raises(UnsafeSourceError):
        check_url("http://0.0.0.0/a.jpg", allow_private=True)


def test_check_url_normalises():
    assert check_url("  HTTP://Example.COM:80/a b/é.jpg?x=1 y#frag ", resolve=False) == (
        "http://example.com/a%20b/%C3%A9.jpg?x=1%20y"
    )
    assert check_url("https://bücher.example/a.jpg", resolve=False) == "https://xn--bcher-kva.example/a.jpg"
    assert check_url("https://example.com:8443", resolve=False) == "https://example.com:8443/"


def test_loopback_server_is_refused_unless_allowed(server):
    url = server.route("/private.jpg", image(JPEG))
    settings = FetchSettings(**{**FAST.__dict__, "allow_private": False})
    assert _one(url, settings) == _fail(url, f"refused: 127.0.0.1 is a loopback address {HINT}", 0)
    assert server.hits["/private.jpg"] == 0
    assert _one(url, settings, allow_private=True).ok


def test_refused_schemes_in_fetch_all():
    sources = ["file:///etc/passwd", "javascript:alert(1)", "data:,x", "ftp://h/x.jpg"]
    results = list(fetch_all([FetchRequest(s, s) for s in sources], settings=FAST))
    assert {r.key: (r.ok, r.error, r.attempts) for r in results} == {
        "file:///etc/passwd": (False, "refused: file:// URLs are not allowed", 0),
        "javascript:alert(1)": (False, "refused: javascript: URLs are not allowed", 0),
        "data:,x": (False, "refused: data: URLs are not allowed", 0),
        "ftp://h/x.jpg": (False, "refused: ftp:// URLs are not allowed", 0),
    }


def test_unresolvable_host_is_not_retried():
    url = "http://no-such-host.invalid/a.jpg"
    assert _one(url) == _fail(url, "cannot resolve host no-such-host.invalid", 1)


# --- concurrency and streaming -----------------------------------------------------------------


def test_at_least_16_downloads_in_flight(server):
    url = server.route("/sleepy.jpg", image(JPEG, delay=0.2))
    requests = [FetchRequest(f"u{i}", url) for i in range(32)]
    started = time.monotonic()
    results = list(fetch_all(requests, settings=FetchSettings(**{**FAST.__dict__, "read_timeout_s": 5.0})))
    elapsed = time.monotonic() - started
    assert sorted(r.key for r in results) == sorted(f"u{i}" for i in range(32))
    assert all(r.ok for r in results)
    assert server.max_in_flight == 16  # DEFAULTS.download_concurrency, and no more
    assert elapsed < 0.2 * 32 / 4  # serial would take 6.4 s


def test_concurrency_is_bounded(server):
    url = server.route("/sleepy4.jpg", image(JPEG, delay=0.05))
    results = list(fetch_all([FetchRequest(str(i), url) for i in range(12)], settings=FAST, concurrency=4))
    assert len(results) == 12
    assert server.max_in_flight == 4


def test_results_stream_in_completion_order_and_call_on_result(server):
    slow_url = server.route("/later.jpg", image(JPEG, delay=0.6))
    fast_url = server.route("/sooner.jpg", image(JPEG))
    seen: list[str] = []
    requests = iter([FetchRequest("slow", slow_url), FetchRequest("fast", fast_url)])
    iterator = fetch_all(requests, settings=FAST, on_result=lambda r: seen.append(r.key))
    first = next(iterator)
    assert first.key == "fast"
    assert seen == ["fast"]
    assert [r.key for r in iterator] == ["slow"]
    assert seen == ["fast", "slow"]


def test_requests_are_read_lazily(server):
    url = server.route("/lazy.jpg", image(JPEG))
    pulled: list[int] = []

    def requests():
        for i in range(1000):
            pulled.append(i)
            yield FetchRequest(str(i), url)

    iterator = fetch_all(requests(), settings=FAST, concurrency=2)
    next(iterator)
    iterator.close()
    assert len(pulled) <= 10  # a small window ahead of the workers, not the whole list


def test_stop_interrupts_in_flight_requests_promptly(server):
    url = server.route("/forever.jpg", image(JPEG, delay=5.0))
    quick = server.route("/quick.jpg", image(JPEG))
    stop = threading.Event()
    requests = [FetchRequest("quick", quick)] + [FetchRequest(f"s{i}", url) for i in range(40)]
    settings = FetchSettings(**{**FAST.__dict__, "read_timeout_s": 10.0, "total_timeout_s": 30.0})
    started = time.monotonic()
    keys = []
    for result in fetch_all(requests, settings=settings, stop=stop):
        keys.append(result.key)
        stop.set()
    assert keys == ["quick"]  # the interrupted ones are not reported as failures
    assert time.monotonic() - started < 2.0


def test_closing_the_iterator_early_does_not_hang(server):
    url = server.route("/forever2.jpg", image(JPEG, delay=5.0))
    quick = server.route("/quick2.jpg", image(JPEG))
    settings = FetchSettings(**{**FAST.__dict__, "read_timeout_s": 10.0, "total_timeout_s": 30.0})
    started = time.monotonic()
    iterator = fetch_all([FetchRequest("q", quick)] + [FetchRequest(str(i), url) for i in range(5)], settings=settings)
    assert next(iterator).key == "q"
    iterator.close()
    assert time.monotonic() - started < 2.0


def test_bad_rows_never_raise(server, tmp_path):
    url = server.route("/fine.jpg", image(JPEG))
    requests = [
        FetchRequest("empty", ""),
        FetchRequest("blank", "   "),
        FetchRequest("nul", "images/a\x00.jpg"),
        FetchRequest("up", "../x.jpg"),
        FetchRequest("fine", url),
        FetchRequest("relative-without-root", "images/x.jpg"),
    ]
    results = {r.key: r for r in fetch_all(requests, settings=FAST)}
    assert {k: r.error for k, r in results.items()} == {
        "empty": "no image source (the image_url is empty)",
        "blank": "no image source (the image_url is empty)",
        "nul": "refused: the path contains a NUL byte",
        "up": "refused: the path ../x.jpg leaves the images folder",
        "fine": None,
        "relative-without-root": "images/x.jpg is a relative path but no images folder or zip was given",
    }


def test_programmer_errors_raise():
    with pytest.raises(ValueError):
        FetchSettings(concurrency=0)
    with pytest.raises(ValueError):
        fetch_all([], allow_private=["not-an-ip"])
    with pytest.raises(TypeError):
        list(fetch_all([object()]))


# --- relative paths under a folder ----------------------------------------------------------


@pytest.fixture
def images_root(tmp_path) -> Path:
    root = tmp_path / "root"
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.jpg").write_bytes(JPEG)
    (root / "images" / "b.png").write_bytes(PNG)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(JPEG)
    os.symlink(outside / "secret.jpg", root / "images" / "escape.jpg")
    os.symlink(outside, root / "images" / "escape-dir")
    os.symlink(root / "images" / "a.jpg", root / "images" / "alias.jpg")
    os.mkfifo(root / "images" / "fifo.jpg")
    (root / "images" / "empty.jpg").write_bytes(b"")
    return root


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("images/a.jpg", None),
        ("./images//a.jpg", None),
        ("images\\a.jpg", None),
        ("images/alias.jpg", None),  # a link that stays inside the folder is fine
        ("a.jpg", None),  # a bare name (Kaggle layout) is also looked for in images/
        ("escape.jpg", "refused: images/escape.jpg is a link to outside the images folder"),
        ("missing.jpg", "no such file missing.jpg"),
        ("images/missing.jpg", "no such file images/missing.jpg"),
        ("images/a.jpg/x", "no such file images/a.jpg/x"),
        ("images", "images is a folder, not an image"),
        ("images/fifo.jpg", "images/fifo.jpg is not a regular file"),
        ("images/empty.jpg", "the file is empty (0 bytes)"),
        ("../outside/secret.jpg", "refused: the path ../outside/secret.jpg leaves the images folder"),
        ("images/../../outside/secret.jpg",
         "refused: the path images/../../outside/secret.jpg leaves the images folder"),
        ("images/../images/a.jpg", "refused: the path images/../images/a.jpg leaves the images folder"),
        ("..\\outside\\secret.jpg", "refused: the path ..\\outside\\secret.jpg leaves the images folder"),
        ("/etc/passwd", "refused: absolute paths are not allowed (/etc/passwd)"),
        ("\\\\server\\share\\a.jpg", "refused: absolute paths are not allowed (\\\\server\\share\\a.jpg)"),
        ("C:\\images\\a.jpg", "refused: absolute paths are not allowed (C:\\images\\a.jpg)"),
        ("~/a.jpg", "refused: paths starting with ~ are not allowed (~/a.jpg)"),
        ("images/a.jpg\x00.png", "refused: the path contains a NUL byte"),
        ("images/escape.jpg", "refused: images/escape.jpg is a link to outside the images folder"),
        ("images/escape-dir/secret.jpg",
         "refused: images/escape-dir/secret.jpg is a link to outside the images folder"),
        ("file:///etc/passwd", "refused: file:// URLs are not allowed"),
        ("javascript:alert(1)", "refused: javascript: URLs are not allowed"),
    ],
)
def test_relative_paths(images_root, source, error):
    result = fetch_one(FetchRequest("k", source), images_root=images_root, settings=FAST)
    assert result.error == error
    assert result.ok is (error is None)
    if error is None:
        assert (result.data, result.kind, result.attempts) == (JPEG, "jpeg", 1)
    else:
        assert result.data is None
        assert result.attempts == (0 if error.startswith("refused:") else 1)


def _outcome(store: FolderStore, source: str):
    try:
        return store.read(source, max_bytes=10**6)
    except (UnsafeSourceError, ImageError) as exc:
        return type(exc).__name__, str(exc)


def test_one_folder_store_answers_every_path_as_a_fresh_one(images_root):
    """A store resolves each folder once and reuses it: many paths read through one
    store, in either order, give what a fresh store gives each (links out refused, a
    link inside followed, missing files and folders named)."""
    sources = ["images/a.jpg", "images/escape.jpg", "images/alias.jpg", "images/escape-dir/secret.jpg",
               "escape.jpg", "a.jpg", "images/missing.jpg", "images/a.jpg/x", "images/b.png",
               "images/escape-dir/secret.jpg", "images/a.jpg", "images/../images/a.jpg"]
    fresh = [_outcome(FolderStore(images_root), s) for s in sources]
    assert fresh[0] == JPEG and fresh[2] == JPEG and fresh[5] == JPEG
    assert fresh[1] == ("UnsafeSourceError", "images/escape.jpg is a link to outside the images folder")
    assert fresh[3][0] == "UnsafeSourceError"
    for order in (sources, sources[::-1]):
        store = FolderStore(images_root)
        got = {s: _outcome(store, s) for s in order}
        assert [got[s] for s in sources] == fresh


def test_resolve_relative(images_root):
    real_root = Path(os.path.realpath(images_root))
    assert resolve_relative("images/a.jpg", images_root) == real_root / "images" / "a.jpg"
    assert resolve_relative("images/alias.jpg", images_root) == real_root / "images" / "a.jpg"
    assert resolve_relative("images/not-yet.jpg", images_root) == real_root / "images" / "not-yet.jpg"
    for bad in ("../x", "/x", "~x", "a\x00b", "images/escape.jpg", "http://example.com/a.jpg", "", "./."):
        with pytest.raises(UnsafeSourceError):
            resolve_relative(bad, images_root)


def test_normalize_relative():
    assert normalize_relative(" images\\sub/./a.jpg ") == "images/sub/a.jpg"
    assert normalize_relative("a..b.jpg") == "a..b.jpg"  # dots inside a name are fine


def test_folder_size_cap(images_root):
    (images_root / "images" / "big.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 200_000)
    result = fetch_one(FetchRequest("k", "images/big.jpg"), images_root=images_root, settings=FAST)
    assert result.error == "the file is 200,003 bytes, more than the limit of 100,000"


def test_open_images_root_errors(tmp_path):
    assert open_images_root(None) is None
    assert isinstance(open_images_root(tmp_path), FolderStore)
    with pytest.raises(InputError, match=r"no such folder or zip file$"):
        open_images_root(tmp_path / "missing")
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match=r"x.zip: is neither a folder nor a zip file of images$"):
        open_images_root(not_zip)
    with pytest.raises(InputError, match=r"no such folder or zip file$"):
        fetch_all([], images_root=tmp_path / "missing")


# --- zips -------------------------------------------------------------------------------------


def _symlink_entry(zf: zipfile.ZipFile, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (0o120777 << 16)
    zf.writestr(info, target)


@pytest.fixture(scope="module")
def images_zip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("zip") / "images.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("images/a.jpg", JPEG)
        zf.writestr("images/b.png", PNG)
        zf.writestr("../evil.jpg", JPEG)
        zf.writestr("/abs/evil2.jpg", JPEG)
        _symlink_entry(zf, "images/link.jpg", "/etc/passwd")
        zf.writestr("images/bomb.jpg", b"\xff\xd8\xff" + b"\x00" * (30 * 1024 * 1024))
        zf.writestr("images/small-bomb.jpg", b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024))
        zf.writestr("images/noise.jpg", os.urandom(200_000), compress_type=zipfile.ZIP_STORED)
        zf.writestr("images/html.jpg", b"<html><body>nope</body></html>")
    return path


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("images/a.jpg", None),
        ("images\\a.jpg", None),
        ("images/missing.jpg", "no such file images/missing.jpg in the zip images.zip"),
        ("a.jpg", None),
        ("missing.jpg", "no such file missing.jpg in the zip images.zip"),
        ("images/html.jpg", "the content is an HTML page, not an image"),
        ("images/noise.jpg", "the file is 200,000 bytes, more than the limit of 100,000"),
        ("evil.jpg",
         "refused: the zip entry ../evil.jpg has an unsafe name (the path ../evil.jpg leaves the images folder)"),
        ("abs/evil2.jpg",
         "refused: the zip entry /abs/evil2.jpg has an unsafe name (absolute paths are not allowed (/abs/evil2.jpg))"),
        ("../evil.jpg", "refused: the path ../evil.jpg leaves the images folder"),
        ("images/link.jpg", "refused: the zip entry images/link.jpg is a symbolic link"),
    ],
)
def test_zip_entries(images_zip, source, error):
    result = fetch_one(FetchRequest("k", source), images_root=images_zip, settings=FAST)
    assert result.error == error
    if error is None:
        assert (result.ok, result.data, result.kind) == (True, JPEG, "jpeg")


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("images/bomb.jpg", 31_457_283),  # over the per-entry cap as well
        ("images/small-bomb.jpg", 5_242_883),  # under the cap: refused for its ratio alone
    ],
)
def test_zip_bombs_are_refused_by_ratio(images_zip, name, size):
    with zipfile.ZipFile(images_zip) as zf:
        info = zf.getinfo(name)
    assert info.file_size == size
    ratio = info.file_size / info.compress_size
    assert ratio > 500  # how compressible zeros are depends on zlib, not on us
    result = fetch_one(FetchRequest("k", name), images_root=images_zip)
    assert result.error == f"refused: the zip entry {name} expands {ratio:,.0f} times to {size:,} bytes (a zip bomb?)"
    assert (result.ok, result.data, result.attempts) == (False, None, 0)


def test_zip_with_one_top_folder_is_looked_up_inside_it(tmp_path):
    path = tmp_path / "names.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("names/images/a.jpg", JPEG)
        zf.writestr("__MACOSX/names/images/._a.jpg", b"junk")
    with open_images_root(path) as store:
        assert isinstance(store, ZipStore)
        assert store.read("images/a.jpg", max_bytes=10**6) == JPEG
        assert store.read("names/images/a.jpg", max_bytes=10**6) == JPEG


def test_zip_total_size_cap(tmp_path):
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"{i}.jpg", b"\x00" * 1000)
    with pytest.raises(InputError) as info:
        ZipStore(path, max_total_bytes=2500)
    assert str(info.value) == "big.zip: expands to 3,000 bytes, more than the limit of 2,500"


def test_zip_refused_entries_are_listed(images_zip):
    with ZipStore(images_zip) as store:
        assert sorted(store.refused_entries) == [
            "../evil.jpg",
            "/abs/evil2.jpg",
            "images/bomb.jpg",
            "images/link.jpg",
            "images/small-bomb.jpg",
        ]
        assert "images/a.jpg" in store.names()


def test_zip_entries_are_read_concurrently(tmp_path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(200):
            zf.writestr(f"images/{i}.png", _png(20 + i % 7, 10))
    results = list(fetch_all([FetchRequest(str(i), f"images/{i}.png") for i in range(200)], images_root=path))
    assert len(results) == 200 and all(r.ok and r.kind == "png" for r in results)


# --- the real names folder -----------------------------------------------------------------------


@pytest.mark.parametrize("csv_name", ["names.csv", "written_name_subset.csv"])
def test_real_names_folder(names_dir, csv_name):
    from hwocr.sources import read_csv

    table = read_csv(names_dir / csv_name)
    requests = [FetchRequest(row.unit_id, row.source) for row in table.rows]
    results = list(fetch_all(requests, images_root=names_dir))
    assert len(results) == 1000
    failed = {r.key: r.error for r in results if not r.ok}
    assert failed == {}
    assert {r.kind for r in results} == {"jpeg"}
    first = next(r for r in results if r.key.startswith("VALIDATION_0001"))
    assert first.data == (names_dir / "images" / "VALIDATION_0001.jpg").read_bytes()
