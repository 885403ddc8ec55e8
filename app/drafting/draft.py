"""Drafting: question → precedents → prompt → model → Draft with citations, checks and warnings.

The model only writes; trust comes from around it. Precedents are retrieved first and travel
with every outcome (also an abstention or a failed model call), citations `[n]` are resolved to
precedent ids, every figure is checked against the precedents (`app.checking.check`), and whatever
cannot be traced becomes a warning in the Draft rather than being silently kept. Every draft
is written to the audit log. `draft_stream` yields the same steps as events for the UI.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from app.drafting import audit, compose, evidence, tidy
from app.drafting.evidence import Searches, search_parts
from app.drafting.inputs import validate_question
from app.drafting.parts import split_parts
from app.drafting.prompt import build_messages, numbered, prompt_version, system_prompt
from app.drafting.provenance import most_recent_wins
from app.drafting.review import (
    LEAK_WARNING,
    REDACTED,
    redact_leaks,
    review,
)
from app.errors import InputError, ModelError
from app.records import Draft, Precedent
from app.retrieve import has_precedent
from app.settings import Settings
from app.writers.base import Writer
from app.writers.tokens import ensure_tiktoken_cache

log = logging.getLogger(__name__)

GAP = "[INPUT NODIG: {}]"
ABSTAIN_TEXT = (
    "Het kabinet heeft zich over deze vraag niet eerder uitgesproken in de beschikbare "
    "antwoorden op Kamervragen. " + GAP.format("standpunt en feiten van de beleidsdirectie")
)
ABSTAIN_WARNING = (
    "Geen precedent gevonden: het concept onthoudt zich van een antwoord en laat een open plek "
    "voor de beleidsdirectie."
)
_LABEL = re.compile(r"^\s*(?:concept)?antwoord(?:\s+\d+)?\s*:\s*", re.IGNORECASE)
_LEADING = re.compile(
    r"(^|(?<=[.!?])\s+)\[(\d+(?:\s*[,;]\s*\d+)*)\]\s+([^\[\n]*?[.!?])(?=\s|$)", re.M
)
"""Small models label a sentence with its source up front ("[1] Zin."); the citation belongs
after it, where readers and the footnote writer expect it."""


class Retrieves(Searches, Protocol):
    """What drafting needs from `app.retrieve.Retriever` (tests hand in a small fake): its
    `search`. Redrafting from ticked precedents also needs `get(ids)` (or a `.store.get`).
    """


@dataclass(frozen=True)
class PrecedentsFound:
    """Retrieval is done: `precedents` in rank order; the model sees `numbered` as [1]…[n]."""

    precedents: list[Precedent]
    numbered: list[Precedent]
    omitted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Token:
    """A chunk of generated text (streamed). The final Draft's text may differ (redaction)."""

    text: str


@dataclass(frozen=True)
class Done:
    draft: Draft


DraftEvent = PrecedentsFound | Token | Done


class DraftError(ModelError):
    """The model call failed; `draft` still carries the precedents, warnings and timings."""

    def __init__(self, message: str, draft: Draft) -> None:
        super().__init__(message)
        self.draft = draft


@dataclass(frozen=True)
class DraftRequest:
    """One draft to write (see `draft_stream` for what each field does)."""

    question: str
    k: int | None = None
    exclude_ids: Sequence[str] = ()
    exclude_letters: Sequence[str] = ()
    precedent_ids: Sequence[str] | None = None
    searched: Sequence[Precedent] | None = None
    history: Sequence[tuple[str, str]] | None = None
    parent_id: int | None = None
    log_to_audit: bool = True
    stream: bool | None = None
    """None: `draft` does not stream, `draft_stream` does."""
    design: str | None = None


def draft(
    request: DraftRequest, *, retriever: Retrieves, writer: Writer, settings: Settings
) -> Draft:
    """Draft an answer (see `draft_stream`; not streamed unless `request.stream`); returns the
    logged Draft."""
    events = draft_stream(
        replace(request, stream=bool(request.stream)),
        retriever=retriever,
        writer=writer,
        settings=settings,
    )
    for event in events:
        if isinstance(event, Done):
            return event.draft
    raise AssertionError("draft_stream ended without a Done event")  # pragma: no cover


