"""Focused evidence: the sentences of the precedents' ANSWERS that answer each question part.

Whole precedents are long (a source-letter answer is 150-400 words, five of them fill a 4k
window and take the bundled model ~100 s to read); the sentence that answers a part is usually
one or two of them. Every answer sentence of every retrieved precedent is scored against every
part with two signals, each scaled to 0..1 over the candidates:

* dense: cosine of the part's e5 query vector and the sentence's passage vector (paraphrases);
* lexical: BM25 over the candidate sentences (exact names, figures, "gigafabriek").

plus a small prior for the precedent's retrieval rank (the scoring primitives are in
`app.drafting.scoring`). Per part the best sentences are kept (those within `KEEP_RATIO` of
the best, at most `PER_PART`), and a sentence that leans on the one before it ("Vooralsnog
zijn hiervoor geen middelen …") brings that one along. Sentences of
a precedent's *question* are never candidates, nor are answer sentences that read like one
(the parser once glued a question into an answer: "De leden van de D66-fractie zien …").

The result is grouped per precedent, numbered [1]..[n] (best first), so a citation still names
a precedent and `app.drafting.draft`'s checks work unchanged. What was not selected is reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from app.drafting.parts import Part
from app.drafting.scoring import Embeds, bm25, expand, scale, sentence_vectors, window
from app.records import Precedent
from app.retrieve import rrf
from app.text import split_sentences, terms

W_DENSE, W_WINDOW, W_LEXICAL, W_PRIOR = 0.5, 0.0, 0.4, 0.5
"""Weights of the combined score, chosen on the source letter's extractive eval (42 in-scope
paraphrases, 25 leave-one-out items; the numbers are in docs/measurements.md). A window
cosine (the sentence with the one before it) lowered the key-fact rate, so it is off (0.0);
a stronger retrieval-rank prior (0.5 instead of 0.3) raised leave-one-out fact recall and
kept the paraphrase score: the whole question's retrieval knows which answer is about it."""
KEEP_RATIO = 0.7
"""Keep a sentence for a part when its score is at least this share of the part's best."""
PER_PART = 4
MAX_WORDS = 190
"""Evidence budget in words over all parts (~400 tokens of Qwen's tokenizer on Dutch)."""
MIN_WORDS = 4
MIN_FILL = 50
"""House style wants 50+ words: a shorter selection gets its best sentence's neighbours."""
GAP_DENSE = 0.83
GAP_SHARED = 0
"""A part is unanswered (a gap) when its best sentence's cosine is below GAP_DENSE and it shares
at most GAP_SHARED content words (generic ones aside) with the part. Measured on the source
letter's paraphrase set (k=5): with 0.85 / 1 word, 8 of 11 out-of-scope parts were caught but
key facts in the evidence fell from 80% to 75% (in-scope second parts became gaps); 0.83 / 0
keeps 80% and still catches parts such as "Wat doet de minister aan quantumbits op de maan?".
Whole out-of-scope questions are the retriever's abstention rule's job (`has_precedent`)."""

_LEANS_BACK = re.compile(
    r"^(?:hiervoor|hierbij|hiermee|hierin|hierover|hiervan|hierop|daarvoor|daarbij|daarmee|"
    r"daarin|daarover|daarnaast|daarom|dit|deze|die|dat|zij|ze|hij|ook|tevens|bovendien|"
    r"vooralsnog|wel|echter|zo|het (?:is|zijn|gaat|betreft))\b"
    r"|^(?:\S+\s+){0,4}(?:hiervoor|hiermee|hierbij|daarvoor)\b",
    re.IGNORECASE,
)
_QUESTION_LIKE = re.compile(
    r"^(?:de leden van de|deze leden|zij (?:vragen|lezen|willen)|het lid)\b|\?\s*$",
    re.IGNORECASE,
)
_GENERIC = frozenset(
    terms(
        "kabinet minister nederland nederlands europese gaan worden wel doet doen gaat heeft "
        "hebben wordt kan kunnen zal zullen komt maakt staat"
    )
)


MAX_EXTRA_PRECEDENTS = 3
"""Precedents that only a part's own search finds, added after the whole question's k."""


class Searches(Protocol):
    """`app.retrieve.Retriever.search`, as drafting calls it."""

    def search(
        self,
        question: str,
        k: int,
        exclude_ids: Sequence[str] = (),
        exclude_letters: Sequence[str] = (),
    ) -> list[Precedent]: ...


@dataclass(frozen=True)
class EvidenceSentence:
    precedent_id: str
    index: int
    """Position of the sentence in the precedent's answer (0-based)."""
    text: str
    score: float
    parts: tuple[int, ...] = ()
    """Indexes of the parts it was selected for (empty: kept as a needed neighbour)."""


@dataclass(frozen=True)
class EvidenceGroup:
    """The selected sentences of one precedent, in the answer's own order."""

    precedent: Precedent
    sentences: tuple[EvidenceSentence, ...]

    @property
    def score(self) -> float:
        return max(s.score for s in self.sentences)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


