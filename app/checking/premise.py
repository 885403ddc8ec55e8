"""Premise check: does the *question* state a figure, date or place the cabinet contradicted?

Why: a question such as "Waarom investeert het kabinet 500 miljoen euro in de AI-fabriek in
Groningen?" invites a draft that answers as if 500 miljoen were true, while the cabinet said
131 miljoen. The coordinator must see that before the letter goes out, in Dutch: "De vraag
noemt 500 miljoen euro; het kabinet noemde eerder 131 miljoen euro (apply-ai-strategie,
vraag 10)". `app.checking.check.check_answer` puts these in `CheckReport.premises` (so `kv check`
shows
them); drafting calls `premise_warnings` itself.

The rules are `app.checking.check`'s (same extraction in `app.checking.facts`, same support and
conflict tests,
same figure context), made stricter, because a warning about the question must be right:

* Figures (amounts, percentages, counts, dates, years/periods, and quarters/halves of a year:
  "het derde kwartaal") in the question are compared with the figures in the precedent
  *answers* only: what the cabinet said, not what was asked before. A precedent figure of the
  same kind and unit with another value contradicts the question's figure when the content
  words around both share >= PREMISE_MIN_SHARED words (dates, years, quarters:
  DATE_MIN_SHARED) and shared / min(|A|, |B|) >= SUBJECT_MIN_RATIO. Differences from the check:
  a compound meets its last part ("stakeholdersessies" / "sessies"), and institutions named
  near any figure ("Europese Commissie") do not make a subject. No warning when a precedent
  states the question's figure on a subject at least as close, when the question itself states
  the precedent's figure too ("2,5 miljoen woningen, omgerekend 300.000 per jaar"), or when no
  precedent states a figure on the subject: that is not a contradiction.
* Places: "de AI-fabriek in Eindhoven" (a definite article: one particular thing) against
  "een AI-fabriek in Groningen" in a precedent answer, when the question's place occurs in no
  precedent, every precedent that places the same thing puts it in that one other place (many
  places for "politiepost": no single fact to contradict), and the two sentences share another
  content word. Countries and wider areas (`_WIDE`) are left out. Other names (partner
  countries, organisations, people) are not compared: a name the precedents do not mention is
  not evidence that the question is wrong, and swapped names have no "same slot" to compare.

On the corpus questions next to no warnings, and the one that fires is right; most changed
figures are caught. Measured: docs/measurements.md#premise-check (tests/test_premise.py holds
the bounds).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.checking import facts
from app.checking.fact_rules import DATE_MIN_SHARED, SUBJECT_MIN_RATIO
from app.checking.fact_rules import GENERIC as _GENERIC
from app.checking.fact_rules import conflicts as _conflicts
from app.checking.fact_rules import supports as _supports
from app.checking.fact_rules import window as _window
from app.checking.facts import Fact
from app.records import Precedent

_PARTS = ("quarter", "half")
_TIME_KINDS = ("date", "period", *_PARTS)
PREMISE_MIN_SHARED = 2
"""Shared content words needed before a question figure counts as on a precedent's subject."""

_PLACE_RE = re.compile(
    r"(?<![\w-])(?P<det>(?i:de|het|een|deze|dit|onze|hun))\s+(?:[a-zà-ÿ]+e\s+)?"
    r"(?P<head>[a-zà-ÿ][\w-]*[a-zà-ÿ]|[A-Z]{2,}-[a-zà-ÿ][\w-]*)\s+(?:in|te)\s+"
    r"(?P<place>[A-Z][a-zà-ÿ]+(?:-[A-Z][a-zà-ÿ]+)*(?:\s(?:aan|op)\s(?:de|den)\s[A-Z][a-zà-ÿ]+)?)"
    r"(?![\w-])"
)
"""A thing and where it is: "de AI-fabriek in Groningen", "het teambureau te Heerenveen"."""
_ALSO_GENERIC = facts.wordset("""
europese europees europa commissie nederland nederlandse lidstaten lidstaat ministerie overheid
overheden rijksoverheid regering""")
"""Institutions named around half the figures in any letter: "Europese Commissie" alone does not
make a question's "1 miljard euro" and an answer's "10 miljoen euro" one subject."""
_STOP = _GENERIC | _ALSO_GENERIC
_HYPHEN_BREAK = re.compile(r"(?<=\w)-[ \t]*\n\s*(?=[a-zà-ÿ])(?!(?:en|of)\b)")
_WIDE = facts.wordset("""
Nederland Europa Europese Unie Duitsland Belgie België Frankrijk Engeland Brussel Caribisch
Amerika Azie Azië Afrika China Rusland Oekraïne Oekraine Verenigde Staten Koninkrijk Den Haag
Randstad Nederlandse""")
"""Countries, continents and the seat of government: too wide to contradict a city."""


