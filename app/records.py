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

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status != "supported")

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [asdict(f) | {"support_ids": list(f.support_ids)} for f in self.findings],
            "problems": len(self.problems),
        }


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
        }
