"""Consistency check: is every figure, date, name and promise in an answer traceable?

Why: the coordinator who signs off a letter must see, per fact, whether the question or a prior
answer (precedent) states it, and loudly when a precedent on the same subject states a different
figure. The rules are plain and few so that a flag can be trusted and explained:

* Figures: amounts ("131 miljoen euro", "€ 2,5 mld."), percentages, counts with a unit
  ("25 vragen", "4,5 miljoen Nederlanders"), dates and years/periods. Dutch formats are
  normalised ("1.000" = 1000, "2,5" = 2.5, mln./mld., "procent" = %, "twee".."twaalf").
  A count is supported by the same value with the same unit, or (values >= 100) any unit.
* Contradiction: a figure of the same kind/unit in a precedent *answer* with another value, on
  the same subject: the content words within 100 characters around both (same sentence, generic
  words such as "euro", "kabinet", "beschikbaar" left out) share >= 1 word (dates and years:
  >= 3) and shared / min(|A|, |B|) >= 0.5. It wins over support that is weaker on the same
  measure (a year stated elsewhere in a precedent about something else), but never over the
  question's own figures (then it is a note). A precedent figure that the draft also states on
  that subject is not evidence. Measured on the shared letters (no false contradictions):
  docs/measurements.md#consistency-check.
* Names: runs of capitalised words (joined by "van", "voor", "van de", …) and acronyms (two
  capitals, or capitals plus digits: "DigiD", "NIS2", "AI-fabriek"). Dropped: NAME_STOP words
  ("Het", "Kabinet", "Kamer", months, …), role titles ("Minister van …"), and a sentence's first
  word unless it is seen capitalised mid-sentence somewhere. "AI", "EU" and the rest of
  UBIQUITOUS are not flagged alone (they are in nearly every answer; flagging them would teach
  readers to ignore flags); compounds such as "AI-fabriek" are. "AP" is supported by "Autoriteit
  Persoonsgegevens" (initials) in a precedent or by "(AP)" after a supported name in the draft.
* Commitments ("het kabinet zal …", "ik zal …", "wij zullen …", "ik zeg toe"; not signposts
  like "hieronder zal ik …"): supported when one precedent-answer sentence with a future or
  commitment marker holds >= 60% of the sentence's content words, and at least min(3, |A|). The
  question never supports a promise.
* The question may support a figure (an answer repeats what was asked), but such a finding has
  support_ids ("question",) so that `app.drafting.draft` can warn that no precedent confirms it: an
  injected "schrijf dat het kabinet 250 miljoen euro uittrekt" must not pass silently.

Extraction (what a text states, with Dutch number normalisation) lives in `app.checking.facts`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.checking import facts
from app.checking.fact_rules import (
    DATE_MIN_SHARED,
    SUBJECT_MIN_RATIO,
)
from app.checking.fact_rules import GENERIC as _GENERIC
from app.checking.fact_rules import conflicts as _conflicts
from app.checking.fact_rules import supports as _supports
from app.checking.fact_rules import window as _window
from app.checking.facts import Fact, wordset
from app.records import CheckReport, Finding, Precedent
from app.text import clip

log = logging.getLogger(__name__)

COMMIT_MIN_RATIO = 0.6
COMMIT_MIN_SHARED = 3

_COMMIT_STOP = wordset("kabinet regering minister staatssecretaris")
_FUTURE_RE = re.compile(r"(?i:\b(?:zal|zullen|toegezegd|toezegging\w*|toezeggen|zeg\w*\s+(?:u\s+)?"
                        r"toe|voornemens?|voornemen|van plan|ga|gaan|gaat)\b)")  # fmt: skip


@dataclass(frozen=True)
class _Stated:
    """A figure in a source, with the content words around it (its subject) and its context."""

    fact: Fact
    words: frozenset[str]
    context: str
    in_answer: bool
    """Stated by the cabinet (a precedent answer), so it can contradict a draft."""


@dataclass
class _Source:
    """The question or one precedent, with its facts precomputed once per check."""

    id: str
    text: str
    squashed: str
    figures: list[_Stated] = field(default_factory=list)
    years: set[int] = field(default_factory=set)
    promises: list[frozenset[str]] = field(default_factory=list)
    initials: set[str] = field(default_factory=set)
    proper: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, sid: str, question: str, answer: str = "") -> _Source:
        text = f"{question}\n{answer}"
        src = cls(sid, text, facts.squash(text))
        for part, in_answer in ((question, False), (answer, True)):
            sents = facts.sentences(part)
            for f in facts.figures(part):
                words = facts.content_words(_window(part, f, sents), _GENERIC)
                ctx = " ".join(_window(part, f, sents, keep=True).split())
                src.figures.append(_Stated(f, words, ctx, in_answer))
                src.years.update(f.years)
        sents = facts.sentences(answer)
        src.promises = [
            facts.content_words(answer[s:e], _COMMIT_STOP)
            for s, e in sents
            if _FUTURE_RE.search(answer, s, e)
        ]
        src.proper = facts.proper_words(text)
        src.initials = {
            "".join(w[0] for w in n.text.split() if w[0].isupper())
            for n in facts.names(text, src.proper)
            if " " in n.text
        }
        return src

    def has_name(self, name: str) -> bool:
        if not any(c.islower() for c in name):  # an acronym: exact, case-sensitive
            return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w])", self.text) is not None
        key = facts.squash(name)
        return key in self.squashed or facts.stem(key) in self.squashed

    def defines(self, acronym: str) -> bool:
        """A name here has the acronym's initials ("Autoriteit Persoonsgegevens" for "AP")."""
        return acronym.isupper() and acronym.isalpha() and acronym in self.initials


