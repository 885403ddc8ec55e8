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
  that subject is not evidence. Measured on the 42 shared letters (each answer against the
  other answers of its letter, and against four unrelated letters): 0 false contradictions; of
  525 real figures changed by a small step, 95% flagged, 79% as contradictions.
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
"""

from __future__ import annotations

import bisect
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.records import CheckReport, Finding, Precedent

log = logging.getLogger(__name__)

CONTEXT_CHARS = 100
SUBJECT_MIN_RATIO = 0.5
DATE_MIN_SHARED = 3
COMMIT_MIN_RATIO = 0.6
COMMIT_MIN_SHARED = 3

_SCALES = {"duizend": 1e3, "miljoen": 1e6, "mln": 1e6, "miljard": 1e9, "mld": 1e9, "mrd": 1e9,
           "biljoen": 1e12}  # fmt: skip
_WORDNUMS = {"een": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7,
             "acht": 8, "negen": 9, "tien": 10, "elf": 11, "twaalf": 12}  # fmt: skip
_MONTHS = {"januari": 1, "februari": 2, "maart": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7,
           "augustus": 8, "september": 9, "oktober": 10, "november": 11, "december": 12,
           "jan.": 1, "feb.": 2, "mrt.": 3, "apr.": 4, "jun.": 6, "jul.": 7, "aug.": 8,
           "sep.": 9, "sept.": 9, "okt.": 10, "nov.": 11, "dec.": 12}  # fmt: skip


def _w(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOPWORDS = _w("""
aan af al alle alleen als ander andere anders beide bij bijvoorbeeld binnen bovendien buiten ca
circa daar daarbij daarin daarmee daarnaast daarom daarvan daarvoor dan dat de deze die dit door
dus echter een eens eerder elk elke en enkele er eraan erop ervan geen had heb hebben heeft hem
het hier hierbij hierin hiermee hiervoor hij hoe hun ieder iedere ik immers in inmiddels is ja je
kan kon kunnen maar me mede meer men met mij mijn moet moeten na naar nader nee niet niets nog nu
of om omdat onder ongeveer ons onze ook op over per reeds rond ruim sinds te tegen tevens thans
toch toen tot tussen u uit uw van vanaf vanuit veel verder via voor waar waarbij waarin waarom
want waren was wat we wel welke werd werden wie wij wil worden wordt zal ze zelf zich zij zijn
zo zoals zodat zonder zou zouden zullen bijna tijdens alsmede betreft hierover daarover""")
_GENERIC = _w("""
euro euros miljoen miljard procent jaar jaren jaarlijks totaal bedrag bedragen kabinet minister
kamer beschikbaar gesteld stellen gaat gaan komende afgelopen huidige nieuwe extra aantal kamerbrief
brief laten weten tweede aanhangsel vergaderjaar issn gravenhage""")
"""Words too common around figures to say what a figure is about."""
_COMMIT_STOP = _w("kabinet regering minister staatssecretaris")
NAME_STOP = _w("""
Het De Een Dit Deze Die Dat Er Ik Wij We U Uw Zij Ze Hij Zo Ook In Op Met Voor Van Bij Naar Om
Als Tot Via Door Daarnaast Daarom Daarbij Verder Zoals Wel Niet Nee Ja Kabinet Kamer Tweede
Eerste Kamerlid Kamerleden Voorzitter Regering Rijk Rijksoverheid Overheid Vraag Vragen Antwoord
Antwoorden Geachte Hoogachtend Zie Bijlage Noot Datum Onderwerp Januari Februari Maart April Mei
Juni Juli Augustus September Oktober November December Maandag Dinsdag Woensdag Donderdag
Vrijdag Zaterdag Zondag Staten-Generaal Handelingen Aanhangsel Kamerstuk Kamerstukken Volgens Naast
Namens Vanuit Conform Indien Hoewel Wanneer Gezien Zowel Ten Ter Hierin Daarin Daarmee Daarvoor
Hiervoor Hiermee Bovendien Tevens Echter Dus Uiteraard Graag Momenteel Recent Onlangs Vorige Vorig
Afgelopen Komende""") | {w.capitalize() for w in STOPWORDS}
"""Capitalised words that are never (the start of) a checkable name."""
_ROLES = _w("Minister Ministers Ministerie Staatssecretaris Minister-President Premier")
UBIQUITOUS = _w("AI EU NL VS VN ICT CO2 MW GW kWh MWh GWh TWh PJ BV NV EUR USD")
"""Acronyms in nearly every answer: not flagged alone (compounds like "AI-fabriek" still are)."""
_LINK = _w("van voor op der den 't ter te")
_REF_WORDS = _w("""vraag vragen antwoord artikel art lid nr nummer kamerstuk kamerstukken bijlage
paragraaf hoofdstuk pagina blz p vergaderjaar issn motie ii gravenhage""")
_YEAR_PREP = _w("""in tot vanaf sinds per eind begin medio voor na uit van jaar najaar voorjaar
zomer winter herfst halverwege rond t/m""")

_NUM = r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?|[0-9]+(?:[.,][0-9]+)?"
_YEAR = r"(?:19|20)[0-9]{2}"
_MONTH_ALT = "|".join(re.escape(m) for m in sorted(_MONTHS, key=len, reverse=True))
_DATE_RE = re.compile(
    rf"(?<![\w.,])(?:(?P<d>[0-3]?[0-9])\s+)?(?P<m>(?i:{_MONTH_ALT}))(?!\w)(?:\s+(?P<y>{_YEAR})(?!\w))?"
)
_NUMDATE_RE = re.compile(
    rf"(?<![\w.,])(?P<d>[0-3]?[0-9])[-/](?P<m>[01]?[0-9])[-/](?P<y>{_YEAR})(?!\w)"
)
_PERIOD_RE = re.compile(
    rf"(?:(?i:tussen|van|vanaf|in de periode)\s+)?(?<![\w.,])(?P<y1>{_YEAR})(?:\s*[-–—/]\s*"
    rf"(?P<y2>{_YEAR}|[0-9]{{2}})|\s+(?:tot en met|t/m|tot|en)\s+(?P<y3>{_YEAR}))(?![\w%.,])"
)
_NUMBER_RE = re.compile(
    rf"(?<![\w.,/])(?:(?P<num>{_NUM})|(?P<word>(?i:{'|'.join(_WORDNUMS)})))(?![\w])"
)
_SCALE_RE = re.compile(r"\s*(?P<s>(?i:duizend|miljoen|miljard|biljoen|mln|mld|mrd))(?!\w)"
                       r"(?:\.(?=\s*(?:euro|EUR|dollar|USD|[a-z])))?")  # fmt: skip
_PCT_RE = re.compile(r"\s?(?:%|(?i:procent(?:punt(?:en)?)?)(?!\w))")
_CUR_AFTER_RE = re.compile(
    r"\s*(?:(?P<eur>(?i:euro(?:['’]s)?|eur))|(?P<usd>(?i:dollar|usd)))(?![a-zA-Z])"
)
_CUR_BEFORE_RE = re.compile(r"(?:(?P<eur>€|EUR)|(?P<usd>US\$|\$|USD))\s?$")
_UNIT_RE = re.compile(
    r"(?:[ \t]+|[ \t]*\n[ \t]*(?=[a-z]))(?P<u>[^\W\d_][\w'’]*(?:-[^\W\d_][\w'’]*)*)"
)
_RANGE_RE = re.compile(r"\s*(?:-|–|—|à|a|tot(?: en met)?|t/m|en|of)\s*")
_PREV_WORD_RE = re.compile(r"([^\W\d_][\w/]*)[.\s]*$")
_JOIN_RE = re.compile(r"[ \t]{1,3}|[ \t]*\n[ \t]*")
_TOKEN_RE = re.compile(r"[^\W_][\w'’]*(?:-[^\W_][\w'’]*)*")
_SENT_RE = re.compile(r"(?<=[.!?])\s+(?=[«\"“(]?[A-ZÀ-Þ0-9])|\n\s*\n|\n(?=\s*[–•*-]\s)")
_SUBJ = r"(?:ik|wij|we|het kabinet|dit kabinet|de regering|de minister|de staatssecretaris)"
_COMMIT_RE = re.compile(
    rf"(?i:\b{_SUBJ}(?:\s+(?:van|voor)\s+[^,.;:]{{1,60}}?)?\s+(?:zal|zullen)\b"
    rf"|\b(?:zal|zullen)\s+{_SUBJ}\b|\b(?:ik|wij|we|kabinet)\s+zeg(?:t|gen)?\s+(?:u\s+)?toe\b)"
)
_SIGNPOST_RE = re.compile(r"(?i:\b(?:hieronder|hierna|hierboven|onderstaand|navolgend)\b)")
_FUTURE_RE = re.compile(r"(?i:\b(?:zal|zullen|toegezegd|toezegging\w*|toezeggen|zeg\w*\s+(?:u\s+)?"
                        r"toe|voornemens?|voornemen|van plan|ga|gaan|gaat)\b)")  # fmt: skip


@dataclass(frozen=True)
class _Fact:
    kind: str
    start: int
    end: int
    text: str
    value: float = 0.0
    unit: str = ""
    """Currency for amounts ("EUR"), unit stem for numbers ("vrag")."""
    date: tuple[int, int, int] = (0, 0, 0)
    """(day, month, year); 0 where the text does not state it."""
    years: tuple[int, ...] = ()


def _to_float(s: str) -> float:
    if re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?", s):
        s = s.replace(".", "")
    return float(s.replace(",", "."))


def _stem(word: str) -> str:
    """Crude Dutch stem, so "woningen" meets "woning" (no vendor stemmer in this module)."""
    w = word.lower().replace("-", "").replace("’", "'")
    for suf in ("'s", "en", "s", "e"):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            return w[: -len(suf)]
    return w


def _content_words(text: str, extra_stop: frozenset[str] = frozenset()) -> frozenset[str]:
    words = (t.lower() for t in _TOKEN_RE.findall(text) if not any(c.isdigit() for c in t))
    return frozenset(
        _stem(w) for w in words
        if len(w) >= 3 and w not in STOPWORDS and w not in extra_stop and w not in _MONTHS
    )  # fmt: skip


def _sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed; PDF line breaks do not split."""
    spans, pos = [], 0
    for m in [*_SENT_RE.finditer(text), None]:
        end = m.start() if m else len(text)
        seg = text[pos:end]
        if seg.strip():
            lead = len(seg) - len(seg.lstrip())
            spans.append((pos + lead, pos + len(seg.rstrip())))
        pos = m.end() if m else pos
    return spans


