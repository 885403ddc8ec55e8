"""The `extractive` provider: a draft made only of sentences the cabinet already wrote.

No model: the draft is the focused evidence itself (`app.evidence`: the answer sentences that
answer each question part, scored with the embedding model and BM25), each source's sentences
together in their own order, best and most recent source first, a citation `[n]` after each
(`app.compose.assemble`). It cannot invent a figure, which makes it the baseline the evals
compare a model against and a useful mode when no model is available. This module also holds
the sentence splitter and the Dutch term extraction the other stages share.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from app.lexical import STOPWORDS
from app.records import Precedent

MIN_WORDS = 50
MAX_WORDS = 250

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


def compose(question: str, precedents: Sequence[Precedent]) -> str:
    """The extractive draft of `question`: the focused evidence (`app.evidence`, lexical
    scoring here; `app.draft` adds the embedding model), each source's sentences together and
    best source first, every sentence cited `[n]` with `precedents` numbered 1..n in the order
    given. Returns "" when the precedents hold no usable sentence."""
    from app.compose import tidy
    from app.evidence import select
    from app.parts import split_parts

    ev = select(split_parts(question), precedents, None)
    nr = {p.id: i for i, p in enumerate(precedents, 1)}
    text = " ".join(f"{s.text} [{nr[g.precedent.id]}]" for g in ev.groups for s in g.sentences)
    return tidy(text, question, MAX_WORDS)