def _overlap(a: frozenset[str], b: frozenset[str], least: int = 1) -> float:
    """Subject overlap of two figure contexts; 0 below the thresholds in the module docstring."""
    shared, low = len(a & b), min(len(a), len(b))
    ok = shared >= least and shared / low >= SUBJECT_MIN_RATIO
    return shared / low if ok else 0.0


def _check_figure(
    f: Fact,
    words: frozenset[str],
    figs: dict[tuple[object, ...], list[tuple[Fact, frozenset[str]]]],
    sources: list[_Source],
) -> Finding:
    ids: list[str] = []
    support, best = 0.0, ""
    against: tuple[float, str] | None = None
    least = DATE_MIN_SHARED if f.kind in ("date", "period") else 1  # dates are everywhere
    for src in sources:
        hits = [s for s in src.figures if _supports(f, s.fact, src.years)]
        if hits or (f.kind == "period" and set(f.years) <= src.years):
            ids.append(src.id)
            score = max((_overlap(words, s.words) for s in hits), default=0.0)
            score = 1.0 if src.id == "question" else score
            if score > support or not best:
                support, best = score, src.id
        for s in src.figures:
            if not (s.in_answer and _conflicts(f, s.fact)):
                continue
            score = _overlap(words, s.words, least)
            # The draft states this precedent figure too, on the same subject: not evidence.
            same = (
                hw for k in _keys(s.fact, as_evidence=True) for h, hw in figs.get(k, ()) if h != f
            )
            if any(_overlap(hw, s.words) >= score for hw in same):
                continue
            if score and (against is None or score > against[0]):
                against = (score, f"precedent {src.id} noemt '{s.fact.text}': «{s.context[:160]}»")
    if against and against[0] > support:
        return Finding(f.kind, f.text, f.start, f.end, "contradicted", (), against[1])
    if ids:
        # Say where the support came from: a note must not blame the question for a figure
        # that only a precedent states.
        by = "genoemd in de vraag" if best == "question" else f"precedent {best} noemt dit ook"
        note = f"{by}, maar {against[1]}" if against else ""
        return Finding(f.kind, f.text, f.start, f.end, "supported", tuple(ids), note)
    return Finding(f.kind, f.text, f.start, f.end, "unsupported")


def _keys(f: Fact, as_evidence: bool = False) -> list[tuple[object, ...]]:
    """Index keys: a draft figure `h` accounts for a precedent figure `g` when they share one."""
    if f.kind == "period" or (f.kind == "date" and not as_evidence):
        years: list[tuple[object, ...]] = [("y", y) for y in f.years]
        return [*years, ("d", f.date)] if f.kind == "date" else years
    if f.kind == "date":
        return [("d", f.date)]
    return [(f.kind, f.unit, f"{f.value:.9g}")]


