"""Evidence → draft text: the numbered evidence list, the two model designs, assembly, cleanup.

Two designs for a chat model, both fed the same focused evidence (`app.drafting.evidence`):

* ``free`` — the model writes the whole answer from the numbered evidence list, told to reuse
  the cabinet's sentences and cite a source after each sentence.
* ``connect`` (select-then-connect) — the code assembles the answer from the selected cabinet
  sentences themselves (as the extractive provider does) and the model writes only the
  opening sentence that answers the question directly; what the cabinet said stays verbatim.

`assemble` is the extractive provider's composition: per source, its sentences together in the
answer's own order, the best-scoring (most specific) and most recent source first, a citation
after each sentence and an `[INPUT NODIG: …]` marker for every part nothing answers.
Every design's text then gets `app.drafting.tidy`: repeated sentences and sentences that echo
the question are dropped, and the text is cut at the house length on a sentence boundary.

The source-letter eval picks the default: for the bundled model connect states the key fact
and cites the right answer more often than free writing, which garbles the cabinet's sentences
and drops citations (docs/measurements.md#drafting-designs). The writer's `default_design`
(`app.writers`) is connect for the bundled model, free for any other chat model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from app.checking.check import check_answer
from app.drafting.evidence import Evidence
from app.drafting.prompt import as_data, load_template, numbers_label, render
from app.drafting.review import REDACTED, check_warnings
from app.drafting.tidy import REPEAT_SHARE, share, tidy
from app.records import PartCoverage, Precedent
from app.settings import Settings
from app.text import (
    HOUSE_MAX_WORDS,
    citation_numbers,
    sentences,
    split_sentences,
    strip_citations,
    terms,
)

DESIGNS = ("free", "connect")
MAX_WORDS = HOUSE_MAX_WORDS
FREE_MAX_TOKENS = 260
"""Answer budget of the free design: ~150 Dutch words in Qwen's tokenizer, so the cut at the
house length rarely has to act, and a degenerate loop is stopped early."""
CONNECT_MAX_TOKENS = 70
"""The connecting sentence only."""
CONNECT_EVIDENCE_WORDS = 90
"""What the connect design shows the model: the best sources' sentences up to ~90 words, and
the question's part sentences without their context. Prompt processing is most of a local
draft's time (~30 prompt tokens/s on 2 cores), and the opening sentence answers from the best
source; the whole evidence still follows it verbatim. Measured: docs/measurements.md."""
STOP = ["<vraag>", "</vraag>", "Kamervraag:", "\n\n\n"]
GAP = "[INPUT NODIG: {}]"


def evidence_list(ev: Evidence, max_words: int | None = None) -> str:
    """The numbered evidence: one block per source, its sentences on one line each; with
    `max_words`, only the first (best) sources' sentences up to that many words (at least
    one sentence), keeping each source's number."""
    blocks: list[str] = []
    words = 0
    for nr, g in enumerate(ev.groups, 1):
        p = g.precedent
        where = f"antwoord op vraag {numbers_label(p.numbers)}"
        if p.date:
            where += f", {p.date}"
        kept: list[str] = []
        for s in g.sentences:
            n = len(s.text.split())
            if max_words is not None and (kept or blocks) and words + n > max_words:
                break
            kept.append(f"- {as_data(s.text)}")
            words += n
        if not kept:
            break
        blocks.append(f"[{nr}] ({where})\n" + "\n".join(kept))
    return "\n\n".join(blocks)


def asked(ev: Evidence, question: str) -> str:
    """The question as the connect design shows it: its part sentences, without the context
    sentences ("De leden … lezen dat …") that retrieval needed; the whole question when the
    parts alone are too short to name a subject."""
    text = " ".join(p.text for p in ev.parts).strip()
    return text if len(text.split()) >= 6 else question


def messages(design: str, question: str, ev: Evidence, settings: Settings) -> list[BaseMessage]:
    """Chat messages for `design` ("free" or "connect"); the system prompt is the same for
    both and comes first, so a local server reuses its cached prefix across drafts."""
    pdir = settings.prompts_dir
    system = render(load_template("evidence_system", pdir), "evidence_system")
    if design == "free":
        name, evidence, shown = "evidence_user", evidence_list(ev), question
    else:
        name = "connect_user"
        evidence, shown = evidence_list(ev, CONNECT_EVIDENCE_WORDS), asked(ev, question)
    user = render(load_template(name, pdir), name, evidence=evidence, question=as_data(shown))
    return [SystemMessage(content=system), HumanMessage(content=user)]


def system_text(settings: Settings) -> str:
    """The rendered system prompt of these designs (for the leak check)."""
    return render(load_template("evidence_system", settings.prompts_dir), "evidence_system")


