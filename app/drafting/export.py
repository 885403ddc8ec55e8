"""Drafted answers → an answer letter: Word (.docx), Markdown or JSON.

Sources are real Word footnotes (python-docx has no footnote API, so the footnotes part is
added at the OPC level): every citation `[n]` in an answer becomes a footnote naming the earlier
answer — letter title, date, question number and precedent id — as ministry letters cite their
sources. Provenance is shown as highlights, with a one-line legend under the title: the
cabinet's own sentences stand unmarked, adapted ones grey, new text yellow (a Word comment in
the margin names the closest source sentence). Warnings and `[INPUT NODIG: …]` gaps are
highlighted yellow as well, and every answer ends with its question parts, answered or open,
so a reviewer cannot miss what is missing. The .md and .json carry coverage and provenance too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
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
from docx.text.run import Run

from app.drafting.marks import MARK_LABEL, cited, counts_text, mark, sentence_runs
from app.drafting.prompt import numbers_label
from app.errors import InputError
from app.records import Draft, Letter, PartCoverage, Precedent, QAItem, SentenceProvenance
from app.text import CITATION

HEADING = "Antwoorden op Kamervragen"
AUTHOR, INITIALS = "Kamervragen-assistent", "KV"
HIGHLIGHT = {
    "reused": None,
    "adapted": WD_COLOR_INDEX.GRAY_25,
    "new": WD_COLOR_INDEX.YELLOW,
    "unverified": WD_COLOR_INDEX.YELLOW,
    "gap": WD_COLOR_INDEX.YELLOW,
}
_MARK = re.compile(r"(\[\d+(?:\s*[,;]\s*\d+)*\]|\[INPUT NODIG[^\]]*\])")


def _label(item: QAItem) -> str:
    return numbers_label(item.numbers)


def _source(p: Precedent) -> str:
    title = p.title or p.letter_id
    when = f", {p.date}" if p.date else ""
    return f"{title}{when}, antwoord op vraag {numbers_label(p.numbers)} ({p.id})."


def _short_source(pid: str, d: Draft) -> str:
    """ "vraag 20 van 2024-08-26 (jenv-…#20)" for a coverage line."""
    p = next((p for p in d.precedents if p.id == pid), None)
    if p is None:
        return pid
    when = f" van {p.date}" if p.date else ""
    return f"vraag {numbers_label(p.numbers)}{when} ({p.id})"


def _citation_numbers(marker: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", marker)]


def _answer_text(d: Draft) -> str:
    if d.text:
        return d.text
    return f"[INPUT NODIG: geen concept — {d.error or 'het taalmodel gaf geen antwoord'}]"


def _check_items(pairs: Sequence[tuple[QAItem, Draft]]) -> None:
    if not pairs:
        raise InputError("nothing to write: no drafted answers")


def part_line(c: PartCoverage, d: Draft) -> str:
    """One coverage line, in words: the part and its sources, or the gap left open."""
    if c.answered:
        return f"Beantwoord: {c.part} — bron: {'; '.join(_short_source(i, d) for i in c.citations)}"
    if c.gap:
        return f"Open: {c.part} — {c.gap}"
    return f"Zonder bronverwijzing: {c.part}"


def comment_text(p: SentenceProvenance) -> str | None:
    """The margin note for a sentence that is not the cabinet's text verbatim."""
    m = mark(p)
    src = f" Dichtstbij in {p.precedent_id}: «{p.source}»" if p.source and p.precedent_id else ""
    share = f" ({round(p.similarity * 100)}% van de woorden)" if p.similarity else ""
    if m == "adapted":
        return f"Aangepast van een eerder antwoord{share}.{src}"
    if m == "unverified":
        return f"Nieuwe tekst: de geciteerde bron {p.precedent_id} zegt dit niet{share}.{src}"
    if m == "new":
        return "Nieuwe tekst: staat niet in een eerder antwoord; controleer hem."
    return None


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


def _add_marked(
    paragraph: Paragraph, text: str, d: Draft, notes: _Footnotes, color: Any = None
) -> list[Run]:
    """Answer text with `[n]` → footnotes, `[INPUT NODIG …]` highlighted, the rest in `color`
    (its provenance highlight). Returns the text runs (for a comment on them)."""
    runs: list[Run] = []
    pieces = [p for p in _MARK.split(text) if p]
    for i, piece in enumerate(pieces):
        following = pieces[i + 1] if i + 1 < len(pieces) else ""
        if piece.startswith("[INPUT NODIG"):
            run = paragraph.add_run(piece)
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
            runs.append(run)
        elif _MARK.fullmatch(piece):
            for nr in _citation_numbers(piece):
                p = cited(d, nr)
                if p is None:
                    paragraph.add_run(f"[{nr}]").font.highlight_color = WD_COLOR_INDEX.YELLOW
                else:
                    notes.add(paragraph, _source(p))
        else:  # a footnote mark sits right after the word or full stop, without a space
            cites = bool(_MARK.fullmatch(following)) and not following.startswith("[INPUT")
            run = paragraph.add_run(piece.rstrip() if cites else piece)
            if color is not None and run.text.strip():
                run.font.highlight_color = color
            runs.append(run)
    return runs


