"""Where each draft sentence comes from, and which position wins when precedents disagree.

Provenance: every sentence is compared with the sentences of the precedent it cites — the
*answer* only. "reused": the sentence (citations and spacing aside) stands in that answer;
"adapted": at least `ADAPTED_SHARE` of its content words are in one sentence of that answer;
"new": otherwise (written for this draft, or a gap marker). `verified` says the cited
precedent holds it (reused or adapted); a cited sentence that is not verified is one a
reviewer must check against the source.

Most recent position wins: when two evidence sources of different dates state different
figures on the same subject (the consistency check's own contradiction test, `app.checking.check`),
the older source's conflicting sentences are dropped from the evidence and the draft warns
that earlier answers differ.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from app.checking.check import check_answer
from app.drafting.evidence import Evidence, EvidenceGroup
from app.records import Precedent, SentenceProvenance
from app.text import citation_numbers, sentences, split_sentences, strip_citations, terms

ADAPTED_SHARE = 0.6


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def sentence_provenance(sentence: str, cited: Sequence[Precedent]) -> SentenceProvenance:
    """Provenance of one draft sentence against the precedents numbered [1]..[n]."""
    nums = citation_numbers(sentence)
    nums = [n for n in nums if 1 <= n <= len(cited)]
    plain = strip_citations(sentence).strip()
    if not nums or plain.startswith("[INPUT NODIG"):
        return SentenceProvenance(sentence, "new")
    best = (0.0, "", cited[nums[0] - 1].id, False)
    bag = set(terms(plain))
    for n in nums:
        p = cited[n - 1]
        if _norm(plain) and _norm(plain) in _norm(p.answer):
            return SentenceProvenance(sentence, "reused", p.id, True, 1.0, plain)
        for s in split_sentences(p.answer):
            share = len(bag & set(terms(s))) / len(bag) if bag else 0.0
            if share > best[0]:
                best = (share, s, p.id, True)
    share, source, pid, _ = best
    origin = "adapted" if share >= ADAPTED_SHARE else "new"
    return SentenceProvenance(
        sentence, origin, pid, origin == "adapted", round(share, 2), source or None
    )


def provenance(text: str, cited: Sequence[Precedent]) -> list[SentenceProvenance]:
    return [sentence_provenance(s, cited) for s in sentences(text)]


def shares(items: Sequence[SentenceProvenance]) -> dict[str, float]:
    n = len(items) or 1
    return {o: sum(1 for i in items if i.origin == o) / n for o in ("reused", "adapted", "new")}


def most_recent_wins(ev: Evidence) -> tuple[Evidence, list[str]]:
    """Drop older evidence sentences whose figures a newer source contradicts; warn about it."""
    dated = [g for g in ev.groups if g.precedent.date]
    warnings: list[str] = []
    drop: set[tuple[str, int]] = set()
    for newer in sorted(dated, key=lambda g: g.precedent.date or "", reverse=True):
        for older in dated:
            if (older.precedent.date or "") >= (newer.precedent.date or ""):
                continue
            for s in older.sentences:
                report = check_answer(s.text, "", [newer.precedent])
                bad = [f for f in report.findings if f.status == "contradicted"]
                if bad and (older.precedent.id, s.index) not in drop:
                    drop.add((older.precedent.id, s.index))
                    warnings.append(
                        f"Eerdere antwoorden verschillen: {older.precedent.id} "
                        f"({older.precedent.date}) noemde {bad[0].text}; het meest recente "
                        f"antwoord ({newer.precedent.id}, {newer.precedent.date}) zegt "
                        f"{bad[0].note or 'iets anders'}. Het concept volgt het meest recente."
                    )
    if not drop:
        return ev, []
    groups = []
    for g in ev.groups:
        kept = tuple(s for s in g.sentences if (g.precedent.id, s.index) not in drop)
        if kept:
            groups.append(EvidenceGroup(g.precedent, kept))
    per_part = tuple(
        tuple(s for s in sel if (s.precedent_id, s.index) not in drop) for sel in ev.per_part
    )
    return replace(ev, groups=tuple(groups), per_part=per_part), warnings
