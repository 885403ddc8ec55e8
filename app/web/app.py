"""The web app (Gradio): layout and wiring only. The only module that imports gradio.

Every handler here unpacks component values, calls `app.web.handlers` (plain Python, the same
pipeline functions the CLI uses) and turns `KVError`s into `gr.Error` pop-ups, so a failing
model, an empty question or an unreadable upload shows a clear message while the app goes on.
Per-user data lives in `gr.State` (one copy per browser tab); the queue lets
`KV_UI_CONCURRENCY` requests run at once, and the local model serialises itself with a lock.
"""

from __future__ import annotations

import functools
import html
import logging
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr

from app.errors import InputError, KVError
from app.web import handlers as h
from app.web.auth import Authenticator
from app.web.style import CSS, HEADER
from app.web.views import precedent_cards

log = logging.getLogger(__name__)
T = TypeVar("T")

TITLE = "Kamervragen-assistent"
UPLOAD_TYPES = [".txt", ".md", ".pdf", ".docx", ".jsonl"]
LETTER_TYPES = [".txt", ".md", ".pdf", ".docx"]
COLORS = {"tegenstrijdig": "#f4a3a3", "niet onderbouwd": "#ffd68a", "onderbouwd": "#bfe3c6"}


def _fail(exc: KVError) -> Any:
    """Unusable input: a warning and nothing changes. Anything else: an error pop-up."""
    if isinstance(exc, InputError):
        gr.Warning(str(exc), duration=10, title="Controleer de invoer")
        return gr.skip()
    log.warning("ui: %s", exc)
    raise gr.Error(str(exc), title="Dat lukte niet", print_exception=False) from exc


def _errors(fn: Callable[..., T]) -> Callable[..., T | Any]:
    """Run a handler, translating our errors at the edge (see `_fail`)."""

    @functools.wraps(fn)  # gradio reads the signature (gr.Progress, gr.LikeData parameters)
    def wrapped(*args: Any, **kwargs: Any) -> T | Any:
        try:
            return fn(*args, **kwargs)
        except KVError as exc:
            return _fail(exc)

    return wrapped


def _streamed(views: Callable[[], Iterator[h.ChatView]], session: h.ChatSession) -> Iterator[Any]:
    try:
        for view in views():
            yield _chat_out(view, session)
    except KVError as exc:
        yield _fail(exc)


def _chat_out(view: h.ChatView, session: h.ChatSession) -> tuple[Any, ...]:
    if view.notice:
        gr.Warning(view.notice, duration=15, title="Let op")
    if view.partial:  # a streamed token: send only the chat
        return view.messages, gr.skip(), gr.skip(), gr.skip(), gr.skip(), session, gr.skip()
    ticks = gr.CheckboxGroup(choices=view.choices, value=view.ticked)
    return view.messages, view.cards, ticks, view.review, view.alerts, session, ""


def build(svc: h.Services) -> gr.Blocks:
    """The Blocks app; `launch()` adds theme, css and the queue."""
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.HTML(HEADER.format(title=TITLE, model=html.escape(svc.model_label())))
        with gr.Tabs() as tabs:
            with gr.Tab("Vraag beantwoorden", id="chat", elem_id="tab-chat"):
                session, to_check = _chat_tab(svc)
            with gr.Tab("Hele brief", id="brief", elem_id="tab-brief"):
                _letter_tab(svc)
            with gr.Tab("Consistentiecheck", id="check", elem_id="tab-check"):
                check_q, check_a = _check_tab(svc)
            with gr.Tab("Corpus", id="corpus", elem_id="tab-corpus"):
                _corpus_tab(svc, app)

        @_errors
        def hand_over(state: h.ChatSession) -> tuple[Any, ...]:
            q, a = h.to_check(state)
            return q, a, gr.Tabs(selected="check")

        to_check.click(hand_over, [session], [check_q, check_a, tabs])
    return app


