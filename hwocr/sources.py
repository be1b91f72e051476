"""Reading the names CSV: either layout, any common encoding and delimiter, every row
accounted for.

Two layouts are recognised from the header (names matched case-insensitively, trimmed):

* ``original`` -- ``unit_id, image_url, transcription[, first_or_last]``, the
  "Transcriptions of names from handwriting" file;
* ``kaggle`` -- ``FILENAME, IDENTITY``; the file name is both the id and the image path.

Nothing is dropped silently: a row without a transcription, marked UNREADABLE, with a
repeated unit_id or with too many fields is kept with a ``skip_reason`` so the import
can report it. Only a file that cannot be read at all (encoding, missing column, size,
an unterminated quote swallowing the file) raises :class:`CsvError`, in one line.

Cells are data, never formulas: ``=HYPERLINK(...)`` is read as that text. Escaping on
export is the exporter's job.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from hwocr.config import DEFAULTS
from hwocr.errors import CsvError
from hwocr.text import UNREADABLE_MARKERS, normalize_transcription

Layout = Literal["original", "kaggle"]
CsvSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO

#: Required columns of each layout, in their canonical spelling (matching is lowercase).
LAYOUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "original": ("unit_id", "image_url", "transcription"),
    "kaggle": ("FILENAME", "IDENTITY"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {"original": ("first_or_last",), "kaggle": ()}
_EXPECTED = "expected unit_id, image_url, transcription[, first_or_last] or FILENAME, IDENTITY"

#: Delimiters tried on the header line, in order of preference.
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# A transcription that normalising leaves unchanged once uppercased (the common case):
# letters and digits with single separators between them.
_PLAIN = re.compile(r"[A-Z0-9]+(?:[ '-][A-Z0-9]+)*")

#: How much of the file preview_csv reads: plenty for ten rows, cheap for any file.
PREVIEW_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class CsvRow:
    #: 1-based line of the file where the record starts (the header is line 1).
    line: int
    #: original: unit_id; kaggle: FILENAME (the file name is the id).
    unit_id: str
    #: original: image_url; kaggle: FILENAME (a path relative to the images root).
    source: str
    raw_transcription: str
    #: Normalised with :func:`hwocr.text.normalize_transcription`; None when skipped.
    transcription: str | None
    first_or_last: str | None
    #: Why the row is not imported, or None when it is.
    skip_reason: str | None

    @property
    def skipped(self) -> bool:
        return self.skip_reason is not None


@dataclass(frozen=True, slots=True)
class CsvTable:
    layout: Layout
    #: Our field -> the CSV's column name, as the detected mapping shown to the user.
    columns: dict[str, str]
    #: Codec the file was decoded with: "utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1".
    encoding: str
    delimiter: str
    rows: tuple[CsvRow, ...]
    #: unit_ids seen more than once, each listed once, in order of first repeat.
    duplicates: tuple[str, ...]

    @property
    def kept(self) -> tuple[CsvRow, ...]:
        return tuple(r for r in self.rows if r.skip_reason is None)

    @property
    def skipped(self) -> tuple[CsvRow, ...]:
        return tuple(r for r in self.rows if r.skip_reason is not None)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))

    def describe(self) -> str:
        """One line for the Import page: what was detected and how many rows are usable."""
        mapping = ", ".join(f"{ours} <- {theirs}" for ours, theirs in self.columns.items())
        kept = sum(1 for r in self.rows if r.skip_reason is None)
        return (
            f"{self.layout} layout ({mapping}); {self.encoding}, {self.delimiter_name}-separated; "
            f"{len(self.rows):,} rows, {kept:,} to import, {len(self.rows) - kept:,} skipped"
        )


def read_csv(source: CsvSource, *, name: str | None = None) -> CsvTable:
    """Read a whole names CSV (a path, its bytes, or a binary file object)."""
    data, name, _ = _load(source, name, limit=None)
    return _parse(data, name, truncated=False, max_rows=None)


def preview_csv(source: CsvSource, n: int = 10, *, name: str | None = None) -> CsvTable:
    """The first ``n`` data rows only, reading at most a few hundred KB of the file.

    Same detection and errors as :func:`read_csv`; duplicates are only those among the
    previewed rows. The encoding is guessed from the part read.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    data, name, truncated = _load(source, name, limit=PREVIEW_BYTES)
    return _parse(data, name, truncated=truncated, max_rows=n)


