"""Question parts, focused evidence, assembly/cleanup and provenance (no model, no store).

Precedents are real text: the corpus' Sudan letter and the source letter's answer 10.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.drafting import compose, tidy
from app.drafting.evidence import Evidence, EvidenceGroup, EvidenceSentence, select
from app.drafting.parts import split_parts
from app.drafting.provenance import most_recent_wins, provenance, sentence_provenance
from app.letters.parse import parse_file
from app.records import Precedent
from app.settings import ROOT
from tests._drafting import sudan_precedents

LETTER = ROOT / "corpus" / "letters" / "apply-ai-strategie.txt"


@pytest.fixture(scope="module")
def answer10() -> Precedent:
    letter = parse_file(Path(LETTER))
    item = next(i for i in letter.items if i.numbers == (10,))
    return Precedent(
        id=letter.item_id(item), letter_id=letter.id, numbers=item.numbers,
        question=item.question, answer=item.answer, score=1.0,
    )  # fmt: skip


def test_a_bundled_question_splits_into_its_parts_with_the_context_kept() -> None:
    q = (
        "Deze leden merken op dat de 1 miljard euro wordt verdeeld. Hoeveel zeggenschap hebben "
        "lidstaten in die verdeling? Is dit genoeg geld om de ambities waar te maken? Voor welke "
        "strategische investeringen pleit Nederland in Europees verband?"
    )
    parts = split_parts(q)
    assert [p.text for p in parts] == [
        "Hoeveel zeggenschap hebben lidstaten in die verdeling?",
        "Is dit genoeg geld om de ambities waar te maken?",
        "Voor welke strategische investeringen pleit Nederland in Europees verband?",
    ]
    assert all(p.context.startswith("Deze leden merken op") for p in parts)


def test_indirect_and_coordinated_questions_are_parts() -> None:
    q = "Deze leden vragen de minister hoe de EDIH's werken. Zij lezen dat het goed gaat."
    assert [p.text for p in split_parts(q)] == [
        "Deze leden vragen de minister hoe de EDIH's werken."
    ]
    q2 = "Voor welke periode geldt de opdracht, en waar ligt daarbij het zwaartepunt?"
    assert [p.text for p in split_parts(q2)] == [
        "Voor welke periode geldt de opdracht?",
        "Waar ligt daarbij het zwaartepunt?",
    ]
    assert len(split_parts("Geld voor de AI-fabriek.")) == 1  # no question sentence: one part


def test_evidence_is_answer_sentences_only_with_the_needed_neighbour(answer10: Precedent) -> None:
    q = "Zijn er voor AI-gigafabrieken specifieke middelen op de Rijksbegroting gereserveerd?"
    ev = select(split_parts(q), [answer10], None)
    text = " ".join(g.text for g in ev.groups)
    assert "Vooralsnog zijn hiervoor geen specifieke middelen op de Rijksbegroting" in text
    # "hiervoor" leans on the sentence before it, which comes along
    assert "Het kabinet weegt daarbij zorgvuldig de toegevoegde waarde" in text
    assert "De leden van de" not in text and "?" not in text
    assert ev.omitted and "van 10 zinnen niet gebruikt" in ev.omitted[0]


def test_question_like_sentences_glued_into_an_answer_are_never_evidence() -> None:
    p = replace(
        sudan_precedents()[0],
        answer="De leden van de D66-fractie zien dat de hulp aan Soedan groeit. "
        + sudan_precedents()[0].answer,
    )
    ev = select(split_parts("Hoeveel hulp gaat er naar Soedan?"), [p], None)
    assert all(not s.text.startswith("De leden") for g in ev.groups for s in g.sentences)


def test_a_part_nothing_answers_is_a_gap_with_a_marker() -> None:
    q = "Hoeveel heeft Nederland bijgedragen aan Soedan? Wat vindt het kabinet van quantumbits?"
    ev = select(split_parts(q), sudan_precedents(), None)
    assert ev.gaps() == [1]
    text = compose.assemble(ev)
    assert text.endswith("[INPUT NODIG: antwoord op «Wat vindt het kabinet van quantumbits»]")
    cov = compose.coverage(ev, text, ev.precedents)
    assert cov[0].answered and cov[1].gap and not cov[1].answered


def test_tidy_drops_repeats_echoes_and_unfinished_sentences() -> None:
    q = "Hoeveel investeert Nederland in de AI-fabriek in Groningen?"
    s = "Nederland investeert 131 miljoen euro in een AI-fabriek in Groningen [1]."
    text = (
        f"Hoeveel investeert Nederland in de AI-fabriek in Groningen? {s} {s} {s} "
        "De minister investeert ook"
    )
    out, dropped = tidy.tidy_report(text, q)
    assert out == s
    assert dropped == {"repeat": 2, "echo": 1, "cut": 1}
    assert tidy.drop_warning(dropped) is not None


def _ev(p: Precedent, *sentences: str) -> Evidence:
    sel = tuple(EvidenceSentence(p.id, i, s, 1.0, (0,)) for i, s in enumerate(sentences))
    return Evidence(tuple(split_parts("Hoeveel?")), (EvidenceGroup(p, sel),), (sel,))


def test_connect_keeps_an_opening_only_when_the_evidence_supports_it(answer10: Precedent) -> None:
    s = "In dat kader is Nederland actief lid van de EuroHPC Joint Undertaking en investeert het 131 miljoen euro in een AI-fabriek in Groningen."  # noqa: E501
    ev = _ev(answer10, s)
    q = "Hoeveel investeert Nederland in de AI-fabriek in Groningen?"
    good = compose.connect("Het kabinet investeert 131 miljoen euro in Groningen [1].", ev, q)
    assert good.startswith("Het kabinet investeert 131 miljoen euro in Groningen [1]. In dat")
    invented = compose.connect("Het kabinet heeft 10 miljard euro voor AI [1].", ev, q)
    unrelated = compose.connect("Het kabinet bouwt een quantumcomputer in Delft.", ev, q)
    assert invented == unrelated == f"{s} [1]"
    # an uncited opening written from one source gets that source's number
    cited = compose.connect("Het kabinet investeert 131 miljoen euro in Groningen.", ev, q)
    assert cited.startswith("Het kabinet investeert 131 miljoen euro in Groningen [1]. In dat")


def test_provenance_marks_reused_adapted_and_new(answer10: Precedent) -> None:
    cited = [answer10]
    reused = sentence_provenance(
        "Het ministerie van Economische Zaken en RVO ondersteunen deze consortia momenteel op "
        "een faciliterende wijze. [1]", cited,
    )  # fmt: skip
    assert (reused.origin, reused.verified, reused.precedent_id) == ("reused", True, answer10.id)
    adapted = sentence_provenance(
        "Het ministerie en RVO ondersteunen de consortia op dit moment op faciliterende wijze [1].",
        cited,
    )
    assert adapted.origin == "adapted" and adapted.verified and adapted.source
    new = sentence_provenance("Het kabinet bouwt zelf een quantumcomputer in Delft [1].", cited)
    assert (new.origin, new.verified) == ("new", False)
    marks = provenance("Zin zonder bron. [INPUT NODIG: standpunt]", cited)
    assert [m.origin for m in marks] == ["new", "new"]


def test_most_recent_position_wins_with_a_warning() -> None:
    old = replace(sudan_precedents()[0], id="a#1", date="2023-01-10")
    new = replace(sudan_precedents()[0], id="b#1", date="2024-02-05")
    s_old = "Nederland droeg in 2023 via het Sudan Humanitarian Fund van OCHA EUR 9 miljoen bij."
    s_new = "Nederland droeg in 2023 via het Sudan Humanitarian Fund van OCHA EUR 12 miljoen bij."
    new = replace(new, answer=s_new)
    sel_old = (EvidenceSentence("a#1", 0, s_old, 1.0, (0,)),)
    sel_new = (EvidenceSentence("b#1", 0, s_new, 0.9, (0,)),)
    ev = Evidence(
        tuple(split_parts("Hoeveel?")),
        (EvidenceGroup(old, sel_old), EvidenceGroup(new, sel_new)),
        (sel_old + sel_new,),
    )
    kept, warnings = most_recent_wins(ev)
    assert [g.precedent.id for g in kept.groups] == ["b#1"]
    (w,) = warnings
    assert w.startswith("Eerdere antwoorden verschillen: a#1 (2023-01-10)") and "b#1" in w