def _prev_word(text: str, start: int) -> str:
    m = _PREV_WORD_RE.search(text[max(0, start - 30) : start])
    return m.group(1).lower() if m else ""


@dataclass
class _Tail:
    """What follows (or precedes) a number: scale word, currency, percent sign."""

    start: int
    end: int
    scale: float = 1.0
    pct: bool = False
    cur: str = ""


def _tail(text: str, m: re.Match[str]) -> _Tail:
    t = _Tail(m.start(), m.end())
    sm = _SCALE_RE.match(text, t.end)
    if sm:
        t.scale, t.end = _SCALES[sm["s"].lower()], sm.end()
    pm = _PCT_RE.match(text, t.end)
    cm = _CUR_AFTER_RE.match(text, t.end)
    bm = _CUR_BEFORE_RE.search(text[max(0, m.start() - 4) : m.start()])
    if pm:
        t.pct, t.end = True, pm.end()
    elif cm or bm:
        t.cur = "USD" if (cm and cm["usd"]) or (bm and bm["usd"]) else "EUR"
        t.end = cm.end() if cm else t.end
        t.start = m.start() - len(bm[0]) if bm else t.start
    return t


def _figures(text: str) -> list[_Fact]:
    """Every amount, percentage, count, date and period in `text`, with exact spans."""
    facts: list[_Fact] = []
    taken = bytearray(len(text) + 1)  # 1 = already part of a figure

    def free(s: int, e: int) -> bool:
        return not any(taken[s:e])

    def take(s: int, e: int) -> None:
        taken[s:e] = b"\x01" * (e - s)

    def add(f: _Fact) -> None:
        facts.append(f)
        take(f.start, f.end)

    for rx in (_NUMDATE_RE, _DATE_RE):
        for m in rx.finditer(text):
            d, y = int(m["d"] or 0), int(m["y"] or 0)
            mo = int(m["m"]) if m["m"].isdigit() else _MONTHS[m["m"].lower()]
            if (not d and not y) or d > 31 or not 1 <= mo <= 12 or not free(m.start(), m.end()):
                continue  # a bare month name ("in mei") is not a checkable date
            add(_Fact("date", m.start(), m.end(), m[0], date=(d, mo, y), years=(y,) if y else ()))
    for m in _PERIOD_RE.finditer(text):
        y1, y2s = int(m["y1"]), m["y2"] or m["y3"]
        y2 = int(y2s) if len(y2s) == 4 else y1 // 100 * 100 + int(y2s)
        if not free(m.start(), m.end()) or y1 > y2:
            continue
        if _prev_word(text, m.start()) in _REF_WORDS:
            take(m.start(), m.end())  # "vergaderjaar 2023–2024": a reference
        else:
            add(_Fact("period", m.start(), m.end(), m[0], years=(y1, y2)))

    nums = [m for m in _NUMBER_RE.finditer(text) if free(m.start(), m.end())]
    tails = [_tail(text, m) for m in nums]
    # "0,2 en 0,5 procent", "2 à 3 miljoen euro": the first number takes the second's unit.
    for i in range(len(nums) - 2, -1, -1):
        here, nxt = tails[i], tails[i + 1]
        if (here.end == nums[i].end() and (nxt.pct or nxt.cur or nxt.scale != 1.0)
                and _RANGE_RE.fullmatch(text, nums[i].end(), nums[i + 1].start())):  # fmt: skip
            here.scale, here.pct, here.cur = nxt.scale, nxt.pct, nxt.cur
    for m, t in zip(nums, tails, strict=True):
        if (m["num"] and len(m["num"]) > 15) or not free(t.start, t.end):
            continue
        word = (m["word"] or "").lower()
        if word == "een" and t.scale == 1.0:
            continue  # the article, not a number
        value = (_to_float(m["num"]) if m["num"] else _WORDNUMS[word]) * t.scale
        span = text[t.start : t.end]
        if t.pct:
            add(_Fact("percentage", t.start, t.end, span, value=value))
            continue
        if t.cur:
            add(_Fact("amount", t.start, t.end, span, value=value, unit=t.cur))
            continue
        prev = _prev_word(text, t.start)
        if prev in _REF_WORDS:
            continue  # "vraag 4", "artikel 10", "nr. 225": references, not figures
        um = _UNIT_RE.match(text, t.end)
        unit = um["u"] if um and um["u"].lower() not in STOPWORDS else ""
        is_year = bool(m["num"] and re.fullmatch(_YEAR, m["num"])) and t.scale == 1.0
        if unit[:1].isupper() and t.scale == 1.0:
            unit = ""  # "8 Zie …", "2 Kamerstuk …": a footnote number, not a count
        if is_year and (not unit or prev in _YEAR_PREP):
            add(_Fact("period", t.start, t.end, span, years=(int(m["num"]),)))
        elif unit and um:
            end = um.end()
            add(_Fact("number", t.start, end, text[t.start : end], value=value, unit=_stem(unit)))
        elif t.scale != 1.0:
            add(_Fact("number", t.start, t.end, span, value=value))
    return sorted(facts, key=lambda f: f.start)


