"""The drafting-eval metrics on hand-made inputs (real app.checking.check underneath, no fakes)."""

from __future__ import annotations

import numpy as np
import pytest

from app.records import CheckReport, Finding, Precedent
from evals import metrics as m
from evals import thresholds as t

REFERENCE = (
    "Op dit moment staan er circa 9.400 aanvragen op de wachtlijst. Het kabinet verwacht in "
    "april 2024 een besluit van de Autoriteit Persoonsgegevens."
)


def _precedent(answer: str, pid: str = "x#1") -> Precedent:
    return Precedent(id=pid, letter_id="x", numbers=(1,), question="", answer=answer, score=1.0)


def test_clean_drops_citations_and_gaps() -> None:
    assert m.clean("Ja [1]. Zie ook [2, 3]. [INPUT NODIG: bedrag]") == "Ja . Zie ook ."


def test_fact_recall_normalises_figures_and_lists_the_missed_ones() -> None:
    # "9400" is the reference's "9.400"; the date and the name are missing.
    recall, missed = m.fact_recall("Er wachten 9400 aanvragen [1].", REFERENCE)
    assert recall == pytest.approx(1 / 3)
    assert set(missed) == {"april 2024", "Autoriteit Persoonsgegevens"}
    assert m.fact_recall(REFERENCE, REFERENCE)[0] == 1.0


def test_fact_recall_is_none_without_facts_in_the_reference() -> None:
    assert m.fact_recall("Er wachten 9400 aanvragen.", "Ja, dat klopt.") == (None, [])


def test_fact_precision_counts_support_from_precedents_question_and_reference() -> None:
    precedents = [_precedent("Nederland droeg EUR 12 miljoen bij aan het fonds.")]
    draft = "Nederland droeg 12 miljoen euro bij [1]. In 2031 volgt 15 miljoen euro extra."
    precision, unsupported = m.fact_precision(draft, "Wat droeg Nederland bij?", precedents, "")
    assert precision == pytest.approx(1 / 3)
    assert set(unsupported) == {"2031", "15 miljoen euro"}
    # The real answer supports the year: it counts as supported now.
    precision, _ = m.fact_precision(draft, "", precedents, "Vanaf 2031 gaat het anders.")
    assert precision == pytest.approx(2 / 3)
    assert m.fact_precision("Ja, dat klopt [1].", "", precedents, "")[0] is None


def test_unsupported_rate_and_new_commitments_from_a_check_report() -> None:
    report = CheckReport(
        (
            Finding("amount", "5 miljard euro", 0, 14, "unsupported"),
            Finding("period", "2024", 20, 24, "supported", ("x#1",)),
            Finding("name", "INPUT NODIG", 30, 41, "unsupported"),  # our gap marker: ignored
            Finding("commitment", "Het kabinet zal dit regelen", 50, 77, "unsupported"),
            Finding("commitment", "Ik zal u informeren", 80, 99, "supported", ("x#1",)),
        )
    )
    assert m.unsupported_rate(report) == 0.5
    assert m.new_commitments(report) == ["Het kabinet zal dit regelen"]
    assert m.unsupported_rate(CheckReport(())) is None
    assert m.unsupported_rate(None) is None and m.new_commitments(None) == []


def test_chrf_ignores_citation_markers() -> None:
    assert m.chrf(REFERENCE + " [1]", REFERENCE) == pytest.approx(1.0)
    unrelated = m.chrf("Politiehonden worden goed verzorgd.", REFERENCE)
    assert 0.0 <= unrelated < 0.3


def test_cosines_are_row_wise_and_normalise() -> None:
    a = np.array([[1.0, 0.0], [3.0, 4.0]])
    b = np.array([[2.0, 0.0], [-3.0, -4.0]])
    assert m.cosines(a, b) == pytest.approx([1.0, -1.0])


