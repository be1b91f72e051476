"""Fetching the images a CSV names, safely: http(s) URLs, files under an images folder,
or entries of an uploaded zip.

:func:`fetch_all` streams one :class:`FetchResult` per request in completion order and
never raises for a bad row: a 404, an HTML error page served as an image, a truncated
JPEG, a refused ``file://`` URL or a ``../`` path each become ``ok=False`` with a
one-line reason. Only an unusable images root or a programming error raises.

Downloads use urllib3 (pools of keep-alive connections per origin, connect and read
timeouts, HTTP parsing, ``Retry-After`` reading); what is ours is the safety rules, in one
place and visible, and the one piece they need inside urllib3, a connection pinned to
the checked addresses:

* only ``http`` and ``https``; every redirect is followed by hand (at most
  ``max_redirects``) and each hop is checked again;
* the host name is resolved *here*, every address it resolves to is checked against
  the private/loopback/link-local rules, and the connection is made to that checked
  address (no second lookup an attacker could re-point);
* connect and read timeouts per socket operation, plus a wall-clock limit per attempt
  enforced by a watchdog that also makes ``stop`` interrupt a blocked read;
* retries with exponential backoff and jitter on connection errors, timeouts, 408, 429
  and 5xx; ``Retry-After`` is honoured up to a cap and pauses the whole host;
* the body is read in chunks and abandoned as soon as it passes ``max_image_bytes``
  (``Content-Length`` is only used to refuse early, never trusted);
* the bytes must be an image by their magic bytes and must decode
  (:func:`hwocr.images.decode_image`, which also refuses absurd pixel counts).
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import random
import re
import socket
import ssl
import stat
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from http import HTTPStatus
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import quote, urljoin, urlsplit

from urllib3 import BaseHTTPResponse, HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    InvalidHeader,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util import Retry, Timeout

from hwocr import __version__
from hwocr.config import ALLOW_PRIVATE_ENV, DEFAULTS, allow_private_urls
from hwocr.errors import ImageError, InputError, UnsafeSourceError
from hwocr.images import check_image_header, decode_image, describe_non_image, sniff_image_type

#: ``allow_private``: a bool, or the addresses/networks allowed besides public ones
#: (``("127.0.0.1", "192.168.1.0/24")``); None reads $HWOCR_ALLOW_PRIVATE_URLS.
AllowPrivate = bool | Iterable[str] | None

USER_AGENT = f"hwocr/{__version__} (handwritten-name image import)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


# --- public types -----------------------------------------------------------------------


@dataclass(frozen=True)
class FetchRequest:
    #: The unit_id, echoed back in the result.
    key: str
    #: An http(s) URL, or a path relative to the images folder / inside the zip.
    source: str


@dataclass(frozen=True)
class FetchResult:
    key: str
    source: str
    ok: bool
    #: The image bytes: magic bytes sniffed, size-capped, decodable. None when not ok.
    data: bytes | None
    #: "jpeg", "png", ... from :func:`hwocr.images.sniff_image_type`.
    kind: str | None
    #: One line saying why it failed; None when ok.
    error: str | None
    #: Requests or file reads made (0 when refused before trying; retries count).
    attempts: int
    #: The file of a local images folder the bytes were read from (None for a download
    #: or a zip entry): storing it may hard-link that file instead of copying the bytes.
    origin: LocalFile | None = None


@dataclass(frozen=True)
class LocalFile:
    """The file an image's bytes were read from, and what identified it at that moment:
    a hard link made later is kept only if it still names this very file, unchanged."""

    path: str
    device: int
    inode: int
    size: int
    mtime_ns: int

    def same_as(self, info: os.stat_result) -> bool:
        return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns) == (
            self.device, self.inode, self.size, self.mtime_ns)


@dataclass(frozen=True)
class FetchSettings:
    """Every tunable of a fetch, defaulting to :data:`hwocr.config.DEFAULTS`."""

    concurrency: int = DEFAULTS.download_concurrency
    connect_timeout_s: float = DEFAULTS.download_connect_timeout_s
    read_timeout_s: float = DEFAULTS.download_read_timeout_s
    #: Wall-clock limit of one attempt, redirects included.
    total_timeout_s: float = DEFAULTS.download_total_timeout_s
    #: Retries after the first attempt: at most ``1 + retries`` requests per image.
    retries: int = DEFAULTS.download_retries
    backoff_s: float = DEFAULTS.download_backoff_s
    max_backoff_s: float = DEFAULTS.download_max_backoff_s
    max_retry_after_s: float = DEFAULTS.download_max_retry_after_s
    max_redirects: int = DEFAULTS.max_redirects
    max_image_bytes: int = DEFAULTS.max_image_bytes
    max_image_pixels: int = DEFAULTS.max_image_pixels
    #: See :data:`AllowPrivate`.
    allow_private: bool | tuple[str, ...] | None = None
    #: "decode" fully decodes each image; "header" only reads its size (faster, weaker).
    verify: Literal["decode", "header"] = "decode"
    user_agent: str = USER_AGENT

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.retries < 0:
            raise ValueError("retries must be >= 0")
        if self.verify not in ("decode", "header"):
            raise ValueError("verify must be 'decode' or 'header'")
        if isinstance(self.allow_private, str):
            object.__setattr__(self, "allow_private", (self.allow_private,))
        elif self.allow_private is not None and not isinstance(self.allow_private, bool):
            object.__setattr__(self, "allow_private", tuple(self.allow_private))


class ImageStore(Protocol):
    """Where relative sources are read from: a folder or a zip of images."""

    #: What to call it in messages ("images folder /data/names", "zip images.zip").
    label: str

    def read(self, source: str, *, max_bytes: int) -> bytes:
        """The bytes of ``source``; raises UnsafeSourceError (refused) or ImageError."""
        ...

    def close(self) -> None: ...


# --- relative paths ---------------------------------------------------------------------

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _shown(text: str, limit: int = 120) -> str:
    """``text`` made safe for a one-line message."""
    text = _CONTROL.sub("?", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def source_scheme(source: str) -> str | None:
    """The URL scheme of ``source`` in lowercase, or None for a relative path.

    A single letter before ':' is a Windows drive, not a scheme.
    """
    match = _SCHEME.match(source.strip())
    if match is None or len(match.group(1)) == 1:
        return None
    return match.group(1).lower()


def _scheme_refusal(source: str, scheme: str) -> str:
    rest = source.strip()[len(scheme) + 1 :]
    return f"{scheme}:// URLs are not allowed" if rest.startswith("//") else f"{scheme}: URLs are not allowed"


def normalize_relative(source: str) -> str:
    """``source`` as a clean relative POSIX path ("images/X.jpg"), or UnsafeSourceError.

    Backslashes count as separators (a CSV written on Windows), so ``..\\x`` is caught
    like ``../x``.
    """
    if not isinstance(source, str):
        raise UnsafeSourceError(f"a path must be text, not {type(source).__name__}")
    if "\x00" in source:
        raise UnsafeSourceError("the path contains a NUL byte")
    text = source.strip()
    if not text:
        raise UnsafeSourceError("the path is empty")
    if _CONTROL.search(text):
        raise UnsafeSourceError(f"the path {_shown(text)} contains control characters")
    scheme = source_scheme(text)
    if scheme is not None:
        raise UnsafeSourceError(_scheme_refusal(text, scheme))
    text = text.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        raise UnsafeSourceError(f"absolute paths are not allowed ({_shown(source.strip())})")
    if text.startswith("~"):
        raise UnsafeSourceError(f"paths starting with ~ are not allowed ({_shown(source.strip())})")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeSourceError(f"the path {_shown(source.strip())} leaves the images folder")
    if not parts:
        raise UnsafeSourceError(f"the path {_shown(source.strip())} names no file")
    return "/".join(parts)


def resolve_relative(source: str, root: Path) -> Path:
    """The real path of ``source`` under the folder ``root``, or UnsafeSourceError.

    Symbolic links are followed and the result must still lie inside ``root``. The file
    need not exist (the caller reports a missing file).
    """
    rel = normalize_relative(source)
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(real_root.joinpath(*rel.split("/"))))
    if real != real_root and real_root not in real.parents:
        raise UnsafeSourceError(f"{_shown(rel)} is a link to outside the images folder")
    return real


#: Where a bare file name ("VALIDATION_0001.jpg", the Kaggle layout) is also looked for
#: when it is not at the top of the images root: the folder the original layout names.
FALLBACK_FOLDER = "images"


class FolderStore:
    """Images under a folder; every path is checked by :func:`resolve_relative`.

    A bare file name missing at the top is also looked for in ``images/`` (the Kaggle
    CSV names files, the folder next to it usually holds them in ``images/``).
    """

    def __init__(self, root: Path) -> None:
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"{root}: is not a folder")
        self.root = Path(os.path.realpath(root))
        self.label = f"images folder {root}"
        #: The real path of each folder asked for (normalised relative path -> real path).
        self._folders: dict[str, str] = {"": str(self.root)}

    def _real(self, rel: str) -> Path:
        """:func:`resolve_relative` of the normalised ``rel``, its folder resolved once
        per store: a file that is no symbolic link lies where its real folder says, so
        one ``lstat`` does where ``realpath`` costs one a path component (a third of an
        import worker's time at 20,000 local images). Anything else, and any refusal,
        goes the whole way, with the same answer and message."""
        head, _, tail = rel.rpartition("/")
        folder = self._folders.get(head)
        if folder is None:
            try:
                folder = self._folders[head] = str(resolve_relative(head, self.root))
            except UnsafeSourceError:
                return resolve_relative(rel, self.root)
        path = os.path.join(folder, tail)
        return resolve_relative(rel, self.root) if os.path.islink(path) else Path(path)

    def read(self, source: str, *, max_bytes: int) -> bytes:
        return self.read_file(source, max_bytes=max_bytes)[0]

    def read_file(self, source: str, *, max_bytes: int) -> tuple[bytes, LocalFile]:
        """:meth:`read`, and the file the bytes came from (see :class:`LocalFile`)."""
        rel = normalize_relative(source)
        real = self._real(rel)
        if "/" not in rel and not os.path.lexists(real):
            fallback = self._real(f"{FALLBACK_FOLDER}/{rel}")
            if os.path.lexists(fallback):
                real = fallback
        try:
            # stat first: opening a FIFO or a device found in the folder could block forever.
            info = os.stat(real)
            if stat.S_ISDIR(info.st_mode):
                raise ImageError(f"{_shown(rel)} is a folder, not an image")
            if not stat.S_ISREG(info.st_mode):
                raise ImageError(f"{_shown(rel)} is not a regular file")
            if info.st_size > max_bytes:
                raise ImageError(f"the file is {info.st_size:,} bytes, more than the limit of {max_bytes:,}")
            with open(real, "rb") as fh:
                opened = os.fstat(fh.fileno())
                # Sized by the file: a read of the cap allocates the whole cap first (20 MB,
                # 17-96 us a call against 11 for the file's size on this project's machine,
                # 2026-12-06). One byte more finds the end; a file that grew since is read on
                # to the cap, as before.
                data = fh.read(min(max_bytes, opened.st_size) + 1)
                if opened.st_size < len(data) <= max_bytes:
                    data += fh.read(max_bytes + 1 - len(data))
        except (FileNotFoundError, NotADirectoryError):
            raise ImageError(f"no such file {_shown(rel)}") from None
        except PermissionError:
            raise ImageError(f"permission denied: {_shown(rel)}") from None
        except OSError as exc:
            raise ImageError(f"cannot read {_shown(rel)}: {exc.strerror or exc}") from None
        if len(data) > max_bytes:
            raise ImageError(f"the file is more than the limit of {max_bytes:,} bytes")
        return data, LocalFile(str(real), opened.st_dev, opened.st_ino, opened.st_size, opened.st_mtime_ns)

    def close(self) -> None:
        pass

    def __enter__(self) -> FolderStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ZipStore:
    """Images inside a zip, looked up by normalised relative name.

    Entries with unsafe names (zip-slip), symbolic links, encrypted entries and entries
    that expand suspiciously (zip bombs) are refused when asked for; the archive as a
    whole is refused when it would expand past ``max_zip_total_bytes``. Nothing is ever
    extracted to disk.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_total_bytes: int = DEFAULTS.max_zip_total_bytes,
        max_entries: int = DEFAULTS.max_zip_entries,
        max_ratio: float = DEFAULTS.max_zip_ratio,
        ratio_floor: int = DEFAULTS.max_zip_ratio_floor,
    ) -> None:
        path = Path(path)
        self.label = f"zip {path.name}"
        try:
            self._zip = zipfile.ZipFile(path)
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            raise InputError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
        except Exception:  # noqa: BLE001 - BadZipFile, or what a mangled directory makes zipfile raise
            raise InputError(f"{path.name}: is not a valid zip file") from None
        self._lock = threading.Lock()
        self._max_ratio = max_ratio
        self._ratio_floor = ratio_floor
        infos = self._zip.infolist()
        if len(infos) > max_entries:
            self._zip.close()
            raise InputError(f"{path.name}: has {len(infos):,} entries, more than the limit of {max_entries:,}")
        total = sum(i.file_size for i in infos if not i.is_dir())
        if total > max_total_bytes:
            self._zip.close()
            raise InputError(
                f"{path.name}: expands to {total:,} bytes, more than the limit of {max_total_bytes:,}"
            )
        self._entries: dict[str, zipfile.ZipInfo] = {}
        self._refused: dict[str, str] = {}
        #: Names of the entries that can never be read, with the reason, for reports.
        self.refused_entries: dict[str, str] = {}
        named: dict[str, int] = {}
        for info in infos:
            if info.is_dir():
                continue
            self._index(info)
            try:
                rel = normalize_relative(info.filename)
            except UnsafeSourceError:
                continue
            named[rel] = named.get(rel, 0) + 1
        for rel, count in named.items():
            if count > 1:
                # Which copy is "the" image depends on the tool that reads the zip: refuse
                # to pick one (a trick to show a reviewer one file and train on another).
                reason = f"the zip has {count} entries named {_shown(rel)}"
                self._entries.pop(rel, None)
                self._refused[rel] = reason
                self.refused_entries[rel] = reason
        self._prefix = self._common_prefix()

    def _index(self, info: zipfile.ZipInfo) -> None:
        raw = info.filename
        try:
            rel = normalize_relative(raw)
        except UnsafeSourceError as exc:
            # Index it under its harmless part so asking for that name says why it is refused.
            key = "/".join(p for p in _DRIVE.sub("", raw.replace("\\", "/")).split("/") if p not in ("", ".", ".."))
            reason = f"the zip entry {_shown(raw)} has an unsafe name ({exc})"
            self.refused_entries[raw] = reason
            if key:
                self._refused.setdefault(key, reason)
            return
        mode = (info.external_attr >> 16) & 0o170000
        reason = None
        if mode == stat.S_IFLNK:
            reason = f"the zip entry {_shown(rel)} is a symbolic link"
        elif mode not in (0, stat.S_IFREG):
            reason = f"the zip entry {_shown(rel)} is not a regular file"
        elif info.flag_bits & 0x1:
            reason = f"the zip entry {_shown(rel)} is encrypted"
        elif info.file_size > self._ratio_floor and (
            info.compress_size == 0 or info.file_size / info.compress_size > self._max_ratio
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            reason = (
                f"the zip entry {_shown(rel)} expands {ratio:,.0f} times to {info.file_size:,} bytes "
                f"(a zip bomb?)"
            )
        if reason is not None:
            self.refused_entries[raw] = reason
            self._refused.setdefault(rel, reason)
        elif rel not in self._entries:
            self._entries[rel] = info

    def _common_prefix(self) -> str:
        """The one top folder every entry sits in ("names/"), ignoring macOS litter."""
        tops = {name.split("/", 1)[0] for name in self._entries if not name.startswith("__MACOSX/")}
        if len(tops) == 1:
            top = next(iter(tops))
            if all("/" in n for n in self._entries if not n.startswith("__MACOSX/")):
                return top + "/"
        return ""

    def names(self) -> list[str]:
        """The readable entries' normalised names."""
        return sorted(self._entries)

    def read(self, source: str, *, max_bytes: int) -> bytes:
        rel = normalize_relative(source)
        names = [rel, self._prefix + rel] if self._prefix else [rel]
        if "/" not in rel:
            names += [f"{FALLBACK_FOLDER}/{rel}", f"{self._prefix}{FALLBACK_FOLDER}/{rel}"]
        for name in names:
            if name in self._refused:
                raise UnsafeSourceError(self._refused[name])
            info = self._entries.get(name)
            if info is not None:
                break
        else:
            raise ImageError(f"no such file {_shown(rel)} in the {self.label}")
        if info.file_size > max_bytes:
            raise ImageError(f"the file is {info.file_size:,} bytes, more than the limit of {max_bytes:,}")
        try:
            with self._lock, self._zip.open(info) as fh:
                # ZipExtFile stops at the declared size, and we stop at the cap regardless.
                data = fh.read(max_bytes + 1)
        except NotImplementedError:
            raise ImageError(f"the zip entry {_shown(rel)} uses an unsupported compression method") from None
        except Exception as exc:  # noqa: BLE001 - zlib.error, LZMAError, struct.error...: a corrupt entry
            reason = _shown(" ".join(str(exc).split()), 100) or type(exc).__name__
            raise ImageError(f"the zip entry {_shown(rel)} is corrupt ({reason})") from None
        if len(data) > max_bytes:
            raise ImageError(f"the file is more than the limit of {max_bytes:,} bytes")
        return data

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> ZipStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_images_root(path: Path | str | None) -> FolderStore | ZipStore | None:
    """A folder or a ``.zip`` of images, ready for relative sources; None for None.

    Raises :class:`InputError` (one line) when the root cannot be used at all.
    """
    if path is None:
        return None
    path = Path(path).expanduser()
    if path.is_dir():
        return FolderStore(path)
    if not path.exists():
        raise InputError(f"{path}: no such folder or zip file")
    if path.is_file() and zipfile.is_zipfile(path):
        return ZipStore(path)
    raise InputError(f"{path}: is neither a folder nor a zip file of images")


# --- URLs and addresses -----------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # lowercase, IDNA-encoded, no brackets
    port: int
    path: str  # request target: path and query, percent-encoded
    url: str  # the normalised URL


def _parse_url(url: str) -> _Target:
    if not isinstance(url, str):
        raise UnsafeSourceError(f"a URL must be text, not {type(url).__name__}")
    text = url.strip()
    if _CONTROL.search(text):
        raise UnsafeSourceError("the URL contains control characters")
    scheme = source_scheme(text)
    if scheme is None:
        raise UnsafeSourceError(f"{_shown(text)} is not an http:// or https:// URL")
    if scheme not in ("http", "https"):
        raise UnsafeSourceError(_scheme_refusal(text, scheme))
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UnsafeSourceError(f"the URL is malformed ({exc})") from None
    if parts.username is not None or parts.password is not None:
        raise UnsafeSourceError("URLs with a user name or password are not allowed")
    host = parts.hostname or ""
    if not host:
        raise UnsafeSourceError("the URL has no host")
    try:
        ip = ipaddress.ip_address(host)
        host = str(ip)
    except ValueError:
        if "%" in host or ":" in host:
            raise UnsafeSourceError(f"the URL's host {_shown(host)} is not valid") from None
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise UnsafeSourceError(f"the URL's host {_shown(host)} is not valid") from None
        if not re.fullmatch(r"[a-z0-9_.\-]+", host) or host.strip(".") == "":
            raise UnsafeSourceError(f"the URL's host {_shown(host)} is not valid") from None
    if port is None:
        port = 443 if scheme == "https" else 80
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    netloc = f"[{host}]" if ":" in host else host
    if port != (443 if scheme == "https" else 80):
        netloc += f":{port}"
    return _Target(scheme=scheme, host=host, port=port, path=path, url=f"{scheme}://{netloc}{path}")


#: Where cloud metadata services answer (AWS, GCP, Azure, Oracle, DigitalOcean on
#: 169.254.169.254; AWS over IPv6; Alibaba; Oracle): never a source of images and the
#: first thing a forged URL asks for. Refused even with HWOCR_ALLOW_PRIVATE_URLS=1, unless
#: listed there by address.
METADATA_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32", "192.0.0.192/32")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition address carries (6to4, Teredo, NAT64,
    IPv4-compatible), which is where a packet to it may end up."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    value = int(ip)
    if ip in _NAT64 or 1 < value < 2**32:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def private_urls_setting() -> bool | tuple[str, ...]:
    """What $HWOCR_ALLOW_PRIVATE_URLS allows: False (unset, 0), True (1, true, yes), or
    the addresses and networks it lists ("127.0.0.1, 192.168.0.0/16")."""
    raw = os.environ.get(ALLOW_PRIVATE_ENV, "").strip()
    if raw.lower() in ("", "0", "false", "no", "off"):
        return False
    if allow_private_urls():
        return True
    items = tuple(part for part in re.split(r"[\s,;]+", raw) if part)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise InputError(
                f"{ALLOW_PRIVATE_ENV}={_shown(raw, 60)}: {_shown(item, 40)} is not an IP address or network; "
                "use 1 to allow private addresses, or list them (127.0.0.1,192.168.0.0/16)"
            ) from None
    return items


