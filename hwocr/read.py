"""Reading words and names: classifier-guided segmentation and a lexicon.

:mod:`hwocr.cut` gives each text line as *parts* (strokes with their dots, accents and
bars), left to right. Reading chooses which runs of consecutive parts are one character,
and where to cut through a part that holds touching letters, on the candidate-cut
lattice of :mod:`hwocr.lattice`: every segment of every line classified in one batch
(the characters of a first reading below ``read_view_below`` classified again, turned
both ways, :func:`hwocr.lattice.look_again`), then the best path (the characters and
letters that maximise the classifier's log probabilities, the letters' width priors at
the writer's scale, and the prices of fragments, merged gaps and cuts through ink; the
scale re-estimated from the answer and the programme run again), with the names or the
words language model when the charset has one (:func:`resolve_lm`,
:func:`hwocr.lattice.lm_path`).

The same lattice, forced to a known text, aligns a transcription with a name image
(:mod:`hwocr.align_guided`, the import's align stage) and places lexicon entries.

A **lexicon** snaps a line to an entry when the entry explains the image nearly as well
as the free reading: entries are shortlisted by a weighted edit distance to the
reading (substituting a letter costs how much less likely the classifier found it),
each shortlisted entry is forced onto the same lattice, and the best one is taken when
its score is within ``read_snap_cost + read_snap_cost_per_letter * letters`` of the
free reading's. Both the raw reading and the matched entry are kept.

Which images are cleaned first: ``clean=True`` treats the image as a name cut from a
form (as import does: the printed NOM/PRENOM label, form lines, neighbouring rows and
specks removed, one line); ``clean=False`` reads the ink as it is (a canvas drawing, a
photo or scan of a word or of several lines). The default, ``clean=None``, decides from
the image (:func:`hwocr.formdetect.detect_form`: a thin pen, a form field's strip shape,
and the form parts the cleaning finds and removes); the :class:`Reading` says whether it
was cleaned and why (``cleaned``, ``clean_reason``). The Recognize page passes ``False``
for drawings and Auto (None), Clean or Don't clean for uploads; ``python -m hwocr read``
detects, ``--clean`` / ``--no-clean`` force it.

**No handwriting** is an answer, not an error: blank paper, a scan of only the printed
label (the cleaning removes it whole) and a strip cut through the letters (nearly all its
cleaned ink runs into the top or bottom edge, :func:`hwocr.formdetect.no_handwriting`)
give an empty :class:`Reading` whose ``reason`` says why, never a confident wrong name.
The command line reports such an image as its ``{path, error}`` entry. An image that
cannot be decoded still raises :class:`~hwocr.errors.ImageError`.

The classifier is anything with the small :class:`hwocr.classifier.Classifier` protocol
(labels, charset mask, batch probabilities): the product passes a
:class:`hwocr.recognize.Recognizer`, whose ``read`` calls :func:`read_image`, so this
module does not depend on the model code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from hwocr.boxes import Box
from hwocr.classifier import Classifier
from hwocr.config import DEFAULTS
from hwocr.context import case_from_geometry, letter_digit_runs
from hwocr.cut import Cutting, cut_ink, drawing_ink
from hwocr.errors import InputError
from hwocr.formdetect import NO_HANDWRITING, clean_form, detect_form, no_handwriting, printed_label_read
from hwocr.images import load_gray
from hwocr.lattice import (
    Lattice,
    LatticePath,
    build_lattice,
    classify_lattices,
    forced_path,
    free_path,
    lm_path,
    look_again,
    solve,
    typical_width,
)
from hwocr.namelm import LETTERS, NameLM
from hwocr.namelm import shipped as shipped_lm
from hwocr.namelm import shipped_words as shipped_words_lm
from hwocr.text import letters_of, normalize_transcription

# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadChar:
    """One character read: its box in the image, the letter, the classifier's
    probability of that letter, and the best few ``(label, probability)`` pairs."""

    box: Box
    label: str
    confidence: float
    top: tuple[tuple[str, float], ...]
    line: int = 0

    def to_json(self) -> dict:
        return {"box": self.box.to_list(), "label": self.label, "confidence": round(self.confidence, 4),
                "top": [[label, round(p, 4)] for label, p in self.top], "line": self.line}


@dataclass(frozen=True)
class LexiconMatch:
    """The lexicon entry closest to a line, and whether the reading was snapped to it."""

    entry: str
    """As it is written in the lexicon."""
    cost: float
    """How much worse the entry explains the image than the free reading (score units
    of the dynamic programme, roughly nats; 0 when the reading is the entry)."""
    snapped: bool
    """Whether the line's text is the entry (the cost was low enough)."""
    chars: tuple[ReadChar, ...]
    """The entry's letters forced onto the image: one box per letter."""
    runner_up: str | None = None
    runner_up_cost: float | None = None

    def to_json(self) -> dict:
        return {"entry": self.entry, "cost": round(self.cost, 3), "snapped": self.snapped,
                "runner_up": self.runner_up,
                "runner_up_cost": None if self.runner_up_cost is None else round(self.runner_up_cost, 3),
                "chars": [c.to_json() for c in self.chars]}