def _chat_tab(svc: h.Services) -> tuple[gr.State, gr.Button]:
    session = gr.State(lambda: h.ChatSession())
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            chat = gr.Chatbot(
                label="Concept-antwoord",
                show_label=False,
                elem_id="kv-chat",
                height=460,
                buttons=["copy"],
                feedback_options=("Like", "Dislike"),
                placeholder="Stel een Kamervraag. Het concept verschijnt hier, met verwijzingen "
                "[1], [2] naar de precedenten rechts.",
            )
            review = gr.HTML(elem_id="kv-review")
            alerts = gr.HTML(elem_id="kv-alerts")
            question = gr.Textbox(
                label="Kamervraag of aanwijzing",
                elem_id="kv-question",
                lines=3,
                max_lines=12,
                placeholder="Plak de Kamervraag. Na een concept kunt u hier bijsturen: "
                "'korter', 'formeler', 'voeg toe dat …'.",
            )
            with gr.Row():
                send = gr.Button("Concept opstellen", variant="primary", elem_id="kv-send")
                new = gr.Button("Nieuwe vraag", variant="secondary", elem_id="kv-new")
                to_check = gr.Button(
                    "Bewerken in de consistentiecheck", variant="secondary", elem_id="kv-to-check"
                )
            with gr.Accordion("Beoordeel het laatste concept", open=False):
                reason = gr.Textbox(label="Toelichting (optioneel)", lines=1, elem_id="kv-reason")
                with gr.Row():
                    up = gr.Button("👍 Bruikbaar", size="sm", elem_id="kv-up")
                    down = gr.Button("👎 Niet bruikbaar", size="sm", elem_id="kv-down")
                thanks = gr.Markdown(elem_id="kv-thanks")
        with gr.Column(scale=2):
            gr.Markdown("### Precedenten\nEerdere antwoorden die bij de vraag gevonden zijn.")
            ticks = gr.CheckboxGroup(
                label="Gebruik voor het concept", choices=[], elem_id="kv-ticks"
            )
            redo = gr.Button("Opnieuw opstellen", elem_id="kv-redo")
            cards = gr.HTML(precedent_cards([], {}), elem_id="kv-cards")

    outputs = [chat, cards, ticks, review, alerts, session, question]

    def ask(message: str, state: h.ChatSession) -> Iterator[Any]:
        yield from _streamed(lambda: h.ask(message, state, svc), state)

    def again(ticked: list[str], state: h.ChatSession) -> Iterator[Any]:
        yield from _streamed(lambda: h.redraft(ticked, state, svc), state)

    def reset() -> tuple[Any, ...]:
        state, view = h.new_conversation()
        return (*_chat_out(view, state), "")

    def rate(rating: str) -> Callable[[str, h.ChatSession], tuple[str, str]]:
        @_errors
        def fn(why: str, state: h.ChatSession) -> tuple[str, str]:
            return h.feedback(rating, why, state, svc), ""

        return fn

    @_errors
    def liked(why: str, state: h.ChatSession, data: gr.LikeData) -> tuple[str, str]:
        if data.liked not in (True, False):  # a like taken back: nothing to record
            return gr.skip(), gr.skip()
        index = data.index if isinstance(data.index, int) else data.index[0]
        rating = "up" if data.liked is True else "down"
        return h.feedback(rating, why, state, svc, message_index=index), ""

    for trigger in (send.click, question.submit):
        trigger(ask, [question, session], outputs, show_progress_on=[chat])
    redo.click(again, [ticks, session], outputs, show_progress_on=[chat])
    new.click(reset, None, [*outputs, thanks])
    chat.clear(reset, None, [*outputs, thanks])
    up.click(rate("up"), [reason, session], [thanks, reason])
    down.click(rate("down"), [reason, session], [thanks, reason])
    chat.like(liked, [reason, session], [thanks, reason])
    return session, to_check