def _is_acronym(tok: str) -> bool:
    for part in tok.split("-"):
        if re.fullmatch(r"[IVXLC]+", part):
            continue
        if sum(c.isupper() for c in part) >= 2 or re.fullmatch(r"[A-Z]+[0-9]+", part):
            return True
    return False


def _runs(text: str) -> list[list[re.Match[str]]]:
    """Runs of capitalised words, joined by "van", "voor", "van de", … on the same or next line."""
    runs: list[list[re.Match[str]]] = []
    cur: list[re.Match[str]] = []
    for m in _TOKEN_RE.finditer(text):
        tok = m[0]
        joined = bool(cur) and _JOIN_RE.fullmatch(text, cur[-1].end(), m.start()) is not None
        link = tok in _LINK or (tok in ("de", "het") and bool(cur) and cur[-1][0] in _LINK)
        if joined and (tok[0].isupper() or link):
            cur.append(m)
        else:
            runs.append(cur)
            cur = [m] if tok[0].isupper() else []
    runs.append(cur)
    return [r for r in runs if r]


def _proper_words(text: str) -> set[str]:
    """Capitalised words seen mid-sentence: proper nouns, so still a name when opening one."""
    return {
        m[0]
        for m in _TOKEN_RE.finditer(text)
        if m[0][0].isupper() and not _at_sentence_start(text, m.start())
    }


