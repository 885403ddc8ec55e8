"""Typed records passed between the stages of the pipeline.

Vendor results (Chroma rows, LangChain messages) are turned into these at the edge of the module
that owns the vendor and never leak further.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Footnote:
    number: str
    """As marked in the letter: "3" (page or Word footnote), "3)" or "[3]" (the footnotes of the
    question document that ministry letters repeat; they can share numbers with the others)."""
    text: str


@dataclass(frozen=True)
class QAItem:
    """One question with its answer.

    Combined questions ("Vraag 4 en 5" answered by "Antwoord 4 en 5") become ONE item with
    `numbers == (4, 5)`: the answer is written for both, so splitting it would duplicate text
    and double its weight in retrieval.
    """

    numbers: tuple[int, ...]
    question: str
    answer: str
    fractie: str | None = None
    footnotes: tuple[Footnote, ...] = ()

    @property
    def label(self) -> str:
        """`"4-5"` for combined numbers, `"3"` for a single one (used in record ids)."""
        return "-".join(str(n) for n in self.numbers)


@dataclass(frozen=True)
class Letter:
    """A parsed answer letter (or an incoming set of questions, whose answers are empty)."""

    id: str
    title: str
    source: str
    layout: str
    items: tuple[QAItem, ...]
    ministry: str | None = None
    date: str | None = None
    """ISO date (YYYY-MM-DD) where the letter states one."""
    references: tuple[str, ...] = ()
    """Zaak numbers ("2025Z19883"), kenmerken ("DGED / 103922863"), publication ids."""
    signatory: str | None = None
    """Who signed the letter ("Vincent Karremans"), where the letter names them."""

    def item_id(self, item: QAItem) -> str:
        return f"{self.id}#{item.label}"

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape of `kv parse --json`."""
        meta = {k: v for k, v in asdict(self).items() if k != "items"}
        meta["references"] = list(self.references)
        return {
            "letter": meta,
            "items": [
                {
                    "id": self.item_id(it),
                    "numbers": list(it.numbers),
                    "fractie": it.fractie,
                    "question": it.question,
                    "answer": it.answer,
                    "footnotes": [asdict(f) for f in it.footnotes],
                }
                for it in self.items
            ],
        }


