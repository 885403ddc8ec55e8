"""The questions an eval drafts (`EvalItem`) and the hand-written cases that hold them:
evals/cases.yaml for the corpus, evals/source_letter_cases.yaml for the source letter (see the
head of either file for the fields)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from app.errors import InputError
from evals import metrics as m

CASES_PATH = Path(__file__).resolve().parent / "cases.yaml"


@dataclass(frozen=True)
class EvalItem:
    """One question to draft: a corpus QA item (with its real answer) or a hand-written case."""

    id: str
    kind: str
    """"corpus" or "case"."""
    question: str
    reference: str = ""
    targets: frozenset[str] = frozenset()
    """Linked items (corpus) or expected precedents (case): retrieving one is a hit."""
    expect_abstain: bool = False
    category: str = "corpus"
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()
    exclude_ids: tuple[str, ...] = ()
    note: str = ""
    premise: tuple[str, ...] = ()
    """false_premise cases: the changed figures, dates or names the draft must warn about."""


def load_cases(path: Path, limit: int | None = None) -> list[EvalItem]:
    """The hand-written cases (see evals/cases.yaml for the fields), first `limit` of them."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the cases ({exc.strerror}); give --cases") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc}); fix the file") from exc
    rows = raw.get("cases") if isinstance(raw, dict) else None
    if not isinstance(rows, list):
        raise InputError(f"{path}: expected a top-level 'cases:' list; see evals/cases.yaml")
    out, seen = [], set()
    for n, row in enumerate(rows, 1):
        where = f"{path}: case {n}"
        if not isinstance(row, dict) or not row.get("id") or not row.get("question"):
            raise InputError(f"{where}: every case needs at least 'id' and 'question'")
        if row["id"] in seen:
            raise InputError(f"{where}: duplicate id {row['id']!r}; ids must be unique")
        if row.get("category", "in_scope") not in m.CATEGORIES:
            raise InputError(f"{where}: category must be one of {', '.join(m.CATEGORIES)}")
        premise = row.get("premise") or ()
        premise = (premise,) if isinstance(premise, str) else tuple(premise)
        if (row.get("category") == "false_premise") != bool(premise):
            raise InputError(f"{where}: a false_premise case (and only one) names its 'premise'")
        seen.add(row["id"])
        out.append(
            EvalItem(
                id=str(row["id"]),
                kind="case",
                question=str(row["question"]).strip(),
                targets=frozenset(row.get("expect_precedents") or ()),
                expect_abstain=bool(row.get("abstain", False)),
                category=str(row.get("category", "in_scope")),
                must=tuple(str(x) for x in row.get("must") or ()),
                must_not=tuple(str(x) for x in row.get("must_not") or ()),
                note=str(row.get("note", "")),
                premise=tuple(str(x) for x in premise),
            )
        )
    return out[:limit] if limit is not None else out
