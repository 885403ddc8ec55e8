"""The "Hele brief" tab as plain Python: a question set in, drafted answers in a table, an
answer letter out (.docx).

Reads a pasted or uploaded set (`parse_questions`), drafts every question with
`draft_letter` (the function `kv draft-letter` calls) and writes the letter with the answers
as edited in the table; an edited answer is reviewed again as a draft is
(`app.drafting.marks.revise`: leaks, citations, figures, premises, provenance, length, coverage)
before it goes into the letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.drafting.export import write_docx
from app.drafting.letter import draft_letter
from app.drafting.marks import revise
from app.drafting.prompt import numbers_label
from app.errors import InputError, ParseError
from app.letters.parse import parse_questions
from app.records import Draft, Letter
from app.text import clip
from app.web.services import Progress, Services, require_text
from app.web.views import letter_notes


@dataclass
class LetterSession:
    sets: list[Letter] = field(default_factory=list)
    """Every question set in the input (a JSONL file can hold several)."""
    letter: Letter | None = None
    drafts: list[Draft] = field(default_factory=list)


@dataclass
class LetterView:
    rows: list[list[str]]
    sets: list[tuple[str, int]]
    """Choices for the set picker: (label, index into `LetterSession.sets`)."""
    notice: str | None = None


LETTER_HEADERS = ["Nr.", "Vraag", "Concept-antwoord (bewerkbaar)", "Controlepunten"]


def load_questions(
    text: str | None, upload: str | None, session: LetterSession, svc: Services
) -> LetterView:
    """Parse an uploaded file (txt, pdf, docx, jsonl) or, without one, the pasted text."""
    errors: list[ParseError] = []
    if upload:
        path = Path(upload)
        if path.stat().st_size > svc.settings.max_upload_bytes:
            raise InputError(
                f"{path.name} is te groot (meer dan {svc.settings.max_upload_bytes:,} bytes)."
            )
        sets = parse_questions(path, errors)
    else:
        pasted = require_text(text, "De vragenset", svc.settings.max_upload_bytes)
        # A trailing newline keeps parse_questions from reading pasted text as a server path.
        sets = parse_questions(pasted + "\n", errors)
    sets = [s for s in sets if s.items]
    if not sets:
        raise InputError(
            "Geen vragen gevonden. Nummer de vragen ('Vraag 1', '1.') of upload een jsonl-bestand "
            "met een veld 'questions'."
        )
    session.sets, session.letter, session.drafts = sets, sets[0], []
    notice = None
    if errors:
        notice = f"{len(errors)} regel(s) overgeslagen: " + "; ".join(str(e) for e in errors[:3])
    choices = [(f"{clip(s.title, 90)} ({len(s.items)} vragen)", i) for i, s in enumerate(sets)]
    return LetterView(letter_rows(session), choices, notice)


def choose_set(index: int | None, session: LetterSession) -> list[list[str]]:
    if index is None or not 0 <= int(index) < len(session.sets):
        raise InputError("Kies een vragenset uit de lijst.")
    session.letter, session.drafts = session.sets[int(index)], []
    return letter_rows(session)


def draft_all(session: LetterSession, svc: Services, progress: Progress) -> list[list[str]]:
    """Draft every question (a failed model call keeps that question's precedents and goes on)."""
    if session.letter is None:
        raise InputError("Lees eerst een vragenset in (plak de tekst of upload een bestand).")
    progress(0.0, f"0 van {len(session.letter.items)} vragen")

    def step(done: int, total: int, item: Any) -> None:
        progress(done / total, f"Vraag {numbers_label(item.numbers)} klaar ({done} van {total})")

    session.drafts = draft_letter(
        session.letter,
        retriever=svc.retriever,
        writer=svc.writer,
        settings=svc.settings,
        progress=step,
    )
    return letter_rows(session)


def letter_rows(session: LetterSession) -> list[list[str]]:
    if session.letter is None:
        return []
    rows = []
    for i, item in enumerate(session.letter.items):
        d = session.drafts[i] if i < len(session.drafts) else None
        notes = "" if d is None else letter_notes(d)
        rows.append([numbers_label(item.numbers), item.question, d.text if d else "", notes])
    return rows


def export_docx(
    session: LetterSession,
    rows: Sequence[Sequence[Any]],
    out_dir: Path,
    secrets: Sequence[str] = (),
) -> Path:
    """The answer letter as .docx, with the answers as edited in the table (an edited answer is
    reviewed again, with the leak check's `secrets`: `app.drafting.draft.system_texts`)."""
    if session.letter is None or len(session.drafts) != len(session.letter.items):
        raise InputError("Laat eerst alle vragen beantwoorden ('Alle vragen beantwoorden').")
    drafts = []
    for i, (item, d) in enumerate(zip(session.letter.items, session.drafts, strict=True)):
        row = rows[i] if i < len(rows) else ()
        edited = str(row[2] if len(row) > 2 and row[2] is not None else "").strip()
        if edited and edited != d.text.strip():
            d = revise(d, edited, item.question, secrets)
        drafts.append(d)
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in session.letter.id)[:60]
    return write_docx(session.letter, drafts, out_dir / f"antwoorden-{stem or 'brief'}.docx")