# --- loading and decoding ---------------------------------------------------------------


def _load(source: CsvSource, name: str | None, limit: int | None) -> tuple[bytes, str, bool]:
    """The file's bytes (the first ``limit`` of them when given), its display name, and
    whether it was cut short."""
    max_bytes = DEFAULTS.max_csv_bytes
    if isinstance(source, (bytes, bytearray, memoryview)):
        name = name or "CSV"
        data = bytes(source)
        if len(data) > max_bytes:
            raise CsvError(f"{name}: the file is {len(data):,} bytes, more than the limit of {max_bytes:,}")
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = name or path.name or "CSV"
        try:
            size = path.stat().st_size
            if path.is_dir():
                raise CsvError(f"{name}: is a folder, not a CSV file")
            if not path.is_file():
                raise CsvError(f"{name}: is not a regular file")
            if size > max_bytes:
                raise CsvError(f"{name}: the file is {size:,} bytes, more than the limit of {max_bytes:,}")
            with path.open("rb") as fh:
                data = fh.read(max_bytes + 1 if limit is None else limit + 1)
        except FileNotFoundError:
            raise CsvError(f"{name}: no such file") from None
        except PermissionError:
            raise CsvError(f"{name}: permission denied") from None
        except IsADirectoryError:
            raise CsvError(f"{name}: is a folder, not a CSV file") from None
        except OSError as exc:
            raise CsvError(f"{name}: cannot be read ({exc.strerror or exc})") from None
        if len(data) > max_bytes:  # grew while we looked
            raise CsvError(f"{name}: the file is more than the limit of {max_bytes:,} bytes")
    elif hasattr(source, "read"):
        name = name or getattr(source, "name", None) or "CSV"
        name = os.path.basename(str(name))
        data = source.read(max_bytes + 1 if limit is None else limit + 1)
        if isinstance(data, str):
            raise CsvError(f"{name}: open the file in binary mode ('rb') so its encoding can be detected")
        data = bytes(data)
        if len(data) > max_bytes:
            raise CsvError(f"{name}: the file is more than the limit of {max_bytes:,} bytes")
    else:
        raise TypeError(f"read_csv wants a path, bytes or a binary file, not {type(source).__name__}")
    truncated = limit is not None and len(data) > limit
    if truncated:
        data = data[:limit]
    return data, name, truncated


def _bare_utf16(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" for UTF-16 text saved without a byte-order mark (its
    ASCII characters leave every other byte NUL), else None. Without this such a file
    was refused as binary."""
    head = data[:4096]
    if len(head) < 8:
        return None
    head = head[: len(head) // 2 * 2]
    odd, even = head[1::2], head[0::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _decode(data: bytes, name: str, *, truncated: bool) -> tuple[str, str]:
    """Decode with the first codec that fits: a BOM's, UTF-8, cp1252, then latin-1."""
    if data.startswith(b"PK\x03\x04"):
        raise CsvError(f"{name}: is a zip archive or an Excel workbook, not a CSV; save it as CSV (UTF-8)")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise CsvError(f"{name}: is an old Excel workbook (.xls), not a CSV; save it as CSV (UTF-8)")
    if data.startswith(codecs.BOM_UTF8):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    elif (bare_utf16 := _bare_utf16(data)) is not None:
        candidates = (bare_utf16,)
    else:
        candidates = ("utf-8", "cp1252", "latin-1")
    for encoding in candidates:
        try:
            # An incremental decoder leaves a multi-byte character cut by a preview alone.
            text = codecs.getincrementaldecoder(encoding)("strict").decode(data, final=not truncated)
        except UnicodeDecodeError as exc:
            if len(candidates) == 1 and encoding.endswith(("-le", "-be")):
                raise CsvError(f"{name}: looks like {encoding} text without a byte-order mark but is not valid "
                               f"{encoding} (byte {exc.start:,})") from None
            if len(candidates) == 1:
                # The decoder counts from after the BOM; people count from the file's start.
                offset = exc.start + (len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0)
                raise CsvError(
                    f"{name}: starts with a {encoding} byte-order mark but is not valid {encoding} "
                    f"(byte {offset:,})"
                ) from None
            continue
        if "\x00" in text:
            raise CsvError(f"{name}: contains NUL bytes; it looks like a binary file, not a CSV")
        return text, encoding
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


