"""What makes a draft usable beyond its facts (issue 13), per draft: no repeated sentence, no
echoed question, no questioner's words quoted as the cabinet's, every question part answered or
marked; and whether a false premise in the question got a warning.

Summed over a run by `evals.metrics.form_summary`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.drafting.tidy import ECHO_RUN
from app.records import Draft, Precedent
from app.text import sentences as draft_sentences
from evals.metrics import GAP_RE, clean, states

# ECHO_RUN (app.drafting.tidy): a draft sharing this many consecutive words with the question
# repeats it. Measured on the corpus: 10 of 337 real answers share >= 10 words with their own
# question (297 share fewer than 6), e.g. source-letter answer 23 quotes its question to correct
# it; so an echo is rare in real answers but not impossible, and the count is reported, not
# gated at zero for every model.
PREMISE_PREFIX = "De vraag noemt"
"""How `app.checking.check.premise_warnings` (and the Draft's warnings) start."""
_WORD = re.compile(r"\w+")


def _grams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(clean(text).lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def repeated_sentences(text: str) -> int:
    """Sentences that repeat an earlier sentence of the same draft (citations and case ignored;
    gap markers and fragments under four words are not sentences here)."""
    seen: set[str] = set()
    repeats = 0
    for sentence in draft_sentences(text):
        key = " ".join(_WORD.findall(clean(sentence).lower()))
        if len(key.split()) < 4:
            continue
        repeats += key in seen
        seen.add(key)
    return repeats


def echoes_question(text: str, question: str, n: int = ECHO_RUN) -> bool:
    """The draft repeats `n` consecutive words of the question (issue 13's echoed question)."""
    return bool(_grams(text, n) & _grams(question, n))


def quoted_questions(text: str, precedents: Sequence[Precedent], n: int = ECHO_RUN) -> list[str]:
    """Precedents whose *question* the draft quotes: an `n`-word run of the precedent's question
    that its answer does not hold (a questioner's words presented as the cabinet's)."""
    mine = _grams(text, n)
    return [
        p.id
        for p in precedents
        if p.question and (mine & _grams(p.question, n)) - _grams(p.answer, n)
    ]


def coverage_counts(coverage: Any) -> dict[str, int] | None:
    """(parts, answered, marked) of a Draft's `coverage` (issue 13: question part → cited
    precedents or an [INPUT NODIG] gap); None when the Draft has no coverage. Accepts a list of
    records or dicts (fields such as citations/precedents and gap/status) or a part → value map."""
    if not coverage:  # None, or [] while drafting does not split questions into parts
        return None
    entries = list(coverage.values()) if isinstance(coverage, Mapping) else list(coverage)
    answered = marked = 0
    for e in entries:
        if isinstance(e, str | list | tuple):
            text = e if isinstance(e, str) else ""
            cited: Any = [] if isinstance(e, str) else e
            gap: Any = GAP_RE.search(text) is not None
        else:
            get = e.get if isinstance(e, Mapping) else lambda k, e=e: getattr(e, k, None)
            keys = ("citations", "cited", "precedent_ids", "precedents", "sources")
            cited = next((v for k in keys if (v := get(k))), None)
            status = str(get("status") or "").lower()
            gap = get("gap") or get("marked") or status in ("gap", "marked", "input_nodig")
        if gap:
            marked += 1
        elif cited:
            answered += 1
    return {"parts": len(entries), "answered": answered, "marked": marked}


def premise_warnings(warnings: Iterable[str]) -> list[str]:
    return [w for w in warnings if w.startswith(PREMISE_PREFIX)]


def premise_caught(warnings: Iterable[str], premise: Iterable[str]) -> bool:
    """A premise warning names every changed figure, date or name of the question."""
    found = premise_warnings(warnings)
    return all(any(states(w, p) for w in found) for p in premise)


def draft_premise_warnings(d: Draft) -> list[str]:
    """The premise warnings a Draft carries: in its warnings or its check report's `premises`
    (read with getattr: the field is newer than this eval)."""
    found = list(d.warnings) + list(getattr(d.check, "premises", ()) or ())
    return list(dict.fromkeys(premise_warnings(found)))


def _premise_check() -> Any:
    for module in ("app.checking.premise", "app.checking.check"):
        try:
            check = getattr(importlib.import_module(module), "premise_warnings", None)
        except ImportError:
            continue
        if callable(check):
            return check
    return None


def premise_caught_by(d: Draft, premise: Sequence[str]) -> tuple[bool, bool]:
    """(caught, shown): the premise check names the question's false premise, and the Draft
    itself carries that warning. When the Draft carries no premise warning at all (an
    abstention is never checked), `premise_warnings(question, precedents)` is asked directly."""
    shown = draft_premise_warnings(d)
    in_draft = premise_caught(shown, premise)
    check = _premise_check()
    if in_draft or shown or check is None:
        return in_draft, in_draft
    return premise_caught(list(check(d.question, d.precedents)), premise), False


def scores(question: str, d: Draft, answered: bool) -> dict[str, Any]:
    """Per-draft usability counts, contradictions, and question parts (once Drafts carry a
    `coverage`; read with getattr so the eval runs before and after that field exists)."""
    cov = coverage_counts(getattr(d, "coverage", None))
    return {
        "contradictions": [f.text for f in d.check.findings if f.status == "contradicted"]
        if d.check
        else [],
        "repeated_sentences": repeated_sentences(d.text) if answered else 0,
        "echoed_question": echoes_question(d.text, question) if answered else None,
        "question_quoted": quoted_questions(d.text, d.precedents) if answered else [],
        "premise_alarm": bool(draft_premise_warnings(d)),
        "parts": cov["parts"] if cov else None,
        "parts_answered": cov["answered"] if cov else None,
        "parts_marked": cov["marked"] if cov else None,
        "parts_ok": cov["answered"] + cov["marked"] == cov["parts"] if cov else None,
    }
