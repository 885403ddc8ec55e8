"""Premise check (app/checking/premise.py): a figure, date or place in the *question* that a
precedent
contradicts becomes a warning; honest questions get none.

Precedents are built straight from parsed letters: the source letter
(corpus/letters/apply-ai-strategie.txt, byte for byte the one in ../shared/data/source-letter/) and
the 42 other letters in corpus/letters. Item 3 of the source
letter is not used (its number is lost at a page break; see issue 11).
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from app.checking import facts
from app.checking.check import check_answer, format_report
from app.checking.premise import PrecedentAnswer, label, premise_warnings, warnings_against
from app.letters.parse import parse_file, parse_questions
from app.records import Letter, Precedent
from tests.conftest import CORPUS_LETTERS, INCOMING_JSONL, SOURCE_LETTER


def precedents(letter: Letter) -> list[Precedent]:
    return [
        Precedent(letter.item_id(it), letter.id, it.numbers, it.question, it.answer, 1.0)
        for it in letter.items
    ]


@cache
def source() -> tuple[Letter, list[Precedent]]:
    letter = parse_file(SOURCE_LETTER)
    return letter, [p for p in precedents(letter) if 3 not in p.numbers]


@cache
def corpus() -> list[Letter]:
    """The 42 real letters in corpus/letters, without the source letter shipped beside them."""
    own = SOURCE_LETTER.read_bytes()
    files = [p for p in sorted(CORPUS_LETTERS.glob("*.txt")) if p.read_bytes() != own]
    assert len(files) >= 42, f"the corpus letters are missing from {CORPUS_LETTERS}"
    return [parse_file(p) for p in files]


def item(n: int) -> Precedent:
    return next(p for p in source()[1] if p.numbers == (n,))


def warns(question: str) -> list[str]:
    return premise_warnings(question, source()[1])


# -- the source letter: false premises are caught ----------------------------------------------


def test_groningen_500_miljoen_contradicts_answer_10() -> None:
    question = "Waarom investeert het kabinet 500 miljoen euro in de AI-fabriek in Groningen?"
    assert warns(question) == [
        "De vraag noemt 500 miljoen euro; het kabinet noemde eerder 131 miljoen euro "
        f"({label(item(10))})"
    ]
    assert label(item(10)) == f"{source()[0].id}, vraag 10"


def test_the_supported_figure_gives_no_warning() -> None:
    assert (
        warns("Waarom investeert het kabinet 131 miljoen euro in de AI-fabriek in Groningen?") == []
    )
    assert warns("Hoeveel investeert Nederland in de AI-fabriek in Groningen?") == []


def test_a_changed_year_is_caught() -> None:
    question = (
        "Waarom verwacht het kabinet dat de strategie pas na 2030 significant wordt aangepast?"
    )
    [w] = warns(question)
    assert w.startswith("De vraag noemt na 2030; het kabinet noemde eerder na 2027 (")
    assert re.search(r", vraag 1[147]\)$", w), w  # answers 11, 14 and 17 say "na 2027"
    assert warns(question.replace("2030", "2027")) == []


@pytest.mark.parametrize(
    ("question", "asked", "said", "n"),
    [
        (
            "De vijf EDIH's zijn gestart met hun opdracht voor de jaren 2024-2026. Welke "
            "resultaten verwacht het kabinet op korte termijn?",
            "2024-2026", "2026-2028", 1,
        ),
        (
            "Via RVO is in april 2023 een interessepeiling uitgezet over AI-gigafabrieken. Wat "
            "was daarvan de uitkomst?",
            "april 2023", "april 2025", 10,
        ),
        (
            "Waarom hadden de open stakeholdersessies over de sectoren van de Apply "
            "AI-strategie maar 10 deelnemers?",
            "10 deelnemers", "100 deelnemers", 7,
        ),
        (
            "Het kabinet komt pas aan het einde van het derde kwartaal met een reactie op de "
            "win-win-lening. Kan dat sneller?",
            "het derde kwartaal", "het eerste kwartaal", 18,
        ),
    ],
    ids=["period", "date", "count", "quarter"],
)  # fmt: skip
def test_changed_period_date_count_and_quarter(
    question: str, asked: str, said: str, n: int
) -> None:
    assert warns(question) == [
        f"De vraag noemt {asked}; het kabinet noemde eerder {said} ({label(item(n))})"
    ]
    assert warns(question.replace(asked.removeprefix("het "), said.removeprefix("het "))) == []


def test_a_wrong_city_for_the_ai_fabriek_is_caught() -> None:
    assert warns("Hoeveel investeert Nederland in de AI-fabriek in Eindhoven?") == [
        "De vraag noemt AI-fabriek in Eindhoven; het kabinet noemde eerder AI-fabriek in "
        f"Groningen ({label(item(10))})"
    ]


# -- no contradiction, no warning ----------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "Hoeveel kost de nieuwe snelweg van 200 miljoen euro in Limburg?",
        "Klopt het dat 40 procent van de gemeenten in 2024 AI gebruikte?",
        "Wat kost de renovatie van het Binnenhof en wanneer kan de Kamer in 2028 terugkeren?",
        "Hoeveel investeert het kabinet in de bouw van een quantumcomputer in Delft?",
        "Waarom krijgen de vijf EDIH's maar 3 miljoen euro per jaar voor hun opdracht?",
    ],
)
def test_figures_no_precedent_states_on_their_subject_give_no_warning(question: str) -> None:
    assert warns(question) == []


def test_a_figure_the_question_also_states_is_not_against_it() -> None:
    answer = "Met de nationale isolatieaanpak worden 300.000 woningen per jaar geïsoleerd."
    p = Precedent("x#1", "x", (1,), "", answer, 1.0)
    question = (
        "Worden met de nationale isolatieaanpak 2,5 miljoen woningen geïsoleerd, omgerekend "
        "300.000 woningen per jaar?"
    )
    assert premise_warnings(question, [p]) == []
    question = "Worden met de nationale isolatieaanpak 250.000 woningen per jaar geïsoleerd?"
    assert premise_warnings(question, [p]) == [
        "De vraag noemt 250.000 woningen; het kabinet noemde eerder 300.000 woningen (x, vraag 1)"
    ]


def test_a_place_with_several_places_in_the_precedents_is_not_contradicted() -> None:
    answer = "De politiepost in Heerenveen blijft open. Ook de politiepost in Drachten blijft open."
    p = Precedent("x#1", "x", (1,), "", answer, 1.0)
    assert premise_warnings("Blijft de politiepost in Wolvega open?", [p]) == []
    one = Precedent("x#2", "x", (2,), "", "De politiepost in Heerenveen blijft open.", 1.0)
    assert premise_warnings("Blijft de politiepost in Wolvega open?", [one]) == [
        "De vraag noemt politiepost in Wolvega; het kabinet noemde eerder politiepost in "
        "Heerenveen (x, vraag 2)"
    ]
    assert premise_warnings("Blijft een politiepost in Wolvega open?", [one]) == []


def test_empty_inputs_and_labels() -> None:
    assert premise_warnings("", source()[1]) == []
    assert premise_warnings("Waarom 500 miljoen euro?", []) == []
    combined = Precedent("ah-1#4-5", "ah-1", (4, 5), "", "", 1.0)
    assert label(combined) == "ah-1, vragen 4 en 5"
    assert label(Precedent("los", "los", (), "", "", 1.0)) == "los"


# -- wiring into the check ------------------------------------------------------------------------


def test_check_answer_carries_the_premise_warnings_into_kv_check_output() -> None:
    question = "Waarom investeert het kabinet 500 miljoen euro in de AI-fabriek in Groningen?"
    answer = "Nederland investeert 131 miljoen euro in een AI-fabriek in Groningen."
    report = check_answer(answer, question, [item(10)])
    assert report.premises == tuple(warns(question))
    assert report.problems == ()  # the answer itself is right
    assert report.to_dict()["premise_warnings"] == list(report.premises)
    text = format_report(report, answer)
    assert "QUESTION PREMISE" in text and "De vraag noemt 500 miljoen euro" in text
    honest = check_answer(answer, "Hoeveel investeert Nederland in Groningen?", [item(10)])
    assert honest.premises == () and "QUESTION PREMISE" not in format_report(honest, answer)


# -- precision on real questions (measured; the bounds leave a little room) ------------------------


def test_corpus_questions_against_their_own_letter_give_almost_no_warnings() -> None:
    """Measured: 0 of 312 questions warned, against their own answer or all of their letter's."""
    asked, warned = 0, []
    for letter in corpus():
        ps = precedents(letter)
        answers = [PrecedentAnswer.build(p) for p in ps]
        for it in letter.items:
            asked += 1
            warned += [(letter.item_id(it), w) for w in warnings_against(it.question, answers)]
    assert asked >= 300
    assert len(warned) <= 0.01 * asked, warned