def _names(text: str, proper: set[str]) -> list[_Fact]:
    """Multi-word capitalised names and acronyms; see the module docstring for what is dropped."""
    out: list[_Fact] = []
    for run in _runs(text):
        roles = [i for i, t in enumerate(run) if t[0] in _ROLES]
        run = run[: roles[0]] if roles else run  # "Minister van …": a title, not a name
        while run and (
            run[0][0].islower()
            or run[0][0] in NAME_STOP
            or (_at_sentence_start(text, run[0].start()) and run[0][0] not in proper)
        ):
            run = run[1:]
        while run and (run[-1][0].islower() or run[-1][0] in NAME_STOP):
            run = run[:-1]
        if sum(t[0][0].isupper() for t in run) >= 2:
            start, end = run[0].start(), run[-1].end()
            out.append(_Fact("name", start, end, text[start:end]))
        elif len(run) == 1 and _is_acronym(run[0][0]) and run[0][0] not in UBIQUITOUS:
            out.append(_Fact("name", run[0].start(), run[0].end(), run[0][0]))
    return out


def _at_sentence_start(text: str, pos: int) -> bool:
    before = text[max(0, pos - 200) : pos]
    head = before.rstrip()
    return not head or head.endswith(tuple(".!?:;•–-*")) or "\n\n" in before[len(head) :]


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).casefold()