def draft_stream(
    request: DraftRequest, *, retriever: Retrieves, writer: Writer, settings: Settings
) -> Iterator[DraftEvent]:
    """Draft an answer to `request.question`, yielding PrecedentsFound, Token…, then Done(draft)
    (streamed unless `request.stream` is False).

    The question is split into parts (`app.drafting.parts`), precedents are retrieved per part, the
    answer sentences that answer each part are selected (`app.drafting.evidence`) and the draft is
    written from that evidence (`app.drafting.compose`) by `writer` (`app.writers`): without a
    model (extractive), or by a chat model in `design` "connect" (the cabinet's sentences
    verbatim, the model writes the opening sentence) or "free" (the model writes it all);
    default: KV_DRAFT_DESIGN, else the writer's own default. Every part is answered or marked
    `[INPUT NODIG: …]` (`Draft.coverage`); every sentence gets its provenance.

    `precedent_ids`: redraft from exactly these (ticked) precedents instead of searching.
    `searched`: the whole question's search result when the caller already has it (the evals
    score retrieval from that same search); the no-precedent rule still applies.
    `history`: earlier chat turns as (user message, draft text) pairs, first one the original
    question; `question` is then the follow-up instruction ("korter", "voeg toe dat …") and the
    precedents are those of the original question (the model then rewrites from the whole
    precedents, as before). Raises InputError for unusable input and DraftError (a ModelError
    carrying the partial, logged Draft) when the model call fails.
    """
    t0 = time.perf_counter()
    question, history, precedent_ids = request.question, request.history, request.precedent_ids
    stream = request.stream is not False
    audit_dir = settings.data_dir if request.log_to_audit else None
    k = request.k or settings.top_k
    ensure_tiktoken_cache(settings.data_dir)
    turns: list[tuple[str, str]] = []
    instruction: str | None = None
    if history:
        original = validate_question(history[0][0], settings)
        instruction = validate_question(question, settings, "follow-up instruction")
        follow_ups = [u for u, _ in history[1:]] + [instruction]
        turns = [(d, u) for (_, d), u in zip(history, follow_ups, strict=True)]
    else:
        original = validate_question(question, settings)

    parts = split_parts(original)
    if precedent_ids is not None:
        precedents = fetch(retriever, precedent_ids)
    else:
        precedents = search_parts(
            retriever,
            original,
            parts,
            k,
            request.exclude_ids,
            request.exclude_letters,
            request.searched,
        )
    timings = {"retrieve": time.perf_counter() - t0}
    log.info("retrieved %s for drafting (%d parts)", [p.id for p in precedents], len(parts))

    found = precedents if precedent_ids is not None else _supported(precedents)
    d = Draft(
        question=original,
        text="",
        citations=[],
        precedents=precedents,
        abstained=False,
        warnings=[],
        model="" if writer.uses_model else writer.label,
        provider=writer.provider,
        prompt_version=prompt_version(settings.prompts_dir),
        timings=timings,
        parent_id=request.parent_id,
        instruction=instruction,
    )
    if not found:
        yield PrecedentsFound(precedents, [])
        yield Done(_finish(_abstain(d), t0, audit_dir))
        return

    t1 = time.perf_counter()
    ev = evidence.select(parts, found, getattr(retriever, "embeddings", None))
    ev, recency = most_recent_wins(ev)
    d.warnings.extend(recency)
    timings["evidence"] = time.perf_counter() - t1
    d.omitted_evidence = list(ev.omitted)
    if not ev.groups:  # the precedents hold no sentence that answers any part
        yield PrecedentsFound(precedents, [])
        yield Done(_finish(_abstain(d), t0, audit_dir))
        return

    if not writer.uses_model:  # the cabinet's own sentences, assembled: no model writes
        cited = ev.precedents
        d.omitted_precedents = [p.id for p in precedents if p not in cited]
        yield PrecedentsFound(precedents, cited, list(d.omitted_precedents))
        t1 = time.perf_counter()
        d.text = tidy.tidy(compose.assemble(ev), original)
        if instruction:
            d.warnings.append(
                "De extractieve modus past geen aanwijzingen toe; kies een taalmodel om het "
                "concept te herschrijven."
            )
        timings["generate"] = time.perf_counter() - t1
    else:
        d.model = writer.label
        design = compose.chosen_design(request.design, settings, writer.default_design)
        max_tokens: int | None = None
        stop: list[str] | None = None
        if turns:  # a follow-up rewrites the previous draft from the whole precedents
            messages, d.omitted_precedents = build_messages(
                original, precedents, settings, turns=turns, count_tokens=writer.token_counter()
            )
            cited = numbered(precedents, d.omitted_precedents)
        else:
            cited = ev.precedents
            d.omitted_precedents = [p.id for p in precedents if p not in cited]
            messages = compose.messages(design, original, ev, settings)
            limit = compose.FREE_MAX_TOKENS if design == "free" else compose.CONNECT_MAX_TOKENS
            max_tokens, stop = min(limit, settings.max_answer_tokens), compose.STOP
            d.model += f" ({design})"
        yield PrecedentsFound(precedents, cited, list(d.omitted_precedents))
        t1 = time.perf_counter()
        pieces: list[str] = []
        if stream and design == "connect" and not turns:
            # the cabinet's own sentences are ready now: show them while the model writes the
            # opening sentence (the final Draft puts that opening in front)
            timings["first_token"] = time.perf_counter() - t1
            yield Token(compose.assemble(ev))
        try:
            if stream and (design == "free" or turns):
                for piece in writer.stream(messages, max_tokens=max_tokens, stop=stop):
                    timings.setdefault("first_token", time.perf_counter() - t1)
                    pieces.append(piece)
                    yield Token(piece)
            else:  # the connect design's opening is one short sentence: no need to stream it
                pieces.append(writer.invoke(messages, max_tokens=max_tokens, stop=stop))
        except Exception as exc:  # any vendor failure becomes a DraftError
            timings["generate"] = time.perf_counter() - t1
            raise _failed(d, exc, t0, audit_dir) from exc
        timings["generate"] = time.perf_counter() - t1
        raw = _clean("".join(pieces))
        secret = "\n".join(system_texts(settings))
        if turns:
            d.text = raw
        elif design == "free":
            note = tidy.drop_warning(tidy.tidy_report(raw, original)[1])
            if note:  # connect: the opening alone is judged, see below
                d.warnings.append(note)
            raw, leaked = redact_leaks(raw, secret)
            if leaked:
                d.warnings.append(LEAK_WARNING)
            tidied = tidy.tidy(raw, original)
            d.warnings.extend(compose.free_notes(raw, tidied, ev))
            d.text = compose.complete(tidied, ev, original)
        else:
            opening, leaked = redact_leaks(raw, secret)
            if leaked:  # keep the marker where the model's sentence was, for the reviewer
                d.text = f"{REDACTED} {compose.assemble(ev)}"
                d.warnings.append(LEAK_WARNING)
            else:
                d.text, notes = compose.connect_report(opening, ev, original)
                d.warnings.extend(notes)
        if not d.text:
            raise _failed(d, ModelError("the model returned an empty answer"), t0, audit_dir)

    _review(d, cited, settings, original if not instruction else f"{original}\n{instruction}")
    if not turns:
        d.coverage = compose.coverage(ev, d.text, cited)
    yield Done(_finish(d, t0, audit_dir))


