"""What facts does a text state? Figures, dates, names and commitments, with exact spans.

A pure extraction module (no notion of support or precedents: that is `app.checking.check`), so the
consistency check and the eval metrics normalise a fact the same way. Dutch formats are
normalised: "1.000" = 1000, "2,5" = 2.5, mln./mld., "procent" = %, "twee".."twaalf", dates in
words ("27 maart 2023") and numbers ("27-03-2023"), periods ("2023-2025", "tot en met 2030").
See `app.checking.check` for which names are dropped and what counts as a commitment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SCALES = {"duizend": 1e3, "miljoen": 1e6, "mln": 1e6, "miljard": 1e9, "mld": 1e9, "mrd": 1e9,
           "biljoen": 1e12}  # fmt: skip
_WORDNUMS = {"een": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7,
             "acht": 8, "negen": 9, "tien": 10, "elf": 11, "twaalf": 12}  # fmt: skip
_MONTHS = {"januari": 1, "februari": 2, "maart": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7,
           "augustus": 8, "september": 9, "oktober": 10, "november": 11, "december": 12,
           "jan.": 1, "feb.": 2, "mrt.": 3, "apr.": 4, "jun.": 6, "jul.": 7, "aug.": 8,
           "sep.": 9, "sept.": 9, "okt.": 10, "nov.": 11, "dec.": 12}  # fmt: skip


def wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOPWORDS = wordset("""
aan af al alle alleen als ander andere anders beide bij bijvoorbeeld binnen bovendien buiten ca
circa daar daarbij daarin daarmee daarnaast daarom daarvan daarvoor dan dat de deze die dit door
dus echter een eens eerder elk elke en enkele er eraan erop ervan geen had heb hebben heeft hem
het hier hierbij hierin hiermee hiervoor hij hoe hun ieder iedere ik immers in inmiddels is ja je
kan kon kunnen maar me mede meer men met mij mijn moet moeten na naar nader nee niet niets nog nu
of om omdat onder ongeveer ons onze ook op over per reeds rond ruim sinds te tegen tevens thans
toch toen tot tussen u uit uw van vanaf vanuit veel verder via voor waar waarbij waarin waarom
want waren was wat we wel welke werd werden wie wij wil worden wordt zal ze zelf zich zij zijn
zo zoals zodat zonder zou zouden zullen bijna tijdens alsmede betreft hierover daarover""")
NAME_STOP = wordset("""
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
_ROLES = wordset("Minister Ministers Ministerie Staatssecretaris Minister-President Premier")
UBIQUITOUS = wordset("AI EU NL VS VN ICT CO2 MW GW kWh MWh GWh TWh PJ BV NV EUR USD")
"""Acronyms in nearly every answer: not flagged alone (compounds like "AI-fabriek" still are)."""
_LINK = wordset("van voor op der den 't ter te")
_REF_WORDS = wordset("""
vraag vragen antwoord artikel art lid nr nummer kamerstuk kamerstukken bijlage
paragraaf hoofdstuk pagina blz p vergaderjaar issn motie ii gravenhage""")
_YEAR_PREP = wordset("""
in tot vanaf sinds per eind begin medio voor na uit van jaar najaar voorjaar
zomer winter herfst halverwege rond t/m""")
YEAR_PREP = _YEAR_PREP
"""Words before a bare number that make it a year ("na 2027"); `app.checking.premise` shows them."""

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
    rf"(?P<y2>{_YEAR}|[0-9]{{2}})|\s+(?:tot en met|t/m|tot|en)\s+(?P<y3>{_YEAR}))"
    r"(?![\w%]|[.,][0-9])"  # a sentence's full stop may follow: "… voor de jaren 2024-2026."
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
_CITES = r"(?:[ \t]*\[[0-9]+(?:\s*[,;]\s*[0-9]+)*\])*"
"""Citation markers right after a sentence end ("… ingezet. [1] [2]") belong to that sentence."""
_SENT_RE = re.compile(
    rf"[.!?]{_CITES}(?P<gap>\s+)(?=[«\"“(]?[A-ZÀ-Þ0-9])|(?P<par>\n\s*\n)|(?P<item>\n)(?=\s*[–•*-]\s)"
)
_TRAILING_CITES = re.compile(rf"[.!?]{_CITES}$")
_SUBJ = r"(?:ik|wij|we|het kabinet|dit kabinet|de regering|de minister|de staatssecretaris)"
_COMMIT_RE = re.compile(
    rf"(?i:\b{_SUBJ}(?:\s+(?:van|voor)\s+[^,.;:]{{1,60}}?)?\s+(?:zal|zullen)\b"
    rf"|\b(?:zal|zullen)\s+{_SUBJ}\b|\b(?:ik|wij|we|kabinet)\s+zeg(?:t|gen)?\s+(?:u\s+)?toe\b)"
)
_SIGNPOST_RE = re.compile(r"(?i:\b(?:hieronder|hierna|hierboven|onderstaand|navolgend)\b)")


@dataclass(frozen=True)
class Fact:
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


def stem(word: str) -> str:
    """Crude Dutch stem, so "woningen" meets "woning" (no vendor stemmer in this module)."""
    w = word.lower().replace("-", "").replace("’", "'")
    for suf in ("'s", "en", "s", "e"):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            return w[: -len(suf)]
    return w


