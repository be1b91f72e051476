"""A character n-gram model of names: how likely each next letter is after the last few.

The reader (:mod:`hwocr.read`) adds ``read_lm_weight`` times the model's log
probability of each letter to the classifier's, so that where the classifier hesitates
between two letters the one that makes a more name-like name wins (CHRISTINE over
CHRISTIUE). It is a prior, not a rule: a letter the classifier reads at
``read_lm_sure`` or more is never changed (see :func:`hwocr.lattice.lm_path`).

The model is interpolated Witten-Bell over the 26 letters and an end-of-name symbol,
with a begin-of-name symbol in the contexts, of order ``ORDER`` (the next letter given
up to ``ORDER - 1`` before it). Names are taken as the reader sees them: upper case,
accents dropped, separators left out (:func:`hwocr.text.letters_of`: the reader cuts
JEAN-PIERRE into ten letters; the hyphen is drawn, not classified).

The shipped counts (``models/names_lm.json.gz``) come from the first names and surnames
of the MIT-licensed Faker package (``bench/build_name_lm.py`` rebuilds them; the
attribution is in ``models/NAMES_LM.md``). A workspace's own transcriptions are added at
read time (:func:`for_workspace`), each name counted ``read_lm_workspace_weight`` times.

The same class holds the **words model** (``models/words_lm.json.gz``,
:func:`shipped_words`, ``bench/build_words_lm.py``, ``models/WORDS_LM.md``): English
and French words, its symbols :data:`WORD_SYMBOLS` (a small letter counts as its
capital, every digit as :data:`DIGIT`), weighed in with ``read_words_lm_weight`` under
the charsets with small letters (:func:`hwocr.read.resolve_lm`).
"""

from __future__ import annotations

import gzip
import json
import math
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from hwocr.config import DEFAULTS, REPO_ROOT
from hwocr.errors import InputError
from hwocr.text import letters_of, normalize_transcription

ORDER = 5
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BEGIN = "^"
END = "$"
#: What the names model predicts: the letters, then the end of the name.
SYMBOLS = LETTERS + END
SYMBOL_INDEX = {ch: i for i, ch in enumerate(SYMBOLS)}
#: The words model's one symbol for every digit: it predicts that *a* digit comes next
#: (a run of digits, a letter after a number), not which one; the classifier says which.
DIGIT = "0"
#: What the words model predicts: letters of either case (folded), a digit, the end.
WORD_SYMBOLS = LETTERS + DIGIT + END
SHIPPED_PATH = REPO_ROOT / "models" / "names_lm.json.gz"
WORDS_PATH = REPO_ROOT / "models" / "words_lm.json.gz"
FORMAT = "hwocr-names-lm"

Counts = Mapping[str, Mapping[str, float]]