def _commitments(text: str) -> list[_Fact]:
    return [
        _Fact("commitment", s, e, text[s:e])
        for s, e in _sentences(text)
        if _COMMIT_RE.search(text, s, e) and not _SIGNPOST_RE.search(text, s, e)
    ]


def _window(text: str, f: _Fact, sentences: list[tuple[int, int]], keep: bool = False) -> str:
    """The words around a figure within its sentence (`keep`: with the figure itself)."""
    i = bisect.bisect_right(sentences, (f.start, len(text) + 1)) - 1
    s, e = sentences[i] if i >= 0 and f.start < sentences[i][1] else (0, len(text))
    mid = f.text if keep else " "
    return (
        text[max(s, f.start - CONTEXT_CHARS) : f.start]
        + mid
        + text[f.end : min(e, f.end + CONTEXT_CHARS)]
    )


@dataclass(frozen=True)
class _Stated:
    """A figure in a source, with the content words around it (its subject) and its context."""

    fact: _Fact
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
        src = cls(sid, text, _squash(text))
        for part, in_answer in ((question, False), (answer, True)):
            sents = _sentences(part)
            for f in _figures(part):
                words = _content_words(_window(part, f, sents), _GENERIC)
                ctx = " ".join(_window(part, f, sents, keep=True).split())
                src.figures.append(_Stated(f, words, ctx, in_answer))
                src.years.update(f.years)
        sents = _sentences(answer)
        src.promises = [
            _content_words(answer[s:e], _COMMIT_STOP)
            for s, e in sents
            if _FUTURE_RE.search(answer, s, e)
        ]
        src.proper = _proper_words(text)
        src.initials = {
            "".join(w[0] for w in n.text.split() if w[0].isupper())
            for n in _names(text, src.proper)
            if " " in n.text
        }
        return src

    def has_name(self, name: str) -> bool:
        if not any(c.islower() for c in name):  # an acronym: exact, case-sensitive
            return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w])", self.text) is not None
        key = _squash(name)
        return key in self.squashed or _stem(key) in self.squashed

    def defines(self, acronym: str) -> bool:
        """A name here has the acronym's initials ("Autoriteit Persoonsgegevens" for "AP")."""
        return acronym.isupper() and acronym.isalpha() and acronym in self.initials


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _supports(f: _Fact, g: _Fact, years: set[int]) -> bool:
    if f.kind == "period":
        return g.kind in ("period", "date") and set(f.years) <= set(g.years)
    if f.kind == "percentage":
        return g.kind == "percentage" and _same(f.value, g.value)
    if f.kind == "amount":
        return _same(f.value, g.value) and (
            (g.kind == "amount" and g.unit == f.unit)
            or (g.kind == "number" and re.match(r"(?:euro(?!p)|$)", g.unit) is not None)
        )
    if f.kind == "number":
        return (g.kind in ("number", "amount") and _same(f.value, g.value)
                and (g.unit == f.unit or f.value >= 100))  # fmt: skip
    if f.kind == "date" and g.kind == "date":
        (d, mo, y), (gd, gmo, gy) = f.date, g.date
        return mo == gmo and d in (0, gd) and (y in (0, gy) or (gy == 0 and y in years))
    return False


