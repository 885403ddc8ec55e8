"""A whole set of Kamervragen → drafted answers → an answer letter (Word, Markdown or JSON).

Consistency inside one letter: a later question that an earlier one already covers (nearly the
same words, or the same figures) gets "Zie het antwoord op vraag N." instead of a second,
possibly diverging draft — the way ministries answer such questions. Earlier drafted answers
are NOT fed to the model as context: they are unchecked text, and feeding them back would let
one invented figure spread through the letter (and the local model has only 4k tokens).

Sources are real Word footnotes (python-docx has no footnote API, so the footnotes part is
added at the OPC level): every citation `[n]` in an answer becomes a footnote naming the earlier
answer — letter title, date, question number and precedent id — as ministry letters cite their
sources. Warnings and `[INPUT NODIG: …]` gaps are highlighted yellow so a reviewer cannot miss
them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_COLOR_INDEX
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.text.paragraph import Paragraph
from langchain_core.language_models import BaseChatModel

from app.draft import DraftError, Retrieves, draft
from app.errors import InputError
from app.extractive import terms
from app.prompt import numbers_label, prompt_version
from app.records import Draft, Letter, Precedent, QAItem
from app.settings import Settings

log = logging.getLogger(__name__)

HEADING = "Antwoorden op Kamervragen"
SEE_ANSWER = "Zie het antwoord op vraag {}."
COVERED = 0.8
"""Share of a later question's terms found in an earlier one above which it is 'covered'."""
_FIGURE = re.compile(r"\d[\d.,]*\d|\d")
_MARK = re.compile(r"(\[\d+(?:\s*[,;]\s*\d+)*\]|\[INPUT NODIG[^\]]*\])")

Progress = Callable[[int, int, QAItem], None]


def covered_by(item: QAItem, earlier: Sequence[QAItem]) -> QAItem | None:
    """The earlier question that already asks what `item` asks, if any."""
    mine = set(terms(item.question))
    figures = set(_FIGURE.findall(item.question))
    for prev in earlier:
        theirs = set(terms(prev.question))
        if len(mine) >= 3 and len(mine & theirs) / len(mine) >= COVERED:
            return prev
        if figures and figures == set(_FIGURE.findall(prev.question)):
            union = mine | theirs
            if union and len(mine & theirs) / len(union) >= 0.5:
                return prev
    return None


def draft_letter(
    letter: Letter,
    *,
    retriever: Retrieves,
    chat_model: BaseChatModel | None,
    settings: Settings,
    provider: str | None = None,
    k: int | None = None,
    exclude_letters: Sequence[str] = (),
    progress: Progress | None = None,
    log_to_audit: bool = True,
) -> list[Draft]:
    """Draft every question of `letter` (one Draft per item, in order).

    A failed model call for one question keeps that question's partial Draft (precedents, the
    error) and goes on with the next; the output marks it for the directorate.
    """
    provider = provider or settings.provider
    if not letter.items:
        raise InputError(f"{letter.source}: no questions found to answer")
    if chat_model is None and provider != "extractive":
        from app.llm import get_chat_model

        chat_model = get_chat_model(settings, provider)  # once, not per question
    drafts: list[Draft] = []
    for i, item in enumerate(letter.items):
        prev = covered_by(item, letter.items[:i])
        if prev is not None:
            d = reference_draft(item, prev, provider, settings)
            if log_to_audit:
                from app.audit import log_draft

                log_draft(d, settings.data_dir)
        else:
            try:
                d = draft(
                    item.question,
                    retriever=retriever,
                    chat_model=chat_model,
                    settings=settings,
                    provider=provider,
                    k=k,
                    exclude_letters=exclude_letters,
                    log_to_audit=log_to_audit,
                )
            except DraftError as exc:
                log.warning("question %s of %s: %s", item.label, letter.id, exc)
                d = exc.draft
        drafts.append(d)
        if progress is not None:
            progress(i + 1, len(letter.items), item)
    return drafts


def reference_draft(item: QAItem, prev: QAItem, provider: str, settings: Settings) -> Draft:
    return Draft(
        question=item.question,
        text=SEE_ANSWER.format(numbers_label(prev.numbers)),
        citations=[],
        precedents=[],
        abstained=False,
        warnings=[],
        model="geen (verwijzing naar eerder antwoord)",
        provider=provider,
        prompt_version=prompt_version(settings.prompts_dir),
        timings={"total": 0.0},
    )


# -- writers ----------------------------------------------------------------------------------


def _label(item: QAItem) -> str:
    return numbers_label(item.numbers)


def _source(p: Precedent) -> str:
    title = p.title or p.letter_id
    when = f", {p.date}" if p.date else ""
    return f"{title}{when}, antwoord op vraag {numbers_label(p.numbers)} ({p.id})."


def _cited(d: Draft, nr: int) -> Precedent | None:
    """The precedent behind `[nr]` in this draft (numbering = precedents minus omitted)."""
    cited = [p for p in d.precedents if p.id not in set(d.omitted_precedents)]
    return cited[nr - 1] if 1 <= nr <= len(cited) else None