@dataclass(frozen=True)
class Evidence:
    parts: tuple[Part, ...]
    groups: tuple[EvidenceGroup, ...]
    """Numbered [1]..[n] in this order: best precedent first."""
    per_part: tuple[tuple[EvidenceSentence, ...], ...]
    """Per part, its selected sentences best first (empty: nothing answers the part)."""
    omitted: tuple[str, ...] = ()
    """Per precedent, what was left out ("id: 7 van 9 zinnen niet gebruikt")."""
    best: tuple[float, ...] = field(default=())
    """Per part, (best cosine, best shared content words) folded into one number (for gaps)."""

    @property
    def precedents(self) -> list[Precedent]:
        return [g.precedent for g in self.groups]

    def number_of(self, precedent_id: str) -> int:
        for i, g in enumerate(self.groups, 1):
            if g.precedent.id == precedent_id:
                return i
        raise KeyError(precedent_id)

    def gaps(self) -> list[int]:
        return [i for i, sel in enumerate(self.per_part) if not sel]


def answer_sentences(p: Precedent) -> list[str]:
    """The answer's sentences that can serve as evidence (no question-like ones)."""
    return [s for s in split_sentences(p.answer) if not _QUESTION_LIKE.search(s)]


def select(
    parts: Sequence[Part],
    precedents: Sequence[Precedent],
    embeddings: Embeds | None,
    max_words: int = MAX_WORDS,
) -> Evidence:
    """Select the evidence for `parts` from `precedents` (in retrieval order, best first).

    `embeddings` None: lexical scoring only (tests, or a store without a model at hand)."""
    cands: list[tuple[int, int, str]] = []  # (precedent index, sentence index, text)
    for pi, p in enumerate(precedents):
        for si, s in enumerate(split_sentences(p.answer)):
            if not _QUESTION_LIKE.search(s) and len(s.split()) >= MIN_WORDS:
                cands.append((pi, si, s))
    if not cands or not parts:
        return Evidence(tuple(parts), (), tuple(() for _ in parts), _omitted(precedents, set()))
    split = [split_sentences(p.answer) for p in precedents]
    docs = [expand(terms(t)) for _, _, t in cands]
    prior = np.array([1.0 / (1 + 0.5 * pi) for pi, _, _ in cands])
    vecs = wins = None
    if embeddings is not None:
        vecs = sentence_vectors(embeddings, [t for _, _, t in cands])
        if W_WINDOW:
            windows = [window(split[pi], si) for pi, si, _ in cands]
            wins = sentence_vectors(embeddings, windows)
    chosen: dict[tuple[int, int], EvidenceSentence] = {}
    per_part: list[tuple[EvidenceSentence, ...]] = []
    budget = max(60, max_words // max(1, len(parts)))
    bests: list[float] = []
    for k, part in enumerate(parts):
        q_terms = expand(terms(part.text))
        lex = bm25(q_terms + terms(part.context)[:8], docs)
        shared = np.array([len((set(q_terms) - _GENERIC) & set(d)) for d in docs])
        if vecs is not None and embeddings is not None:
            qv = embeddings.query_vector(part.text)
            cos = vecs @ qv
            score = W_DENSE * scale(cos) + W_LEXICAL * scale(lex) + W_PRIOR * prior
            if wins is not None:
                score = score + W_WINDOW * scale(wins @ qv)
            best_cos = float(cos.max())
        else:
            score = (W_DENSE + W_LEXICAL) * scale(lex) + W_PRIOR * prior
            best_cos = 1.0 if lex.max() > 0 else 0.0
        bests.append(best_cos)
        if best_cos < GAP_DENSE and shared.max() <= GAP_SHARED:
            per_part.append(())
            continue
        order = np.argsort(-score, kind="stable")
        top = float(score[order[0]])
        picked: list[EvidenceSentence] = []
        words = 0
        for j in order[:PER_PART]:
            if picked and score[j] < KEEP_RATIO * top:
                break
            pi, si, text = cands[j]
            n = len(text.split())
            if picked and words + n > budget:
                continue
            es = EvidenceSentence(precedents[pi].id, si, text, float(score[j]), (k,))
            picked.append(es)
            words += n
            key = (pi, si)
            old = chosen.get(key)
            chosen[key] = (
                es
                if old is None
                else EvidenceSentence(
                    old.precedent_id, si, text, max(old.score, es.score), (*old.parts, k)
                )
            )
            if _LEANS_BACK.search(text) and si > 0:  # keep the sentence it leans on
                prev = split[pi][si - 1]
                if not _QUESTION_LIKE.search(prev) and (pi, si - 1) not in chosen:
                    chosen[(pi, si - 1)] = EvidenceSentence(
                        precedents[pi].id, si - 1, prev, float(score[j]) * 0.9
                    )
        per_part.append(tuple(picked))
    _fill(chosen, split, precedents)
    _close_passages(chosen, split, precedents, max_words)
    groups = []
    for pi, p in enumerate(precedents):
        sel = sorted((es for (i, _), es in chosen.items() if i == pi), key=lambda e: e.index)
        if sel:
            groups.append(EvidenceGroup(p, tuple(sel)))
    groups.sort(key=lambda g: (-g.score, _date_key(g.precedent)))
    used = {(g.precedent.id, s.index) for g in groups for s in g.sentences}
    return Evidence(
        tuple(parts), tuple(groups), tuple(per_part), _omitted(precedents, used), tuple(bests)
    )


def _fill(
    chosen: dict[tuple[int, int], EvidenceSentence],
    split: list[list[str]],
    precedents: Sequence[Precedent],
) -> None:
    """Below `MIN_FILL` words, add the neighbours of the best sentence (the sentence after it
    first) so that the answer reads as the cabinet's passage, not a fragment."""
    if not chosen:
        return
    (pi, si), top = max(chosen.items(), key=lambda kv: kv[1].score)
    words = sum(len(e.text.split()) for e in chosen.values())
    for j in (si + 1, si - 1, si + 2, si - 2):
        if words >= MIN_FILL:
            break
        if 0 <= j < len(split[pi]) and (pi, j) not in chosen:
            text = split[pi][j]
            if _QUESTION_LIKE.search(text):
                continue
            chosen[(pi, j)] = EvidenceSentence(precedents[pi].id, j, text, top.score * 0.5)
            words += len(text.split())


def _close_passages(
    chosen: dict[tuple[int, int], EvidenceSentence],
    split: list[list[str]],
    precedents: Sequence[Precedent],
    max_words: int,
) -> None:
    """Read a selection as the cabinet's passage, within `max_words`: a sentence between two
    chosen ones of the same answer comes along ("… stimuleren. Deelname is vrijwillig. Van
    dwang is geen sprake."), and so does the sentence right after a chosen one when it leans
    back on it ("… niet het enige initiatief. Het is onderdeel van het AI Continent
    Actieplan."); a chosen sentence that leans back brings the one it leans on.
    Measured: docs/measurements.md."""
    words = sum(len(e.text.split()) for e in chosen.values())
    for (pi, si), es in sorted(chosen.items(), key=lambda kv: -kv[1].score):
        k = si
        while k > 0 and (pi, k - 1) not in chosen and _LEANS_BACK.search(split[pi][k]):
            prev = split[pi][k - 1]  # "Deze richten zich op …" needs what "deze" are
            if _QUESTION_LIKE.search(prev) or words + len(prev.split()) > max_words:
                break
            chosen[(pi, k - 1)] = EvidenceSentence(precedents[pi].id, k - 1, prev, es.score * 0.9)
            words += len(prev.split())
            k -= 1
        j = si + 1
        for _ in range(2):  # at most two sentences on from a chosen one
            if j >= len(split[pi]) or (pi, j) in chosen:
                break
            text = split[pi][j]
            if (pi, j + 1) not in chosen and not _LEANS_BACK.search(text):
                break
            n = len(text.split())
            if _QUESTION_LIKE.search(text) or words + n > max_words:
                break
            chosen[(pi, j)] = EvidenceSentence(precedents[pi].id, j, text, es.score * 0.9)
            words += n
            j += 1


def _date_key(p: Precedent) -> str:
    """Newer first in an ascending sort: invert the ISO date's characters."""
    return "".join(chr(0x7F - ord(c)) for c in (p.date or "0000"))


def _omitted(precedents: Sequence[Precedent], used: set[tuple[str, int]]) -> tuple[str, ...]:
    out = []
    for p in precedents:
        n = len(split_sentences(p.answer))
        left = n - sum(1 for pid, _ in used if pid == p.id)
        if left == n:
            out.append(f"{p.id}: niet gebruikt (geen zin beantwoordt de vraag)")
        elif left:
            out.append(f"{p.id}: {left} van {n} zinnen niet gebruikt")
    return tuple(out)


def search_parts(
    retriever: Searches,
    question: str,
    parts: Sequence[Part],
    k: int,
    exclude_ids: Sequence[str] = (),
    exclude_letters: Sequence[str] = (),
    searched: Sequence[Precedent] | None = None,
) -> list[Precedent]:
    """Precedents for the whole question and for each part, fused by reciprocal rank: the
    whole question's own ranking first, then what a part alone finds (at most 3 more).
    `searched`: the whole question's ranking when the caller already searched (at least `k`)."""
    ranked = (
        list(searched[:k])
        if searched is not None
        else retriever.search(
            question, k=k, exclude_ids=exclude_ids, exclude_letters=exclude_letters
        )
    )
    if len(parts) < 2:
        return ranked
    lists = [ranked] + [
        retriever.search(p.text, k=k, exclude_ids=exclude_ids, exclude_letters=exclude_letters)
        for p in parts
    ]
    records: dict[str, Precedent] = {}
    for hits in lists:
        for p in hits:
            records.setdefault(p.id, p)
    fused = rrf([[p.id for p in hits] for hits in lists])
    extra = [i for i, _ in fused if i not in {p.id for p in ranked}][:MAX_EXTRA_PRECEDENTS]
    order = [i for i, _ in fused if i in {p.id for p in ranked}] + extra
    return [records[i] for i in order]
