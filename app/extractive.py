"""The `extractive` provider: a draft made only of sentences the cabinet already wrote.

No model: the precedent answers are split into sentences, each sentence is scored by how many
(IDF-weighted, Dutch-stemmed) question terms it shares, and the best ones are kept in their
original order with a citation `[n]` after each. It cannot invent a figure, which makes it the
baseline the evals compare a model against and a useful mode when no model is available.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from app.lexical import STOPWORDS
from app.records import Precedent

MIN_WORDS = 50
TARGET_WORDS = 110
"""Stop adding sentences once this many words are drafted (answers stay short and on point)."""
MAX_WORDS = 250
MIN_SENTENCE_WORDS = 4
"""Shorter sentences ("Ja.", "Nee.") answered the *precedent's* question, not necessarily ours."""
RANK_DECAY = 0.15

_WORD = re.compile(r"[0-9A-Za-zÀ-ÖØ-öø-ÿ]+(?:[-'][0-9A-Za-zÀ-ÖØ-öø-ÿ]+)*")
_ABBREV = re.compile(
    r"\b(?:bijv|bv|o\.a|nr|nrs|art|d\.w\.z|e\.d|m\.b\.t|t\.b\.v|incl|ca|mln|mld|jl|blz|zgn|"
    r"resp|vs|dr|mr|prof|ir|ing|drs|mw|dhr|i\.e|e\.g|m\.n|o\.m|z\.s\.m|t\.a\.v|i\.v\.m)\.",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'«‘“(\[]?[A-Z0-9À-Ö])")
_PLACEHOLDER = "\u2024"  # one-dot leader: keeps abbreviations' dots out of the splitter


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # the Snowball Dutch stemmer, as the BM25 index (app.lexical) uses

    return Stemmer.Stemmer("dutch")


def terms(text: str) -> list[str]:
    """Lower-cased, Dutch-stemmed content words (stopwords dropped)."""
    words = [w.lower() for w in _WORD.findall(text)]
    kept = [w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    return list(_stemmer().stemWords(kept))


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer; abbreviations such as "o.a." and "nr." do not end a sentence."""
    text = " ".join(text.split())
    if not text:
        return []
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", _PLACEHOLDER), text)
    parts = _SENTENCE_END.split(protected)
    return [p.replace(_PLACEHOLDER, ".").strip() for p in parts if p.strip()]


@dataclass(frozen=True)
class _Sentence:
    nr: int
    """1-based number of the precedent it comes from (the citation)."""
    index: int
    text: str
    words: int
    score: float


def _candidates(question: str, precedents: Sequence[Precedent]) -> list[_Sentence]:
    split = [
        (nr, i, s)
        for nr, p in enumerate(precedents, 1)
        for i, s in enumerate(split_sentences(p.answer))
    ]
    bags = [set(terms(s)) for _, _, s in split]
    n = max(len(bags), 1)
    df: dict[str, int] = {}
    for bag in bags:
        for t in bag:
            df[t] = df.get(t, 0) + 1
    q = set(terms(question))
    out = []
    for (nr, i, s), bag in zip(split, bags, strict=True):
        words = len(s.split())
        overlap = sum(math.log(1 + n / df[t]) for t in q & bag)
        score = overlap / (1 + math.log(1 + words)) / (1 + RANK_DECAY * (nr - 1))
        out.append(_Sentence(nr, i, s, words, score))
    return out


def _similar(a: str, b: str) -> bool:
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) > 0.8


def compose(question: str, precedents: Sequence[Precedent]) -> str:
    """The extractive draft: best precedent sentences, in precedent order, each cited `[n]`.

    `precedents` are numbered 1..n in the order given (the same numbering a prompt would use).
    Returns "" when the precedents hold no usable sentence.
    """
    cands = _candidates(question, precedents)
    usable = [c for c in cands if c.words >= MIN_SENTENCE_WORDS]
    chosen: list[_Sentence] = []
    total = 0

    def take(c: _Sentence) -> bool:
        nonlocal total
        if c in chosen or total + c.words > MAX_WORDS:
            return False
        if any(_similar(c.text, d.text) for d in chosen):
            return False
        chosen.append(c)
        total += c.words
        return True

    for c in sorted(usable, key=lambda c: (-c.score, c.nr, c.index)):
        if c.score <= 0 or total >= TARGET_WORDS:
            break
        take(c)
    if total < MIN_WORDS:
        # Too little matched: fill with the context around what was chosen, best precedent
        # first, so the draft reads as a passage rather than scattered sentences.
        anchor = chosen[0].nr if chosen else 1
        for c in sorted(usable, key=lambda c: (c.nr != anchor, c.nr, c.index)):
            if total >= MIN_WORDS:
                break
            take(c)
    chosen.sort(key=lambda c: (c.nr, c.index))
    return " ".join(f"{c.text} [{c.nr}]" for c in chosen)