def _citation_numbers(marker: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", marker)]


def _answer_text(d: Draft) -> str:
    if d.text:
        return d.text
    return f"[INPUT NODIG: geen concept — {d.error or 'het taalmodel gaf geen antwoord'}]"


def _check_items(pairs: Sequence[tuple[QAItem, Draft]]) -> None:
    if not pairs:
        raise InputError("nothing to write: no drafted answers")


class _Footnotes:
    """The document's footnotes part (created on first use; python-docx cannot do this)."""

    def __init__(self, doc: DocxDocument) -> None:
        xml = (
            f"<w:footnotes {nsdecls('w')}>"
            '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
            "</w:footnote>"
            '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r>'
            "<w:continuationSeparator/></w:r></w:p></w:footnote></w:footnotes>"
        )
        part = XmlPart(
            PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, parse_xml(xml), doc.part.package
        )
        doc.part.relate_to(part, RT.FOOTNOTES)
        self._root = part.element
        self._next = 1

    def add(self, paragraph: Paragraph, text: str) -> None:
        n = self._next
        self._next += 1
        sup = '<w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
        note = parse_xml(
            f'<w:footnote {nsdecls("w")} w:id="{n}"><w:p><w:r>{sup}<w:footnoteRef/></w:r>'
            '<w:r><w:rPr><w:sz w:val="18"/></w:rPr><w:t xml:space="preserve"> </w:t></w:r>'
            "</w:p></w:footnote>"
        )
        note.findall(".//" + qn("w:t"))[0].text = " " + text
        self._root.append(note)
        paragraph._p.append(
            parse_xml(f'<w:r {nsdecls("w")}>{sup}<w:footnoteReference w:id="{n}"/></w:r>')
        )


def _add_marked(paragraph: Paragraph, text: str, d: Draft, notes: _Footnotes) -> None:
    """Answer text with `[n]` → footnotes and `[INPUT NODIG …]` highlighted."""
    pieces = [p for p in _MARK.split(text) if p]
    for i, piece in enumerate(pieces):
        following = pieces[i + 1] if i + 1 < len(pieces) else ""
        if piece.startswith("[INPUT NODIG"):
            paragraph.add_run(piece).font.highlight_color = WD_COLOR_INDEX.YELLOW
        elif _MARK.fullmatch(piece):
            for nr in _citation_numbers(piece):
                p = _cited(d, nr)
                if p is None:
                    paragraph.add_run(f"[{nr}]").font.highlight_color = WD_COLOR_INDEX.YELLOW
                else:
                    notes.add(paragraph, _source(p))
        else:  # a footnote mark sits right after the word or full stop, without a space
            cites = bool(_MARK.fullmatch(following)) and not following.startswith("[INPUT")
            paragraph.add_run(piece.rstrip() if cites else piece)


def write_docx(letter: Letter, drafts: Sequence[Draft], path: Path) -> Path:
    pairs = list(zip(letter.items, drafts, strict=True))
    _check_items(pairs)
    doc = Document()
    notes = _Footnotes(doc)
    doc.add_heading(HEADING, level=1)
    subject = doc.add_paragraph()
    subject.add_run(letter.title).bold = True
    models = sorted({d.model for d in drafts if d.model})
    meta = doc.add_paragraph()
    meta.add_run(
        f"Concept van {date.today().isoformat()}, opgesteld met de Kamervragen-assistent "
        f"(model: {', '.join(models) or 'geen'}; promptversie {drafts[0].prompt_version}). "
        "Geel gemarkeerd: controlepunten en open plekken voor de beleidsdirectie."
    ).italic = True
    for item, d in pairs:
        doc.add_heading(f"Vraag {_label(item)}", level=2)
        for line in item.question.strip().splitlines() or [""]:
            doc.add_paragraph(line)
        doc.add_heading(f"Antwoord {_label(item)}", level=2)
        _add_marked(doc.add_paragraph(), _answer_text(d), d, notes)
        for warning in d.warnings:
            para = doc.add_paragraph()
            para.add_run("Controle: ").bold = True
            para.add_run(warning).font.highlight_color = WD_COLOR_INDEX.YELLOW
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def to_markdown(letter: Letter, drafts: Sequence[Draft]) -> str:
    pairs = list(zip(letter.items, drafts, strict=True))
    _check_items(pairs)
    lines = [f"# {HEADING}", "", f"**{letter.title}**", ""]
    sources: list[str] = []
    for item, d in pairs:
        lines += [f"## Vraag {_label(item)}", "", item.question.strip(), ""]
        lines += [f"## Antwoord {_label(item)}", ""]

        def note(m: re.Match[str], d: Draft = d) -> str:
            out = []
            for nr in _citation_numbers(m.group(0)):
                p = _cited(d, nr)
                if p is None:
                    out.append(f"[{nr}]")
                else:
                    sources.append(_source(p))
                    out.append(f"[^{len(sources)}]")
            return "".join(out)

        text = re.sub(r"\[\d+(?:\s*[,;]\s*\d+)*\]", note, _answer_text(d))
        lines += [text, ""]
        lines += [f"> **Controle:** {w}" for w in d.warnings]
        if d.warnings:
            lines.append("")
    lines += [f"[^{i}]: {s}" for i, s in enumerate(sources, 1)]
    return "\n".join(lines).rstrip() + "\n"


def to_json(letter: Letter, drafts: Sequence[Draft]) -> dict[str, Any]:
    pairs = list(zip(letter.items, drafts, strict=True))
    _check_items(pairs)
    return {
        "letter": letter.to_dict()["letter"],
        "answers": [
            {"numbers": list(item.numbers), "label": _label(item)} | d.to_dict()
            for item, d in pairs
        ],
    }


FORMATS = (".docx", ".md", ".json")


def write_answers(letter: Letter, drafts: Sequence[Draft], path: Path) -> Path:
    """Write by file extension: .docx (Word answer letter), .md or .json."""
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return write_docx(letter, drafts, path)
    if suffix not in FORMATS:
        raise InputError(f"{path}: unknown output type; use a name ending in {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".md":
        path.write_text(to_markdown(letter, drafts), encoding="utf-8")
    else:
        data = json.dumps(to_json(letter, drafts), ensure_ascii=False, indent=2)
        path.write_text(data + "\n", encoding="utf-8")
    return path