def _conflicts(f: _Fact, g: _Fact) -> bool:
    if f.kind != g.kind:
        return False
    if f.kind == "period":  # "2024" against "2023", a range against a range
        return len(f.years) == len(g.years) and set(f.years) != set(g.years)
    if f.kind == "date":  # a part both state differs ("27 maart 2023" fits "maart 2023")
        return any(a != b and a and b for a, b in zip(f.date, g.date, strict=True))
    if f.kind == "number" and f.unit != g.unit:
        return False
    return (f.kind != "amount" or f.unit == g.unit) and not _same(f.value, g.value)


def _overlap(a: frozenset[str], b: frozenset[str], least: int = 1) -> float:
    """Subject overlap of two figure contexts; 0 below the thresholds in the module docstring."""
    shared, low = len(a & b), min(len(a), len(b))
    ok = shared >= least and shared / low >= SUBJECT_MIN_RATIO
    return shared / low if ok else 0.0


def _check_figure(
    f: _Fact,
    words: frozenset[str],
    figs: dict[tuple[object, ...], list[tuple[_Fact, frozenset[str]]]],
    sources: list[_Source],
) -> Finding:
    ids: list[str] = []
    support = 0.0
    against: tuple[float, str] | None = None
    least = DATE_MIN_SHARED if f.kind in ("date", "period") else 1  # dates are everywhere
    for src in sources:
        hits = [s for s in src.figures if _supports(f, s.fact, src.years)]
        if hits or (f.kind == "period" and set(f.years) <= src.years):
            ids.append(src.id)
            score = max((_overlap(words, s.words) for s in hits), default=0.0)
            support = max(support, 1.0 if src.id == "question" else score)
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
                against = (score, f"{src.id} states {s.fact.text!r}: «{s.context[:160]}»")
    if against and against[0] > support:
        return Finding(f.kind, f.text, f.start, f.end, "contradicted", (), against[1])
    if ids:
        note = f"stated in the question, but {against[1]}" if against else ""
        return Finding(f.kind, f.text, f.start, f.end, "supported", tuple(ids), note)
    return Finding(f.kind, f.text, f.start, f.end, "unsupported")


