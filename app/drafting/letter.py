"""A whole set of Kamervragen → drafted answers → an answer letter (Word, Markdown or JSON).

Consistency inside one letter: a later question that an earlier one already covers (nearly the
same words, or the same figures) gets "Zie het antwoord op vraag N." instead of a second,
possibly diverging draft — the way ministries answer such questions. Earlier drafted answers
are NOT fed to the model as context: they are unchecked text, and feeding them back would let
one invented figure spread through the letter (and the local model has only 4k tokens).

The writers (.docx with footnotes, provenance highlights and coverage; .md; .json) are in
`app.drafting.export` and re-exported here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from app.drafting.draft import DraftError, DraftRequest, Retrieves, draft
from app.drafting.export import (  # noqa: F401  (re-exported: kv draft-letter and the UI use them)
    FORMATS,
    HEADING,
    to_json,
    to_markdown,
    write_answers,
    write_docx,
)
from app.drafting.prompt import numbers_label, prompt_version
from app.errors import InputError
from app.records import Draft, Letter, QAItem
from app.settings import Settings
from app.text import terms
from app.writers.base import Writer

log = logging.getLogger(__name__)

SEE_ANSWER = "Zie het antwoord op vraag {}."
COVERED = 0.8
"""Share of a later question's terms found in an earlier one above which it is 'covered'."""
_FIGURE = re.compile(r"\d[\d.,]*\d|\d")

Progress = Callable[[int, int, QAItem], None]


def covered_by(item: QAItem, earlier: Sequence[QAItem]) -> QAItem | None:
    """The earlier question that already asks what `item` asks, if any."""
    mine = set(terms(item.question))
    figures = set(_FIGURE.findall(item.question))
    for prev in earlier:
        theirs = set(terms(prev.question))
        if len(mine) >= 3 and len(mine & theirs) / len(mine) >= COVERED:
            return prev
        if figures and figures == set(_FIGURE.findall(prev.question)):
            union = mine | theirs
            if union and len(mine & theirs) / len(union) >= 0.5:
                return prev
    return None


def draft_letter(
    letter: Letter,
    *,
    retriever: Retrieves,
    writer: Writer,
    settings: Settings,
    k: int | None = None,
    exclude_letters: Sequence[str] = (),
    progress: Progress | None = None,
    log_to_audit: bool = True,
) -> list[Draft]:
    """Draft every question of `letter` (one Draft per item, in order).

    A failed model call for one question keeps that question's partial Draft (precedents, the
    error) and goes on with the next; the output marks it for the directorate.
    """
    if not letter.items:
        raise InputError(f"{letter.source}: no questions found to answer")
    drafts: list[Draft] = []
    for i, item in enumerate(letter.items):
        prev = covered_by(item, letter.items[:i])
        if prev is not None:
            d = reference_draft(item, prev, writer.provider, settings)
            if log_to_audit:
                from app.drafting.audit import log_draft

                log_draft(d, settings.data_dir)
        else:
            try:
                d = draft(
                    DraftRequest(
                        item.question,
                        k=k,
                        exclude_letters=exclude_letters,
                        log_to_audit=log_to_audit,
                    ),
                    retriever=retriever,
                    writer=writer,
                    settings=settings,
                )
            except DraftError as exc:
                log.warning("question %s of %s: %s", item.label, letter.id, exc)
                d = exc.draft
        drafts.append(d)
        if progress is not None:
            progress(i + 1, len(letter.items), item)
    return drafts


def reference_draft(item: QAItem, prev: QAItem, provider: str, settings: Settings) -> Draft:
    return Draft(
        question=item.question,
        text=SEE_ANSWER.format(numbers_label(prev.numbers)),
        citations=[],
        precedents=[],
        abstained=False,
        warnings=[],
        model="geen (verwijzing naar eerder antwoord)",
        provider=provider,
        prompt_version=prompt_version(settings.prompts_dir),
        timings={"total": 0.0},
    )
