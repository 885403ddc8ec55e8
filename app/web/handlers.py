"""What the web UI does, as plain Python (no gradio here, so tests need no browser).

Each handler takes the user's input, the per-session state and the app's `Services`, calls the
same pipeline functions the CLI calls (`Services.draft_stream`, `draft_letter`, `review`,
`ingest`, `add_feedback`) and returns view data: chat messages, HTML snippets, table rows.
Errors stay `app.errors` exceptions; `app.web.app` turns them into gr.Error / gr.Warning. Session
state lives in small dataclasses that gradio keeps per browser tab (gr.State), never in globals.
The whole-letter tab's handlers are in `app.web.letter`, the `Services` in `app.web.services`
(both re-exported here, so `app.web.app` needs one import).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.drafting import audit
from app.drafting.draft import (  # noqa: F401  (system_texts: re-exported for app.web.app)
    Done,
    DraftError,
    PrecedentsFound,
    Token,
    system_texts,
)
from app.drafting.review import review
from app.errors import InputError, KVError
from app.index.ingest import ingest
from app.records import Draft, Precedent
from app.services import DraftRequest
from app.web.letter import (  # noqa: F401  (re-exported for app.web.app and the tests)
    LETTER_HEADERS,
    LetterSession,
    LetterView,
    choose_set,
    draft_all,
    export_docx,
    letter_rows,
    load_questions,
)
from app.web.services import Progress, Services, require_text
from app.web.views import (
    alerts_html,
    check_summary,
    choice_label,
    highlight_spans,
    precedent_cards,
    provenance_html,
    review_html,
)

log = logging.getLogger(__name__)

WORKING = "_Concept wordt opgesteld…_"


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
    review: str = ""
    """The finished draft's provenance marks and part coverage (empty while drafting)."""
    notice: str | None = None
    """A problem the user must see (LLM down …) while the app goes on."""
    partial: bool = False
    """Only `messages` changed (a streamed token): the UI leaves the rest alone."""


def ask(message: str | None, session: ChatSession, svc: Services) -> Iterator[ChatView]:
    """A new question, or — once a draft exists — an instruction to refine it ("korter")."""
    text = require_text(message, "De vraag", svc.settings.max_question_chars)
    if session.history:
        request = DraftRequest(
            text,
            history=list(session.history),
            precedent_ids=session.precedent_ids,
            parent_id=session.draft.draft_id if session.draft else None,
        )
    else:
        request = DraftRequest(text)
    events = svc.draft_stream(request)
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
    events = svc.draft_stream(
        DraftRequest(
            original,
            precedent_ids=ids,
            parent_id=session.draft.draft_id if session.draft else None,
        )
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
                yield _view(session, drafting=True)
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


def _view(session: ChatSession, notice: str | None = None, drafting: bool = False) -> ChatView:
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
        review="" if drafting else review_html(d, numbers),
        notice=notice,
    )


def to_check(session: ChatSession) -> tuple[str, str]:
    """The question and the latest draft, for the check tab (where the user can edit the
    answer and check it again: figures, premises, provenance)."""
    if session.question is None or session.draft is None or not session.draft.text:
        raise InputError("Er is nog geen concept om te controleren: stel eerst een vraag.")
    return session.question, session.draft.text


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
    marks: str = ""
    """The answer's sentences marked by origin (reused / adapted / new)."""


def check(question: str | None, answer: str | None, svc: Services) -> CheckView:
    """Check any answer text against the precedents for its question: the same review a draft
    gets (`app.drafting.review.review`), without a citation numbering or leak check (see its
    docstring); the tab shows the check findings and where each sentence comes from."""
    q = require_text(question, "De vraag", svc.settings.max_question_chars)
    a = require_text(answer, "Het antwoord", svc.settings.max_question_chars)
    precedents = svc.retriever.search(q, k=svc.settings.top_k)
    r = review(a, question=q, precedents=precedents, cited=None)  # no numbering, no secrets
    return CheckView(
        highlight_spans(a, r.check),
        check_summary(r.check, a),
        precedent_cards(precedents, {}),
        provenance_html(r.provenance, a, {}),
    )


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