def _keys(f: _Fact, as_evidence: bool = False) -> list[tuple[object, ...]]:
    """Index keys: a draft figure `h` accounts for a precedent figure `g` when they share one."""
    if f.kind == "period" or (f.kind == "date" and not as_evidence):
        years: list[tuple[object, ...]] = [("y", y) for y in f.years]
        return [*years, ("d", f.date)] if f.kind == "date" else years
    if f.kind == "date":
        return [("d", f.date)]
    return [(f.kind, f.unit, f"{f.value:.9g}")]


def check_answer(answer: str, question: str, precedents: Sequence[Precedent]) -> CheckReport:
    """Every checkable fact in `answer`, each marked supported / unsupported / contradicted."""
    if not answer.strip():
        return CheckReport(())
    sources = [_Source.build("question", question)]
    sources += [_Source.build(p.id, p.question, p.answer) for p in precedents]
    sents = _sentences(answer)
    fig_words = {f: _content_words(_window(answer, f, sents), _GENERIC) for f in _figures(answer)}
    by_key: dict[tuple[object, ...], list[tuple[_Fact, frozenset[str]]]] = {}
    for f, w in fig_words.items():
        for k in _keys(f):
            by_key.setdefault(k, []).append((f, w))
    findings = [_check_figure(f, w, by_key, sources) for f, w in fig_words.items()]

    proper = _proper_words(answer).union(*(s.proper for s in sources))
    names = _names(answer, proper)
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

    for c in _commitments(answer):
        words = _content_words(c.text, _COMMIT_STOP)
        ids = tuple(
            s.id for s in sources
            if any(len(words & p) >= min(COMMIT_MIN_SHARED, len(words))
                   and len(words & p) >= COMMIT_MIN_RATIO * len(words) for p in s.promises)
        ) if words else ()  # fmt: skip
        status = "supported" if ids else "unsupported"
        note = "" if ids else "new commitment: no precedent makes this promise"
        findings.append(Finding("commitment", c.text, c.start, c.end, status, ids, note))
    findings.sort(key=lambda f: (f.start, -f.end))
    log.debug(
        "check: %d findings, %d problems",
        len(findings),
        sum(f.status != "supported" for f in findings),
    )
    return CheckReport(tuple(findings))


def _acronym_definitions(answer: str, names: list[_Fact]) -> dict[str, str]:
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
    lines += ["", "PROBLEMS"] if problems else []
    for f in problems:
        where = f"(chars {f.start}-{f.end})"
        lines.append(f"  {f.status.upper():<13} {f.kind:<11} {_clip(f.text, 70)!r}  {where}")
        if f.kind != "commitment":
            ctx = f"{answer[max(0, f.start - 50) : f.start]}⟦{f.text}⟧{answer[f.end : f.end + 50]}"
            lines.append(f"{'':16}…{' '.join(ctx.split())}…")
        lines += [f"{'':16}{f.note}"] if f.note else []
    lines += ["", "SUPPORTED"] if ok else []
    for f in ok:
        lines.append(f"  {f.kind:<11} {_clip(f.text, 50)!r}  ← {', '.join(f.support_ids)}")
        lines += [f"{'':14}note: {f.note}"] if f.note else []
    return "\n".join(lines)


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