# --- header -----------------------------------------------------------------------------


def _canon(column: str) -> str:
    return "_".join(column.strip().strip("\ufeff\"'").strip().lower().replace("-", " ").split())


def _match_layout(header: list[str]) -> tuple[Layout, dict[str, str]] | None:
    """The layout the header names and our field -> their column, or None."""
    index: dict[str, str] = {}
    for column in header:
        index.setdefault(_canon(column), column.strip())
    for layout in ("original", "kaggle"):
        required = LAYOUT_COLUMNS[layout]
        if all(c.lower() in index for c in required):
            if layout == "original":
                columns = {
                    "unit_id": index["unit_id"],
                    "source": index["image_url"],
                    "transcription": index["transcription"],
                }
                if "first_or_last" in index:
                    columns["first_or_last"] = index["first_or_last"]
            else:
                columns = {"unit_id": index["filename"], "source": index["filename"],
                           "transcription": index["identity"]}
            return layout, columns  # type: ignore[return-value]
    return None


_LINE_END = re.compile(r"\r\n|\r|\n")


def _split_header(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        # A header the csv module cannot even split (a stray quote): one unnamed column,
        # reported below as the columns that are missing.
        return [line]


def _sniff(first_line: str, name: str) -> tuple[str, Layout, dict[str, str], list[str]]:
    for delimiter in DELIMITERS:
        header = _split_header(first_line, delimiter)
        found = _match_layout(header)
        if found is not None:
            return delimiter, found[0], found[1], header
    # No delimiter gives a known header: say which columns are missing from the closest one.
    delimiter = max(DELIMITERS, key=lambda d: len(_split_header(first_line, d)))
    header = _split_header(first_line, delimiter)
    present = {_canon(c) for c in header}
    best = max(("original", "kaggle"), key=lambda lay: sum(c.lower() in present for c in LAYOUT_COLUMNS[lay]))
    missing = [c for c in LAYOUT_COLUMNS[best] if c.lower() not in present]
    shown = ", ".join(repr(c.strip()) for c in header[:12]) + (", ..." if len(header) > 12 else "")
    noun = "column" if len(missing) == 1 else "columns"
    hint = ""
    if len(header) == 1 and any(d in first_line for d in ",;\t|"):
        hint = " (the delimiter could not be recognised)"
    raise CsvError(
        f"{name}: missing {noun} {', '.join(repr(c) for c in missing)}; found columns: {shown[:300]}{hint} "
        f"({_EXPECTED})"
    )


# --- rows -------------------------------------------------------------------------------


def _normalise(raw: str) -> tuple[str | None, str | None]:
    if raw.isascii():
        upper = raw.upper()
        if _PLAIN.fullmatch(upper) and upper not in UNREADABLE_MARKERS:
            return upper, None
    return normalize_transcription(raw)


def _swallowed(unit_id: str, source: str, transcription: str, delimiter: str) -> bool:
    """Whether a record that spans lines holds rows swallowed by an unclosed quote: an id
    or an image path never holds a line break, and a transcription may (a name written on
    two lines) but then holds no delimiter on its later lines."""
    if any(ch in unit_id or ch in source for ch in "\r\n"):
        return True
    later = _LINE_END.split(transcription)[1:]
    return any(delimiter in part for part in later)


def _parse(data: bytes, name: str, *, truncated: bool, max_rows: int | None) -> CsvTable:
    text, encoding = _decode(data, name, truncated=truncated)
    if encoding == "utf-16" and text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise CsvError(f"{name}: the file is empty")
    # The header is the first non-blank line; header names never hold newlines.
    stripped = text.lstrip("\r\n")
    # CR alone ends a line too (classic Mac OS, some spreadsheet exports): the csv module
    # reads such files, and the header must be cut the same way.
    first_line = _LINE_END.split(stripped, 1)[0]
    if len(first_line) > DEFAULTS.max_csv_field:
        raise CsvError(f"{name}: the first line is {len(first_line):,} characters long; it is not a CSV header")
    delimiter, layout, columns, _ = _sniff(first_line, name)

    max_field = DEFAULTS.max_csv_field
    if csv.field_size_limit() < max_field + 1:
        csv.field_size_limit(max_field + 1)  # only ever raised, so other readers are unaffected
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header: list[str] = []
        while not any(h.strip() for h in header):  # blank lines before the header
            header = next(reader)
    except csv.Error as exc:
        raise CsvError(f"{name}: line {reader.line_num}: {exc}") from None
    canon = [_canon(h) for h in header]
    n_columns = len(header)
    wanted = {field: canon.index(_canon(column)) for field, column in columns.items()}
    i_unit = wanted["unit_id"]
    i_source = wanted["source"]
    i_text = wanted["transcription"]
    i_fol = wanted.get("first_or_last")
    unit_label = columns["unit_id"]
    source_label = columns["source"]

    rows: list[CsvRow] = []
    first_seen: dict[str, int] = {}
    duplicates: dict[str, None] = {}
    normalised: dict[str, tuple[str | None, str | None]] = {}
    prev_end = reader.line_num
    check_every_row = max(map(len, text.split("\n" if "\n" in text else "\r"))) > max_field
    try:
        for record in reader:
            line = prev_end + 1
            prev_end = reader.line_num
            if not record:
                continue
            # A field longer than the limit needs a long line or a record over several lines.
            if (check_every_row or reader.line_num != line) and max(map(len, record)) > max_field:
                longest = max(map(len, record))
                raise CsvError(
                    f"{name}: line {line}: a field is {longest:,} characters long, more than the limit of "
                    f"{max_field:,} (is a quote left open?)"
                )
            width = len(record)
            if width < n_columns:
                if not any(record) or (width == 1 and not record[0].strip()):
                    continue
                record = record + [""] * (n_columns - width)
            elif width > n_columns and any(f.strip() for f in record[n_columns:]):
                rows.append(
                    CsvRow(
                        line=line,
                        unit_id=record[i_unit].strip(),
                        source=record[i_source].strip(),
                        raw_transcription=record[i_text],
                        transcription=None,
                        first_or_last=None,
                        skip_reason=f"has {width} fields where the header has {n_columns} "
                        f"(an unquoted {DELIMITER_NAMES.get(delimiter, delimiter)}?)",
                    )
                )
                if max_rows is not None and len(rows) >= max_rows:
                    break
                continue
            unit_id = record[i_unit].strip()
            src = record[i_source].strip()
            raw = record[i_text]
            fol = (record[i_fol].strip() or None) if i_fol is not None else None
            if not unit_id and not src and not raw.strip() and not fol:
                continue  # a row of empty cells, e.g. ",,," left by a spreadsheet
            reason: str | None = None
            transcription: str | None = None
            if reader.line_num != line and _swallowed(unit_id, src, raw, delimiter):
                reason = (f"lines {line}-{reader.line_num} were read as one record: a quote (\") is left open "
                          f"on line {line}")
            elif not unit_id:
                reason = f"no {unit_label}"
            else:
                seen_on = first_seen.get(unit_id)
                if seen_on is not None:
                    duplicates[unit_id] = None
                    reason = f"duplicate {unit_label} (first seen on line {seen_on})"
                else:
                    first_seen[unit_id] = line
            if reason is None and not src:
                reason = f"no {source_label}"
            if reason is None:
                result = normalised.get(raw)
                if result is None:
                    result = normalised[raw] = _normalise(raw)
                transcription, reason = result
            rows.append(
                CsvRow(
                    line=line,
                    unit_id=unit_id,
                    source=src,
                    raw_transcription=raw,
                    transcription=transcription,
                    first_or_last=fol,
                    skip_reason=reason,
                )
            )
            if max_rows is not None and len(rows) >= max_rows:
                break
    except csv.Error as exc:
        message = str(exc)
        if "field larger than field limit" in message:
            message = f"a field is longer than the limit of {max_field:,} characters (is a quote left open?)"
        raise CsvError(f"{name}: line {reader.line_num}: {message}") from None

    if not rows and max_rows != 0:
        raise CsvError(f"{name}: the file has a header but no data rows")
    return CsvTable(
        layout=layout,
        columns=columns,
        encoding=encoding,
        delimiter=delimiter,
        rows=tuple(rows),
        duplicates=tuple(duplicates),
    )
