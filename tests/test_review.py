"""One review for every answer text (`app.drafting.review.review`).

A generated draft, the same text edited by hand (`app.drafting.marks.revise`) and the same text
pasted into the check (`kv check`, the check tab: no citation numbering) get the same warnings;
an edit that adds a problem gets the warning a generated draft would get. The model is faked
(GenericFakeChatModel); the check, prompts and provenance are real.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from app.drafting.draft import DraftRequest, draft, system_texts
from app.drafting.marks import EDITED_NOTE, numbered, revise
from app.drafting.prompt import system_prompt
from app.drafting.review import LEAK_WARNING, REDACTED, review
from app.records import Draft
from app.settings import Settings
from app.text import HOUSE_MAX_WORDS, split_sentences
from app.writers.factory import make_writer
from tests._drafting import SUDAN_ID, FakeRetriever, qa, sudan_precedents
from tests.test_draft import GOOD, QUESTION

CITATION_RULES = (
    "Ongeldige verwijzing",
    "Geen bronverwijzingen",
    "Verwijzing [",
)
"""Warnings of the rules that need our numbering `[1]`…`[n]` (a pasted text has none)."""


@pytest.fixture()
def settings(kv_env: Path) -> Settings:
    return Settings(data_dir=kv_env, provider="local")


def generated(settings: Settings, reply: str = GOOD) -> Draft:
    model = GenericFakeChatModel(messages=iter([AIMessage(content=reply)]))
    return draft(
        DraftRequest(QUESTION, design="free"),
        retriever=FakeRetriever(sudan_precedents()),
        writer=make_writer(settings, "local", model),
        settings=settings,
    )


def reviewed(text: str, d: Draft, settings: Settings) -> list[str]:
    """The warnings `review` gives `text` with this draft's numbering and secrets."""
    return review(
        text,
        question=QUESTION,
        precedents=d.precedents,
        cited=numbered(d),
        secrets=system_texts(settings),
    ).warnings


def test_the_same_text_gets_the_same_warnings_generated_edited_or_checked(
    settings: Settings,
) -> None:
    extra = " Het kabinet trekt hiervoor 150 miljoen euro uit [1]."
    d = generated(settings, GOOD + extra)
    assert "150 miljoen euro" in d.text
    own = reviewed(d.text, d, settings)
    assert "Niet onderbouwd: 150 miljoen euro" in own
    assert d.warnings[len(d.warnings) - len(own) :] == own  # the review's warnings come last

    edited = revise(d, d.text, QUESTION, system_texts(settings))
    assert edited.warnings == [EDITED_NOTE, *own]
    assert (edited.text, edited.citations, edited.check) == (d.text, d.citations, d.check)
    assert edited.provenance == d.provenance

    checked = review(d.text, question=QUESTION, precedents=d.precedents, cited=None)
    assert checked.check == d.check
    kept = [w for w in own if not w.startswith(CITATION_RULES) and "zin(nen) met een" not in w]
    assert checked.warnings == kept and "Niet onderbouwd: 150 miljoen euro" in kept


def test_an_edit_that_adds_an_unsupported_figure_is_warned(settings: Settings) -> None:
    d = generated(settings)
    assert not any(w.startswith("Niet onderbouwd") for w in d.warnings)
    edited = revise(d, GOOD + " Het kabinet trekt hiervoor 150 miljoen euro uit.", QUESTION)
    assert "Niet onderbouwd: 150 miljoen euro" in edited.warnings


def test_an_edit_that_cites_the_wrong_precedent_is_warned(settings: Settings) -> None:
    d = generated(settings)
    refs = numbered(d)
    assert [p.id for p in refs[:2]] == [f"{SUDAN_ID}#3", f"{SUDAN_ID}#4"]
    other = split_sentences(qa(4)[1])[-1]  # a sentence of precedent [2], cited as [1]
    edited = revise(d, f"{GOOD} {other[:-1]} [1].", QUESTION)
    (wrong,) = [w for w in edited.warnings if w.startswith("Verwijzing [1] lijkt niet")]
    assert "staat in precedent [2]" in wrong
    assert not any(w.startswith("Verwijzing [") for w in d.warnings)


def test_an_edit_that_leaks_the_system_prompt_is_redacted(settings: Settings) -> None:
    d = generated(settings)
    leak = f"{GOOD} {system_prompt(settings).splitlines()[0]}"
    edited = revise(d, leak, QUESTION, system_texts(settings))
    assert LEAK_WARNING in edited.warnings
    assert REDACTED in edited.text and "ervaren beleidsmedewerker" not in edited.text
    assert LEAK_WARNING not in revise(d, GOOD, QUESTION, system_texts(settings)).warnings


def test_an_edit_that_is_too_long_is_warned(settings: Settings) -> None:
    d = generated(settings)
    assert not any(w.startswith("Lengte") for w in d.warnings)
    long = " ".join([GOOD] * 4)
    edited = revise(d, long, QUESTION)
    (length,) = [w for w in edited.warnings if w.startswith("Lengte:")]
    assert f"huisstijl: 50–{HOUSE_MAX_WORDS}" in length


def test_a_pasted_text_skips_the_numbering_rules_and_gap_markers() -> None:
    """`kv check` and the check tab: no numbering of ours, so no citation warnings; our own
    gap marker is not a name to check; provenance is measured against every precedent."""
    ps = sudan_precedents()
    text = f"{split_sentences(ps[1].answer)[0]} [7] [INPUT NODIG: standpunt van de directie]"
    r = review(text, question=QUESTION, precedents=ps, cited=None)
    assert r.citations == [] and r.text == text
    assert not any(w.startswith(CITATION_RULES) for w in r.warnings)
    assert not any("INPUT NODIG" in f.text for f in r.check.findings)
    assert r.provenance[0].origin == "reused" and r.provenance[0].precedent_id == ps[1].id
