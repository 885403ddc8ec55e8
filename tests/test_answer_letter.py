"""A whole question set drafted and written as a Word answer letter (read back with python-docx)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.enum.text import WD_COLOR_INDEX

from app.drafting.draft import ABSTAIN_WARNING
from app.drafting.letter import covered_by, draft_letter, to_markdown, write_answers
from app.drafting.marks import EDITED_NOTE, cited, numbered, revise
from app.errors import InputError
from app.letters.parse import parse_questions
from app.records import Draft, Letter, PartCoverage, SentenceProvenance
from app.settings import Settings
from app.text import split_sentences
from app.writers.factory import make_writer
from tests._drafting import SUDAN_ID, FakeRetriever, sudan_precedents
from tests.test_draft import Broken

QUESTIONS = """Vraag 1
Hoeveel geld heeft Nederland in 2023 bijgedragen aan de humanitaire hulp in Soedan?

Vraag 2
Is er bij de hulpverlening in Soedan speciale aandacht voor vrouwen en kinderen?

Vraag 3
Hoeveel geld heeft Nederland in 2023 bijgedragen aan humanitaire hulp voor Soedan?
"""
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture()
def settings(kv_env: Path) -> Settings:
    return Settings(data_dir=kv_env)


@pytest.fixture()
def letter() -> Letter:
    (parsed,) = parse_questions(QUESTIONS)
    return parsed


def drafted(letter: Letter, settings: Settings) -> list[Draft]:
    steps: list[tuple[int, int]] = []
    drafts = draft_letter(
        letter,
        retriever=FakeRetriever(sudan_precedents()),
        writer=make_writer(settings, "extractive"),
        settings=settings,
        progress=lambda done, total, item: steps.append((done, total)),
    )
    assert steps == [(1, 3), (2, 3), (3, 3)]
    return drafts


def test_a_covered_question_refers_to_the_earlier_answer(
    letter: Letter, settings: Settings
) -> None:
    assert covered_by(letter.items[2], letter.items[:2]) == letter.items[0]
    assert covered_by(letter.items[1], letter.items[:1]) is None
    drafts = drafted(letter, settings)
    assert drafts[2].text == "Zie het antwoord op vraag 1."
    assert drafts[0].citations and drafts[1].citations
    assert all(d.draft_id is not None for d in drafts)  # all three are in the audit log


def test_docx_reads_back_as_an_answer_letter(
    letter: Letter, settings: Settings, tmp_path: Path
) -> None:
    drafts = drafted(letter, settings)
    drafts[1].warnings.append("Niet onderbouwd: 150 miljoen euro")
    path = write_answers(letter, drafts, tmp_path / "antwoorden.docx")
    doc = Document(str(path))
    headings = [
        p.text for p in doc.paragraphs if p.style is not None and p.style.name.startswith("Heading")
    ]
    assert headings == [
        "Antwoorden op Kamervragen",
        "Vraag 1", "Antwoord 1", "Vraag 2", "Antwoord 2", "Vraag 3", "Antwoord 3",
    ]  # fmt: skip
    texts = [p.text for p in doc.paragraphs]
    i = texts.index("Vraag 2")
    assert texts[i + 1] == letter.items[1].question
    assert texts[texts.index("Antwoord 3") + 1] == "Zie het antwoord op vraag 1."
    assert "EUR 12 miljoen" in texts[texts.index("Antwoord 1") + 1]
    assert "[1]" not in texts[texts.index("Antwoord 1") + 1]  # citations became footnotes

    yellow = [r.text for p in doc.paragraphs for r in p.runs
              if r.font.highlight_color == WD_COLOR_INDEX.YELLOW]  # fmt: skip
    assert "Niet onderbouwd: 150 miljoen euro" in yellow

    refs = doc.element.body.findall(f".//{W}footnoteReference")
    cited = sum(d.text.count("[") for d in drafts)
    assert len(refs) == cited > 0
    with zipfile.ZipFile(path) as z:
        notes = z.read("word/footnotes.xml").decode()
        assert "footnotes+xml" in z.read("[Content_Types].xml").decode()
    assert f"{SUDAN_ID}#3" in notes and "antwoord op vraag 3" in notes
    for ref in refs:
        assert f'w:id="{ref.get(W + "id")}"' in notes


def test_gaps_and_failures_are_highlighted(
    letter: Letter, settings: Settings, tmp_path: Path
) -> None:
    extractive = make_writer(settings, "extractive")
    broken = make_writer(settings, "local", Broken())
    abstained = draft_letter(letter, retriever=FakeRetriever([]), writer=extractive,
                             settings=settings)  # fmt: skip
    assert all(d.abstained or d.text.startswith("Zie het antwoord") for d in abstained)
    failed = draft_letter(letter, retriever=FakeRetriever(sudan_precedents()), writer=broken,
                          settings=settings)  # fmt: skip
    assert failed[0].error and failed[0].precedents and failed[1].error
    for name, drafts in (("abstained", abstained), ("failed", failed)):
        doc = Document(str(write_answers(letter, drafts, tmp_path / f"{name}.docx")))
        yellow = [r.text for p in doc.paragraphs for r in p.runs
                  if r.font.highlight_color == WD_COLOR_INDEX.YELLOW]  # fmt: skip
        assert any(t.startswith("[INPUT NODIG:") for t in yellow), name
    assert ABSTAIN_WARNING in abstained[0].warnings


def test_markdown_and_json(letter: Letter, settings: Settings, tmp_path: Path) -> None:
    drafts = drafted(letter, settings)
    md = to_markdown(letter, drafts)
    assert md.startswith("# Antwoorden op Kamervragen\n")
    assert "## Vraag 2\n" in md and "## Antwoord 3\n\nZie het antwoord op vraag 1." in md
    assert "[^1]" in md and f"({SUDAN_ID}#3)" in md
    path = write_answers(letter, drafts, tmp_path / "out.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [a["label"] for a in data["answers"]] == ["1", "2", "3"]
    assert data["answers"][0]["citations"] and data["letter"]["id"] == letter.id


def test_unknown_output_type(letter: Letter, settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.docx, \.md, \.json"):
        write_answers(letter, drafted(letter, settings), tmp_path / "out.pdf")


# -- coverage and provenance (hand-made drafts: the records as drafting fills them) -----------

REUSED = "Nederland droeg in 2023 bij aan de hulp in Soedan via het Sudan Humanitarian Fund."
ADAPTED = "Ook het Rode Kruis kreeg in 2023 steun van Nederland voor de hulp in Soedan."
NEW = "Het kabinet verdubbelt de bijdrage in 2025."
WRONG = "De Douane controleert alle hulpgoederen."
GAP = "[INPUT NODIG: antwoord op «Welke rol speelt de Douane»]"
PARTS = ("Hoeveel geld heeft Nederland bijgedragen?", "Welke rol speelt de Douane?")


def marked_draft() -> Draft:
    """One answer with each kind of sentence, two parts (one open), as drafting records it."""
    ps = sudan_precedents()[:2]
    sentences = [f"{REUSED} [1]", f"{ADAPTED} [1]", NEW, f"{WRONG} [2]", GAP]
    provenance = [
        SentenceProvenance(sentences[0], "reused", ps[0].id, True, 1.0, REUSED),
        SentenceProvenance(sentences[1], "adapted", ps[0].id, True, 0.7, "Het Rode Kruis …"),
        SentenceProvenance(sentences[2], "new"),
        SentenceProvenance(sentences[3], "new", ps[1].id, False, 0.2, "Er is geen toegang."),
        SentenceProvenance(sentences[4], "new"),
    ]
    return Draft(
        question=" ".join(PARTS),
        text=" ".join(sentences),
        citations=[p.id for p in ps],
        precedents=ps,
        abstained=False,
        warnings=["De vraag noemt 500 miljoen euro; het kabinet noemde eerder 12 miljoen euro."],
        model="extractief",
        provider="extractive",
        prompt_version="test",
        timings={"total": 0.1},
        coverage=[PartCoverage(PARTS[0], (ps[0].id,)), PartCoverage(PARTS[1], (), GAP)],
        provenance=provenance,
    )


def one_question() -> Letter:
    (parsed,) = parse_questions(f"Vraag 1\n{' '.join(PARTS)}\n")
    return parsed


def highlights(doc: Any) -> dict[str, Any]:
    """Run text → highlight colour, for every non-empty run."""
    return {r.text: r.font.highlight_color for p in doc.paragraphs for r in p.runs if r.text}


def test_docx_marks_provenance_and_lists_the_parts(tmp_path: Path) -> None:
    d = marked_draft()
    doc = Document(str(write_answers(one_question(), [d], tmp_path / "brief.docx")))
    texts = [p.text for p in doc.paragraphs]
    legend = next(t for t in texts if t.startswith("Markering:"))
    assert "letterlijk" in legend and "grijs" in legend and "geel" in legend

    marks = highlights(doc)
    assert marks[REUSED] is None  # the cabinet's own text stands unmarked
    assert marks[ADAPTED] == WD_COLOR_INDEX.GRAY_25
    assert marks[NEW] == WD_COLOR_INDEX.YELLOW and marks[WRONG] == WD_COLOR_INDEX.YELLOW
    assert marks[GAP] == WD_COLOR_INDEX.YELLOW
    answer = texts[texts.index("Antwoord 1") + 1]
    assert REUSED in answer and "[1]" not in answer  # citations are footnotes

    notes = {c.text for c in doc.comments}
    assert any(n.startswith("Aangepast van een eerder antwoord (70%") for n in notes)
    assert any(f"de geciteerde bron {SUDAN_ID}#4 zegt dit niet" in n for n in notes)
    assert any(n.startswith("Nieuwe tekst: staat niet in een eerder antwoord") for n in notes)
    assert len(notes) == 3  # none on the reused sentence or the gap

    i = texts.index("Deelvragen: 1 van 2 beantwoord.")
    assert texts[i + 1] == (f"Beantwoord: {PARTS[0]} — bron: vraag 3 van 2024-02-05 ({SUDAN_ID}#3)")
    assert texts[i + 2] == f"Open: {PARTS[1]} — {GAP}"
    style = doc.paragraphs[i + 1].style
    assert style is not None and style.name == "List Bullet"
    assert marks[texts[i + 2]] == WD_COLOR_INDEX.YELLOW and marks[texts[i + 1]] is None
    premise = "De vraag noemt 500 miljoen euro; het kabinet noemde eerder 12 miljoen euro."
    assert marks[premise] == WD_COLOR_INDEX.YELLOW  # the premise warning, as a check point


def test_markdown_and_json_carry_coverage_and_provenance(tmp_path: Path) -> None:
    letter, d = one_question(), marked_draft()
    md = to_markdown(letter, [d])
    assert "**Deelvragen** (1 van 2 beantwoord):" in md
    assert f"- Open: {PARTS[1]} — {GAP}" in md
    assert "**Herkomst** (5 zinnen: 1 letterlijk overgenomen, 1 aangepast, 1 nieuw, " in md
    assert f"- nieuw: «{NEW}»" in md and f"- aangepast, {SUDAN_ID}#3: «{ADAPTED}»" in md
    assert f"- nieuw, bron klopt niet, {SUDAN_ID}#4: «{WRONG}»" in md
    assert f"«{REUSED}»" not in md and "- open plek" not in md  # nothing to review / listed above
    data = json.loads(write_answers(letter, [d], tmp_path / "b.json").read_text("utf-8"))
    (answer,) = data["answers"]
    assert [c["answered"] for c in answer["coverage"]] == [True, False]
    assert answer["coverage"][1]["gap"] == GAP
    assert [p["origin"] for p in answer["provenance"]] == ["reused", "adapted", "new", "new", "new"]
    assert answer["provenance"][3]["verified"] is False


def test_an_edited_answer_is_checked_again(tmp_path: Path) -> None:
    d = marked_draft()
    verbatim = split_sentences(d.precedents[0].answer)[0]
    filled = f"{verbatim} [1] De Douane heeft geen rol bij de hulp in Soedan."
    edited = revise(d, filled, d.question)
    assert edited.warnings[0] == EDITED_NOTE
    assert [p.origin for p in edited.provenance] == ["reused", "new"]
    assert edited.coverage[0].answered and edited.coverage[1].gap is None  # filled in by hand
    assert not edited.coverage[1].answered
    dropped = revise(d, "Nederland draagt bij.", d.question)
    assert dropped.coverage[0].gap and "niet meer beantwoord" in dropped.coverage[0].gap
    doc = Document(str(write_answers(one_question(), [edited], tmp_path / "e.docx")))
    assert "Zonder bronverwijzing: Welke rol speelt de Douane?" in [p.text for p in doc.paragraphs]


def test_citation_numbers_follow_the_evidence_order() -> None:
    """The composer numbers precedents in evidence order; footnotes must follow that."""
    ps = sudan_precedents()
    d = replace(marked_draft(), precedents=ps, omitted_precedents=[])
    d.provenance[3] = replace(d.provenance[3], precedent_id=ps[2].id)  # [2] is answer 5
    assert [p.id for p in numbered(d)] == [ps[0].id, ps[2].id, ps[1].id]
    assert cited(d, 2) == ps[2]