@dataclass(frozen=True)
class LineReading:
    box: Box
    text: str
    """The entry when snapped to the lexicon, else ``raw_text``."""
    raw_text: str
    """The classifier's own reading; a space where the gap is as wide as a word space,
    a hyphen where one is drawn."""
    chars: tuple[ReadChar, ...]
    lexicon_match: LexiconMatch | None = None


@dataclass(frozen=True)
class Reading:
    """What :meth:`hwocr.recognize.Recognizer.read` returns."""

    text: str
    """Lines joined by newlines; each line its lexicon entry when snapped."""
    raw_text: str
    """The same without the lexicon."""
    chars: tuple[ReadChar, ...]
    """Every character read, line by line, left to right (the raw reading's boxes)."""
    lines: tuple[LineReading, ...]
    width: int
    height: int
    cleaned: bool = False
    """Whether the form label and lines were removed before reading."""
    clean_reason: str = ""
    """Why it was, or was not, cleaned: the form detector's verdict, or the caller's choice."""
    reason: str | None = None
    """Why nothing was read (no handwriting found: blank, only the printed label, the
    letters cut by the image's edges); None when the ink was read."""

    @property
    def lexicon_match(self) -> LexiconMatch | None:
        """The lexicon match of a one-line reading (None with no lexicon or several lines)."""
        return self.lines[0].lexicon_match if len(self.lines) == 1 else None

    def to_json(self) -> dict:
        match = self.lexicon_match
        return {
            "text": self.text,
            "raw_text": self.raw_text,
            "chars": [c.to_json() for c in self.chars],
            "lexicon_match": None if match is None else match.to_json(),
            "lines": [{"box": ln.box.to_list(), "text": ln.text, "raw_text": ln.raw_text,
                       "lexicon_match": None if ln.lexicon_match is None else ln.lexicon_match.to_json()}
                      for ln in self.lines],
            "width": self.width,
            "height": self.height,
            "cleaned": self.cleaned,
            "clean_reason": self.clean_reason,
            "reason": self.reason,
        }


