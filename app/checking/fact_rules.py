"""The shared rules for comparing two facts (figures, dates, periods) and their subjects.

Used by the answer check (`app.checking.check`: is a draft's figure supported or contradicted?) and
the
premise check (`app.checking.premise`: does a question's figure contradict what the cabinet said?),
so
both judge "the same figure on the same subject" alike. The reasons for each number are in
`app.checking.check`'s docstring.
"""

from __future__ import annotations

import bisect
import math
import re

from app.checking.facts import Fact, wordset

CONTEXT_CHARS = 100
SUBJECT_MIN_RATIO = 0.5
DATE_MIN_SHARED = 3

GENERIC = wordset("""
euro euros miljoen miljard procent jaar jaren jaarlijks totaal bedrag bedragen kabinet minister
kamer beschikbaar gesteld stellen gaat gaan komende afgelopen huidige nieuwe extra aantal kamerbrief
brief laten weten tweede aanhangsel vergaderjaar issn gravenhage""")
"""Words too common around figures to say what a figure is about."""


def window(text: str, f: Fact, sentences: list[tuple[int, int]], keep: bool = False) -> str:
    """The words around a figure within its sentence (`keep`: with the figure itself)."""
    i = bisect.bisect_right(sentences, (f.start, len(text) + 1)) - 1
    s, e = sentences[i] if i >= 0 and f.start < sentences[i][1] else (0, len(text))
    mid = f.text if keep else " "
    return (
        text[max(s, f.start - CONTEXT_CHARS) : f.start]
        + mid
        + text[f.end : min(e, f.end + CONTEXT_CHARS)]
    )


def same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def supports(f: Fact, g: Fact, years: set[int]) -> bool:
    if f.kind == "period":
        return g.kind in ("period", "date") and set(f.years) <= set(g.years)
    if f.kind == "percentage":
        return g.kind == "percentage" and same(f.value, g.value)
    if f.kind == "amount":
        return same(f.value, g.value) and (
            (g.kind == "amount" and g.unit == f.unit)
            or (g.kind == "number" and re.match(r"(?:euro(?!p)|$)", g.unit) is not None)
        )
    if f.kind == "number":
        return (g.kind in ("number", "amount") and same(f.value, g.value)
                and (g.unit == f.unit or f.value >= 100))  # fmt: skip
    if f.kind == "date" and g.kind == "date":
        (d, mo, y), (gd, gmo, gy) = f.date, g.date
        return mo == gmo and d in (0, gd) and (y in (0, gy) or (gy == 0 and y in years))
    return False


def conflicts(f: Fact, g: Fact) -> bool:
    if f.kind != g.kind:
        return False
    if f.kind == "period":  # "2024" against "2023", a range against a range
        return len(f.years) == len(g.years) and set(f.years) != set(g.years)
    if f.kind == "date":  # a part both state differs ("27 maart 2023" fits "maart 2023")
        return any(a != b and a and b for a, b in zip(f.date, g.date, strict=True))
    if f.kind == "number" and f.unit != g.unit:
        return False
    return (f.kind != "amount" or f.unit == g.unit) and not same(f.value, g.value)