class _AddressPolicy:
    def __init__(self, allow_private: AllowPrivate) -> None:
        if allow_private is None:
            allow_private = private_urls_setting()
        if isinstance(allow_private, str):
            allow_private = (allow_private,)
        self.allow_all = allow_private is True
        networks = []
        if not isinstance(allow_private, bool):
            for item in allow_private:
                try:
                    networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
                except ValueError:
                    raise ValueError(f"allow_private: {item!r} is not an IP address or network") from None
        self.networks = tuple(networks)

    def refusal(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str | None = None) -> str | None:
        """Why connecting to ``ip`` (which ``host`` resolved to) is not allowed, or None."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        subject = f"{host} resolves to {ip}," if host else f"{ip} is"
        problem = self._problem(ip)
        if problem is None and isinstance(ip, ipaddress.IPv6Address):
            inner = _embedded_ipv4(ip)
            if inner is not None and (problem := self._problem(inner)) is not None:
                subject = f"{host} resolves to {ip}, which embeds {inner}," if host else f"{ip} embeds {inner},"
        return None if problem is None else f"{subject} {problem}"

    def _problem(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        if ip.is_unspecified:
            return "an unspecified address"
        if ip.is_multicast:
            return "a multicast address"
        if any(ip in net for net in self.networks if net.version == ip.version):
            return None
        metadata = any(ip in net for net in METADATA_NETWORKS if net.version == ip.version)
        if metadata:
            kind = "a link-local address" if ip.is_link_local else "a cloud metadata address"
            return f"{kind} (list it in {ALLOW_PRIVATE_ENV} to allow)"
        if ip.is_global or self.allow_all:
            return None
        if ip.is_loopback:
            kind = "a loopback"
        elif ip.is_private:
            kind = "a private"
        else:
            kind = "a non-public"
        return f"{kind} address (set {ALLOW_PRIVATE_ENV}=1 to allow)"


class _Transient(Exception):
    """A failure worth retrying; ``retry_after`` is the server's requested pause."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Permanent(Exception):
    """A failure that retrying will not fix."""


