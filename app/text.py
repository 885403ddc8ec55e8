"""Text primitives every stage shares: Dutch terms, sentence splitting, citation markers,
word counts, clipping. Pure functions on strings; nothing here knows about precedents.

Two splitters, for two kinds of text: `split_sentences` for a letter's prose (abbreviations
such as "o.a." and "nr." do not end a sentence) and `sentences` for a draft, whose sentences
keep the citations right after them ("… gedaan. [1]").
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from app.index.lexical import STOPWORDS

HOUSE_MIN_WORDS, HOUSE_MAX_WORDS = 50, 250
"""House style of one answer (the length warning and every composer's cut)."""

CITATION = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
"""A citation marker: "[1]", "[1, 3]" or "[2; 4]"."""

_WORD = re.compile(r"[0-9A-Za-zÀ-ÖØ-öø-ÿ]+(?:[-'][0-9A-Za-zÀ-ÖØ-öø-ÿ]+)*")
_ABBREV = re.compile(
    r"\b(?:bijv|bv|o\.a|nr|nrs|art|d\.w\.z|e\.d|m\.b\.t|t\.b\.v|incl|ca|mln|mld|jl|blz|zgn|"
    r"resp|vs|dr|mr|prof|ir|ing|drs|mw|dhr|i\.e|e\.g|m\.n|o\.m|z\.s\.m|t\.a\.v|i\.v\.m)\.",
    re.IGNORECASE,
)
_PROSE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'«‘“(\[]?[A-Z0-9À-Ö])")
_PLACEHOLDER = "\u2024"  # one-dot leader: keeps abbreviations' dots out of the splitter
_DRAFT_END = re.compile(r"[.!?](?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*(?=\s|$)")
"""A draft's sentence ends at . ! or ? plus any citations right after it ("… gedaan. [1]")."""


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # the Snowball Dutch stemmer, as the BM25 index (app.index.lexical) uses

    return Stemmer.Stemmer("dutch")


def terms(text: str) -> list[str]:
    """Lower-cased, Dutch-stemmed content words (stopwords dropped)."""
    words = [w.lower() for w in _WORD.findall(text)]
    kept = [w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    return list(_stemmer().stemWords(kept))


def split_sentences(text: str) -> list[str]:
    """Sentences of a letter's prose; abbreviations such as "o.a." and "nr." do not end one."""
    text = " ".join(text.split())
    if not text:
        return []
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", _PLACEHOLDER), text)
    parts = _PROSE_END.split(protected)
    return [p.replace(_PLACEHOLDER, ".").strip() for p in parts if p.strip()]


def sentences(text: str) -> list[str]:
    """Sentences of a draft with their trailing citations (a rough split: enough for review)."""
    out, start = [], 0
    for m in _DRAFT_END.finditer(text):
        out.append(text[start : m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def citation_numbers(text: str) -> list[int]:
    """The numbers of every citation marker in `text`, in order ("[1, 3] … [2]" → 1, 3, 2)."""
    return [int(n) for grp in CITATION.findall(text) for n in re.findall(r"\d+", grp)]


def strip_citations(text: str) -> str:
    """`text` without its citation markers (and the space before each)."""
    return re.sub(r"\s*" + CITATION.pattern, "", text)


def word_count(text: str) -> int:
    """Words of a draft, its citation markers not counted."""
    return len(CITATION.sub(" ", text).split())


def clip(text: str, n: int) -> str:
    """`text` on one line, cut to `n` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
