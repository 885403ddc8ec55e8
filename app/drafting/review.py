"""Review of a draft text: citations → ids, wrong citations, leaks, figures only the question
states, check findings → warnings, (the text primitives are in `app.text`).

Shared by `app.drafting.draft` (every provider) and the evals; nothing here calls a model.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from app.records import CheckReport, Finding, Precedent
from app.text import CITATION, citation_numbers, clip, sentences, strip_citations, terms

REDACTED = "[VERWIJDERD]"
LEAK_NGRAM = 8


def misattributed(text: str, cited: Sequence[Precedent]) -> list[str]:
    """Sentences whose words are in another precedent than the one they cite.

    Small models number sentences ("[1] … [2] …") instead of citing sources; a reviewer must
    not trust such a footnote. Only clear cases are flagged: the cited precedents hold under
    half of the sentence's content words and another one holds at least 70%.
    """
    bags = [set(terms(p.answer)) for p in cited]
    out = []
    for sentence in sentences(text):
        nums = citation_numbers(sentence)
        nums = [n for n in nums if 1 <= n <= len(bags)]
        words = set(terms(strip_citations(sentence)))
        if not nums or len(words) < 4:
            continue
        cover = [len(words & bag) / len(words) for bag in bags]
        best = max(range(len(bags)), key=cover.__getitem__)
        if max(cover[n - 1] for n in nums) < 0.5 and cover[best] >= 0.7:
            marks = "".join(f"[{n}]" for n in nums)
            out.append(
                f"Verwijzing {marks} lijkt niet te kloppen: «{clip(sentence, 80)}» staat in "
                f"precedent [{best + 1}]."
            )
    return out


def is_gap_marker(f: Finding) -> bool:
    """The words "INPUT NODIG" of our own gap marker are not a name to check."""
    return f.kind == "name" and "INPUT NODIG" in f.text


def resolve_citations(text: str, cited: Sequence[Precedent]) -> tuple[list[str], list[int]]:
    """Precedent ids for the `[n]` markers (first-use order, unique) and the invalid numbers."""
    ids: list[str] = []
    invalid: list[int] = []
    for m in CITATION.finditer(text):
        for n in (int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))):
            if 1 <= n <= len(cited):
                if cited[n - 1].id not in ids:
                    ids.append(cited[n - 1].id)
            elif n not in invalid:
                invalid.append(n)
    return ids, invalid


QUESTION_ONLY_KINDS = ("amount", "percentage", "number", "date", "commitment")


def question_only(report: CheckReport) -> list[str]:
    """Figures and promises that only the question states. The check counts the question as
    support (an answer may repeat what was asked), but a draft must not adopt a questioner's -
    or an injected - figure or promise as the cabinet's own without a reviewer noticing."""
    out = []
    for f in report.findings:
        if f.kind in QUESTION_ONLY_KINDS and f.support_ids == ("question",):
            what = f"de toezegging «{clip(f.text, 100)}»" if f.kind == "commitment" else f.text
            out.append(
                f"Alleen de vraag noemt {what}: geen precedent bevestigt dit; controleer het "
                "voordat het kabinet het overneemt."
            )
    return out


def check_warnings(report: CheckReport) -> list[str]:
    out = []
    for f in report.problems:
        if f.status == "contradicted":
            note = f" — {f.note}" if f.note else ""
            out.append(f"Tegenstrijdig met een precedent: {f.text}{note}")
        elif f.kind == "commitment":
            out.append(f"Nieuwe toezegging zonder precedent: {clip(f.text, 120)}")
        else:
            out.append(f"Niet onderbouwd: {f.text}")
    return out


def _words(text: str) -> list[str]:
    """Lower-case words after NFKC (full-width letters) and without format characters
    (zero-width spaces, bidi overrides), so a disguised copy of the prompt still matches."""
    text = "".join(
        " " if unicodedata.category(c) == "Cf" else c for c in unicodedata.normalize("NFKC", text)
    )
    return re.findall(r"\w+", text.lower())


def redact_leaks(text: str, secret: str, n: int = LEAK_NGRAM) -> tuple[str, bool]:
    """Replace every sentence that repeats `n` consecutive words of the system prompt."""
    words = _words(secret)
    grams = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
    out, leaked = [], False
    for sentence in sentences(text):
        w = _words(sentence)
        if any(tuple(w[i : i + n]) in grams for i in range(len(w) - n + 1)):
            out.append(REDACTED)
            leaked = True
        else:
            out.append(sentence)
    return (" ".join(out) if leaked else text), leaked
