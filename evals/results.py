"""The typed results of a drafting-eval run: one `ItemRow` per draft (a corpus item, a case, a
source-letter answer), the run's `RunMeta` and `Gate`, the source letter's `LetterResult`, and
the `Run` that holds them.

Built by evals/drafting.py and evals/source_letter.py, read by the reports, the summary table
and `kv eval`. On disk a run is results.json: `Run.to_json()` writes the keys earlier runs wrote
(docs/eval/ holds such files), and `Run.from_json()` reads them back - also a file of an older
run that lacks a key (`kv eval --compare old.json new.json`).

Scores (`ItemRow.scores`) and the summary stay mappings keyed by metric name: the thresholds in
evals/thresholds.yaml and the report tables name them ("corpus.hit@5").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Scores = dict[str, Any]
"""Metric name → value of one draft (None: not applicable); see evals/drafting.py `score`."""
Summary = dict[str, dict[str, Any]]
"""Section ("corpus", "cases_injection", "letter", …) → metric → mean or count."""


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    return list(data.get(key) or [])


@dataclass(frozen=True)
class ItemRow:
    """One drafted question with its draft and scores."""

    id: str
    kind: str
    """"corpus", "case" or "letter" (a source-letter answer)."""
    question: str
    draft: str
    scores: Scores
    category: str = "corpus"
    reference: str = ""
    expect_abstain: bool = False
    targets: list[str] = field(default_factory=list)
    retrieved: list[str] = field(default_factory=list)
    """The ids of the question's search, best first (the eval's top 10)."""
    precedents: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    must: list[str] | None = None
    """Cases only (with `must_not` and `note`): the facts the draft must state."""
    must_not: list[str] | None = None
    note: str | None = None
    premise: list[str] | None = None
    """false_premise cases only: the changed figures, dates or names."""
    links: list[dict[str, Any]] | None = None
    """Source-letter answers only (with the fact spans): the answers linked to this one."""
    reference_facts: list[dict[str, Any]] | None = None
    draft_facts: list[dict[str, Any]] | None = None
    judge: dict[str, Any] | None = None
    judged: bool = False
    """`--judge` asked for a grade (`judge` is then the grade, or None when it failed)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "category": self.category,
            "question": self.question,
            "reference": self.reference,
            "draft": self.draft,
            "expect_abstain": self.expect_abstain,
            "targets": self.targets,
            "retrieved": self.retrieved,
            "precedents": self.precedents,
            "citations": self.citations,
            "warnings": self.warnings,
            "error": self.error,
            "seconds": self.seconds,
            "timings": self.timings,
            "model": self.model,
        }
        if self.must is not None:
            out |= {"must": self.must, "must_not": self.must_not or [], "note": self.note or ""}
        if self.premise:
            out["premise"] = self.premise
        out["scores"] = self.scores
        if self.links is not None:
            out["links"] = self.links
        if self.reference_facts is not None or self.draft_facts is not None:
            out["reference_facts"] = self.reference_facts or []
            out["draft_facts"] = self.draft_facts or []
        if self.judged:
            out["judge"] = self.judge
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ItemRow:
        def optional(key: str) -> Any:
            return data.get(key) if key in data else None

        return cls(
            id=str(data.get("id", "")),
            kind=str(data.get("kind", "corpus")),
            question=str(data.get("question", "")),
            draft=str(data.get("draft") or ""),
            scores=dict(data.get("scores") or {}),
            category=str(data.get("category", "corpus")),
            reference=str(data.get("reference") or ""),
            expect_abstain=bool(data.get("expect_abstain", False)),
            targets=_list(data, "targets"),
            retrieved=_list(data, "retrieved"),
            precedents=_list(data, "precedents"),
            citations=_list(data, "citations"),
            warnings=_list(data, "warnings"),
            error=data.get("error"),
            seconds=float(data.get("seconds") or 0.0),
            timings=dict(data.get("timings") or {}),
            model=str(data.get("model") or ""),
            must=optional("must"),
            must_not=optional("must_not"),
            note=optional("note"),
            premise=optional("premise"),
            links=optional("links"),
            reference_facts=optional("reference_facts"),
            draft_facts=optional("draft_facts"),
            judge=optional("judge"),
            judged="judge" in data,
        )


@dataclass(frozen=True)
class RunMeta:
    """What was run, with which model and settings, and how long it took."""

    provider: str
    model: str = ""
    design: str | None = None
    """The drafting design of a chat model ("connect", "free"); None for extractive."""
    started: str = ""
    seconds: float = 0.0
    letters: int = 0
    corpus_items: int = 0
    limit: int | None = None
    case_limit: int | None = None
    cases: str | None = None
    top_k: int | None = None
    max_answer_tokens: int | None = None
    context_tokens: int | None = None
    prompt_version: str = ""
    letter: str | None = None
    letter_only: bool = False

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunMeta:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**{"provider": str(data.get("provider", "")), **known})


@dataclass(frozen=True)
class Gate:
    """The thresholds of evals/thresholds.yaml applied to the summary."""

    thresholds: bool
    """False: the provider has no thresholds for the parts this run evaluated."""
    passed: bool
    failures: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"thresholds": self.thresholds, "passed": self.passed, "failures": self.failures}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Gate:
        return cls(
            bool(data.get("thresholds", False)),
            bool(data.get("passed", False)),
            _list(data, "failures"),
        )


@dataclass(frozen=True)
class LetterResult:
    """The source-letter part of a run (evals/source_letter.py); its summary sections are in
    the run's summary ("letter", "letter_cases…")."""

    id: str
    title: str
    cases_path: str | None
    links: list[dict[str, Any]]
    verdict: str
    items: list[ItemRow]
    cases: list[ItemRow]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "cases_path": self.cases_path,
            "links": self.links,
            "verdict": self.verdict,
            "items": [r.to_json() for r in self.items],
            "cases": [r.to_json() for r in self.cases],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LetterResult:
        return cls(
            id=str(data.get("id", "")),
            title=str(data.get("title", "")),
            cases_path=data.get("cases_path"),
            links=_list(data, "links"),
            verdict=str(data.get("verdict", "")),
            items=[ItemRow.from_json(r) for r in data.get("items") or []],
            cases=[ItemRow.from_json(r) for r in data.get("cases") or []],
        )


@dataclass(frozen=True)
class Run:
    """One drafting-eval run: results.json."""

    meta: RunMeta
    summary: Summary
    gate: Gate
    items: list[ItemRow] = field(default_factory=list)
    letter: LetterResult | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "meta": self.meta.to_json(),
            "summary": self.summary,
            "gate": self.gate.to_json(),
            "items": [r.to_json() for r in self.items],
        }
        return out | ({"letter": self.letter.to_json()} if self.letter else {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Run:
        letter = data.get("letter")
        return cls(
            meta=RunMeta.from_json(data.get("meta") or {}),
            summary={k: dict(v) for k, v in (data.get("summary") or {}).items()},
            gate=Gate.from_json(data.get("gate") or {}),
            items=[ItemRow.from_json(r) for r in data.get("items") or []],
            letter=LetterResult.from_json(letter) if letter else None,
        )


def read_run(path: Path) -> Run:
    """A results.json written by `kv eval` (this version or an earlier one)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("meta"), dict):
        raise ValueError(f"{path} holds no eval run (no 'meta')")
    return Run.from_json(data)


def write_run(run: Run, path: Path) -> None:
    path.write_text(json.dumps(run.to_json(), ensure_ascii=False, indent=1) + "\n", "utf-8")