@dataclass(frozen=True, eq=False)
class NameLM:
    """Counts of each next symbol after each context (0 to ``order - 1`` symbols, the
    first of which may be :data:`BEGIN`), and where they came from."""

    order: int
    counts: Counts
    names: int
    """How many names (weighted) the counts hold."""
    source: str
    symbols: str = SYMBOLS
    """What it predicts, :data:`END` last: :data:`SYMBOLS` for names (capitals only),
    :data:`WORD_SYMBOLS` for words (a small letter counts as its capital, every digit
    as :data:`DIGIT`)."""
    _cache: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def is_words(self) -> bool:
        """A words model (small letters and digits folded in), not a names one."""
        return self.symbols == WORD_SYMBOLS

    def symbol_of(self, label: str) -> int:
        """Index in :attr:`symbols` of a classifier label, or -1 when the model has no
        symbol for it (a small letter or a digit for a names model)."""
        if self.is_words:
            label = DIGIT if label.isdigit() else label.upper()
        i = self.symbols.find(label)
        return -1 if label == END or i < 0 else i

    def log_next(self, history: str) -> tuple[float, ...]:
        """Natural log of P(symbol | history) for every symbol of :attr:`symbols`;
        ``history`` is the name's letters so far (a leading :data:`BEGIN` is implied)."""
        context = (BEGIN + history)[-(self.order - 1):] if self.order > 1 else ""
        cached = self._cache.get(context)
        if cached is None:
            cached = tuple(math.log(p) for p in self._probabilities(context))
            with self._lock:
                if len(self._cache) > 200_000:  # a long-running app reads many names
                    self._cache.clear()
                self._cache[context] = cached
        return cached

    def _probabilities(self, context: str) -> list[float]:
        """Interpolated Witten-Bell: from the empty context (over a uniform floor) up to
        the longest, P(c | h) = (C(h c) + T(h) P(c | h')) / (C(h) + T(h)), with T(h) the
        number of distinct symbols seen after h and h' the context one shorter."""
        symbols = self.symbols
        probs = [1.0 / len(symbols)] * len(symbols)
        for k in range(len(context) + 1):
            following = self.counts.get(context[len(context) - k:])
            if not following:
                break  # a longer context holding this one is unseen too
            total = float(sum(following.values()))
            types = float(len(following))
            denom = total + types
            probs = [(following.get(ch, 0.0) + types * p) / denom for ch, p in zip(symbols, probs)]
        return probs

    def log_prob(self, name: str) -> float:
        """Natural log of the probability of a whole name (its letters, then the end)."""
        letters = (word_symbols if self.is_words else name_letters)(name)
        if letters is None:
            return -math.inf
        total = 0.0
        for i, ch in enumerate(letters + END):
            total += self.log_next(letters[:i])[self.symbols.index(ch)]
        return total

    def with_names(self, names: Iterable[str], weight: float = 1.0, source: str = "") -> NameLM:
        """A new model: these counts plus ``names`` counted ``weight`` times each."""
        added = count_ngrams(names, self.order, weight, words=self.is_words)
        if not added:
            return self
        merged = dict(self.counts)
        for ctx, following in added.items():
            both = dict(merged.get(ctx, {}))
            for ch, n in following.items():
                both[ch] = both.get(ch, 0.0) + n
            merged[ctx] = both
        n_added = sum(added.get(BEGIN, {}).values())
        return NameLM(self.order, merged, self.names + round(n_added),
                      f"{self.source} + {source}" if source else self.source, self.symbols)

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": 1, "order": self.order, "names": self.names,
                "source": self.source, "symbols": self.symbols,
                # Compact: each context's counts as "A3 B12 $1" (integers where they are).
                "counts": {ctx: " ".join(f"{ch}{_num(n)}" for ch, n in sorted(f.items()))
                           for ctx, f in sorted(self.counts.items())}}


