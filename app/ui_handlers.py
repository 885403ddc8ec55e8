"""What the web UI does, as plain Python (no gradio here, so tests need no browser).

Each handler takes the user's input, the per-session state and the app's `Services`, calls the
same pipeline functions the CLI calls (`draft_stream`, `draft_letter`, `check_answer`, `ingest`,
`add_feedback`) and returns view data: chat messages, HTML snippets, table rows. Errors stay
`app.errors` exceptions; `app.ui` turns them into gr.Error / gr.Warning. Session state lives in
small dataclasses that gradio keeps per browser tab (gr.State), never in globals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from app import audit
from app.answer_letter import draft_letter, write_docx
from app.check import check_answer
from app.draft import Done, DraftError, PrecedentsFound, Token, check_warnings, draft_stream
from app.errors import InputError, KVError, ParseError
from app.ingest import ingest
from app.letters import parse_questions
from app.prompt import numbers_label
from app.records import Draft, Letter, Precedent
from app.retrieve import Retriever
from app.settings import Settings
from app.ui_views import (
    alerts_html,
    check_summary,
    choice_label,
    highlight_spans,
    precedent_cards,
    short,
)

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
"""progress(fraction_done, description) — gr.Progress fits this shape."""

WORKING = "_Concept wordt opgesteld…_"


@dataclass
class Services:
    """The collaborators every handler needs, built once when the server starts."""

    settings: Settings
    retriever: Retriever
    chat_model: BaseChatModel | None
    provider: str

    @classmethod
    def start(cls, settings: Settings, provider: str | None = None) -> Services:
        provider = provider or settings.provider
        chat_model = None
        if provider != "extractive":
            from app.llm import get_chat_model

            chat_model = get_chat_model(settings, provider)
        return cls(settings, Retriever.from_settings(settings), chat_model, provider)

    def model_label(self) -> str:
        """The chat model in words, for the header and the Corpus tab."""
        if self.provider == "extractive":
            return "geen (extractief: zinnen uit de precedenten)"
        if self.provider == "local":
            from app.model_bundle import MODEL_NAME

            return f"{MODEL_NAME}, lokaal"
        from app.llm import model_name

        return model_name(self.settings, self.provider).removeprefix("openai:")

    def pipeline(self) -> dict[str, Any]:
        return {
            "retriever": self.retriever,
            "chat_model": self.chat_model,
            "settings": self.settings,
            "provider": self.provider,
        }


def require_text(text: str | None, what: str, limit: int) -> str:
    """The stripped input, or an InputError in Dutch saying what to do about it."""
    value = (text or "").strip()
    if not value:
        raise InputError(f"{what} is leeg: vul eerst de tekst in.")
    if len(value) > limit:
        raise InputError(
            f"{what} is te lang ({len(value):,} tekens, maximaal {limit:,}). "
            "Kort de tekst in of splits hem op."
        )
    return value


# -- chat ------------------------------------------------------------------------------------


@dataclass
class ChatSession:
    """One conversation: the original question, its follow-ups and the drafts so far."""

    history: list[tuple[str, str]] = field(default_factory=list)
    """(user message, draft text) pairs; the first message is the original question."""
    messages: list[dict[str, str]] = field(default_factory=list)
    retrieved: list[Precedent] = field(default_factory=list)
    """Precedents of the first search (with their scores), kept so they can be re-ticked."""
    current: list[Precedent] = field(default_factory=list)
    numbered: list[str] = field(default_factory=list)
    """Ids the current draft cites as [1]…[n]."""
    precedent_ids: list[str] | None = None
    """Set once the user redrafted from ticked precedents; follow-ups keep using them."""
    question: str | None = None
    """The original question (also kept when its draft failed, so it can be redrafted)."""
    draft: Draft | None = None
    message_drafts: dict[int, int] = field(default_factory=dict)
    """Chat message index → audit-log draft id (for thumbs up/down on any message)."""


@dataclass
class ChatView:
    messages: list[dict[str, str]]
    cards: str
    choices: list[tuple[str, str]]
    ticked: list[str]
    alerts: str
    notice: str | None = None
    """A problem the user must see (LLM down …) while the app goes on."""
    partial: bool = False
    """Only `messages` changed (a streamed token): the UI leaves the rest alone."""


def ask(message: str | None, session: ChatSession, svc: Services) -> Iterator[ChatView]:
    """A new question, or — once a draft exists — an instruction to refine it ("korter")."""
    text = require_text(message, "De vraag", svc.settings.max_question_chars)
    if session.history:
        events = draft_stream(
            text,
            history=list(session.history),
            precedent_ids=session.precedent_ids,
            parent_id=session.draft.draft_id if session.draft else None,
            **svc.pipeline(),
        )
    else:
        events = draft_stream(text, **svc.pipeline())
    yield from _run(events, session, text, text if not session.history else None)


def redraft(
    ticked: Sequence[str] | None, session: ChatSession, svc: Services
) -> Iterator[ChatView]:
    """Draft the original question again from exactly the ticked precedents."""
    if session.question is None:
        raise InputError("Stel eerst een vraag; daarna kunt u opnieuw opstellen.")
    ids = [p.id for p in _panel(session) if p.id in set(ticked or ())]
    if not ids:
        raise InputError("Vink minstens één precedent aan om het concept opnieuw op te stellen.")
    original = session.question
    events = draft_stream(
        original,
        precedent_ids=ids,
        parent_id=session.draft.draft_id if session.draft else None,
        **svc.pipeline(),
    )
    note = f"Opnieuw opstellen met {len(ids)} aangevinkte precedent(en)."
    yield from _run(events, session, note, original, precedent_ids=ids)


def _run(
    events: Iterator[Any],
    session: ChatSession,
    user_text: str,
    restart: str | None,
    precedent_ids: list[str] | None = None,
) -> Iterator[ChatView]:
    """Stream one draft into the session. `restart`: the question a new history starts from."""
    before = len(session.messages)
    session.messages += [
        {"role": "user", "content": user_text},
        {"role": "assistant", "content": WORKING},
    ]
    reply = session.messages[-1]
    parts: list[str] = []
    try:
        for event in events:
            if isinstance(event, PrecedentsFound):
                if restart is not None:
                    session.question = restart
                if restart is not None and precedent_ids is None:
                    session.retrieved = list(event.precedents)
                session.current = list(event.precedents)
                session.numbered = [p.id for p in event.numbered]
                yield _view(session)
            elif isinstance(event, Token):
                parts.append(event.text)
                reply["content"] = "".join(parts)
                yield ChatView([dict(m) for m in session.messages], "", [], [], "", partial=True)
            elif isinstance(event, Done):
                d = event.draft
                reply["content"] = d.text
                session.draft = d
                if d.draft_id is not None:
                    session.message_drafts[len(session.messages) - 1] = d.draft_id
                if restart is not None:
                    session.history = [(restart, d.text)]
                    session.precedent_ids = precedent_ids
                else:
                    session.history.append((user_text, d.text))
                yield _view(session)
    except DraftError as exc:
        d = exc.draft
        session.draft = d
        session.current = list(d.precedents)
        if restart is not None and precedent_ids is None:
            session.retrieved = list(d.precedents)
        reply["content"] = (
            "**Geen concept opgesteld**: het taalmodel gaf geen antwoord. De gevonden "
            "precedenten staan rechts; probeer het zo opnieuw."
        )
        yield _view(session, notice=f"Het taalmodel is niet beschikbaar: {exc}")
    except KVError:
        del session.messages[before:]
        raise


def new_conversation() -> tuple[ChatSession, ChatView]:
    session = ChatSession()
    return session, _view(session)


def _panel(session: ChatSession) -> list[Precedent]:
    """Numbered precedents first ([1]…[n]), then the other retrieved ones."""
    by_id = {p.id: p for p in [*session.current, *session.retrieved]}
    scored = {p.id: p for p in session.retrieved}
    first = [scored.get(i, by_id[i]) for i in session.numbered if i in by_id]
    rest = [p for p in [*session.retrieved, *session.current] if p.id not in set(session.numbered)]
    seen: set[str] = set()
    out = []
    for p in [*first, *rest]:
        if p.id not in seen:
            seen.add(p.id)
            out.append(p)
    return out


def _view(session: ChatSession, notice: str | None = None) -> ChatView:
    numbers = {pid: n for n, pid in enumerate(session.numbered, 1)}
    panel = _panel(session)
    choices = [(choice_label(p, numbers.get(p.id)), p.id) for p in panel]
    d = session.draft
    return ChatView(
        messages=[dict(m) for m in session.messages],
        cards=precedent_cards(panel, numbers),
        choices=choices,
        ticked=list(session.numbered) if session.numbered else [],
        alerts=alerts_html(d) if d else "",
        notice=notice,
    )


def feedback(
    rating: str,
    reason: str | None,
    session: ChatSession,
    svc: Services,
    message_index: int | None = None,
) -> str:
    """Store 👍/👎 (and why) on the draft of `message_index` (default: the latest draft)."""
    if message_index is not None:
        draft_id = session.message_drafts.get(message_index)
    else:
        draft_id = session.draft.draft_id if session.draft else None
    if draft_id is None:
        raise InputError("Er is nog geen concept om te beoordelen.")
    audit.add_feedback(draft_id, rating, (reason or "").strip() or None, svc.settings.data_dir)
    word = "positief" if rating == "up" else "negatief"
    return f"Beoordeling ({word}) opgeslagen bij concept #{draft_id}. Dank u."


# -- consistency check -----------------------------------------------------------------------


@dataclass
class CheckView:
    highlights: list[tuple[str, str | None]]
    summary: str
    cards: str


def check(question: str | None, answer: str | None, svc: Services) -> CheckView:
    """Check any answer text against the precedents for its question."""
    q = require_text(question, "De vraag", svc.settings.max_question_chars)
    a = require_text(answer, "Het antwoord", svc.settings.max_question_chars)
    precedents = svc.retriever.search(q, k=svc.settings.top_k)
    report = check_answer(a, q, precedents)
    return CheckView(
        highlight_spans(a, report), check_summary(report, a), precedent_cards(precedents, {})
    )


# -- whole letter ----------------------------------------------------------------------------


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
    choices = [(f"{short(s.title, 90)} ({len(s.items)} vragen)", i) for i, s in enumerate(sets)]
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

    session.drafts = draft_letter(session.letter, progress=step, **svc.pipeline())
    return letter_rows(session)


def letter_rows(session: LetterSession) -> list[list[str]]:
    if session.letter is None:
        return []
    rows = []
    for i, item in enumerate(session.letter.items):
        d = session.drafts[i] if i < len(session.drafts) else None
        notes = "" if d is None else " • ".join(d.warnings) or "geen"
        rows.append([numbers_label(item.numbers), item.question, d.text if d else "", notes])
    return rows


def export_docx(session: LetterSession, rows: Sequence[Sequence[Any]], out_dir: Path) -> Path:
    """The answer letter as .docx, with the answers as edited in the table."""
    if session.letter is None or len(session.drafts) != len(session.letter.items):
        raise InputError("Laat eerst alle vragen beantwoorden ('Alle vragen beantwoorden').")
    drafts = []
    for i, (item, d) in enumerate(zip(session.letter.items, session.drafts, strict=True)):
        row = rows[i] if i < len(rows) else ()
        edited = str(row[2] if len(row) > 2 and row[2] is not None else "").strip()
        if edited and edited != d.text.strip():
            report = check_answer(edited, item.question, d.precedents)
            notes = ["Handmatig aangepast; cijfers opnieuw gecontroleerd.", *check_warnings(report)]
            d = replace(d, text=edited, check=report, warnings=notes)
        drafts.append(d)
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in session.letter.id)[:60]
    return write_docx(session.letter, drafts, out_dir / f"antwoorden-{stem or 'brief'}.docx")


# -- corpus ----------------------------------------------------------------------------------

CORPUS_HEADERS = ["Titel", "Datum", "Vragen", "Id"]
INGEST_HEADERS = ["Bestand", "Resultaat", "Vragen", "Toelichting"]


def corpus_rows(svc: Services) -> list[list[Any]]:
    letters = svc.retriever.store.letters()
    return [[lt.title or lt.id, lt.date or "", lt.items, lt.id] for lt in letters]


def corpus_info(svc: Services) -> str:
    s, r = svc.settings, svc.retriever
    letters = r.store.letters()
    items = sum(lt.items for lt in letters)
    return (
        f"**{len(letters)} brieven, {items} vragen met antwoord** geïndexeerd · "
        f"opslag: `{r.store.location}` (collectie `{s.collection}`) · "
        f"embeddings: {r.embeddings.model_id} · taalmodel: {svc.model_label()}"
    )


def ingest_files(
    paths: Sequence[str], svc: Services, progress: Progress
) -> tuple[list[list[Any]], str]:
    """Ingest uploaded letters one by one so every file gets its own result line."""
    if not paths:
        raise InputError("Kies eerst een of meer brieven (txt, pdf, docx) om toe te voegen.")
    rows: list[list[Any]] = []
    for n, raw in enumerate(paths):
        path = Path(raw)
        progress(n / len(paths), f"{path.name} ({n + 1} van {len(paths)})")
        size, limit = path.stat().st_size, svc.settings.max_upload_bytes
        if size > limit:  # gradio limits uploads too; this also covers other callers
            rows.append([path.name, "overgeslagen", 0, f"te groot ({size:,} bytes, max {limit:,})"])
            continue
        result = ingest([path], svc.retriever.store)
        if result.failed:
            rows.append([path.name, "overgeslagen", 0, result.failed[0].reason])
        elif result.letters_added:
            rows.append(
                [path.name, "toegevoegd", result.items_added, ", ".join(result.letters_added)]
            )
        elif result.letters_updated:
            changed = result.items_added + result.items_updated
            rows.append([path.name, "bijgewerkt", changed, ", ".join(result.letters_updated)])
        elif result.letters_unchanged:
            rows.append(
                [
                    path.name,
                    "al aanwezig",
                    result.items_unchanged,
                    ", ".join(result.letters_unchanged),
                ]
            )
        else:
            rows.append(
                [path.name, "overgeslagen", 0, "geen brief gevonden (txt, md, pdf of docx)"]
            )
    svc.retriever.refresh()
    progress(1.0, "klaar")
    ok = sum(r[1] != "overgeslagen" for r in rows)
    return rows, f"{ok} van {len(rows)} bestand(en) verwerkt."