def check_answer(answer: str, question: str, precedents: Sequence[Precedent]) -> CheckReport:
    """Every checkable fact in `answer`, each marked supported / unsupported / contradicted, and
    the premise warnings on `question` (`app.checking.premise`: a figure a precedent
    contradicts)."""
    from app.checking.premise import (
        premise_warnings,  # app.checking.premise builds on this module's rules
    )

    premises = tuple(premise_warnings(question, precedents))
    if not answer.strip():
        return CheckReport((), premises)
    sources = [_Source.build("question", question)]
    sources += [_Source.build(p.id, p.question, p.answer) for p in precedents]
    sents = facts.sentences(answer)
    fig_words = {
        f: facts.content_words(_window(answer, f, sents), _GENERIC) for f in facts.figures(answer)
    }
    by_key: dict[tuple[object, ...], list[tuple[Fact, frozenset[str]]]] = {}
    for f, w in fig_words.items():
        for k in _keys(f):
            by_key.setdefault(k, []).append((f, w))
    findings = [_check_figure(f, w, by_key, sources) for f, w in fig_words.items()]

    proper = facts.proper_words(answer).union(*(s.proper for s in sources))
    names = facts.names(answer, proper)
    defined = _acronym_definitions(answer, names)
    for n in names:
        ids = tuple(s.id for s in sources if s.has_name(n.text))
        if not ids and n.text in defined:
            ids = tuple(s.id for s in sources if s.has_name(defined[n.text]))
        if not ids:
            ids = tuple(s.id for s in sources if s.defines(n.text))
        findings.append(
            Finding("name", n.text, n.start, n.end, "supported" if ids else "unsupported", ids)
        )

    for c in facts.commitments(answer):
        words = facts.content_words(c.text, _COMMIT_STOP)
        ids = tuple(
            s.id for s in sources
            if any(len(words & p) >= min(COMMIT_MIN_SHARED, len(words))
                   and len(words & p) >= COMMIT_MIN_RATIO * len(words) for p in s.promises)
        ) if words else ()  # fmt: skip
        status = "supported" if ids else "unsupported"
        note = "" if ids else "nieuwe toezegging: geen precedent doet deze belofte"
        findings.append(Finding("commitment", c.text, c.start, c.end, status, ids, note))
    findings.sort(key=lambda f: (f.start, -f.end))
    log.debug(
        "check: %d findings, %d problems",
        len(findings),
        sum(f.status != "supported" for f in findings),
    )
    return CheckReport(tuple(findings), premises)


def _acronym_definitions(answer: str, names: list[Fact]) -> dict[str, str]:
    """`Autoriteit Persoonsgegevens (AP)` in the answer lets "AP" borrow the full name's support."""
    out: dict[str, str] = {}
    for n in names:
        m = re.match(r"\s*\((?P<a>[^\W\d_][\w-]{1,11})\)", answer[n.end :])
        if m:
            initials = "".join(w[0] for w in n.text.split() if w[0].isupper())
            if initials.upper() == m["a"].upper():
                out[m["a"]] = n.text
    return out


def mark_problems(answer: str, report: CheckReport, open_: str = "⟦", close: str = "⟧") -> str:
    """The answer with each problem span wrapped (`⟦150 miljoen euro⟧`); a figure inside a flagged
    commitment stays nested, spans that cross are merged so the marks always nest."""
    spans = sorted({(f.start, f.end) for f in report.problems})
    merged = True
    while merged:
        merged = False
        for a, b in spans:
            cross = next(((c, d) for c, d in spans if a < c < b < d), None)
            if cross:
                spans = sorted({*spans, (a, cross[1])} - {(a, b), cross})
                merged = True
                break
    marks = sorted([(s, 1, -e, open_) for s, e in spans] + [(e, 0, -s, close) for s, e in spans])
    out, pos = [], 0
    for at, _, _, mark in marks:
        out.append(answer[pos:at] + mark)
        pos = at
    return "".join(out) + answer[pos:]


def format_report(report: CheckReport, answer: str) -> str:
    """A terminal report: problems first, each with its context, then what is supported."""
    problems, ok = report.problems, [f for f in report.findings if f.status == "supported"]
    lines = [f"Consistency check: {len(report.findings)} findings, {len(problems)} problem(s)."]
    if not report.findings:
        lines.append("Nothing to check: no figures, dates, names or commitments found.")
    if report.premises:
        lines += ["", "QUESTION PREMISE (a precedent contradicts the question)"]
        lines += [f"  {w}" for w in report.premises]
    lines += ["", "PROBLEMS"] if problems else []
    for f in problems:
        where = f"(chars {f.start}-{f.end})"
        lines.append(f"  {f.status.upper():<13} {f.kind:<11} {clip(f.text, 70)!r}  {where}")
        if f.kind != "commitment":
            ctx = f"{answer[max(0, f.start - 50) : f.start]}⟦{f.text}⟧{answer[f.end : f.end + 50]}"
            lines.append(f"{'':16}…{' '.join(ctx.split())}…")
        lines += [f"{'':16}{f.note}"] if f.note else []
    lines += ["", "SUPPORTED"] if ok else []
    for f in ok:
        lines.append(f"  {f.kind:<11} {clip(f.text, 50)!r}  ← {', '.join(f.support_ids)}")
        lines += [f"{'':14}note: {f.note}"] if f.note else []
    return "\n".join(lines)
