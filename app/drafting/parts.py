"""Question → parts: the question sentences a draft must answer, with the context around them.

A Kamervraag from a committee report bundles several questions and some context: "De leden van
de CDA-fractie hebben kennisgenomen van … Hoeveel zeggenschap hebben lidstaten …? Is dit genoeg
geld …? Voor welke investeringen pleit Nederland …?". Each question sentence — a sentence ending
in "?", or an indirect one ("Deze leden vragen de minister of …", "Zij willen weten …") — is one
`Part`; the other sentences are context. Retrieval uses part + context (the context names the
subject: "de AI-fabriek"), evidence selection scores sentences against the part itself.

Parts are few by design (`MAX_PARTS`): a very long question is answered as a whole rather than
in ten fragments, and a part that says only "Waarom (niet)?" is joined to the one before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.text import split_sentences, terms

MAX_PARTS = 4
MIN_PART_TERMS = 2
"""A part with fewer content words ("Zo ja, waarom?") leans on the one before it."""
_INDIRECT = re.compile(
    r"\b(?:vragen|vraagt|vroegen|willen|wil)\b[^.?!]{0,60}?\b(?:weten|of|hoe|wat|welke|waarom|"
    r"wanneer|wie|waar|in hoeverre|op welke|hoeveel)\b"
    r"|\b(?:verzoeken|verzoekt)\b|\b(?:graag|gaarne)\b[^.?!]{0,40}\b(?:reactie|toelichting|"
    r"uitleg|overzicht)\b|\bkan de minister\b|\bkunt u\b",
    re.IGNORECASE,
)
_QUESTION_OPENERS = re.compile(
    r"^(?:hoe(?! meer| minder)|wat|welke?|waarom|wanneer|wie|waar|hoeveel|in hoeverre|op welke|"
    r"kan|kunt|is|zijn|heeft|hebben|wordt|worden|zal|zullen|gaat|deelt|ziet|bent|klopt|acht|erkent)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Part:
    """One thing the question asks."""

    text: str
    """The question sentence(s) of this part, as written."""
    context: str = ""
    """The question's context sentences (shared by all parts), for retrieval."""

    @property
    def query(self) -> str:
        """What to retrieve with: the part, then the context that names its subject."""
        return f"{self.text} {self.context}".strip()


def is_question_sentence(sentence: str) -> bool:
    s = sentence.strip()
    return s.endswith("?") or bool(_INDIRECT.search(s)) or bool(_QUESTION_OPENERS.match(s))


_COORDINATED = re.compile(
    r",? (?:en|of) (?=(?:hoe|wat|welke?|waarom|wanneer|wie|waar|hoeveel|in hoeverre|op welke)\b)"
)
"""", en waar ligt daarbij het zwaartepunt?": a second question inside one sentence."""


def question_sentences(question: str) -> list[str]:
    """Sentences of the question; a "?" ends a sentence even before a lower-case word, and
    "…, en waar …?" starts a new one."""
    text = re.sub(r"\?\s+", "?\n", " ".join(question.split()))
    out = []
    for s in (s for line in text.split("\n") for s in split_sentences(line)):
        if s.endswith("?") and _COORDINATED.search(s):
            head, *rest = _COORDINATED.split(s)
            out.append(head.rstrip(",") + "?")
            out.extend(r[:1].upper() + r[1:] for r in rest)
        else:
            out.append(s)
    return out


def split_parts(question: str) -> list[Part]:
    """The parts of `question` (at least one: a question without a question sentence is one
    part), each with the question's context sentences."""
    sentences = question_sentences(question)
    asked = [s for s in sentences if is_question_sentence(s)]
    context = " ".join(s for s in sentences if s not in asked)
    if not asked:
        return [Part(" ".join(sentences) or question.strip())]
    merged: list[str] = []
    for s in asked:
        if merged and len(set(terms(s))) < MIN_PART_TERMS:
            merged[-1] = f"{merged[-1]} {s}"
        else:
            merged.append(s)
    while len(merged) > MAX_PARTS:  # join the two shortest neighbours
        i = min(range(len(merged) - 1), key=lambda j: len(merged[j]) + len(merged[j + 1]))
        merged[i : i + 2] = [f"{merged[i]} {merged[i + 1]}"]
    return [Part(p, context) for p in merged]
