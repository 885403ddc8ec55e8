"""Review of an answer text: one function, `review`, and one set of rules for every text a
reviewer sees — a generated draft (`app.drafting.draft`, every provider), an answer edited by
hand (`app.drafting.marks.revise`: the letter table) and an answer pasted into `kv check` or the
web check tab. Its parts (leak redaction, citations → ids, wrong citations, figures only the
question states, check findings → warnings) are public for the evals and the composer; the
text primitives are in `app.text`. Nothing here calls a model.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.checking.check import check_answer
from app.drafting.provenance import provenance, sentence_provenance
from app.records import CheckReport, Finding, Precedent, SentenceProvenance
from app.text import (
    CITATION,
    HOUSE_MAX_WORDS,
    HOUSE_MIN_WORDS,
    citation_numbers,
    clip,
    sentences,
    strip_citations,
    terms,
    word_count,
)

REDACTED = "[VERWIJDERD]"
LEAK_NGRAM = 8
LEAK_WARNING = "Het concept bevatte tekst uit de instructies aan het model; die is verwijderd."


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
    """The words of our own markers (the gap's "INPUT NODIG", the redaction's "VERWIJDERD")
    are not a name to check."""
    return f.kind == "name" and ("INPUT NODIG" in f.text or f.text.strip("[]") == "VERWIJDERD")


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


@dataclass(frozen=True)
class Review:
    """An answer text after review: what a `Draft` shows of it."""

    text: str
    """The text with every leaking sentence replaced by `REDACTED` (else unchanged)."""
    citations: list[str]
    """Precedent ids of the `[n]` markers, in first-use order (empty without a numbering)."""
    check: CheckReport
    """The figure/name/commitment check, without our own gap markers."""
    provenance: list[SentenceProvenance]
    warnings: list[str]


def review(
    text: str,
    *,
    question: str,
    precedents: Sequence[Precedent],
    cited: Sequence[Precedent] | None,
    secrets: Sequence[str] = (),
) -> Review:
    """Review `text`, the answer to `question`; problems become warnings, in this order:

    1. leaks: a sentence that repeats `LEAK_NGRAM` words of one of `secrets` (the system
       prompts) becomes `REDACTED`, with `LEAK_WARNING` (the first secret that leaks ends the
       search);
    2. citations, when `cited` numbers the precedents `[1]`…`[n]`: numbers outside it, no
       citation at all, a citation whose sentence is in another precedent (`misattributed`);
    3. facts: `check_answer` against the question and all `precedents` (gap markers are not
       names): the question's false premises, unsupported or contradicted findings, figures
       and promises only the question states;
    4. provenance: each sentence against the precedent it cites (a cited sentence its source
       does not hold is warned); with `cited` None, against all `precedents`
       (`provenance_against`), which warns nothing;
    5. length outside the house style's `HOUSE_MIN_WORDS`–`HOUSE_MAX_WORDS` words.

    `cited` None is a text without our numbering (pasted into `kv check` or the check tab): its
    `[n]`, if any, may point anywhere, so rule 2 is skipped rather than guessed. Those callers
    pass no `secrets` either: the leak rule guards a model's output (and an edited draft),
    not a text the user brings; they do not rewrite the text they report on.
    """
    warnings: list[str] = []
    for secret in secrets:
        text, leaked = redact_leaks(text, secret)
        if leaked:
            warnings.append(LEAK_WARNING)
            break
    ids: list[str] = []
    if cited is not None:
        ids, invalid = resolve_citations(text, cited)
        warnings += [
            f"Ongeldige verwijzing [{n}]: er zijn {len(cited)} genummerde precedenten."
            for n in invalid
        ]
        if not ids:
            warnings.append(
                "Geen bronverwijzingen: het concept verwijst naar geen enkel precedent."
            )
        warnings += misattributed(text, cited)
    report = checked(text, question, precedents)
    warnings += [*report.premises, *check_warnings(report), *question_only(report)]
    items = provenance(text, cited) if cited is not None else provenance_against(text, precedents)
    unverified = [p for p in items if p.precedent_id and not p.verified]
    if unverified:
        warnings.append(
            f"{len(unverified)} zin(nen) met een verwijzing die de geciteerde bron niet "
            "(bijna) letterlijk bevat: controleer ze tegen de bron."
        )
    words = word_count(text)
    if not HOUSE_MIN_WORDS <= words <= HOUSE_MAX_WORDS:
        warnings.append(
            f"Lengte: {words} woorden (huisstijl: {HOUSE_MIN_WORDS}–{HOUSE_MAX_WORDS})."
        )
    return Review(text, ids, report, items, warnings)


def checked(text: str, question: str, precedents: Sequence[Precedent]) -> CheckReport:
    """The figure and premise check of `review` alone (what `kv check` reports): our own
    markers are not findings."""
    found = check_answer(text, question, precedents)
    return CheckReport(tuple(f for f in found.findings if not is_gap_marker(f)), found.premises)


def provenance_against(text: str, precedents: Sequence[Precedent]) -> list[SentenceProvenance]:
    """Provenance of any answer text (the check tab) against all `precedents`: each sentence is
    measured against every precedent, whatever it cites, and names the one it comes from."""
    if not precedents:
        return [SentenceProvenance(s, "new") for s in sentences(text)]
    every = " [" + ", ".join(str(n) for n in range(1, len(precedents) + 1)) + "]"
    out = []
    for s in sentences(text):
        plain = strip_citations(s).strip()
        if not plain or plain.startswith("[INPUT NODIG"):
            out.append(SentenceProvenance(s, "new"))
            continue
        p = sentence_provenance(plain + every, precedents)
        found = p.origin != "new"
        out.append(
            replace(p, sentence=s, precedent_id=p.precedent_id if found else None, verified=found)
        )
    return out