# --- lexicon ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Lexicon:
    """Entries to snap readings to, prepared once: each entry's letters (normalised
    like a transcription: upper case, accents dropped, separators ignored)."""

    entries: tuple[str, ...]
    letters: tuple[str, ...]

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> Lexicon:
        seen: dict[str, str] = {}
        for raw in entries:
            if raw is None:
                continue
            norm, _ = normalize_transcription(str(raw))
            if not norm:
                continue
            letters = letters_of(norm)
            if letters and letters not in seen:
                seen[letters] = norm
        return cls(tuple(seen.values()), tuple(seen.keys()))

    @classmethod
    def from_file(cls, path: Path | str) -> Lexicon:
        """One entry per line; blank lines and lines starting with # are ignored."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError as exc:
            raise InputError(f"{path}: cannot read the lexicon ({exc.strerror or exc})") from None
        lex = cls.from_entries(line.strip() for line in text.splitlines()
                               if line.strip() and not line.lstrip().startswith("#"))
        if not lex.entries:
            raise InputError(f"{path}: the lexicon has no entries")
        return lex

    def __len__(self) -> int:
        return len(self.entries)


def as_lexicon(lexicon: Lexicon | Iterable[str] | None) -> Lexicon | None:
    if lexicon is None or isinstance(lexicon, Lexicon):
        return lexicon
    if isinstance(lexicon, str):
        raise InputError("a lexicon is a list of entries, not one string")
    return Lexicon.from_entries(lexicon)


def resolve_lm(lm: NameLM | bool | None, labels: Sequence[str], mask: np.ndarray) -> NameLM | None:
    """The language model to read with: None when switched off. ``True``: the names
    model under a charset of capitals only (``letters``), the words model under one
    with small letters (``lower``, ``cased``, ``all``), none under ``digits`` and
    ``alnum``. A given words model serves charsets with small letters only; a given
    names model (the CLI and the Recognize page pass the shipped one plus the workspace's
    transcriptions) serves ``letters``, and under a charset with small letters the
    shipped words model reads instead (names are capitals: they say nothing of words)."""
    if lm is None or lm is False:
        return None
    allowed = [labels[i] for i in np.flatnonzero(mask)]
    capitals_only = all(label in LETTERS for label in allowed)
    has_lower = any(label.islower() for label in allowed)
    if lm is True:
        return shipped_lm() if capitals_only else shipped_words_lm() if has_lower else None
    if lm.is_words:
        return lm if has_lower else None
    return lm if capitals_only else shipped_words_lm() if has_lower else None


# --- reading ----------------------------------------------------------------------------


def _chars_of(lat: Lattice, path: LatticePath, labels: Sequence[str], mask: np.ndarray, line_no: int,
              top_k: int) -> list[ReadChar]:
    k = min(top_k, int(mask.sum()))
    out = []
    for s, c in zip(path.segments, path.classes):
        row = lat.probs[s]
        order = np.argsort(-row, kind="stable")[:k]
        top = tuple((labels[i], float(row[i])) for i in order)
        out.append(ReadChar(lat.seg_box[s], labels[c], float(row[c]), top, line_no))
    return out


def _line_text(chars: Sequence[ReadChar], dashes: Sequence[Box], scale: float) -> str:
    """The characters with a space at word-wide gaps and a hyphen where one is drawn."""
    if not chars:
        return ""
    gaps = [b.box.x0 - a.box.x1 for a, b in pairwise(chars)]
    positive = sorted(g for g in gaps if g > 0)
    typical = positive[len(positive) // 2] if positive else 0
    if len(chars) >= 3:
        space = max(DEFAULTS.read_space_gap * scale, 2.0 * typical)
    else:
        space = DEFAULTS.read_space_gap * scale * 1.5
    out = [chars[0].label]
    for a, b, g in zip(chars, chars[1:], gaps):
        if any(a.box.center_x < dash.center_x < b.box.center_x for dash in dashes):
            out.append("-")
        elif g >= space:
            out.append(" ")
        out.append(b.label)
    return "".join(out)


def read_cutting(rec: Classifier, cutting: Cutting, charset: str = "letters",
                 lexicon: Lexicon | Iterable[str] | None = None, *, top_k: int | None = None,
                 case_geometry: bool = True, lm: NameLM | bool | None = True) -> Reading:
    """Read every line of an already cut image. Each line's letters and digits, and the
    case of its same-shape letters, are settled from the line (:mod:`hwocr.context`;
    ``case_geometry=False`` leaves the case to the classifier).

    ``lm``: the language model weighed into every reading (:func:`lm_path`): True for
    the shipped one that suits the charset (:func:`resolve_lm`: names under
    ``letters``, words under ``lower``, ``cased`` and ``all``), a
    :class:`hwocr.namelm.NameLM` (e.g. with a workspace's transcriptions,
    :func:`hwocr.namelm.for_workspace`), False or None for none."""
    mask = rec.charset_mask(charset)
    labels = rec.labels
    lex = as_lexicon(lexicon)
    lm_model = resolve_lm(lm, labels, mask)
    find_path = free_path if lm_model is None else (lambda lat_, table_: lm_path(lat_, table_, labels, lm_model))
    top_k = DEFAULTS.recognize_top_k if top_k is None else max(1, int(top_k))
    words = any(labels[i].islower() for i in np.flatnonzero(mask))
    lattices = [build_lattice(cutting, line, words=words) for line in cutting.lines]
    classify_lattices(rec, cutting, lattices, charset)
    look_again(rec, lattices, labels, mask, charset)
    lines = []
    for line_no, lat in enumerate(lattices):
        path, scale, table = solve(lat, labels, mask, typical_width(lat.line), find_path)
        if path is None:
            continue
        chars = _chars_of(lat, path, labels, mask, line_no, top_k)
        rows = [lat.probs[s] for s in path.segments]
        chars = letter_digit_runs(chars, rows, labels, mask)
        if case_geometry:
            chars = case_from_geometry(chars, rows, labels, mask)
        raw = _line_text(chars, lat.line.dashes, scale)
        match = None
        if lex is not None:
            # Entries are weighed against the classifier's own reading (the model's
            # reading scores on another scale), so snapping is as without the model.
            free = path if lm_model is None else free_path(lat, table)
            match = _match_lexicon(lat, table, free, lex, labels, mask, line_no, top_k) if free else None
        text = match.entry if match is not None and match.snapped else raw
        lines.append(LineReading(lat.line.box, text, raw, tuple(chars), match))
    h, w = cutting.gray.shape[:2]
    return Reading(
        text="\n".join(ln.text for ln in lines),
        raw_text="\n".join(ln.raw_text for ln in lines),
        chars=tuple(c for ln in lines for c in ln.chars),
        lines=tuple(lines),
        width=int(w),
        height=int(h),
        cleaned=cutting.cleaned,
    )


def read_image(rec: Classifier, image, charset: str = "letters", lexicon: Lexicon | Iterable[str] | None = None,
               *, clean: bool | None = None, top_k: int | None = None, case_geometry: bool = True,
               lm: NameLM | bool | None = True) -> Reading:
    """Decode, cut and read one image (see the module notes for ``clean``: None decides
    from the image). An image with no handwriting gives an empty reading whose
    ``reason`` says why; one that cannot be decoded raises :class:`ImageError`. ``lm``:
    the names model (letters charset only; see :mod:`hwocr.namelm`)."""
    rec.charset_mask(charset)  # an unknown charset fails before any decoding
    lex = as_lexicon(lexicon)
    gray = load_gray(image)
    with single_threaded_opencv():
        ink, cleaned, clean_reason, problem = ink_to_read(gray, clean)
        if problem is None:
            cutting = cut_ink(gray, ink, cleaned=cleaned, single_line=cleaned)
            if cutting.lines:
                reading = read_cutting(rec, cutting, charset, lex, top_k=top_k, case_geometry=case_geometry,
                                       lm=lm)
                problem = None if clean is False else printed_label_read(letters_of(reading.raw_text), ink)
                if problem is None:
                    return replace(reading, clean_reason=clean_reason)
            else:
                problem = NO_HANDWRITING
    h, w = gray.shape[:2]
    return Reading("", "", (), (), int(w), int(h), cleaned, clean_reason, problem)


def ink_to_read(gray: np.ndarray, clean: bool | None) -> tuple[np.ndarray, bool, str, str | None]:
    """``(ink, cleaned, why cleaned or not, why there is nothing to read or None)`` for a
    gray image: cleaned as a form's name when ``clean`` says so, or, with ``clean=None``,
    when :func:`hwocr.formdetect.detect_form` finds it is one."""
    if clean is None:
        verdict = detect_form(gray)
        label = "label" in verdict.evidence
        problem = no_handwriting(verdict.ink, cleaned=verdict.is_form, label=label)
        if problem is None and not verdict.is_form and verdict.cleaned is not None \
                and cv2.countNonZero(verdict.cleaned.ink):
            # A strip that is no form may still be one cut through the letters: its
            # cleaned ink (edge fragments of other rows gone) tells.
            problem = no_handwriting(verdict.cleaned.ink, cleaned=True)
        return verdict.ink, verdict.is_form, verdict.reason, problem
    if clean:
        cleaned = clean_form(gray)
        label = any(r.kind == "label" for r in cleaned.removed)
        return (cleaned.ink, True, "cleaned as a name cut from a form, as asked",
                no_handwriting(cleaned.ink, cleaned=True, label=label))
    ink = drawing_ink(gray)
    return ink, False, "read as it is, as asked", no_handwriting(ink, cleaned=False)


@contextmanager
def single_threaded_opencv() -> Iterator[None]:
    """OpenCV on one thread for the duration: reading makes a few hundred calls on
    images of a few thousand pixels, where OpenCV's thread pool costs more than it
    saves (a 10-letter drawing reads in about 2/3 of the time on two busy cores). The
    setting is process-wide; another thread working meanwhile only runs a little slower."""
    before = cv2.getNumThreads()
    if before == 1:
        yield
        return
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


# --- lexicon matching -------------------------------------------------------------------


def _shortlist(read_logp: np.ndarray, lex: Lexicon, labels: Sequence[str], mask: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` entries closest to a reading by a weighted edit distance:
    substituting reading character i by letter c costs how much less likely the
    classifier found c than its best guess; inserting or dropping a letter costs
    ``read_lexicon_indel``. All entries at once, one numpy row per entry."""
    index = {label: i for i, label in enumerate(labels)}
    usable = [e for e, letters in enumerate(lex.letters) if all(ch in index and mask[index[ch]] for ch in letters)]
    if not usable:
        return []
    m = read_logp.shape[0]
    n_max = max(len(lex.letters[e]) for e in usable)
    E = len(usable)
    ids = np.zeros((E, n_max), np.int64)
    lengths = np.zeros(E, np.int64)
    for r, e in enumerate(usable):
        letters = lex.letters[e]
        ids[r, : len(letters)] = [index[ch] for ch in letters]
        lengths[r] = len(letters)
    indel = DEFAULTS.read_lexicon_indel
    sub = read_logp.max(axis=1, keepdims=True) - read_logp  # (m, classes), >= 0
    prev = np.arange(n_max + 1, dtype=float)[None, :].repeat(E, axis=0) * indel
    for i in range(m):
        cur = np.empty_like(prev)
        cur[:, 0] = (i + 1) * indel
        cost_i = np.minimum(sub[i][ids], 30.0)  # (E, n_max)
        for j in range(1, n_max + 1):
            cur[:, j] = np.minimum(np.minimum(prev[:, j] + indel, cur[:, j - 1] + indel),
                                   prev[:, j - 1] + cost_i[:, j - 1])
        prev = cur
    final = prev[np.arange(E), lengths]
    order = np.argsort(final, kind="stable")[:k]
    return [usable[r] for r in order]