def _letter_tab(svc: h.Services) -> None:
    session = gr.State(lambda: h.LetterSession())
    gr.Markdown(
        "Plak een set Kamervragen of upload het bestand (txt, pdf, docx, of jsonl met een "
        "veld `questions`). Alle vragen worden beantwoord; pas de concepten aan in de tabel en "
        "download de antwoordbrief als Word-document."
    )
    with gr.Row(equal_height=True):
        pasted = gr.Textbox(
            label="Vragen (plakken)", lines=7, max_lines=20, elem_id="kv-set-text", scale=3
        )
        upload = gr.File(
            label="Of upload een bestand", file_types=UPLOAD_TYPES, elem_id="kv-set-file", scale=2
        )
    picker = gr.Dropdown(
        label="Vragenset (het bestand bevat er meer)",
        choices=[],
        visible=False,
        elem_id="kv-set-pick",
    )
    with gr.Row():
        read = gr.Button("Vragen inlezen", elem_id="kv-set-read")
        run = gr.Button("Alle vragen beantwoorden", variant="primary", elem_id="kv-set-run")
        make = gr.Button("Antwoordbrief maken (.docx)", elem_id="kv-set-docx")
    table = gr.Dataframe(
        headers=h.LETTER_HEADERS,
        datatype=["str", "str", "str", "str"],
        column_count=4,
        interactive=True,
        static_columns=[0, 1, 3],
        wrap=True,
        line_breaks=True,
        column_widths=["6%", "30%", "44%", "20%"],
        max_height=640,
        label="Vragen en concept-antwoorden",
        elem_id="kv-set-table",
        elem_classes="kv-df",
    )
    docx = gr.File(
        label="Antwoordbrief (Word)", elem_id="kv-set-download", interactive=False, visible=False
    )

    @_errors
    def read_fn(text: str, path: str | None, state: h.LetterSession) -> Any:
        view = h.load_questions(text, path, state, svc)
        if view.notice:
            gr.Warning(view.notice, duration=15, title="Let op")
        picker = gr.Dropdown(choices=view.sets, value=0, visible=len(view.sets) > 1)
        return view.rows, picker, state, gr.File(value=None, visible=False)

    @_errors
    def pick_fn(index: int | None, state: h.LetterSession) -> Any:
        return h.choose_set(index, state), state, gr.File(value=None, visible=False)

    @_errors
    def run_fn(state: h.LetterSession, progress: gr.Progress = gr.Progress()) -> Any:  # noqa: B008
        return h.draft_all(state, svc, progress), state

    @_errors
    def make_fn(rows: Any, state: h.LetterSession) -> Any:
        values = rows.values.tolist() if hasattr(rows, "values") else list(rows or [])
        out = Path(tempfile.mkdtemp(prefix="kv-brief-"))
        path = h.export_docx(state, values, out, h.system_texts(svc.settings))
        return gr.File(value=str(path), visible=True)

    # an uploaded file is read as soon as it has arrived; pasted text on the button
    for trigger in (read.click, upload.upload):
        trigger(
            read_fn,
            [pasted, upload, session],
            [table, picker, session, docx],
            show_progress_on=[table],
        )
    picker.input(pick_fn, [picker, session], [table, session, docx], show_progress_on=[table])
    run.click(run_fn, [session], [table, session], show_progress_on=[table])
    make.click(make_fn, [table, session], [docx], show_progress_on=[docx])