def test_all_questions_against_all_answers_give_almost_no_warnings() -> None:
    """Every corpus, source-letter and incoming question against all answers at once (far more
    than retrieval hands in). Measured: 1 of 555, and it is right: source question 13 says
    "10 sectoren" where answer 7 says "elf sectoren"."""
    letters = [*corpus(), source()[0]]
    answers = [PrecedentAnswer.build(p) for letter in letters for p in precedents(letter)]
    questions = [it.question for letter in letters for it in letter.items]
    questions += [it.question for s in parse_questions(INCOMING_JSONL) for it in s.items]
    warned = [(q[:80], w) for q in questions for w in warnings_against(q, answers)]
    assert len(questions) >= 500
    assert len(warned) <= 5, warned
    sectoren = [w for q, w in warned if "10 sectoren" in w]
    assert sectoren == [
        f"De vraag noemt 10 sectoren; het kabinet noemde eerder elf sectoren ({label(item(7))})"
    ]


def test_restated_answer_sentences_are_clean_and_changed_ones_caught() -> None:
    """Each answer sentence with a figure, asked back as "Klopt het dat …?": no warning; with
    its first year or number changed: a warning. Measured: 0 of 264 warned; 194 of 242 caught."""
    clean = changed = caught = 0
    false = []
    for letter in corpus():
        answers = [PrecedentAnswer.build(p) for p in precedents(letter)]
        for it in letter.items:
            text = " ".join(it.answer.split())
            for s, e in facts.sentences(text):
                sent = text[s:e].rstrip(".")
                figs = facts.figures(sent)
                if not figs or len(sent) > 300:
                    continue
                clean += 1
                ask = "Klopt het dat " + sent[0].lower() + sent[1:] + "?"
                false += [(ask, w) for w in warnings_against(ask, answers)]
                f = figs[0]
                rx = r"(?:19|20)\d\d" if f.kind in ("date", "period") else r"\d+"
                m = re.search(rx, f.text)
                if not m:
                    continue
                new = int(m[0]) + 3 if f.kind in ("date", "period") else int(m[0]) * 2 + 1
                other = f.text[: m.start()] + str(new) + f.text[m.end() :]
                ask = "Klopt het dat " + sent[0].lower() + sent[1 : f.start] + other
                changed += 1
                caught += bool(warnings_against(ask + sent[f.end :] + "?", answers))
    assert clean >= 200 and changed >= 200
    assert len(false) <= 0.01 * clean, false
    assert caught >= 0.7 * changed, (caught, changed)


def test_source_letter_questions_against_their_letter() -> None:
    """The letter's own questions: only question 13's "10 sectoren" is flagged."""
    letter, ps = source()
    answers = [PrecedentAnswer.build(p) for p in ps]
    warned = {it.numbers: warnings_against(it.question, answers) for it in letter.items}
    assert {n: w for n, w in warned.items() if w} == {
        (13,): [
            f"De vraag noemt 10 sectoren; het kabinet noemde eerder elf sectoren ({label(item(7))})"
        ]
    }