def _match_lexicon(lat: Lattice, table: np.ndarray, free: LatticePath, lex: Lexicon, labels: Sequence[str],
                   mask: np.ndarray, line_no: int, top_k: int) -> LexiconMatch | None:
    d = DEFAULTS
    if not free.segments:
        return None
    read_logp = np.log(np.maximum(lat.probs[list(free.segments)], 1e-9))
    read_logp[:, ~mask] = -30.0
    shortlist = _shortlist(read_logp, lex, labels, mask, d.read_lexicon_shortlist)
    if not shortlist:
        return None
    index = {label: i for i, label in enumerate(labels)}
    scored = []
    for e in shortlist:
        ids = [index[ch] for ch in lex.letters[e]]
        p = forced_path(lat, table, ids, want_path=False)
        if p is not None:
            scored.append((free.score - p.score, e, ids))
    if not scored:
        return None
    scored.sort(key=lambda t: t[0])
    cost, e, ids = scored[0]
    path = forced_path(lat, table, ids)
    chars = tuple(_chars_of(lat, path, labels, mask, line_no, top_k)) if path is not None else ()
    n = len(ids)
    snapped = cost <= d.read_snap_cost + d.read_snap_cost_per_letter * n
    runner = scored[1] if len(scored) > 1 else None
    return LexiconMatch(
        entry=lex.entries[e], cost=float(max(cost, 0.0)), snapped=bool(snapped), chars=chars,
        runner_up=lex.entries[runner[1]] if runner else None,
        runner_up_cost=float(max(runner[0], 0.0)) if runner else None,
    )
