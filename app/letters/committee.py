"""The committee-report layout (*verslag van een schriftelijk overleg*): question blocks.

A bare question-number line, the question, an "Antwoord" heading, the answer. The fractie is
named at the start of its block ("De leden van de D66-fractie …", or a section heading
"Vragen en opmerkingen van de leden van de CDA-fractie") and then referred to as "Deze leden" /
"Zij"; it is carried forward. A number lost at a page break is inferred from the sequence: a line
in an answer that opens a question ("De leden van de …", "Deze leden …", "Zij …") after a finished
sentence starts question N+1 when a question follows — a "?", or, for a question without a
question mark, the next "Antwoord" heading with no number line in between (two answers in a row
mean a question was lost).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from app.letters.text import PAGE

log = logging.getLogger(__name__)

BARE_NUM = re.compile(r"^(\d{1,3})\.?$")
COMMITTEE_ANSWER = re.compile(r"^(?:Antwoord|Reactie)(?: (?:van het )?kabinet)?\s*:?$")
_SECTION = re.compile(r"^(?:Vragen en opmerkingen|Inbreng) (?:van|vanuit) de leden van de .+")
_ROMAN = re.compile(r"^(?:I|II|III|IV|V)\.?\s+[A-Z]")
_OPENER = re.compile(
    r"^(?:De leden van de\b|Deze leden\b|Zij\b|(?:Ook|Tevens|Voorts|Verder|Tot slot)\b[^.?]*"
    r"\b(?:deze leden|zij)\b)"
)
_FRACTIE = re.compile(r"leden van de (?:fractie van (?:de |het )?(\w[\w-]*)|(\w[\w-]*?)-fractie)")


@dataclass
class Block:
    kind: str  # "q", "a", or "x" (a section heading: ends the block before it)
    nums: set[int]
    lines: list[str] = field(default_factory=list)
    fractie: str | None = None


def committee_blocks(
    lines: list[str], *, numbered_inline: bool = False
) -> tuple[list[str], list[Block]]:
    """Layout (c): bare number lines, "Antwoord" headings, fractie carried forward. With
    `numbered_inline` (incoming questions) "3. Tekst" lines also start question 3."""
    preamble: list[str] = []
    blocks: list[Block] = []
    fractie: str | None = None
    last_n = 0
    prev = ""
    for i, ln in enumerate(lines):
        inline = re.match(r"^(\d{1,3})[.)]\s+(\S.*)$", ln) if numbered_inline else None
        number = inline or BARE_NUM.match(ln)
        if _SECTION.match(ln):
            fractie = fractie_in(ln) or fractie
            if blocks:
                blocks.append(Block("x", set()))
        elif _ROMAN.match(ln) and blocks:
            pass
        elif number and last_n < int(number[1]) <= last_n + 5:
            last_n = int(number[1])
            blocks.append(Block("q", {last_n}, [inline[2]] if inline else [], fractie))
        elif COMMITTEE_ANSWER.match(ln) and blocks and blocks[-1].kind == "q":
            blocks.append(Block("a", set(blocks[-1].nums)))
        elif (
            blocks
            and blocks[-1].kind in "ax"
            and _OPENER.match(ln)
            and (prev == PAGE or not prev or re.search(r"[.!?:]$", prev) or blocks[-1].kind == "x")
            and _asks(lines[i:])
        ):
            last_n += 1
            blocks.append(Block("q", {last_n}, [ln], fractie))
            log.debug("question number %d inferred from the sequence", last_n)
        elif blocks and blocks[-1].kind != "x":
            blocks[-1].lines.append(ln)
        elif not blocks:
            preamble.append(ln)
        prev = ln
    return preamble, [b for b in blocks if b.kind != "x"]


def _asks(lines: list[str]) -> bool:
    """Does a question start at lines[0]? A "?" before the next heading, or — for an opener
    that names the fractie — an "Antwoord" heading reached with no number line in between."""
    named = lines[0].startswith("De leden van de ")
    for ln in lines:
        if "?" in ln:
            return True
        if COMMITTEE_ANSWER.match(ln):
            return named
        if BARE_NUM.match(ln) or _SECTION.match(ln):
            return False
    return False


def fractie_in(text: str) -> str | None:
    m = _FRACTIE.search(text)
    return (m[1] or m[2]) if m else None