@dataclass(frozen=True)
class _Stated:
    """A figure in a precedent answer with the content words around it (its subject)."""

    fact: Fact
    words: frozenset[str]


@dataclass(frozen=True)
class _Place:
    """A particular thing and where it is, as a question or answer states it."""

    head: str
    """Stem of the thing located ("aifabriek")."""
    phrase: str
    """As written: "AI-fabriek in Groningen"."""
    place: str
    definite: bool
    """ "de/het/deze/dit AI-fabriek": one particular thing, so it has one place."""
    words: frozenset[str]
    """The sentence's other content words."""


@dataclass(frozen=True)
class PrecedentAnswer:
    """One precedent answer with its figures and places, computed once per call."""

    label: str
    text: str
    squashed: str
    figures: tuple[_Stated, ...]
    years: frozenset[int]
    places: tuple[_Place, ...]

    @classmethod
    def build(cls, p: Precedent) -> PrecedentAnswer:
        text = _HYPHEN_BREAK.sub("-", p.answer)
        sents = facts.sentences(text)
        figs = tuple(
            _Stated(f, facts.content_words(_window(text, f, sents), _STOP)) for f in _figures(text)
        )
        years = frozenset(y for s in figs for y in s.fact.years)
        squashed = facts.squash(f"{p.question}\n{text}")
        return cls(label(p), text, squashed, figs, years, tuple(_places(text)))


def label(p: Precedent) -> str:
    """A readable name for a precedent: "apply-ai-strategie, vraag 10" ("vragen 4 en 5")."""
    if not p.numbers:
        return p.id
    nums = [str(n) for n in p.numbers]
    which = f"vraag {nums[0]}" if len(nums) == 1 else f"vragen {', '.join(nums[:-1])} en {nums[-1]}"
    return f"{p.letter_id}, {which}"


def _overlap(a: frozenset[str], b: frozenset[str], least: int) -> float:
    """`app.checking.check`'s subject overlap, where a compound meets its last part
    ("stakeholdersessie"
    and "sessie", "agrifoodsector" and "sector"): a question rarely repeats the exact word."""
    shared = sum(1 for w in a if w in b or any(_compound(w, v) for v in b))
    ratio = min(1.0, shared / max(1, min(len(a), len(b))))
    return ratio if shared >= least and ratio >= SUBJECT_MIN_RATIO else 0.0


def _compound(w: str, v: str) -> bool:
    short, long = sorted((w, v), key=len)
    return len(short) >= 5 and long.endswith(short)


def _figures(text: str) -> list[Fact]:
    return sorted(facts.figures(text) + facts.year_parts(text), key=lambda f: f.start)


def _agrees(f: Fact, g: Fact, years: set[int]) -> bool:
    """`app.checking.check._supports`, and a quarter or half of a year the same as `g`."""
    return _supports(f, g, years) or (f.kind in _PARTS and f.kind == g.kind and f.value == g.value)


def _shown(text: str, f: Fact) -> str:
    """The figure as a reader says it: a year keeps its preposition ("na 2030")."""
    shown = " ".join(f.text.split())
    if f.kind in _PARTS:
        return f"{'het' if f.kind == 'quarter' else 'de'} {shown}"
    prev = facts.prev_word(text, f.start)
    if f.kind == "period" and len(f.years) == 1 and prev in facts.YEAR_PREP:
        return f"{prev} {shown}"
    return shown


