"""Provenance and coverage for display: which text of an answer is the cabinet's own.

Shared by the web UI (`app.web.views`) and the answer-letter writers (`app.drafting.export`):
both show a draft sentence by sentence as reused / adapted / new, and its question parts as
answered or open. An answer a user edited (in the letter table) goes through the same review a
generated draft gets (`app.drafting.review.review`: leaks, citations, figures, premises,
provenance, length) via `revise`, and its part coverage is updated; nothing here calls a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.drafting.review import review
from app.records import Draft, PartCoverage, Precedent, SentenceProvenance
from app.text import citation_numbers

MARKS = ("reused", "adapted", "new", "unverified", "gap")
MARK_LABEL = {
    "reused": "letterlijk overgenomen",
    "adapted": "aangepast",
    "new": "nieuw",
    "unverified": "nieuw, bron klopt niet",
    "gap": "open plek",
}
EDITED_NOTE = "Handmatig aangepast; cijfers, herkomst en dekking opnieuw gecontroleerd."
KEPT_WARNINGS = ("Eerdere antwoorden verschillen",)
"""Warnings about the precedents, not the text: still true after an edit."""


def mark(p: SentenceProvenance | None) -> str:
    """One of `MARKS`, or "" for text without provenance (whitespace, an unknown sentence)."""
    if p is None:
        return ""
    if "[INPUT NODIG" in p.sentence:
        return "gap"
    if p.origin == "new" and p.precedent_id:
        return "unverified"  # it cites a precedent that does not say it
    return p.origin if p.origin in MARKS else "new"


def sentence_runs(
    text: str, items: Sequence[SentenceProvenance]
) -> list[tuple[str, SentenceProvenance | None]]:
    """`text` cut into runs: each provenance sentence where it stands, and what lies between
    (spaces, paragraph breaks) with None. Joined, the runs give `text` back unchanged."""
    runs: list[tuple[str, SentenceProvenance | None]] = []
    pos = 0
    for item in items:
        i = text.find(item.sentence, pos) if item.sentence else -1
        if i < 0:
            continue
        if i > pos:
            runs.append((text[pos:i], None))
        runs.append((item.sentence, item))
        pos = i + len(item.sentence)
    if pos < len(text):
        runs.append((text[pos:], None))
    return runs


def counts(items: Sequence[SentenceProvenance]) -> dict[str, int]:
    out = dict.fromkeys(MARKS, 0)
    for p in items:
        out[mark(p)] += 1
    return out


def counts_text(items: Sequence[SentenceProvenance]) -> str:
    """ "3 zinnen letterlijk overgenomen, 1 aangepast, 1 nieuw" (zero counts left out)."""
    c = counts(items)
    words = [f"{c[m]} {MARK_LABEL[m]}" for m in MARKS if c[m]]
    if not words:
        return ""
    n = sum(c.values())
    return f"{n} {'zin' if n == 1 else 'zinnen'}: " + ", ".join(words)


def numbered(d: Draft) -> list[Precedent]:
    """The precedents behind `[1]`…`[n]` in the draft's text.

    The model (or the extractive composer) saw the used precedents in evidence order, which
    need not be retrieval order; a single-citation sentence's provenance names the precedent
    of its number, and the rest keep retrieval order (precedents minus omitted)."""
    used = [p for p in d.precedents if p.id not in set(d.omitted_precedents)]
    by_id = {p.id: p for p in d.precedents}
    known: dict[int, str] = {}
    for item in d.provenance:
        nums = citation_numbers(item.sentence)
        if len(set(nums)) == 1 and item.precedent_id in by_id:
            known.setdefault(nums[0], item.precedent_id)
    if not known or len(set(known.values())) != len(known):
        return used
    rest = iter(p for p in used if p.id not in set(known.values()))
    out = []
    for nr in range(1, len(used) + 1):
        pid = known.get(nr)
        nxt = by_id[pid] if pid else next(rest, None)
        if nxt is not None:
            out.append(nxt)
    return out


def cited(d: Draft, nr: int) -> Precedent | None:
    """The precedent behind `[nr]` in this draft, if any."""
    ps = numbered(d)
    return ps[nr - 1] if 1 <= nr <= len(ps) else None


def revise(d: Draft, text: str, question: str, secrets: Sequence[str] = ()) -> Draft:
    """The draft with a user's edited `text`, reviewed again exactly as a generated draft is
    (`app.drafting.review.review` with the draft's numbering and the leak check's `secrets`,
    `app.drafting.draft.system_texts`), and its part coverage updated. The warnings: `EDITED_NOTE`,
    the old ones about the precedents (`KEPT_WARNINGS`), then the review's."""
    r = review(text, question=question, precedents=d.precedents, cited=numbered(d), secrets=secrets)
    notes = [EDITED_NOTE, *(w for w in d.warnings if w.startswith(KEPT_WARNINGS)), *r.warnings]
    coverage = [_still(c, r.text, r.citations) for c in d.coverage]
    return replace(
        d, text=r.text, check=r.check, warnings=notes, provenance=r.provenance,
        coverage=coverage, citations=r.citations,
    )  # fmt: skip


def _still(c: PartCoverage, text: str, ids: Sequence[str]) -> PartCoverage:
    """A part after an edit: the citations the text still carries, the gap if still open."""
    kept = tuple(i for i in c.citations if i in ids)
    gap = c.gap if c.gap and c.gap in text else None
    if not kept and gap is None and c.answered:
        gap = "niet meer beantwoord: de verwijzing is uit het antwoord gehaald"
    return PartCoverage(c.part, kept, gap)