class _Aborted(Exception):
    """``stop`` was set while this request was in progress."""


def _resolve(host: str, port: int, policy: _AddressPolicy) -> tuple[str, ...]:
    """The checked addresses of ``host``; raises UnsafeSourceError or a fetch failure."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        reason = policy.refusal(literal)
        if reason:
            raise UnsafeSourceError(reason)
        return (str(literal),)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_AGAIN:
            raise _Transient(f"cannot resolve host {host} (temporary DNS failure)") from None
        raise _Permanent(f"cannot resolve host {host}") from None
    except UnicodeError:
        raise _Permanent(f"cannot resolve host {_shown(host)}") from None
    addresses: list[str] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        reason = policy.refusal(ip, host)
        if reason:
            # One bad address is enough: we will not pick among them for the attacker.
            raise UnsafeSourceError(reason)
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise _Permanent(f"cannot resolve host {host}")
    return tuple(addresses)


def check_url(url: str, *, allow_private: AllowPrivate = None, resolve: bool = True) -> str:
    """The URL normalised for sending, or :class:`UnsafeSourceError` saying why not.

    Only http and https; no credentials; with ``resolve`` (the default) the host is
    looked up and every address must be public unless ``allow_private`` allows it.
    A host that does not resolve is not unsafe: that is for the fetch to report.
    """
    target = _parse_url(url)
    if resolve:
        try:
            _resolve(target.host, target.port, _AddressPolicy(allow_private))
        except (_Transient, _Permanent):
            pass
    return target.url


# --- HTTP -------------------------------------------------------------------------------


class _InFlight:
    """The connection each worker thread is using and the deadline of its attempt, so the
    watchdog can cut off an attempt past its wall-clock limit, or every one on stop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[float, HTTPConnection | None]] = {}

    def begin(self, deadline: float) -> None:
        with self._lock:
            self._entries[threading.get_ident()] = (deadline, None)

    def using(self, conn: HTTPConnection) -> None:
        with self._lock:
            entry = self._entries.get(threading.get_ident())
            if entry is not None:
                self._entries[threading.get_ident()] = (entry[0], conn)

    def current(self) -> HTTPConnection | None:
        with self._lock:
            entry = self._entries.get(threading.get_ident())
        return None if entry is None else entry[1]

    def end(self) -> None:
        with self._lock:
            self._entries.pop(threading.get_ident(), None)

    def cut(self, *, now: float | None, everything: bool = False) -> None:
        """Shut down the sockets of attempts past their deadline (or of all of them)."""
        with self._lock:
            victims = [conn for deadline, conn in self._entries.values()
                       if conn is not None and (everything or (now is not None and now >= deadline))]
        for conn in victims:
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _PinnedConnection(HTTPConnection):
    """Connects to the addresses that were checked, whatever DNS says meanwhile; the Host
    header (and, over TLS, SNI and the certificate check) still use the URL's host."""

    def __init__(self, *args, addresses: tuple[str, ...], in_flight: _InFlight, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._addresses = addresses
        self._in_flight = in_flight
        self.requests_sent = 0

    def _new_conn(self) -> socket.socket:
        error: Exception | None = None
        for address in self._addresses:
            self._dns_host = address  # what urllib3 connects to; a literal needs no lookup
            try:
                return super()._new_conn()
            except (NewConnectionError, ConnectTimeoutError) as exc:
                error = exc
        assert error is not None
        raise error

    def request(self, *args, **kwargs) -> None:
        self._in_flight.using(self)
        self.requests_sent += 1
        super().request(*args, **kwargs)


class _PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
    pass


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedPoolManager(PoolManager):
    """urllib3's pools by origin, each pinned to the addresses checked for its host."""

    def __init__(self, addresses_of: Callable[[str, int], tuple[str, ...]], in_flight: _InFlight, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}
        self._addresses_of = addresses_of
        self._in_flight = in_flight

    def _new_pool(self, scheme: str, host: str, port: int, request_context: dict | None = None) -> HTTPConnectionPool:
        context = dict(request_context or self.connection_pool_kw)
        context["addresses"] = self._addresses_of(host, port)
        context["in_flight"] = self._in_flight
        return super()._new_pool(scheme, host, port, context)


class _HostGate:
    """A 429 or 503 with Retry-After pauses every request to that host, not only one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._not_before: dict[str, float] = {}

    def pause(self, host: str, seconds: float) -> None:
        with self._lock:
            until = time.monotonic() + seconds
            if until > self._not_before.get(host, 0.0):
                self._not_before[host] = until

    def wait(self, host: str, stopped: threading.Event) -> None:
        with self._lock:
            until = self._not_before.get(host, 0.0)
        delay = until - time.monotonic()
        if delay > 0 and stopped.wait(delay):
            raise _Aborted()


def _status_text(status: int, reason: str | None) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = _shown(" ".join(str(reason or "").split()), 60)
    return f"HTTP {status} {phrase}".rstrip()


def _retry_after(value: str | None, cap: float) -> float | None:
    """The server's requested pause (seconds or an HTTP date, as urllib3 reads it), capped."""
    if not value:
        return None
    try:
        seconds = Retry().parse_retry_after(value.strip())
    except (InvalidHeader, OverflowError, ValueError):
        return None
    return min(max(seconds, 0.0), cap)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _root_cause(exc: BaseException) -> BaseException:
    """The error underneath urllib3's wrappers: ProtocolError(…, RemoteDisconnected()),
    NewConnectionError from ConnectionRefusedError, SSLError(SSLCertVerificationError())."""
    for _ in range(8):
        inner = next((a for a in exc.args if isinstance(a, BaseException)), None) or exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


def _failed(request: FetchRequest, error: str, attempts: int) -> FetchResult:
    return FetchResult(request.key, request.source, False, None, None, " ".join(error.split()), attempts)


def read_local(request: FetchRequest, store: ImageStore | None, settings: FetchSettings | None = None) -> FetchResult:
    """A request that is not an http(s) URL: a path read from ``store`` (a folder or a
    zip), checked like a download. Never raises. No threads, no network: an import of
    local files runs this in worker processes (:func:`hwocr.pipeline.fetch_missing`)."""
    settings = settings or FetchSettings()
    source = request.source
    if not isinstance(source, str) or not source.strip():
        return _failed(request, "no image source (the image_url is empty)", 0)
    scheme = source_scheme(source)
    if scheme is not None:
        return _failed(request, f"refused: {_scheme_refusal(source, scheme)}", 0)
    try:
        normalize_relative(source)
    except UnsafeSourceError as exc:
        return _failed(request, f"refused: {exc}", 0)
    if store is None:
        return _failed(request, f"{_shown(source.strip())} is a relative path but no images folder or zip was given", 0)
    origin = None
    try:
        if isinstance(store, FolderStore):
            data, origin = store.read_file(source, max_bytes=settings.max_image_bytes)
        else:
            data = store.read(source, max_bytes=settings.max_image_bytes)
    except UnsafeSourceError as exc:
        return _failed(request, f"refused: {exc}", 0)
    except ImageError as exc:
        return _failed(request, str(exc), 1)
    result = checked_image(request, data, 1, settings)
    return replace(result, origin=origin) if result.ok and origin is not None else result


def checked_image(request: FetchRequest, data: bytes, attempts: int, settings: FetchSettings) -> FetchResult:
    """The result for bytes that arrived: an image of a known kind within the limits, or why not."""
    kind = sniff_image_type(data)
    if kind is None:
        return _failed(request, describe_non_image(data), attempts)
    try:
        if settings.verify == "decode":
            decode_image(data, max_pixels=settings.max_image_pixels, max_bytes=settings.max_image_bytes)
        else:
            check_image_header(data, max_pixels=settings.max_image_pixels)
    except ImageError as exc:
        return _failed(request, str(exc), attempts)
    except MemoryError:
        return _failed(request, "the image is too large to decode in the memory available", attempts)
    return FetchResult(request.key, request.source, True, data, kind, None, attempts)


class _Fetcher:
    def __init__(self, settings: FetchSettings, store: ImageStore | None, stopped: threading.Event) -> None:
        self.settings = settings
        self.store = store
        self.stopped = stopped
        self.policy = _AddressPolicy(settings.allow_private)
        self.in_flight = _InFlight()
        self.pool = _PinnedPoolManager(
            self._addresses_of, self.in_flight, num_pools=64, maxsize=settings.concurrency, block=False,
            retries=False, ssl_context=ssl.create_default_context(),
        )
        self.gate = _HostGate()
        self._dns: dict[tuple[str, int], tuple[tuple[str, ...], float]] = {}
        self._dns_lock = threading.Lock()
        self._random = random.Random()

    # -- one request, never raising ------------------------------------------------------

    def fetch(self, request: FetchRequest) -> FetchResult | None:
        """The result for ``request``, or None when ``stop`` interrupted it."""
        try:
            return self._fetch(request)
        except _Aborted:
            return None
        except Exception as exc:  # a bug must not sink the whole import
            return self._fail(request, f"internal error: {type(exc).__name__}: {_shown(str(exc), 200)}", 0)

    def _fail(self, request: FetchRequest, error: str, attempts: int) -> FetchResult:
        return FetchResult(request.key, request.source, False, None, None, " ".join(error.split()), attempts)

    def _fetch(self, request: FetchRequest) -> FetchResult:
        source = request.source
        if not isinstance(source, str) or not source.strip():
            return self._fail(request, "no image source (the image_url is empty)", 0)
        if source_scheme(source) in ("http", "https"):
            return self._fetch_url(request)
        return read_local(request, self.store, self.settings)

    def _check(self, request: FetchRequest, data: bytes, attempts: int) -> FetchResult:
        return checked_image(request, data, attempts, self.settings)

    # -- URLs ----------------------------------------------------------------------------

    def _fetch_url(self, request: FetchRequest) -> FetchResult:
        s = self.settings
        try:
            target = _parse_url(request.source)
        except UnsafeSourceError as exc:
            return self._fail(request, f"refused: {exc}", 0)
        try:
            self._addresses(target)  # a refused first URL costs no request
        except UnsafeSourceError as exc:
            return self._fail(request, f"refused: {exc}", 0)
        except (_Transient, _Permanent):
            pass  # reported by the attempts below, with retries where they help
        max_attempts = 1 + s.retries
        attempts = 0
        last: _Transient | None = None
        while attempts < max_attempts:
            if self.stopped.is_set():
                raise _Aborted()
            self.gate.wait(target.host, self.stopped)
            attempts += 1
            try:
                data = self._attempt(target)
            except UnsafeSourceError as exc:
                return self._fail(request, f"refused: {exc}", attempts)
            except _Permanent as exc:
                return self._fail(request, str(exc), attempts)
            except _Transient as exc:
                last = exc
                if attempts >= max_attempts:
                    break
                if exc.retry_after is not None:
                    delay = exc.retry_after
                    self.gate.pause(target.host, delay)
                else:
                    delay = min(s.max_backoff_s, s.backoff_s * 2 ** (attempts - 1)) * (0.5 + self._random.random())
                if self.stopped.wait(delay):
                    raise _Aborted() from None
                continue
            return self._check(request, data, attempts)
        assert last is not None
        message = str(last)
        if max_attempts > 1:
            message += f" after {_plural(attempts, 'attempt')}"
        return self._fail(request, message, attempts)

    def _addresses(self, target: _Target) -> tuple[str, ...]:
        return self._addresses_of(target.host, target.port)

    def _addresses_of(self, host: str, port: int) -> tuple[str, ...]:
        """The checked addresses of a host, looked up at most once a minute. A pool keeps
        the addresses it was made with: no later lookup can re-point its connections."""
        key = (host, port)
        now = time.monotonic()
        with self._dns_lock:
            cached = self._dns.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        addresses = _resolve(host, port, self.policy)
        with self._dns_lock:
            self._dns[key] = (addresses, now + 60.0)
        return addresses

    def _attempt(self, target: _Target) -> bytes:
        """One attempt: the request and its redirects, within total_timeout_s."""
        s = self.settings
        deadline = time.monotonic() + s.total_timeout_s
        for hop in range(s.max_redirects + 1):
            _status, location, data = self._request(target, deadline)
            if location is None:
                return data
            if hop == s.max_redirects:
                break
            next_url = urljoin(target.url, location)
            try:
                target = _parse_url(next_url)
                self._addresses(target)
            except UnsafeSourceError as exc:
                raise UnsafeSourceError(f"redirected to {_shown(next_url, 100)}: {exc}") from None
        raise _Permanent(f"too many redirects (more than {s.max_redirects})")

    def _request(self, target: _Target, deadline: float) -> tuple[int, str | None, bytes]:
        """One HTTP exchange: (status, redirect location or None, body of a 2xx)."""
        s = self.settings
        self._addresses(target)  # checked before any byte is sent (again after a minute)
        pool = self.pool.connection_from_host(target.host, target.port, target.scheme)
        headers = {
            "User-Agent": s.user_agent,
            "Accept": "image/*,*/*;q=0.5",
            "Accept-Encoding": "identity",
        }
        for fresh in (False, True):
            self.in_flight.begin(deadline)
            response = None
            keep = False
            try:
                try:
                    response = pool.urlopen(
                        "GET", target.path, headers=headers, retries=False, redirect=False, assert_same_host=False,
                        timeout=Timeout(connect=s.connect_timeout_s, read=s.read_timeout_s),
                        preload_content=False, decode_content=False, enforce_content_length=False,
                    )
                except ProtocolError as exc:
                    conn = self.in_flight.current()
                    dropped = isinstance(_root_cause(exc), (http.client.RemoteDisconnected, BrokenPipeError,
                                                            ConnectionResetError, ConnectionAbortedError))
                    if (dropped and not fresh and conn is not None and conn.requests_sent > 1
                            and not self.stopped.is_set() and time.monotonic() < deadline):
                        continue  # the server closed an idle keep-alive connection: try a new one
                    raise
                status = response.status
                if 200 <= status < 300:
                    data = self._read_body(response, deadline)
                    keep = True
                    return status, None, data
                location = response.headers.get("Location") if status in _REDIRECTS else None
                retry_after = _retry_after(response.headers.get("Retry-After"), s.max_retry_after_s)
                keep = self._discard(response, deadline)
                text = _status_text(status, response.reason)
                if location is not None:
                    return status, location.strip(), b""
                if status in (408, 429) or (500 <= status < 600 and status not in (501, 505)):
                    raise _Transient(text, retry_after if status in (429, 503) else None)
                raise _Permanent(text)
            except (_Transient, _Permanent, _Aborted, UnsafeSourceError):
                raise
            except Exception as exc:
                raise self._classify(exc, target, deadline) from None
            finally:
                self.in_flight.end()
                if response is not None:
                    if not keep:
                        response.close()
                    response.release_conn()
        raise _Transient("the server closed the connection")  # pragma: no cover - loop returns

    def _classify(self, exc: BaseException, target: _Target, deadline: float) -> BaseException:
        if self.stopped.is_set():
            return _Aborted()
        if time.monotonic() >= deadline:
            return _Transient(f"timed out (no complete answer within {self.settings.total_timeout_s:g} s)")
        if isinstance(exc, ReadTimeoutError) or (
                isinstance(exc, ConnectTimeoutError) and not isinstance(exc, NewConnectionError)):
            return _Transient("timed out")  # (urllib3 makes every NewConnectionError a ConnectTimeoutError)
        exc = _root_cause(exc)
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return _Transient("timed out")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return _Permanent(f"the TLS certificate of {target.host} is not valid ({exc.verify_message})")
        if isinstance(exc, ssl.SSLError):
            return _Permanent(f"TLS error with {target.host} ({exc.reason or exc})")
        if isinstance(exc, ConnectionRefusedError):
            return _Transient("connection refused")
        if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError,
                            BrokenPipeError)):
            return _Transient("the server closed the connection")
        if isinstance(exc, http.client.IncompleteRead):
            return _Transient("the server closed the connection before the end of the file")
        if isinstance(exc, (http.client.HTTPException, HTTPError)):
            return _Permanent(f"the server sent an invalid HTTP response ({type(exc).__name__})")
        if isinstance(exc, OSError):
            return _Transient(f"network error: {_shown(exc.strerror or str(exc), 100)}")
        return _Permanent(f"internal error: {type(exc).__name__}: {_shown(str(exc), 200)}")

    def _read_body(self, response: BaseHTTPResponse, deadline: float) -> bytes:
        limit = self.settings.max_image_bytes
        declared_header = response.headers.get("Content-Length")
        declared: int | None = None
        if declared_header is not None and declared_header.strip().isdigit():
            declared = int(declared_header.strip())
            if declared > limit:
                raise _Permanent(f"the server announces {declared:,} bytes, more than the limit of {limit:,}")
        chunks: list[bytes] = []
        total = 0
        while True:
            if time.monotonic() >= deadline:
                raise _Transient(f"timed out (no complete answer within {self.settings.total_timeout_s:g} s)")
            if self.stopped.is_set():
                raise _Aborted()
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise _Permanent(f"the download is larger than the limit of {limit:,} bytes")
            chunks.append(chunk)
        # An empty read may be the watchdog cutting the socket: say so rather than
        # pass on a truncated file.
        if self.stopped.is_set():
            raise _Aborted()
        if time.monotonic() >= deadline:
            raise _Transient(f"timed out (no complete answer within {self.settings.total_timeout_s:g} s)")
        if declared is not None and total < declared:
            raise _Transient(f"the server closed the connection after {total:,} of {declared:,} bytes")
        return b"".join(chunks)

    def _discard(self, response: BaseHTTPResponse, deadline: float) -> bool:
        """Read a small error body so the connection can be reused; False if it cannot."""
        budget = _CHUNK
        try:
            while budget > 0 and time.monotonic() < deadline:
                chunk = response.read(min(budget, 16 * 1024))
                if not chunk:
                    return True
                budget -= len(chunk)
        except Exception:
            return False
        return False


