"""The extractive provider: verbatim precedent sentences, each cited, in a bounded length."""

from __future__ import annotations

import re

from app.checking.check import check_answer
from app.drafting.review import misattributed
from app.records import Precedent
from app.text import split_sentences, terms
from app.writers.extractive import MAX_WORDS, MIN_WORDS, compose
from tests._drafting import sudan_precedents

CITED = re.compile(r"(.+?) \[(\d+)\](?: |$)")


def pieces(text: str) -> list[tuple[str, int]]:
    """(sentence, citation number) pairs of an extractive draft."""
    out = [(m.group(1), int(m.group(2))) for m in CITED.finditer(text)]
    assert " ".join(f"{s} [{n}]" for s, n in out) == text, "every sentence must end in [n]"
    return out


def test_split_keeps_abbreviations_inside_sentences() -> None:
    text = "Dit geldt o.a. voor art. 5 van de wet. Zie Kamerstuk 32 637, nr. 225. Klaar!"
    assert split_sentences(text) == [
        "Dit geldt o.a. voor art. 5 van de wet.",
        "Zie Kamerstuk 32 637, nr. 225.",
        "Klaar!",
    ]


def test_terms_are_stemmed_without_stopwords() -> None:
    assert terms("De humanitaire hulp aan Soedan") == ["humanitair", "hulp", "soedan"]
    assert terms("humanitaire hulpen") == ["humanitair", "hulp"]


def test_draft_is_verbatim_cited_and_bounded() -> None:
    precedents = sudan_precedents()
    text = compose(
        "Hoeveel geld heeft Nederland in 2023 bijgedragen aan hulp in Soedan?", precedents
    )
    parts = pieces(text)
    for sentence, nr in parts:
        assert sentence in precedents[nr - 1].answer  # cited to the precedent it came from
    numbers = [nr for _, nr in parts]
    assert numbers == sorted(numbers)  # precedent order kept
    assert any("EUR 12 miljoen" in s for s, _ in parts)
    words = len(re.sub(r"\[\d+\]", "", text).split())
    assert MIN_WORDS <= words <= MAX_WORDS
    assert misattributed(text, precedents) == []  # the draft's own citation check agrees
    report = check_answer(text, "", precedents)
    assert [f for f in report.problems if f.status == "contradicted"] == []


def test_picks_the_sentence_that_answers_the_question() -> None:
    text = compose(
        "Is er speciale aandacht voor vrouwen en kinderen bij de hulpverlening in Soedan?",
        sudan_precedents(),
    )
    assert "vrouwen, kinderen en mannen" in text
    assert "Hier wordt speciaal aandacht aan gegeven. [3]" in text


def test_long_precedents_stay_under_the_maximum() -> None:
    base = sudan_precedents()[0]
    long = Precedent(
        id="x#1", letter_id="x", numbers=(1,), question=base.question,
        answer=" ".join([base.answer] * 10), score=1.0,
    )  # fmt: skip
    text = compose("humanitaire hulp Soedan OCHA Griffiths financiering", [long])
    assert len(re.sub(r"\[\d+\]", "", text).split()) <= MAX_WORDS
    assert len(set(s for s, _ in pieces(text))) == len(pieces(text))  # no repeated sentence


def test_nothing_to_compose_from() -> None:
    assert compose("Wat is het beleid?", []) == ""