def cite_uncited(text: str, ev: Evidence) -> str:
    """Give a sentence without a citation the number of the evidence source that holds most of
    its words (at least `REPEAT_SHARE`); small models copy a sentence and forget the [n]."""
    out = []
    for s in sentences(text):
        if not citation_numbers(s) and not s.startswith("[INPUT NODIG"):
            bag = set(terms(s))
            best = max(
                ((share(bag, set(terms(e.text))), nr) for nr, g in enumerate(ev.groups, 1)
                 for e in g.sentences),
                default=(0.0, 0),
            )  # fmt: skip
            if best[0] >= REPEAT_SHARE:
                s = re.sub(r"([.!?])$", rf" [{best[1]}]\1", s) if s[-1:] in ".!?" else s
        out.append(s)
    return " ".join(out)


def free_notes(raw: str, kept: str, ev: Evidence) -> list[str]:
    """Reviewer's warnings on the free design's model text: what the check says about the
    sentences `tidy` dropped (an obeyed order is dropped as an echo of the question, but the
    reviewer must know it was written), and the kept sentences without a citation."""
    kept_set = set(sentences(kept))
    out = []
    for s in sentences(raw):
        if s in kept_set or s == REDACTED:
            continue
        out += [f"{p} (weggelaten uit de tekst van het taalmodel)" for p in opening_problems(s, ev)]
    uncited = [s for s in kept_set if not citation_numbers(s) and not s.startswith("[")]
    if uncited:
        out.append(
            f"Geen bronverwijzingen bij {len(uncited)} zin(nen) van het taalmodel, "
            f"bijvoorbeeld «{sorted(uncited)[0][:80]}»."
        )
    return list(dict.fromkeys(out))


def complete(text: str, ev: Evidence, question: str) -> str:
    """The free design's text, plus what it left out: for a part whose sources the model did
    not cite, that part's best cabinet sentence (cited); then the gap markers."""
    text = cite_uncited(text, ev)
    cited = set(citation_numbers(text))
    extra = []
    for sel in ev.per_part:
        if sel and not cited & {ev.number_of(s.precedent_id) for s in sel}:
            nr = ev.number_of(sel[0].precedent_id)  # its source's sentences, in their order
            extra += [f"{s.text} [{nr}]" for s in ev.groups[nr - 1].sentences]
            cited.add(nr)
    return tidy(" ".join([text, *extra, gaps_text(ev)]).strip(), question)


def coverage(ev: Evidence, text: str, cited: Sequence[Precedent]) -> list[PartCoverage]:
    """Per part: the precedents the text cites for it, or the gap marker it carries."""
    nums = set(citation_numbers(text))
    out = []
    for i, part in enumerate(ev.parts):
        sel = ev.per_part[i] if i < len(ev.per_part) else ()
        ids = tuple(
            dict.fromkeys(s.precedent_id for s in sel if ev.number_of(s.precedent_id) in nums)
        )
        marker = gap_marker(part.text)
        gap = marker if not ids and marker in text else None
        if not ids and gap is None:
            gap = "niet beantwoord"
        out.append(PartCoverage(part.text, ids, gap))
    return out


def gap_marker(part: str) -> str:
    words = strip_citations(part).strip().rstrip("?.").split()
    subject = " ".join(words[:14]) + (" …" if len(words) > 14 else "")
    return GAP.format(f"antwoord op «{subject}»")


def assemble(ev: Evidence) -> str:
    """The evidence as an answer: each source's sentences together, cited, plus gap markers."""
    out = [f"{s.text} [{nr}]" for nr, g in enumerate(ev.groups, 1) for s in g.sentences]
    out += [gap_marker(ev.parts[i].text) for i in ev.gaps()]
    return " ".join(out)


def gaps_text(ev: Evidence) -> str:
    return " ".join(gap_marker(ev.parts[i].text) for i in ev.gaps())


def connect(opening: str, ev: Evidence, question: str) -> str:
    """The connect design's answer: the model's opening sentence, then the cabinet's own
    sentences (minus one the opening already repeats), then the gap markers."""
    return connect_report(opening, ev, question)[0]


def connect_report(opening: str, ev: Evidence, question: str) -> tuple[str, list[str]]:
    """`connect`, plus the reasons an opening sentence was left out when the reviewer must
    know them: what the check says about it ("Niet onderbouwd: …", "Nieuwe toezegging …": the
    model wrote a figure or promise, e.g. obeying an injection). An opening left out only for
    lacking a citation, echoing the question or not being faithful is not reported: the
    officer never sees it and the cabinet's sentences stand (it was a warning on 34 of 88
    source-letter drafts, none of them actionable)."""
    body = tidy(assemble(ev), question)  # apart: the opening never displaces a cabinet sentence
    first = tidy(opening, question, max_sentences=1)
    if not first:  # dropped (an echo of the question, or an order it gave): say what it held
        raw = next(iter(sentences(opening)), "")
        problems = opening_problems(raw, ev) if raw else []
        return body, [f"{p} {_LEFT_OUT}" for p in problems if p != NO_CITATION]
    bag = set(terms(first))
    if any(
        share(bag, b) >= REPEAT_SHARE and share(b, bag) >= REPEAT_SHARE
        for b in (set(terms(s.text)) for g in ev.groups for s in g.sentences)
    ):
        return body, []  # the opening only copied a cabinet sentence: keep the original
    first = cite_opening(first, ev)
    problems = opening_problems(first, ev)
    if problems:
        return body, [f"{p} {_LEFT_OUT}" for p in problems if p != NO_CITATION]
    if not opening_faithful(first, ev, question):
        return body, []  # not the cabinet's words: left out, the cabinet's sentences remain
    return f"{first} {body}", []


