"""Reading the names CSV: both layouts, encodings, delimiters, and every way a row can be
skipped. Hand-written files in tmp_path; the real ones from ../shared/data when present."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwocr import sources
from hwocr.config import DEFAULTS
from hwocr.errors import CsvError
from hwocr.sources import CsvRow, CsvTable, preview_csv, read_csv

EXPECTED = "(expected unit_id, image_url, transcription[, first_or_last] or FILENAME, IDENTITY)"
ORIGINAL_COLUMNS = {
    "unit_id": "unit_id",
    "source": "image_url",
    "transcription": "transcription",
    "first_or_last": "first_or_last",
}


def _write(tmp_path: Path, text: str | bytes, name: str = "t.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def _rows(table: CsvTable) -> list[tuple]:
    return [(r.line, r.unit_id, r.source, r.raw_transcription, r.transcription, r.first_or_last, r.skip_reason)
            for r in table.rows]


# --- the real files ------------------------------------------------------------------------


def test_real_names_csv_original_layout(names_dir):
    table = read_csv(names_dir / "names.csv")
    assert (table.layout, table.encoding, table.delimiter) == ("original", "utf-8", ",")
    assert table.columns == ORIGINAL_COLUMNS
    assert len(table.rows) == 1000
    assert table.duplicates == ()
    assert table.rows[0] == CsvRow(2, "VALIDATION_0001", "images/VALIDATION_0001.jpg", "BILEL", "BILEL", None, None)
    assert table.rows[3].transcription == "JEAN-ROCH"
    assert {r.line: r.skip_reason for r in table.skipped} == {
        7: "transcription is UNREADABLE",
        181: "transcription is EMPTY",
        255: "no transcription",
        592: "transcription is EMPTY",
        923: "transcription is EMPTY",
    }
    assert len(table.kept) == 995
    assert sum(1 for r in table.rows if r.raw_transcription == "") == 1


def test_real_names_csv_kaggle_layout(names_dir):
    table = read_csv(names_dir / "written_name_subset.csv")
    assert (table.layout, table.encoding, table.delimiter) == ("kaggle", "utf-8", ",")
    assert table.columns == {"unit_id": "FILENAME", "source": "FILENAME", "transcription": "IDENTITY"}
    assert len(table.rows) == 1000
    assert table.rows[0] == CsvRow(2, "VALIDATION_0001.jpg", "VALIDATION_0001.jpg", "BILEL", "BILEL", None, None)
    assert [r.line for r in table.skipped] == [7, 181, 255, 592, 923]
    assert table.rows[253].skip_reason == "no transcription"  # CRLF line endings: no stray \r


def test_real_preview(names_dir):
    table = preview_csv(names_dir / "names.csv", 3)
    assert [r.unit_id for r in table.rows] == ["VALIDATION_0001", "VALIDATION_0002", "VALIDATION_0003"]
    assert table.columns == ORIGINAL_COLUMNS


# --- layouts and headers -----------------------------------------------------------------------


def test_original_layout_small(tmp_path):
    table = read_csv(_write(tmp_path, "unit_id,image_url,transcription,first_or_last\n1,http://x/1.jpg,jean,first\n"))
    assert _rows(table) == [(2, "1", "http://x/1.jpg", "jean", "JEAN", "first", None)]


def test_first_or_last_is_optional(tmp_path):
    table = read_csv(_write(tmp_path, "unit_id,image_url,transcription\n1,a.jpg,LEA\n"))
    assert table.columns == {"unit_id": "unit_id", "source": "image_url", "transcription": "transcription"}
    assert _rows(table) == [(2, "1", "a.jpg", "LEA", "LEA", None, None)]


def test_columns_matched_case_insensitively_trimmed_any_order(tmp_path):
    text = " First_Or_Last ; TRANSCRIPTION ;Image_URL; Unit_Id \nlast;Dupont;a.jpg;7\n"
    table = read_csv(_write(tmp_path, text))
    assert table.delimiter == ";"
    assert table.columns == {
        "unit_id": "Unit_Id",
        "source": "Image_URL",
        "transcription": "TRANSCRIPTION",
        "first_or_last": "First_Or_Last",
    }
    assert _rows(table) == [(2, "7", "a.jpg", "Dupont", "DUPONT", "last", None)]


def test_kaggle_layout_lowercase_header(tmp_path):
    table = read_csv(_write(tmp_path, "filename,identity\nTRAIN_1.jpg,Zoé\n"))
    assert table.layout == "kaggle"
    assert table.columns == {"unit_id": "filename", "source": "filename", "transcription": "identity"}
    assert _rows(table) == [(2, "TRAIN_1.jpg", "TRAIN_1.jpg", "Zoé", "ZOE", None, None)]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "unit_id,url,transcription",
            f"t.csv: missing column 'image_url'; found columns: 'unit_id', 'url', 'transcription' {EXPECTED}",
        ),
        (
            "id,image_url",
            f"t.csv: missing columns 'unit_id', 'transcription'; found columns: 'id', 'image_url' {EXPECTED}",
        ),
        ("FILENAME,NAME", f"t.csv: missing column 'IDENTITY'; found columns: 'FILENAME', 'NAME' {EXPECTED}"),
        (
            "unit_id:image_url:transcription",
            f"t.csv: missing columns 'unit_id', 'image_url', 'transcription'; found columns: "
            f"'unit_id:image_url:transcription' {EXPECTED}",
        ),
    ],
)
def test_missing_column(tmp_path, header, message):
    with pytest.raises(CsvError) as info:
        read_csv(_write(tmp_path, header + "\n1,2,3\n"))
    assert str(info.value) == message


def test_duplicated_column_name_uses_the_first(tmp_path):
    table = read_csv(_write(tmp_path, "unit_id,image_url,transcription,transcription\n1,a.jpg,ANNE,OTHER\n"))
    assert table.rows[0].transcription == "ANNE"


# --- encodings ----------------------------------------------------------------------------------


def test_utf8_bom(tmp_path):
    table = read_csv(_write(tmp_path, "\ufeffunit_id,image_url,transcription\n1,a.jpg,Élodie\n"))
    assert table.encoding == "utf-8-sig"
    assert table.columns["unit_id"] == "unit_id"
    assert _rows(table) == [(2, "1", "a.jpg", "Élodie", "ELODIE", None, None)]


def test_cp1252_with_accents(tmp_path):
    text = "unit_id;image_url;transcription\n1;a.jpg;Élodie\n2;b.jpg;François\n3;c.jpg;Œillet\n4;d.jpg;“Noël”\n"
    table = read_csv(_write(tmp_path, text, encoding="cp1252"))
    assert (table.encoding, table.delimiter) == ("cp1252", ";")
    assert [(r.raw_transcription, r.transcription) for r in table.rows] == [
        ("Élodie", "ELODIE"),
        ("François", "FRANCOIS"),
        ("Œillet", "OEILLET"),
        ("“Noël”", "NOEL"),
    ]


def test_latin1_fallback(tmp_path):
    # 0x81 is undefined in cp1252, so only latin-1 can decode this file.
    data = b"unit_id,image_url,transcription\n1,a.jpg,Ren\xe9\x81\n"
    table = read_csv(_write(tmp_path, data))
    assert table.encoding == "latin-1"
    assert table.rows[0].transcription == "RENE"


def test_utf16_tab_separated_from_excel(tmp_path):
    text = "unit_id\timage_url\ttranscription\r\n1\ta.jpg\tMarie-Hélène\r\n"
    table = read_csv(_write(tmp_path, text, encoding="utf-16"))
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert _rows(table) == [(2, "1", "a.jpg", "Marie-Hélène", "MARIE-HELENE", None, None)]


def test_bad_bom(tmp_path):
    with pytest.raises(CsvError) as info:
        read_csv(_write(tmp_path, b"\xef\xbb\xbfunit_id,image_url,transcription\n1,a,\xff\n"))
    assert str(info.value) == "t.csv: starts with a utf-8-sig byte-order mark but is not valid utf-8-sig (byte 39)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04rest-of-an-xlsx",
         "t.csv: is a zip archive or an Excel workbook, not a CSV; save it as CSV (UTF-8)"),
        (b"\xd0\xcf\x11\xe0rest-of-an-xls",
         "t.csv: is an old Excel workbook (.xls), not a CSV; save it as CSV (UTF-8)"),
        (b"unit_id,image_url\x00\x01\x02", "t.csv: contains NUL bytes; it looks like a binary file, not a CSV"),
        (b"", "t.csv: the file is empty"),
        (b"  \r\n\n  ", "t.csv: the file is empty"),
        (b"unit_id,image_url,transcription\n", "t.csv: the file has a header but no data rows"),
        (b"unit_id,image_url,transcription\r\n\r\n,,\r\n", "t.csv: the file has a header but no data rows"),
        (b"FILENAME,IDENTITY", "t.csv: the file has a header but no data rows"),
    ],
)
def test_unreadable_files(tmp_path, data, message):
    with pytest.raises(CsvError) as info:
        read_csv(_write(tmp_path, data))
    assert str(info.value) == message


def test_missing_file(tmp_path):
    with pytest.raises(CsvError, match=r"^nope.csv: no such file$"):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(CsvError, match=r"is a folder, not a CSV file$"):
        read_csv(tmp_path)


# --- delimiters ------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(tmp_path, delimiter):
    text = delimiter.join(["unit_id", "image_url", "transcription"]) + "\n"
    text += delimiter.join(["1", "a.jpg", '"DE LA, FONTAINE; JR"']) + "\n"
    table = read_csv(_write(tmp_path, text))
    assert table.delimiter == delimiter
    assert table.rows[0].raw_transcription == "DE LA, FONTAINE; JR"
    assert table.rows[0].transcription == "DE LA FONTAINE JR"


def test_semicolon_file_with_commas_in_the_data(tmp_path):
    text = "unit_id;image_url;transcription\n1;a.jpg;DUPONT, JEAN\n"
    table = read_csv(_write(tmp_path, text))
    assert (table.delimiter, table.rows[0].raw_transcription) == (";", "DUPONT, JEAN")


# --- rows ---------------------------------------------------------------------------------------------


def test_duplicates_kept_once_and_reported(tmp_path):
    text = "unit_id,image_url,transcription\nA1,a.jpg,ANNE\nB2,b.jpg,BOB\nA1,a2.jpg,ANNA\nA1,a3.jpg,\nB2,b.jpg,BOB\n"
    table = read_csv(_write(tmp_path, text))
    assert table.duplicates == ("A1", "B2")
    assert [(r.line, r.unit_id, r.transcription, r.skip_reason) for r in table.rows] == [
        (2, "A1", "ANNE", None),
        (3, "B2", "BOB", None),
        (4, "A1", None, "duplicate unit_id (first seen on line 2)"),
        (5, "A1", None, "duplicate unit_id (first seen on line 2)"),
        (6, "B2", None, "duplicate unit_id (first seen on line 3)"),
    ]


def test_kaggle_duplicates_name_the_filename_column(tmp_path):
    table = read_csv(_write(tmp_path, "FILENAME,IDENTITY\na.jpg,X\na.jpg,Y\n"))
    assert table.rows[1].skip_reason == "duplicate FILENAME (first seen on line 2)"


def test_skipped_rows_are_kept_with_their_reason(tmp_path):
    text = (
        "unit_id,image_url,transcription,first_or_last\n"
        "1,a.jpg,UNREADABLE,first\n"
        "2,b.jpg,,last\n"
        "3,c.jpg,   ,last\n"
        "4,d.jpg,empty,\n"
        "5,e.jpg,???,\n"
        ",f.jpg,ANNE,\n"
        "7,,ANNE,\n"
        "8,h.jpg,SMITH,JR,first\n"
        "9,i.jpg\n"
        "10,j.jpg,OK,first,\n"
    )
    table = read_csv(_write(tmp_path, text))
    assert [(r.line, r.unit_id, r.transcription, r.skip_reason) for r in table.rows] == [
        (2, "1", None, "transcription is UNREADABLE"),
        (3, "2", None, "no transcription"),
        (4, "3", None, "no transcription"),
        (5, "4", None, "transcription is EMPTY"),
        (6, "5", None, "transcription '???' has no letters or digits"),
        (7, "", None, "no unit_id"),
        (8, "7", None, "no image_url"),
        (9, "8", None, "has 5 fields where the header has 4 (an unquoted comma?)"),
        (10, "9", None, "no transcription"),
        (11, "10", "OK", None),  # a trailing empty field is harmless
    ]
    assert len(table.kept) == 1 and len(table.skipped) == 9


def test_lowercase_and_accents_normalised(tmp_path):
    text = "FILENAME,IDENTITY\n1.jpg,jean-rené\n2.jpg,Zoë\n3.jpg,o'neil\n4.jpg,  marie  claire \n5.jpg,ÆLFRED\n"
    table = read_csv(_write(tmp_path, text))
    assert [r.transcription for r in table.rows] == ["JEAN-RENE", "ZOE", "O'NEIL", "MARIE CLAIRE", "AELFRED"]
    assert table.rows[3].raw_transcription == "  marie  claire "


def test_quoted_fields_with_commas_newlines_and_quotes(tmp_path):
    text = (
        'unit_id,image_url,transcription,first_or_last\r\n'
        '1,"a,1.jpg","DE LA, FONTAINE",last\r\n'
        '2,b.jpg,"MARIE\r\nCLAIRE",first\r\n'
        '3,c.jpg,"O""NEIL",last\r\n'
        '\r\n'
        '4,d.jpg,LEA,first\r\n'
    )
    table = read_csv(_write(tmp_path, text))
    assert _rows(table) == [
        (2, "1", "a,1.jpg", "DE LA, FONTAINE", "DE LA FONTAINE", "last", None),
        (3, "2", "b.jpg", "MARIE\r\nCLAIRE", "MARIE CLAIRE", "first", None),
        (5, "3", "c.jpg", 'O"NEIL', "ONEIL", "last", None),
        (7, "4", "d.jpg", "LEA", "LEA", "first", None),
    ]


def test_formula_cells_are_plain_text(tmp_path):
    text = (
        'unit_id,image_url,transcription\n'
        '=1+2,"=HYPERLINK(""http://evil.example/x"",""click"")",=cmd|\' /C calc\'!A0\n'
        '@SUM(A1),-2+3,+PAUL\n'
    )
    table = read_csv(_write(tmp_path, text))
    assert [(r.unit_id, r.source, r.raw_transcription) for r in table.rows] == [
        ("=1+2", '=HYPERLINK("http://evil.example/x","click")', "=cmd|' /C calc'!A0"),
        ("@SUM(A1)", "-2+3", "+PAUL"),
    ]
    assert table.rows[1].transcription == "PAUL"


def test_blank_lines_before_the_header(tmp_path):
    table = read_csv(_write(tmp_path, "\n\nunit_id,image_url,transcription\n1,a.jpg,LEA\n"))
    assert [(r.line, r.unit_id) for r in table.rows] == [(4, "1")]


# --- size limits -------------------------------------------------------------------------------------


def test_huge_field(tmp_path):
    text = "unit_id,image_url,transcription\n1,a.jpg," + "A" * 70_000 + "\n"
    with pytest.raises(CsvError) as info:
        read_csv(_write(tmp_path, text))
    assert str(info.value) == (
        "t.csv: line 2: a field is 70,000 characters long, more than the limit of 65,536 (is a quote left open?)"
    )


def test_field_beyond_the_csv_module_limit(tmp_path):
    text = "unit_id,image_url,transcription\n1,a.jpg," + "A" * 200_000 + "\n"
    with pytest.raises(CsvError) as info:
        read_csv(_write(tmp_path, text))
    assert str(info.value) == (
        "t.csv: line 2: a field is longer than the limit of 65,536 characters (is a quote left open?)"
    )


def test_unterminated_quote_swallowing_the_file(tmp_path):
    lines = ["unit_id,image_url,transcription", '1,a.jpg,"OOPS'] + [f"{i},x{i}.jpg,NAME{i}" for i in range(2, 8000)]
    with pytest.raises(CsvError) as info:
        read_csv(_write(tmp_path, "\n".join(lines) + "\n"))
    assert "is a quote left open?" in str(info.value)
    assert str(info.value).startswith("t.csv: line ")


def test_file_over_the_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "DEFAULTS", replace(DEFAULTS, max_csv_bytes=100))
    path = _write(tmp_path, "unit_id,image_url,transcription\n" + "1,a.jpg,LEA\n" * 10)
    with pytest.raises(CsvError) as info:
        read_csv(path)
    assert str(info.value) == "t.csv: the file is 152 bytes, more than the limit of 100"
    with pytest.raises(CsvError) as info:
        read_csv(path.read_bytes(), name="upload.csv")
    assert str(info.value) == "upload.csv: the file is 152 bytes, more than the limit of 100"


# --- sources other than a path -------------------------------------------------------------------------


def test_bytes_and_file_objects():
    data = b"FILENAME,IDENTITY\na.jpg,LEA\n"
    assert read_csv(data).rows[0].transcription == "LEA"
    assert read_csv(io.BytesIO(data)).rows[0].transcription == "LEA"
    with pytest.raises(CsvError, match=r"^CSV: the file is empty$"):
        read_csv(b"")
    with pytest.raises(CsvError, match=r"binary mode"):
        read_csv(io.StringIO("FILENAME,IDENTITY\n"))


def test_preview_reads_only_the_start(tmp_path):
    lines = ["unit_id,image_url,transcription"] + [f"{i},https://x/{i}.jpg,NAME" for i in range(200_000)]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    started = time.perf_counter()
    table = preview_csv(path, 10)
    assert time.perf_counter() - started < 0.5
    assert [r.unit_id for r in table.rows] == [str(i) for i in range(10)]
    assert table.rows[-1].line == 11


def test_preview_does_not_mistake_a_cut_utf8_character_for_cp1252(tmp_path):
    # Put a two-byte character across the preview's cut.
    head = "unit_id,image_url,transcription\n"
    filler_rows = []
    size = len(head)
    i = 0
    while size < sources.PREVIEW_BYTES - 40:
        row = f"{i},a{i}.jpg,NAME\n"
        filler_rows.append(row)
        size += len(row)
        i += 1
    body = head + "".join(filler_rows)
    pad = sources.PREVIEW_BYTES - len(body.encode()) - len(f"{i},b.jpg,") - 1
    body += f"{i},b.jpg," + "X" * pad + "é\n"
    path = _write(tmp_path, body)
    assert path.read_bytes()[sources.PREVIEW_BYTES - 1 : sources.PREVIEW_BYTES + 1] == "é".encode()
    assert preview_csv(path, 5).encoding == "utf-8"


def test_describe(tmp_path):
    table = read_csv(_write(tmp_path, "FILENAME;IDENTITY\na.jpg;LEA\nb.jpg;UNREADABLE\n"))
    assert table.describe() == (
        "kaggle layout (unit_id <- FILENAME, source <- FILENAME, transcription <- IDENTITY); "
        "utf-8, semicolon-separated; 2 rows, 1 to import, 1 skipped"
    )


def test_130k_rows_read_fast(tmp_path):
    names = ["JEAN", "marie", "Élodie", "ANNE-SOPHIE", "O'NEIL", "UNREADABLE", ""]
    lines = ["unit_id,image_url,transcription,first_or_last"]
    lines += [f"{i},https://example.com/img/{i:07d}.jpg,{names[i % 7]}{i % 997},first" for i in range(130_000)]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    started = time.perf_counter()
    table = read_csv(path)
    elapsed = time.perf_counter() - started
    assert len(table.rows) == 130_000
    assert [r.transcription for r in table.rows[:7]] == [
        "JEAN0", "MARIE1", "ELODIE2", "ANNE-SOPHIE3", "O'NEIL4", "UNREADABLE5", "6"]
    assert elapsed < 10.0  # about 1 s on a busy 2-core machine; this guards against quadratic slips


# --- property: whatever csv.writer writes, we read back ----------------------------------------------

_cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=0, max_size=30
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(_cell, _cell), min_size=1, max_size=20),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_round_trip_through_csv_writer(rows, delimiter):
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, quoting=csv.QUOTE_ALL)
    writer.writerow(["unit_id", "image_url", "transcription"])
    for i, (source, transcription) in enumerate(rows):
        writer.writerow([f"id{i}", source, transcription])
    table = read_csv(buf.getvalue().encode("utf-8"))
    assert table.delimiter == delimiter
    assert [r.unit_id for r in table.rows] == [f"id{i}" for i in range(len(rows))]
    assert [r.raw_transcription for r in table.rows] == [t for _, t in rows]
    assert [r.source for r in table.rows] == [s.strip() for s, _ in rows]
    for row in table.rows:
        assert (row.transcription is None) != (row.skip_reason is None)