def _num(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else f"{n:.3g}"


def name_letters(name: str) -> str | None:
    """A name as the reader sees it (upper case A-Z, no separators), or None when it
    holds no letter or anything but letters and separators."""
    norm, _ = normalize_transcription(name)
    if not norm:
        return None
    letters = letters_of(norm)
    if not letters or any(ch not in SYMBOL_INDEX or ch == END for ch in letters):
        return None
    return letters


def word_symbols(word: str) -> str | None:
    """A word as the words model sees it: upper case, accents dropped, every digit
    :data:`DIGIT`; None when it holds anything but letters and digits (or nothing)."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch)).upper()
    out = "".join(DIGIT if ch.isdigit() else ch for ch in folded)
    if not out or any(ch not in WORD_SYMBOLS or ch == END for ch in out):
        return None
    return out


def count_ngrams(names: Iterable[str], order: int = ORDER, weight: float = 1.0, *,
                 words: bool = False) -> dict[str, dict[str, float]]:
    """For every context of 0 to ``order - 1`` symbols, how often each symbol follows it
    (``words``: as a words model sees them, :func:`word_symbols`; else as names)."""
    counts: dict[str, dict[str, float]] = {}
    normalise = word_symbols if words else name_letters
    for raw in names:
        letters = normalise(raw) if raw is not None else None
        if letters is None:
            continue
        text = BEGIN + letters + END
        for i in range(1, len(text)):
            ch = text[i]
            for k in range(0, min(order - 1, i) + 1):
                following = counts.setdefault(text[i - k:i], {})
                following[ch] = following.get(ch, 0.0) + weight
    return counts


def train(names: Iterable[str], order: int = ORDER, source: str = "", *, words: bool = False,
          weights: Iterable[float] | None = None) -> NameLM:
    """A model of ``names`` (``words``: a words model, :data:`WORD_SYMBOLS`), each
    counted once or its weight in ``weights``."""
    if weights is None:
        counts = count_ngrams(names, order, words=words)
    else:
        counts = {}
        for name, w in zip(names, weights):
            for ctx, following in count_ngrams([name], order, w, words=words).items():
                into = counts.setdefault(ctx, {})
                for ch, n in following.items():
                    into[ch] = into.get(ch, 0.0) + n
    return NameLM(order, counts, round(sum(counts.get(BEGIN, {}).values())), source,
                  WORD_SYMBOLS if words else SYMBOLS)


def from_json(doc: Mapping) -> NameLM:
    if doc.get("format") != FORMAT or doc.get("symbols") not in (SYMBOLS, WORD_SYMBOLS):
        raise InputError("not an hwocr names language model")
    counts: dict[str, dict[str, float]] = {}
    for ctx, packed in doc["counts"].items():
        counts[ctx] = {item[0]: float(item[1:]) for item in packed.split()}
    return NameLM(int(doc["order"]), counts, int(doc.get("names", 0)), str(doc.get("source", "")),
                  str(doc["symbols"]))


def save(lm: NameLM, path: Path | str) -> None:
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    # mtime=0: the same counts give the same bytes (a rebuild that changes nothing
    # changes no file).
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as fh:
        fh.write(json.dumps(lm.to_json(), separators=(",", ":")).encode("utf-8"))
    tmp.replace(path)


def load(path: Path | str) -> NameLM:
    path = Path(path)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return from_json(json.load(fh))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: cannot read the names language model ({exc})") from None


@lru_cache(maxsize=1)
def shipped() -> NameLM:
    """The model shipped in ``models/`` (loaded once)."""
    return load(SHIPPED_PATH)


@lru_cache(maxsize=1)
def shipped_words() -> NameLM:
    """The words model shipped in ``models/`` (loaded once; see ``models/WORDS_LM.md``)."""
    return load(WORDS_PATH)


def workspace_transcriptions(workspace) -> list[str]:
    """The transcriptions a workspace holds (its ``names`` table), as typed."""
    from hwocr.store.queries import all_transcriptions  # lazy: reading a drawing needs no workspace

    return all_transcriptions(workspace)


_WORKSPACE_LMS: dict[str, tuple[int, NameLM]] = {}
_WORKSPACE_LOCK = threading.Lock()


def for_workspace(workspace, base: NameLM | None = None) -> NameLM:
    """The shipped model plus the workspace's transcriptions, rebuilt only when the
    number of transcriptions changes."""
    base = shipped() if base is None else base
    from hwocr.store.queries import transcription_count  # lazy: reading a drawing needs no workspace

    count = transcription_count(workspace)
    key = f"{workspace.root}:{id(base)}"
    with _WORKSPACE_LOCK:
        hit = _WORKSPACE_LMS.get(key)
        if hit is not None and hit[0] == count:
            return hit[1]
    lm = base.with_names(workspace_transcriptions(workspace), DEFAULTS.read_lm_workspace_weight,
                         source=f"{count} workspace transcriptions") if count else base
    with _WORKSPACE_LOCK:
        _WORKSPACE_LMS[key] = (count, lm)
    return lm