def _abstain(d: Draft) -> Draft:
    """No model call: a formal sentence and a marked gap for the policy directorate."""
    d.text, d.abstained, d.model = ABSTAIN_TEXT, True, "geen (onthouding)"
    d.warnings.append(ABSTAIN_WARNING)
    return d


def _supported(precedents: list[Precedent]) -> list[Precedent]:
    """Precedents, or [] when the no-precedent rule says none of them answers the question."""
    return precedents if precedents and has_precedent(precedents) else []


def fetch(retriever: Retrieves, ids: Sequence[str]) -> list[Precedent]:
    """The ticked precedents, in the order given (a redraft uses exactly these)."""
    getter = getattr(retriever, "get", None) or retriever.store.get  # type: ignore[attr-defined]
    found = {p.id: p for p in getter(list(ids))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise InputError(
            f"precedent(s) {', '.join(missing)} are not in the store; search again and tick "
            "precedents from the current results"
        )
    return [found[i] for i in ids]


def _clean(text: str) -> str:
    """Strip an "Antwoord:" label or wrapping quotes; move a leading "[1] Zin." to "Zin [1]."."""
    text = _LABEL.sub("", text.strip())
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return _LEADING.sub(lambda m: f"{m[1]}{m[3][:-1].rstrip()} [{m[2]}]{m[3][-1]}", text)


def _failed(d: Draft, exc: BaseException, t0: float, audit_dir: Path | None) -> DraftError:
    """Turn a model failure into a DraftError whose Draft keeps the precedents (and is logged)."""
    if isinstance(exc, ModelError):  # the writer already translated it (and said how to fix it)
        message = str(exc)
    else:
        message = (
            f"the chat model failed ({type(exc).__name__}: {exc}); try again, check the model "
            "with `kv model`, or use --provider extractive"
        )
    d.error = audit.scrub(message) or message
    d.warnings.append(
        "Het taalmodel gaf geen antwoord; de gevonden precedenten staan hieronder. "
        "Probeer het opnieuw of kies provider 'extractive'."
    )
    log.error("drafting failed after retrieving %s: %s", [p.id for p in d.precedents], d.error)
    _finish(d, t0, audit_dir)
    return DraftError(message, d)


def _finish(d: Draft, t0: float, audit_dir: Path | None) -> Draft:
    """Stamp the total time and write the audit row (unless `audit_dir` is None)."""
    d.timings["total"] = time.perf_counter() - t0
    if audit_dir is not None:
        audit.log_draft(d, audit_dir)
    return d


def system_texts(settings: Settings) -> tuple[str, str]:
    """The system prompts a model may be led to repeat: the leak check's secrets."""
    return system_prompt(settings), compose.system_text(settings)


def _review(d: Draft, cited: list[Precedent], settings: Settings, support_question: str) -> None:
    """`app.drafting.review.review` on the draft's text: leak redaction, citations → ids,
    figure check, provenance and length; problems become warnings."""
    t = time.perf_counter()
    r = review(
        d.text,
        question=support_question,
        precedents=d.precedents,
        cited=cited,
        secrets=system_texts(settings),
    )
    d.text, d.citations, d.check, d.provenance = r.text, r.citations, r.check, r.provenance
    d.warnings.extend(r.warnings)
    d.timings["check"] = time.perf_counter() - t