def test_language_check_tells_dutch_from_english() -> None:
    assert m.is_dutch(REFERENCE)
    assert not m.is_dutch("The cabinet has decided that the waiting list will be cut in half.")
    assert not m.is_dutch("9.400 [1]")


def test_voice_flags_informal_address() -> None:
    assert m.voice("Het kabinet heeft dit besloten.") == {"voice_ok": True, "formal_subject": True}
    assert m.voice("Je kunt dit zelf aanvragen.")["voice_ok"] is False
    assert m.voice("De aanvraag loopt nog.") == {"voice_ok": True, "formal_subject": False}


def test_length_bounds() -> None:
    assert not m.length_ok("woord " * 49)
    assert m.length_ok("woord " * 50 + "[1] [2]")  # citations are not words
    assert not m.length_ok("woord " * 251)


@pytest.mark.parametrize(
    ("expected", "abstained", "text", "correct"),
    [
        (True, True, "Het kabinet … [INPUT NODIG: standpunt]", True),
        (True, False, "Het kabinet weet het niet. [INPUT NODIG: aantal]", True),
        (True, False, "Het kabinet trekt 5 miljard euro uit voor dit doel. [1]", False),
        (False, False, "Het kabinet trekt geen extra geld uit voor dit doel. [1]", True),
        (False, False, "Het kabinet doet dit al [1]. [INPUT NODIG: bedrag]", True),
        (False, False, "[INPUT NODIG: Wat ontbreekt?]", False),  # a gap alone is no answer
        (False, True, "Het kabinet … [INPUT NODIG: standpunt]", False),
    ],
)
def test_abstention_correctness(expected: bool, abstained: bool, text: str, correct: bool) -> None:
    assert m.abstention_correct(expected, abstained, text) is correct


def test_states_compares_facts_normalised_and_phrases_as_text() -> None:
    draft = "Het kabinet trekt 5 miljard uit [1]. Zie de Regio Deal Twente II."
    assert m.states(draft, "5 miljard euro")
    assert not m.states(draft, "6 miljard euro")
    assert m.states(draft, "regio deal  twente")
    assert not m.states(draft, "geschrapt")


def test_ranks_and_hit_curve() -> None:
    assert m.first_rank(["a", "b", "c"], {"c", "z"}) == 3
    assert m.first_rank(["a"], {"z"}) is None
    assert m.hit_curve([1, 3, None, 2], k_max=3) == [0.25, 0.5, 0.75]


def test_mean_skips_not_applicable() -> None:
    assert m.mean([1.0, None, 0.0, True]) == 0.6667  # rounded to 4 decimals
    assert m.mean([None, None]) is None


THRESHOLDS = {
    "corpus.hit@5": {"min": 0.5, "reason": "r"},
    "corpus.unsupported_rate": {"max": 0.1, "reason": "r"},
    "cases.passed": {"min": 0.7, "reason": "r"},
}


def test_gate_passes_good_and_fails_bad_or_missing_summaries() -> None:
    good = {"corpus": {"hit@5": 0.6, "unsupported_rate": 0.0}, "cases": {"passed": 0.8}}
    assert t.gate(good, THRESHOLDS) == []
    zeroed = {"corpus": {"hit@5": 0.0, "unsupported_rate": 0.0}, "cases": {"passed": 0.0}}
    assert [f.split(" ")[0] for f in t.gate(zeroed, THRESHOLDS)] == ["corpus.hit@5", "cases.passed"]
    worse = {"corpus": {"hit@5": 0.6, "unsupported_rate": 0.5}, "cases": {"passed": 0.8}}
    assert t.gate(worse, THRESHOLDS) == ["corpus.unsupported_rate = 0.500 > max 0.1 (r)"]
    nothing = {"corpus": {"hit@5": None, "unsupported_rate": float("nan")}}
    assert len(t.gate(nothing, THRESHOLDS)) == 3
    assert all("not measured" in f for f in t.gate(nothing, THRESHOLDS))