FAITHFUL_SHARE = 0.8
_NEGATION = re.compile(r"\b(?:niet|geen|nooit|noch|niets|nergens|onvoldoende)\b", re.IGNORECASE)


def opening_faithful(sentence: str, ev: Evidence, question: str) -> bool:
    """Whether the model's opening says what one cabinet sentence says: at least
    FAITHFUL_SHARE of its content words are in one sentence of the sources, with the same
    polarity (a "niet"/"geen" in one and not the other flips the meaning), and no content
    word comes from the question alone (the 1.5B model restates a question's premise as the
    answer: "… in de AI-fabriek in Eindhoven", "… wordt verdeeld door lidstaten").

    Read on the source-letter eval's 24 kept openings: about half were wrong or garbled
    ("Het enige Europese initiatief … is de Apply AI-strategie", where the cabinet wrote "niet
    het enige"); this rule keeps 6, of which 5 are right (docs/measurements.md)."""
    plain = strip_citations(sentence)
    bag = set(terms(plain))
    if not bag:
        return False
    source = [s for g in ev.groups for s in split_sentences(g.precedent.answer)]
    if not source:
        return False
    best = max(source, key=lambda s: len(bag & set(terms(s))))
    if share(bag, set(terms(best))) < FAITHFUL_SHARE:
        return False
    if bool(_NEGATION.search(plain)) != bool(_NEGATION.search(best)):
        return False
    known = {t for s in source for t in terms(s)}
    return not ((bag & set(terms(question))) - known)


NO_CITATION = "Geen bronverwijzingen"
_LEFT_OUT = "(in de openingszin van het taalmodel; die is weggelaten)"


OPENING_SHARE = 0.5


def cite_opening(sentence: str, ev: Evidence) -> str:
    """An uncited opening gets the number of the source whose selected sentences hold most of
    its content words (at least OPENING_SHARE): the 1.5B model rarely writes the [n] in one
    short sentence (measured: 0 of 12 openings cited), though it writes from one source."""
    if citation_numbers(sentence) or not ev.groups:
        return sentence
    bag = set(terms(strip_citations(sentence)))
    best, nr = max((share(bag, set(terms(g.text))), i) for i, g in enumerate(ev.groups, 1))
    if best < OPENING_SHARE:
        return sentence
    return re.sub(r"([.!?])$", rf" [{nr}]\1", sentence) if sentence[-1:] in ".!?" else sentence


def opening_ok(sentence: str, ev: Evidence) -> bool:
    return not opening_problems(sentence, ev)


def opening_problems(sentence: str, ev: Evidence) -> list[str]:
    """Why the connecting sentence may not stand: it must cite a source, and every figure,
    date, name and promise in it must be supported by the *selected evidence* (the consistency
    check against the evidence sentences, not the whole precedents)."""
    nums = citation_numbers(sentence)
    out = []
    if not nums:
        out.append(NO_CITATION)
    elif any(not 1 <= n <= len(ev.groups) for n in nums):
        out.append(f"Ongeldige verwijzing in «{sentence[:60]}»")
    sources = [replace(g.precedent, answer=g.text) for g in ev.groups]
    return out + check_warnings(check_answer(strip_citations(sentence), "", sources))


def chosen_design(requested: str | None, settings: Settings, default: str | None) -> str:
    """The design a draft uses: the one asked for, else KV_DRAFT_DESIGN, else the writer's
    default (`Writer.default_design`: "connect" for the bundled local model, measured: see the
    module docstring and the README; "free" for any other chat model: a larger model behind an
    OpenAI-compatible endpoint writes a whole answer well, and the same review checks catch what
    it invents). An unknown name is an InputError."""
    return design_of(requested or settings.draft_design or default or "")


def design_of(name: str) -> str:
    d = name
    if d not in DESIGNS:
        from app.errors import InputError

        raise InputError(f"unknown drafting design {d!r}; use one of {', '.join(DESIGNS)}")
    return d


__all__: Sequence[str] = (
    "DESIGNS",
    "assemble",
    "connect",
    "evidence_list",
    "messages",
)