# --- the public entry points ------------------------------------------------------------


def _as_request(item: object) -> FetchRequest:
    if isinstance(item, FetchRequest):
        return item
    if isinstance(item, tuple) and len(item) == 2:
        return FetchRequest(str(item[0]), item[1])  # type: ignore[arg-type]
    raise TypeError(f"fetch_all wants FetchRequest items, not {type(item).__name__}")


def _settings(settings: FetchSettings | None, concurrency: int | None, allow_private: AllowPrivate) -> FetchSettings:
    settings = settings or FetchSettings()
    changes: dict[str, object] = {}
    if concurrency is not None:
        changes["concurrency"] = concurrency
    if allow_private is not None:
        changes["allow_private"] = allow_private
    return replace(settings, **changes) if changes else settings


def fetch_one(
    request: FetchRequest,
    *,
    images_root: Path | ImageStore | None = None,
    settings: FetchSettings | None = None,
    allow_private: AllowPrivate = None,
) -> FetchResult:
    """Fetch a single image in the calling thread (same checks as :func:`fetch_all`)."""
    for result in fetch_all([request], images_root=images_root, concurrency=1, settings=settings,
                            allow_private=allow_private):
        return result
    raise AssertionError("fetch_all yields one result per request")  # pragma: no cover


def fetch_all(
    requests: Iterable[FetchRequest],
    *,
    images_root: Path | str | ImageStore | None = None,
    concurrency: int | None = None,
    on_result: Callable[[FetchResult], None] | None = None,
    stop: threading.Event | None = None,
    settings: FetchSettings | None = None,
    allow_private: AllowPrivate = None,
) -> Iterator[FetchResult]:
    """Fetch every request, ``concurrency`` at a time, yielding results as they finish.

    The iterator drives the work: consume it. ``requests`` is read lazily, in the
    caller's thread, a little ahead of the workers, so it may be a generator over a
    database. ``on_result`` is called in the caller's thread just before each result is
    yielded. Setting ``stop`` stops taking new requests and interrupts the ones in
    flight; interrupted requests yield nothing (they were not tried to the end), the
    ones already finished are still yielded. Closing the iterator early does the same.

    Raises only for an unusable ``images_root`` (:class:`InputError`) or bad arguments.
    """
    settings = _settings(settings, concurrency, allow_private)
    _AddressPolicy(settings.allow_private)  # bad allow_private values fail here, not per row
    owned = images_root is not None and isinstance(images_root, (str, os.PathLike))
    store = open_images_root(Path(images_root)) if owned else images_root  # type: ignore[arg-type]
    return _stream(requests, store, owned, settings, on_result, stop)


