"""The source-letter eval (`kv eval --letter apply-ai-strategie`): every answer of one letter
re-drafted without itself, the letter's own consistency links, and its paraphrase set.

Leave-one-out: each of the letter's items is drafted by `evals.drafting.draft_item` - the same
`app.drafting.draft.draft` that `kv ask` calls - with only that item excluded (`exclude_ids`): the
rest
of the corpus and the rest of the letter stay available, as they would for a policy officer.
Per item the real answer and the draft are scored with the corpus eval's own functions
(`evals.metrics`: facts recalled / missed / added without support, contradictions, citations)
and the facts are located so the report can mark them.

Consistency links are DERIVED from the letter, not hand-picked. Two answers are linked when
  * wording: they share a run of `LINK_RUN` (8) consecutive normalised words
    (`evals.retrieval.derive_links` on this one letter), or
  * term: they name the same named term (`app.checking.facts.names`: "Europese AI Board", "Apply
    AI-alliantie", "NDS") that at most `TERM_MAX_SHARE` of the letter's answers name (a term in
    most answers, such as "Apply AI-strategie" or "Europese Commissie", links nothing).
A draft "hits" a link when a linked answer is among the top 3 retrieved precedents
(`linked_hit@3`) and "cites" it when its citations name one (`cites_linked`).

The paraphrase set (evals/source_letter_cases.yaml for the source letter) holds new questions
in the committee's style with their gold answers and key facts, false premises, out-of-scope
questions and injections; it is scored like evals/cases.yaml, in the same run.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import median
from typing import Any

from app.checking import facts
from app.checking.check import check_answer
from app.errors import InputError
from app.records import Draft, Letter
from app.services import Services
from evals import SOURCE_LETTER
from evals import metrics as m
from evals.cases import EvalItem, load_cases
from evals.drafting import Corpus, draft_item
from evals.results import ItemRow, LetterResult, Summary
from evals.retrieval import derive_links
from evals.verdict import verdict

log = logging.getLogger(__name__)

EVALS = Path(__file__).resolve().parent
LETTER_ID = SOURCE_LETTER
PARAPHRASES = {LETTER_ID: EVALS / "source_letter_cases.yaml"}
"""Paraphrase sets by letter id; a letter without one is evaluated leave-one-out only."""
LINK_RUN = 8
TERM_MAX_SHARE = 0.34
"""A named term in more than a third of the letter's answers is the letter's subject, not a
link (measured on the source letter: "Europese AI Board" is in 7 of 25 answers, "Apply
AI-strategie" and "Europese Commissie" in most)."""
TOP_LINKED = 3
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class LetterLink:
    a: str
    b: str
    kind: str
    """"wording" (a shared run of words) or "term" (a shared named term)."""
    evidence: str


@dataclass
class LetterPart:
    """What the letter part of a run drafts: the letter's items and its paraphrase cases."""

    letter: Letter
    links: list[LetterLink]
    items: list[EvalItem]
    cases: list[EvalItem]
    cases_path: Path | None

    @property
    def size(self) -> int:
        return len(self.items) + len(self.cases)


def find_letter(letters: Sequence[Letter], letter_id: str) -> Letter:
    for letter in letters:
        if letter.id == letter_id:
            return letter
    near = [lt.id for lt in letters if letter_id.split("-")[0] in lt.id]
    raise InputError(
        f"letter {letter_id!r} is not in the evaluated corpus"
        + (f" (similar ids: {', '.join(near[:5])})" if near else "")
        + "; put its file in corpus/letters/ (or give it with --letters) and use its id, as "
        "`kv letters` lists them"
    )


def named_term(name: str) -> bool:
    """A name that identifies something: several words ("Europese AI Board", "Horizon
    Europe") or an acronym ("NDS", "EDIH's"); not a generic compound ("AI-adoptie") nor a
    fragment ending in an everyday acronym ("Europese AI")."""
    words = name.split()
    if words[-1] in facts.UBIQUITOUS:
        return False
    if len(words) > 1:
        return True
    core = re.sub(r"'s$", "", words[0])
    return core.isupper() and len(core) >= 2


def _terms(letter: Letter) -> dict[str, set[str]]:
    """Named term → ids of the answers that name it."""
    proper = set().union(*(facts.proper_words(it.answer) for it in letter.items))
    owners: dict[str, set[str]] = defaultdict(set)
    for it in letter.items:
        for name in facts.names(it.answer, proper):
            term = " ".join(name.text.replace("’", "'").split())
            if named_term(term):
                owners[term].add(letter.item_id(it))
    return owners


def derive_letter_links(letter: Letter) -> list[LetterLink]:
    """The letter's consistency links: shared wording first, then shared named terms."""
    links: dict[tuple[str, str], LetterLink] = {}
    for x in derive_links([letter], min_run=LINK_RUN):
        a, b = sorted((x.a, x.b), key=_number)
        links[(a, b)] = LetterLink(a, b, "wording", x.run)
    most = max(2, int(TERM_MAX_SHARE * len(letter.items)))
    for term, ids in sorted(_terms(letter).items()):
        if not 2 <= len(ids) <= most:
            continue
        srt = sorted(ids, key=_number)
        for i, a in enumerate(srt):
            for b in srt[i + 1 :]:
                links.setdefault((a, b), LetterLink(a, b, "term", term))
    return sorted(links.values(), key=lambda x: (_number(x.a), _number(x.b)))


def _number(item_id: str) -> tuple[int, str]:
    label = item_id.rsplit("#", 1)[-1]
    head = label.split("-")[0]
    return (int(head) if head.isdigit() else 0, label)


def linked_to(links: Sequence[LetterLink]) -> dict[str, list[LetterLink]]:
    out: dict[str, list[LetterLink]] = defaultdict(list)
    for x in links:
        out[x.a].append(x)
        out[x.b].append(x)
    return dict(out)


def prepare(corpus: Corpus, letter_id: str) -> LetterPart:
    """The letter, its derived links, its items (each excluding only itself) and its cases."""
    letter = find_letter(corpus.letters, letter_id)
    links = derive_letter_links(letter)
    by_item = linked_to(links)
    items = []
    for it in letter.items:
        iid = letter.item_id(it)
        if not (it.question.strip() and it.answer.strip()):
            continue
        others = {x.b if x.a == iid else x.a for x in by_item.get(iid, [])}
        items.append(
            EvalItem(
                id=iid,
                kind="letter",
                question=it.question,
                reference=it.answer,
                targets=frozenset(others),
                expect_abstain=False,
                exclude_ids=(iid,),
            )
        )
    path = PARAPHRASES.get(letter.id)
    cases = load_cases(path) if path else []
    return LetterPart(letter, links, items, cases, path)


# -- drafting and scoring ------------------------------------------------------------------------


def fact_marks(d: Draft, reference: str) -> dict[str, list[dict[str, Any]]]:
    """Where the facts are, for marking: the real answer's facts (recalled or missed) and the
    draft's facts (in the real answer; else supported by a precedent; unsupported;
    contradicted)."""
    ref = [
        {"text": f.text, "start": f.start, "end": f.end, "status": "recalled"}
        if f.status == "supported"
        else {"text": f.text, "start": f.start, "end": f.end, "status": "missed"}
        for f in m.reference_findings(d.text, reference)
    ]
    in_answer = {
        (f.start, f.end)
        for f in check_answer(d.text, "", [m.as_source("reference", reference)]).findings
        if f.status == "supported"
    }
    mine = []
    for f in d.check.findings if d.check else ():
        if f.kind not in m.FACT_KINDS and f.kind != "commitment":
            continue
        status = f.status
        if status == "supported" and (f.start, f.end) in in_answer:
            status = "in_answer"
        mine.append({"text": f.text, "start": f.start, "end": f.end, "status": status})
    return {"reference_facts": ref, "draft_facts": mine}


def run_part(
    part: LetterPart, svc: Services, progress: Progress | None = None
) -> tuple[LetterResult, Summary]:
    """Draft and score the letter's items and cases: the run's `letter` part and its summary
    sections."""
    items, cases = [], []
    by_item = linked_to(part.links)
    for n, item in enumerate([*part.items, *part.cases]):
        if progress:
            progress(n, part.size, item.id)
        row, d = draft_item(item, svc)
        if item.kind == "letter":
            items.append(letter_row(item, row, d, by_item.get(item.id, [])))
        else:
            cases.append(row)
    summary = summarise(items, cases)
    title = part.letter.title
    result = LetterResult(
        id=part.letter.id,
        title=title,
        cases_path=str(part.cases_path) if part.cases_path else None,
        links=[vars(x) for x in part.links],
        verdict=verdict(summary, svc.writer, title),
        items=items,
        cases=cases,
    )
    return result, summary


def letter_row(item: EvalItem, row: ItemRow, d: Draft, links: Sequence[LetterLink]) -> ItemRow:
    """A letter answer's row with its `links` (those of this answer), the link scores and its
    facts located."""
    mine = [
        {"id": x.b if x.a == item.id else x.a, "kind": x.kind, "evidence": x.evidence}
        for x in links
    ]
    rank = row.scores["rank"]
    wording = {x["id"] for x in mine if x["kind"] == "wording"}
    scores = row.scores | {
        "linked_hit@1": rank == 1 if item.targets else None,
        f"linked_hit@{TOP_LINKED}": rank is not None and rank <= TOP_LINKED
        if item.targets
        else None,
        "wording_hit@3": bool(wording & set(row.retrieved[:TOP_LINKED])) if wording else None,
    }
    marks = fact_marks(d, item.reference)  # checks the real answer's facts once, for both
    scores["recalled_facts"] = sorted(
        {x["text"] for x in marks["reference_facts"]} - {*scores["missed_facts"]}
    )
    return replace(
        row,
        scores=scores,
        links=mine,
        reference_facts=marks["reference_facts"],
        draft_facts=marks["draft_facts"],
    )


def summarise(items: Sequence[ItemRow], cases: Sequence[ItemRow]) -> Summary:
    """Summary sections `letter` (the leave-one-out drafts) and `letter_cases…` (the
    paraphrase set, as evals.metrics summarises cases)."""
    out: Summary = {}
    if items:
        sec: dict[str, Any] = {"n": len(items), "linked": sum(1 for r in items if r.targets)}
        sec |= {k: m.mean(r.scores.get(k) for r in items) for k in m.LETTER_METRICS}
        sec["errors"] = sum(1 for r in items if r.error)
        sec["seconds_per_draft"] = m.mean(r.seconds for r in items)
        sec["seconds_p50"] = round(median(r.seconds for r in items), 2)
        out[m.LETTER_SECTION] = sec | m.form_summary(items)
    if cases:
        for section, values in m.summarise(cases, None).items():
            out[f"{m.LETTER_SECTION}_{section}"] = values
        out[f"{m.LETTER_SECTION}_cases"]["seconds_per_draft"] = m.mean(r.seconds for r in cases)
    return out