@dataclass(frozen=True)
class Precedent:
    """A prior answer returned by retrieval, with the scores that ranked it."""

    id: str
    letter_id: str
    numbers: tuple[int, ...]
    question: str
    answer: str
    score: float
    """Fused score (reciprocal-rank fusion in hybrid mode; cosine or BM25 score otherwise)."""
    fractie: str | None = None
    title: str | None = None
    date: str | None = None
    ministry: str | None = None
    dense_score: float | None = None
    lexical_score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape of one `kv search --json` hit."""
        d = asdict(self)
        d["numbers"] = list(self.numbers)
        return d


@dataclass(frozen=True)
class IndexedLetter:
    """One letter as the store knows it (`kv letters`)."""

    id: str
    title: str
    date: str | None
    items: int
    ministry: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Finding:
    """One checkable fact in an answer text: a figure, amount, percentage, date/period or name."""

    kind: str
    """One of: "amount", "percentage", "number", "date", "period", "name", "commitment"."""
    text: str
    start: int
    end: int
    status: str
    """"supported" (a precedent or the question states it), "unsupported", or "contradicted"
    (a precedent on the same subject states a different figure)."""
    support_ids: tuple[str, ...] = ()
    """Precedent ids (or "question") that state this fact."""
    note: str = ""
    """For contradictions: what the precedent says instead."""


@dataclass(frozen=True)
class CheckReport:
    findings: tuple[Finding, ...]
    premises: tuple[str, ...] = ()
    """Premise warnings on the question ("De vraag noemt 500 miljoen euro; het kabinet noemde
    eerder 131 miljoen euro (…, vraag 10)"): see `app.checking.premise`. Not counted in `problems`,
    which are about the answer."""

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status != "supported")

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [asdict(f) | {"support_ids": list(f.support_ids)} for f in self.findings],
            "problems": len(self.problems),
            "premise_warnings": list(self.premises),
        }


@dataclass(frozen=True)
class PartCoverage:
    """One part of a (bundled) Kamervraag and how the draft answers it.

    A committee question often asks several things ("Hoeveel …? Is dit genoeg …? Voor welke
    …?"); every part is either answered with citations or marked as a gap for the directorate.
    """

    part: str
    """The question sentence (as the questioner wrote it)."""
    citations: tuple[str, ...] = ()
    """Precedent ids the draft cites for this part (empty when it is a gap)."""
    gap: str | None = None
    """The `[INPUT NODIG: …]` marker the draft carries instead, when no precedent answers it."""

    @property
    def answered(self) -> bool:
        return bool(self.citations) and self.gap is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "citations": list(self.citations),
            "gap": self.gap,
            "answered": self.answered,
        }


ORIGINS = ("reused", "adapted", "new")
"""Where a draft sentence comes from: verbatim from its cited precedent, close to it, or new."""


@dataclass(frozen=True)
class SentenceProvenance:
    """Where one sentence of a draft comes from, so a coordinator sees new text at a glance."""

    sentence: str
    """The sentence as it stands in the draft (with its citation markers)."""
    origin: str
    """One of `ORIGINS`: "reused" (verbatim from the cited precedent's answer), "adapted"
    (most of its words are in one precedent sentence) or "new" (written for this draft, or a
    gap marker)."""
    precedent_id: str | None = None
    """The precedent the sentence cites (the first citation), or None for an uncited one."""
    verified: bool = False
    """True when the cited precedent's *answer* holds the sentence (reused) or a sentence close
    to it (adapted); False for a citation that points at a precedent which does not say it."""
    similarity: float = 0.0
    """Share of the sentence's content words found in the closest sentence of the cited
    precedent's answer (0..1)."""
    source: str | None = None
    """The closest precedent sentence it was measured against (for the UI and the .docx)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Draft:
    """A drafted answer with everything needed to trust (or distrust) it."""

    question: str
    text: str
    citations: list[str]
    """Precedent ids cited in the text as [1], [2] … (resolved from the numbered list)."""
    precedents: list[Precedent]
    abstained: bool
    warnings: list[str]
    model: str
    provider: str
    prompt_version: str
    timings: dict[str, float]
    """Seconds: "retrieve", "generate", "check", "total", and "first_token" when streamed."""
    check: CheckReport | None = None
    omitted_precedents: list[str] = field(default_factory=list)
    """Ids of retrieved precedents that did not fit the token budget."""
    draft_id: int | None = None
    """Row id in the audit log, once logged."""
    parent_id: int | None = None
    """Audit id of the draft this one refines or redrafts (chat follow-up, ticked precedents)."""
    instruction: str | None = None
    """The follow-up instruction ("korter", "voeg toe dat …") when this draft refines another."""
    error: str | None = None
    """Why generation failed (the draft then has precedents but no text)."""
    coverage: list[PartCoverage] = field(default_factory=list)
    """Per question part: the precedents cited for it, or the gap left open (see PartCoverage)."""
    provenance: list[SentenceProvenance] = field(default_factory=list)
    """Per draft sentence: reused / adapted / new, its cited precedent and whether the citation
    was verified against that precedent's answer text."""
    omitted_evidence: list[str] = field(default_factory=list)
    """Evidence left out of the prompt: "<precedent id>: <n> zinnen" per precedent whose answer
    sentences were not selected (they did not answer any part of the question)."""

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape of `kv ask --json`."""
        return {
            "draft_id": self.draft_id,
            "question": self.question,
            "draft": self.text,
            "abstained": self.abstained,
            "warnings": list(self.warnings),
            "citations": list(self.citations),
            "precedents": [p.to_dict() for p in self.precedents],
            "omitted_precedents": list(self.omitted_precedents),
            "model": self.model,
            "provider": self.provider,
            "prompt_version": self.prompt_version,
            "timings": dict(self.timings),
            "check": self.check.to_dict() if self.check else None,
            "parent_id": self.parent_id,
            "instruction": self.instruction,
            "error": self.error,
            "coverage": [c.to_dict() for c in self.coverage],
            "provenance": [p.to_dict() for p in self.provenance],
            "omitted_evidence": list(self.omitted_evidence),
        }