def _add_answer(doc: DocxDocument, d: Draft, notes: _Footnotes) -> None:
    """The answer paragraph, sentence by sentence in its provenance highlight."""
    paragraph = doc.add_paragraph()
    text = _answer_text(d)
    for piece, p in sentence_runs(text, d.provenance if d.text else []):
        runs = _add_marked(paragraph, piece, d, notes, HIGHLIGHT.get(mark(p)))
        note = comment_text(p) if p is not None else None
        if note and runs:
            doc.add_comment(runs, text=note, author=AUTHOR, initials=INITIALS)


def _add_coverage(doc: DocxDocument, d: Draft) -> None:
    if not d.coverage:
        return
    done = sum(c.answered for c in d.coverage)
    head = doc.add_paragraph()
    head.add_run("Deelvragen: ").bold = True
    head.add_run(f"{done} van {len(d.coverage)} beantwoord.")
    for c in d.coverage:
        run = doc.add_paragraph(style="List Bullet").add_run(part_line(c, d))
        if not c.answered:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _legend(doc: DocxDocument) -> None:
    para = doc.add_paragraph()
    para.add_run("Markering: ").bold = True
    para.add_run("zonder markering = letterlijk uit een eerder kabinetsantwoord; ")
    para.add_run("grijs").font.highlight_color = WD_COLOR_INDEX.GRAY_25
    para.add_run(" = aangepast; ")
    para.add_run("geel").font.highlight_color = WD_COLOR_INDEX.YELLOW
    para.add_run(
        " = nieuwe tekst, open plek of controlepunt. Opmerkingen in de marge noemen de bron."
    )


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
        f"(model: {', '.join(models) or 'geen'}; promptversie {drafts[0].prompt_version})."
    ).italic = True
    _legend(doc)
    for item, d in pairs:
        doc.add_heading(f"Vraag {_label(item)}", level=2)
        for line in item.question.strip().splitlines() or [""]:
            doc.add_paragraph(line)
        doc.add_heading(f"Antwoord {_label(item)}", level=2)
        _add_answer(doc, d, notes)
        _add_coverage(doc, d)
        for warning in d.warnings:
            para = doc.add_paragraph()
            para.add_run("Controle: ").bold = True
            para.add_run(warning).font.highlight_color = WD_COLOR_INDEX.YELLOW
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def _md_review(d: Draft) -> list[str]:
    """Coverage and the sentences that are not the cabinet's text verbatim, for the .md."""
    lines: list[str] = []
    if d.coverage:
        done = sum(c.answered for c in d.coverage)
        lines += [f"**Deelvragen** ({done} van {len(d.coverage)} beantwoord):", ""]
        lines += [f"- {part_line(c, d)}" for c in d.coverage]
        lines.append("")
    if d.provenance:
        listed = [p for p in d.provenance if mark(p) in ("adapted", "new", "unverified")]
        lines += [f"**Herkomst** ({counts_text(d.provenance)}){':' if listed else '.'}", ""]
        for p in listed:  # reused text needs no review; open places are under Deelvragen
            where = f", {p.precedent_id}" if p.precedent_id else ""
            text = CITATION.sub("", p.sentence).strip()
            lines.append(f"- {MARK_LABEL[mark(p)]}{where}: «{text}»")
        if listed:
            lines.append("")
    return lines


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
                p = cited(d, nr)
                if p is None:
                    out.append(f"[{nr}]")
                else:
                    sources.append(_source(p))
                    out.append(f"[^{len(sources)}]")
            return "".join(out)

        text = CITATION.sub(note, _answer_text(d))
        lines += [text, ""]
        lines += _md_review(d)
        lines += [f"> **Controle:** {w}" for w in d.warnings]
        if d.warnings:
            lines.append("")
    lines += [f"[^{i}]: {s}" for i, s in enumerate(sources, 1)]
    return "\n".join(lines).rstrip() + "\n"


def to_json(letter: Letter, drafts: Sequence[Draft]) -> dict[str, Any]:
    """Every answer as `Draft.to_dict()` (coverage and provenance included), with its label."""
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
