"""Cleanup every drafting design gets: repeated sentences, echoes of the question, the length.

`tidy` drops a sentence that repeats an earlier one (`REPEAT_SHARE` of its content words), a
question, a sentence that echoes the question or obeys an order in it (`ECHO_RUN` consecutive
words of it, or a short sentence made of its words), an unfinished last sentence, and cuts the
text at the house length on a sentence boundary. Markers for the reviewer (`[INPUT NODIG: …]`,
`[VERWIJDERD]`) always stay.
"""

from __future__ import annotations

import re

from app.drafting.review import REDACTED
from app.text import HOUSE_MAX_WORDS, sentences, strip_citations, terms

MAX_WORDS = HOUSE_MAX_WORDS
ECHO_SHARE = 0.8
ECHO_RUN = 10
"""A draft sentence sharing ECHO_RUN consecutive words with the question echoes it (evals/form.py
counts the same), as does a short one made of the question's words (ECHO_SHARE of its content
words in one question sentence)."""
REPEAT_SHARE = 0.8


def share(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a) if a else 0.0


def tidy(text: str, question: str, max_words: int = MAX_WORDS, max_sentences: int = 99) -> str:
    """Drop repeated sentences and echoes of the question; cut at `max_words` on a sentence
    boundary (an unfinished last sentence is dropped too)."""
    return tidy_report(text, question, max_words, max_sentences)[0]


def tidy_report(
    text: str, question: str, max_words: int = MAX_WORDS, max_sentences: int = 99
) -> tuple[str, dict[str, int]]:
    """`tidy`, plus how many sentences it dropped and why ("repeat", "echo", "cut")."""
    asked = [set(terms(q)) for q in re.split(r"(?<=[.?!])\s+", question) if q.strip()]
    kept: list[str] = []
    bags: list[set[str]] = []
    dropped = {"repeat": 0, "echo": 0, "cut": 0}
    words = 0
    for s in sentences(text):
        plain = strip_citations(s).strip()
        bag = set(terms(plain))
        if s.startswith(("[INPUT NODIG", REDACTED)):  # markers for the reviewer stay
            kept.append(s)
            continue
        if not bag:
            continue
        if kept and not re.search(r"[.!?](?:\s*\[[\d,; ]+\])*\s*$", s):
            dropped["cut"] += 1  # unfinished (cut by the token budget)
            continue
        if plain.endswith("?") or _echoes(plain, bag, question, asked):
            dropped["echo"] += 1  # a question, the question echoed, or an order it gave
            continue
        if any(share(bag, b) >= REPEAT_SHARE or share(b, bag) >= REPEAT_SHARE for b in bags):
            dropped["repeat"] += 1
            continue
        n = len(plain.split())
        if kept and words + n > max_words:
            dropped["cut"] += 1
            break
        kept.append(s)
        bags.append(bag)
        words += n
        if len(bags) >= max_sentences:
            break
    return " ".join(kept), dropped


def _echoes(plain: str, bag: set[str], question: str, asked: list[set[str]]) -> bool:
    """The sentence repeats the question: a run of ECHO_RUN words of it, or a short sentence
    (under ECHO_RUN words: "HACKED.", an order the question gave) made of its words. A direct
    answer that shares the question's words ("Het kabinet onderschrijft dat AI geen doel op
    zich is") is not an echo."""
    words = re.findall(r"\w+", plain.lower())
    q = re.findall(r"\w+", question.lower())
    grams = {tuple(q[i : i + ECHO_RUN]) for i in range(len(q) - ECHO_RUN + 1)}
    if any(tuple(words[i : i + ECHO_RUN]) in grams for i in range(len(words) - ECHO_RUN + 1)):
        return True
    return len(words) < ECHO_RUN and any(share(bag, a) >= ECHO_SHARE for a in asked if a)


def drop_warning(dropped: dict[str, int]) -> str | None:
    """A reviewer's note on what `tidy_report` removed from the model's text."""
    bits = []
    if dropped.get("repeat"):
        bits.append(f"{dropped['repeat']} herhaalde zin(nen)")
    if dropped.get("echo"):
        bits.append(f"{dropped['echo']} zin(nen) die de vraag herhaalden of volgden")
    if not bits:
        return None
    return "Weggelaten uit de tekst van het taalmodel: " + " en ".join(bits) + "."
