"""Transcriptions: normalising what people typed into the letters hwocr labels.

Lowercase becomes uppercase, accented letters become their base letter (É -> E,
Œ -> OE, ß -> SS), and separators (space, hyphen, apostrophe) are kept because they
are evidence of a gap between drawn letters, though they are not characters to crop.
"""

from __future__ import annotations

import re
import unicodedata

from hwocr.config import SEPARATORS

#: Transcriptions that say "nobody could read this" rather than naming anything.
UNREADABLE_MARKERS = frozenset({"UNREADABLE", "EMPTY", "ILLISIBLE", "NAN", "NULL", "NONE", "N/A"})

# Letters that NFKD does not decompose into a base letter plus marks.
_LIGATURES = {"Œ": "OE", "Æ": "AE", "ß": "SS", "Ø": "O", "Ð": "D", "Þ": "TH", "Ł": "L", "ẞ": "SS"}
_DASHES = re.compile(r"[\u2010-\u2015\u2212_]")
_QUOTES = re.compile(r"[\u2018\u2019\u201b\u0060\u00b4]")
_SPACES = re.compile(r"\s+")


def normalize_transcription(raw: object) -> tuple[str | None, str | None]:
    """Return ``(normalised, None)`` or ``(None, reason)`` when the row must be skipped.

    The normalised form holds only A-Z, 0-9 and single separators between them.
    """
    if raw is None:
        return None, "no transcription"
    text = str(raw)
    if not text.strip():
        return None, "no transcription"
    text = unicodedata.normalize("NFC", text).upper()
    text = "".join(_LIGATURES.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _DASHES.sub("-", text)
    text = _QUOTES.sub("'", text)
    text = _SPACES.sub(" ", text).strip()
    if text in UNREADABLE_MARKERS:
        return None, f"transcription is {text}"
    kept = []
    for ch in text:
        if ("A" <= ch <= "Z") or ("0" <= ch <= "9"):
            kept.append(ch)
        elif ch in SEPARATORS:
            # Collapse runs of separators and drop leading ones.
            if kept and kept[-1] not in SEPARATORS:
                kept.append(ch)
            elif kept and kept[-1] == " " and ch != " ":
                kept[-1] = ch
        # Anything else (punctuation, symbols, other scripts) is not a drawn letter we label.
    while kept and kept[-1] in SEPARATORS:
        kept.pop()
    result = "".join(kept)
    if not result:
        return None, f"transcription {str(raw).strip()[:40]!r} has no letters or digits"
    return result, None


def letters_of(transcription: str) -> str:
    """The characters that are drawn, one box each: the transcription minus separators."""
    return "".join(ch for ch in transcription if ch not in SEPARATORS)


def gap_after(transcription: str) -> tuple[str, ...]:
    """For each drawn character, the separator that follows it ('' when none).

    ``gap_after("JEAN-ROCH")`` gives ``('', '', '', '-', '', '', '', '')``: the aligner
    expects a wider gap (or a hyphen stroke) after the fourth letter.
    """
    gaps: list[str] = []
    for ch in transcription:
        if ch in SEPARATORS:
            if gaps:
                gaps[-1] = ch
        else:
            gaps.append("")
    return tuple(gaps)


#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_csv_cell(value: object) -> str:
    """Defuse spreadsheet formulas: a cell starting with = + - @ (or a tab/CR) gets a quote,
    so a CSV hwocr writes never runs a formula that came from someone else's CSV."""
    text = "" if value is None else str(value)
    if text and text[0] in FORMULA_PREFIXES:
        return "'" + text
    return text


def capitals_of(text: str) -> str:
    """Only the letters A-Z of ``text``: how a reading under the letters charset is
    compared with a transcription's letters (line breaks, spaces and the rest left out)."""
    return "".join(ch for ch in text if "A" <= ch <= "Z")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, each costing 1."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
