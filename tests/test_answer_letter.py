"""A whole question set drafted and written as a Word answer letter (read back with python-docx)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_COLOR_INDEX

from app.answer_letter import covered_by, draft_letter, to_markdown, write_answers
from app.draft import ABSTAIN_WARNING
from app.errors import InputError
from app.letters import parse_questions
from app.records import Draft, Letter
from app.settings import Settings
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
        chat_model=None,
        settings=settings,
        provider="extractive",
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
    abstained = draft_letter(letter, retriever=FakeRetriever([]), chat_model=None,
                             settings=settings, provider="extractive")  # fmt: skip
    assert all(d.abstained or d.text.startswith("Zie het antwoord") for d in abstained)
    failed = draft_letter(letter, retriever=FakeRetriever(sudan_precedents()), chat_model=Broken(),
                          settings=settings, provider="local")  # fmt: skip
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