def _stream(
    requests: Iterable[FetchRequest],
    store: ImageStore | None,
    owned: bool,
    settings: FetchSettings,
    on_result: Callable[[FetchResult], None] | None,
    stop: threading.Event | None,
) -> Iterator[FetchResult]:
    aborted = threading.Event()
    fetcher = _Fetcher(settings, store, aborted)
    finished = threading.Event()

    def watchdog() -> None:
        # Cuts off attempts past their wall-clock limit, and everything on stop.
        while not finished.wait(0.05):
            if stop is not None and stop.is_set():
                aborted.set()
            if aborted.is_set():
                fetcher.in_flight.cut(now=None, everything=True)
            else:
                fetcher.in_flight.cut(now=time.monotonic())

    guard = threading.Thread(target=watchdog, name="hwocr-fetch-watchdog", daemon=True)
    guard.start()
    executor = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="hwocr-fetch")
    pending: set[Future[FetchResult | None]] = set()
    source = iter(requests)
    window = settings.concurrency * 2
    exhausted = False
    try:
        while True:
            while (not exhausted and len(pending) < window and not aborted.is_set()
                   and not (stop is not None and stop.is_set())):
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                pending.add(executor.submit(fetcher.fetch, _as_request(item)))
            if not pending:
                break
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            for future in done:
                result = future.result()
                if result is None:
                    continue
                if on_result is not None:
                    on_result(result)
                yield result
            if stop is not None and stop.is_set():
                aborted.set()
    finally:
        aborted.set()
        executor.shutdown(wait=True, cancel_futures=True)
        finished.set()
        guard.join()
        fetcher.pool.clear()
        if owned and store is not None:
            store.close()