def content_words(text: str, extra_stop: frozenset[str] = frozenset()) -> frozenset[str]:
    words = (t.lower() for t in _TOKEN_RE.findall(text) if not any(c.isdigit() for c in t))
    return frozenset(
        stem(w) for w in words
        if len(w) >= 3 and w not in STOPWORDS and w not in extra_stop and w not in _MONTHS
    )  # fmt: skip


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed; PDF line breaks do not split."""
    spans, pos = [], 0
    for m in [*_SENT_RE.finditer(text), None]:
        gap = (m.span(m.lastgroup or 0)) if m else (len(text), len(text))
        seg = text[pos : gap[0]]
        if seg.strip():
            lead = len(seg) - len(seg.lstrip())
            spans.append((pos + lead, pos + len(seg.rstrip())))
        pos = gap[1]
    return spans


def _prev_word(text: str, start: int) -> str:
    m = _PREV_WORD_RE.search(text[max(0, start - 30) : start])
    return m.group(1).lower() if m else ""


def prev_word(text: str, start: int) -> str:
    """The word before `start`, lower-cased ("na" before "2027")."""
    return _prev_word(text, start)


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


def figures(text: str) -> list[Fact]:
    """Every amount, percentage, count, date and period in `text`, with exact spans."""
    facts: list[Fact] = []
    taken = bytearray(len(text) + 1)  # 1 = already part of a figure

    def free(s: int, e: int) -> bool:
        return not any(taken[s:e])

    def take(s: int, e: int) -> None:
        taken[s:e] = b"\x01" * (e - s)

    def add(f: Fact) -> None:
        facts.append(f)
        take(f.start, f.end)

    for rx in (_NUMDATE_RE, _DATE_RE):
        for m in rx.finditer(text):
            d, y = int(m["d"] or 0), int(m["y"] or 0)
            mo = int(m["m"]) if m["m"].isdigit() else _MONTHS[m["m"].lower()]
            if (not d and not y) or d > 31 or not 1 <= mo <= 12 or not free(m.start(), m.end()):
                continue  # a bare month name ("in mei") is not a checkable date
            add(Fact("date", m.start(), m.end(), m[0], date=(d, mo, y), years=(y,) if y else ()))
    for m in _PERIOD_RE.finditer(text):
        y1, y2s = int(m["y1"]), m["y2"] or m["y3"]
        y2 = int(y2s) if len(y2s) == 4 else y1 // 100 * 100 + int(y2s)
        if not free(m.start(), m.end()) or y1 > y2:
            continue
        if _prev_word(text, m.start()) in _REF_WORDS:
            take(m.start(), m.end())  # "vergaderjaar 2023–2024": a reference
        else:
            add(Fact("period", m.start(), m.end(), m[0], years=(y1, y2)))

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
            add(Fact("percentage", t.start, t.end, span, value=value))
            continue
        if t.cur:
            add(Fact("amount", t.start, t.end, span, value=value, unit=t.cur))
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
            add(Fact("period", t.start, t.end, span, years=(int(m["num"]),)))
        elif unit and um:
            end = um.end()
            add(Fact("number", t.start, end, text[t.start : end], value=value, unit=stem(unit)))
        elif t.scale != 1.0:
            add(Fact("number", t.start, t.end, span, value=value))
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


def proper_words(text: str) -> set[str]:
    """Capitalised words seen mid-sentence: proper nouns, so still a name when opening one."""
    return {
        m[0]
        for m in _TOKEN_RE.finditer(text)
        if m[0][0].isupper() and not _at_sentence_start(text, m.start())
    }


def names(text: str, proper: set[str]) -> list[Fact]:
    """Multi-word capitalised names and acronyms; `app.checking.check` says what is dropped."""
    out: list[Fact] = []
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
            out.append(Fact("name", start, end, text[start:end]))
        elif len(run) == 1 and _is_acronym(run[0][0]) and run[0][0] not in UBIQUITOUS:
            out.append(Fact("name", run[0].start(), run[0].end(), run[0][0]))
    return out


def _at_sentence_start(text: str, pos: int) -> bool:
    before = text[max(0, pos - 200) : pos]
    head = before.rstrip()
    if _TRAILING_CITES.search(head):  # "… ingezet. [1] Nederland": a new sentence
        return True
    return not head or head.endswith(tuple(".!?:;•–-*")) or "\n\n" in before[len(head) :]


def squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).casefold()


def commitments(text: str) -> list[Fact]:
    return [
        Fact("commitment", s, e, text[s:e])
        for s, e in sentences(text)
        if _COMMIT_RE.search(text, s, e) and not _SIGNPOST_RE.search(text, s, e)
    ]


_ORDINALS = {"eerste": 1, "tweede": 2, "derde": 3, "vierde": 4, "1e": 1, "2e": 2, "3e": 3, "4e": 4}
_PART_RE = re.compile(
    r"(?i:\b(?P<ord>eerste|tweede|derde|vierde|[1-4]e)\s+(?P<part>kwartaal|helft)\b)"
    r"|\b(?P<q>Q[1-4])\b"
)


def year_parts(text: str) -> list[Fact]:
    """Quarters and halves of a year ("het derde kwartaal", "Q3", "de eerste helft"): kind
    "quarter" or "half", value = which one. Not in `figures` (the check does not ask support for
    them); `app.checking.premise` compares them. A year after them is a separate period figure."""
    out = []
    for m in _PART_RE.finditer(text):
        if m["q"]:
            out.append(Fact("quarter", m.start(), m.end(), m[0], value=float(m["q"][1])))
        elif m["part"].lower() == "kwartaal" or _ORDINALS[m["ord"].lower()] <= 2:
            kind = "quarter" if m["part"].lower() == "kwartaal" else "half"
            out.append(Fact(kind, m.start(), m.end(), m[0], value=_ORDINALS[m["ord"].lower()]))
    return out