def _check_tab(svc: h.Services) -> tuple[gr.Textbox, gr.Textbox]:
    gr.Markdown(
        "Controleer een antwoord van wie dan ook tegen eerdere antwoorden: cijfers, bedragen, "
        "data, namen en toezeggingen die niet in een precedent staan worden gemarkeerd, en per "
        "zin ziet u of de tekst uit een eerder kabinetsantwoord komt of nieuw is."
    )
    with gr.Row():
        question = gr.Textbox(label="Kamervraag", lines=4, elem_id="kv-check-q")
        answer = gr.Textbox(label="Antwoord om te controleren", lines=8, elem_id="kv-check-a")
    with gr.Row():
        go = gr.Button(
            "Controleren", variant="primary", elem_id="kv-check-go", scale=0, min_width=220
        )
    marked = gr.HighlightedText(
        label="Antwoord met controlepunten",
        color_map=COLORS,
        show_legend=True,
        show_inline_category=False,
        elem_id="kv-check-marked",
    )
    summary = gr.HTML(elem_id="kv-check-summary")
    origin = gr.HTML(elem_id="kv-check-origin")
    with gr.Accordion("Precedenten waartegen is gecontroleerd", open=False):
        cards = gr.HTML()

    @_errors
    def check_fn(q: str, a: str) -> tuple[Any, str, str, str]:
        view = h.check(q, a, svc)
        return view.highlights, view.summary, view.marks, view.cards

    go.click(
        check_fn, [question, answer], [marked, summary, origin, cards], show_progress_on=[marked]
    )
    return question, answer


def _corpus_tab(svc: h.Services, app: gr.Blocks) -> None:
    info = gr.Markdown(elem_id="kv-corpus-info")
    letters = gr.Dataframe(
        headers=h.CORPUS_HEADERS,
        datatype=["str", "str", "number", "str"],
        column_count=4,
        interactive=False,
        wrap=True,
        column_widths=["58%", "12%", "8%", "22%"],
        max_height=420,
        label="Geïndexeerde brieven",
        elem_id="kv-corpus-table",
        elem_classes="kv-df",
    )
    gr.Markdown("### Brieven toevoegen")
    files = gr.File(
        label="Antwoordbrieven (txt, md, pdf, docx)",
        file_count="multiple",
        file_types=LETTER_TYPES,
        elem_id="kv-corpus-files",
    )
    with gr.Row():
        add = gr.Button(
            "Toevoegen aan corpus",
            variant="primary",
            elem_id="kv-corpus-add",
            scale=0,
            min_width=280,
        )
    done = gr.Markdown()
    results = gr.Dataframe(
        headers=h.INGEST_HEADERS,
        column_count=4,
        interactive=False,
        wrap=True,
        label="Resultaat per bestand",
        elem_id="kv-corpus-results",
        elem_classes="kv-df",
    )

    @_errors
    def overview() -> tuple[str, list[list[Any]]]:
        return h.corpus_info(svc), h.corpus_rows(svc)

    @_errors
    def add_fn(paths: list[str] | None, progress: gr.Progress = gr.Progress()) -> Any:  # noqa: B008
        rows, message = h.ingest_files(paths or [], svc, progress)
        return rows, message, h.corpus_info(svc), h.corpus_rows(svc)

    app.load(overview, None, [info, letters])
    add.click(add_fn, [files], [results, done, info, letters], show_progress_on=[results])


def theme() -> gr.themes.Base:
    return gr.themes.Default(
        primary_hue=gr.themes.colors.blue,
        neutral_hue=gr.themes.colors.slate,
        font=["Segoe UI", "system-ui", "Helvetica Neue", "Arial", "sans-serif"],
        radius_size=gr.themes.sizes.radius_sm,
    ).set(
        button_primary_background_fill="#154273",
        button_primary_background_fill_hover="#1f5a99",
        button_primary_text_color="#ffffff",
    )


def serve(svc: h.Services, host: str, port: int, users: dict[str, str]) -> None:
    """Start the server and block (Ctrl-C stops it)."""
    app = build(svc)
    app.queue(default_concurrency_limit=svc.settings.ui_concurrency)
    app.launch(
        server_name=host,
        server_port=port,
        auth=Authenticator(users) if users else None,
        auth_message="Log in met uw gebruikersnaam en wachtwoord voor de Kamervragen-assistent.",
        max_file_size=svc.settings.max_upload_bytes,
        theme=theme(),
        css=CSS,
        footer_links=[],
        run_history=False,
        ssr_mode=False,
        show_error=False,
        quiet=False,
    )