def _figure_warning(
    question: str, f: Fact, words: frozenset[str], asked: list[Fact], answers: list[PrecedentAnswer]
) -> str:
    """The warning for question figure `f`, or "". A precedent figure the question states too
    ("2,5 miljoen woningen, omgerekend 300.000 per jaar") is not against it."""
    least = DATE_MIN_SHARED if f.kind in _TIME_KINDS else PREMISE_MIN_SHARED
    support = 0.0
    against: tuple[float, PrecedentAnswer, Fact] | None = None
    for a in answers:
        for s in a.figures:
            if _agrees(f, s.fact, set(a.years)):
                support = max(support, _overlap(words, s.words, 1))
            elif _conflicts(f, s.fact) and not any(_agrees(s.fact, h, set()) for h in asked):
                score = _overlap(words, s.words, least)
                if score and (against is None or score > against[0]):
                    against = (score, a, s.fact)
    if against is None or against[0] <= support:
        return ""
    _, a, g = against
    return (
        f"De vraag noemt {_shown(question, f)}; het kabinet noemde eerder "
        f"{_shown(a.text, g)} ({a.label})"
    )


def _places(text: str) -> list[_Place]:
    """Each "de/het/een <ding> in|te <Plaats>" in `text`, wide areas (`_WIDE`) left out."""
    sents = facts.sentences(text)
    out = []
    for m in _PLACE_RE.finditer(text):
        place, head = " ".join(m["place"].split()), m["head"]
        if (
            head.lower() in facts.STOPWORDS
            or place.split()[0] in facts.NAME_STOP
            or any(w in _WIDE for w in place.replace("-", " ").split())
        ):
            continue
        s, e = next(((s, e) for s, e in sents if s <= m.start() < e), (0, len(text)))
        words = facts.content_words(text[s:e], _STOP) - facts.content_words(place)
        phrase = " ".join(text[m.start("head") : m.end()].split())
        definite = m["det"].lower() in ("de", "het", "deze", "dit")
        out.append(_Place(facts.stem(head), phrase, place, definite, words - {facts.stem(head)}))
    return out


def _place_warnings(question: str, answers: list[PrecedentAnswer]) -> list[str]:
    """A particular thing put somewhere the precedents never name, while every precedent that
    places the same thing puts it in one other place."""
    out = []
    q_squashed = facts.squash(question)
    for q in _places(question):
        if not q.definite or any(facts.squash(q.place) in a.squashed for a in answers):
            continue  # "een politiepost in …" is one of many; a named place is not contradicted
        same = [(a, p) for a in answers for p in a.places if p.head == q.head]
        if len({p.place for _, p in same}) != 1 or facts.squash(same[0][1].place) in q_squashed:
            continue  # several places for the same kind of thing: no single fact to contradict
        hits = [(len(q.words & p.words), a, p) for a, p in same if q.words & p.words]
        if hits:
            _, a, p = max(hits, key=lambda h: h[0])
            w = f"De vraag noemt {q.phrase}; het kabinet noemde eerder {p.phrase} ({a.label})"
            out += [] if w in out else [w]
    return out


def premise_warnings(question: str, precedents: Sequence[Precedent]) -> list[str]:
    """Dutch warnings, each "De vraag noemt …", for figures, dates and places in `question` that
    a precedent answer on the same subject contradicts (see the module docstring)."""
    if not question.strip() or not precedents:
        return []
    return warnings_against(
        question, [PrecedentAnswer.build(p) for p in precedents if p.answer.strip()]
    )


def warnings_against(question: str, answers: list[PrecedentAnswer]) -> list[str]:
    """`premise_warnings` on answers built once (the corpus measurement reuses them)."""
    text = _HYPHEN_BREAK.sub("-", question)
    sents = facts.sentences(text)
    out: list[str] = []
    asked = _figures(text)
    for f in asked:
        words = facts.content_words(_window(text, f, sents), _STOP)
        w = _figure_warning(text, f, words, asked, answers)
        if w and w not in out:
            out.append(w)
    out += [w for w in _place_warnings(text, answers) if w not in out]
    return out
