"""The letters stage: an answer letter (or an incoming set of questions) → `Letter` + `QAItem`s.

Three layouts are recognised (see ../shared/docs/official-sources.md §3):
- `aanhangsel`: "Vraag 1" … "Antwoord 1" (Aanhangsel van de Handelingen, PDF text);
- `ministry-letter`: cover letter, then "Vraag 1" … "Antwoord op vraag 1" / "Antwoord op
  vragen 4, 5, 6 en 7" (answers may be missing or given later for several questions);
- `committee-report`: bare question-number lines, "Antwoord" headings, the fractie named once
  per block ("De leden van de D66-fractie …", then "Deze leden"/"Zij"), numbers lost at page
  breaks inferred from the sequence.
Questions answered together ("Vraag 4 en 5", or "Vraag 3" … "Antwoord op vraag 3 en 8")
become ONE item with all their numbers. Reading and metadata live in `app.letters.read`,
cleaning in `app.letters.text`, the committee-report blocks in `app.letters.committee`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from app.errors import ParseError
from app.letters.committee import BARE_NUM, COMMITTEE_ANSWER, Block, committee_blocks, fractie_in
from app.letters.read import (
    letter_date,
    letter_id,
    letter_ministry,
    letter_references,
    letter_signatory,
    letter_title,
    read_source,
    split_header,
)
from app.letters.text import (
    PAGE,
    SENTINEL,
    extract_notes,
    fix_midline_hyphens,
    join_lines,
    mark_refs,
    normalize,
    to_pages,
    undouble,
    word_counts,
    wrap_width,
)
from app.records import Footnote, Letter, QAItem

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".docx")
_NUMS = r"\d{1,3}(?:\s*(?:,\s*en|,|en|t/m|tot en met|[–-])\s*\d{1,3})*,?"
_VRAAG = re.compile(rf"^Vra(?:ag|gen)\s+({_NUMS})[a-z]?\s*:?$")
_ANTWOORD = re.compile(
    rf"^Antwoord(?:en)?(?:\s+(?:op\s+)?(?:de\s+)?vra(?:ag|gen))?(?:\s+({_NUMS})[a-z]?)?\s*:?$"
)


# ------------------------------------------------------------------------------ public API
def find_letter_files(paths: Iterable[Path]) -> list[Path]:
    """Supported letter files among `paths` (files, and folders searched recursively), sorted."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
        elif path.suffix.lower() in SUPPORTED_SUFFIXES:
            found.add(path)
    return sorted(found)


def parse_file(path: Path) -> Letter:
    """Parse one letter file (.txt, .md, .pdf, .docx). Raises ParseError with a one-line reason."""
    text = read_source(path)
    return _parse(text, str(path), pdf=path.suffix.lower() == ".pdf")


def parse_text(text: str, source: str = "<text>") -> Letter:
    """Parse letter text (as extracted from a PDF/DOCX, or typed)."""
    if not text.strip():
        raise ParseError(source, "empty text")
    return _parse(text, source, pdf=False)


def parse_questions(
    path_or_text: Path | str, errors: list[ParseError] | None = None
) -> list[Letter]:
    """An INCOMING set of questions (answers empty): JSONL (one set per line, as in
    ../shared/data/incoming_questions_2023.jsonl), or a letter/text with "Vraag N" headings or
    numbered questions. A broken JSONL line becomes a ParseError naming the line number: it is
    appended to `errors` when given (else logged as a warning); the good lines are kept.
    A `str` is text, unless it is a single line naming an existing letter or .jsonl file."""
    if isinstance(path_or_text, Path) or (
        "\n" not in path_or_text
        and Path(path_or_text).suffix.lower() in (*SUPPORTED_SUFFIXES, ".jsonl")
        and Path(path_or_text).is_file()
    ):
        path = Path(path_or_text)
        text, source = read_source(path), str(path)
        pdf = path.suffix.lower() == ".pdf"
    else:
        text, source, pdf = path_or_text, "<text>", False
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if source.endswith(".jsonl") or first.startswith("{"):
        return _parse_jsonl(text, source, errors)
    return [_parse(text, source, pdf=pdf, questions_only=True)]


# ------------------------------------------------------------------------------ pipeline
def _parse(text: str, source: str, *, pdf: bool, questions_only: bool = False) -> Letter:
    meta, body = split_header(text)
    body = undouble(normalize(body))
    if not body.strip():
        raise ParseError(source, "no text after the metadata header")
    pages = to_pages(body)
    all_lines = [ln for page in pages for ln in page]
    layout = _detect_layout(all_lines, body, questions_only)
    if layout is None:
        raise ParseError(
            source, "no questions found (expected 'Vraag 1' … 'Antwoord 1' or numbered questions)"
        )
    pages, notes = extract_notes(pages)
    flat = f"\n{PAGE}\n".join("\n".join(p) for p in pages)
    lines = mark_refs(
        flat, notes, bare_lines=layout not in ("committee-report", "questions")
    ).split("\n")
    if layout == "committee-report" or (layout == "questions" and not _has_vraag(lines)):
        preamble, blocks = committee_blocks(lines, numbered_inline=layout == "questions")
    else:
        preamble, blocks = _vraag_blocks(lines)
    if not blocks:
        raise ParseError(source, "no questions found after the cover letter")
    midline = pdf or "pypdf" in meta.get("EXTRACTION", "") or "7398’s-Gravenhage" in body
    words = word_counts(body)
    if midline:
        notes = {k: fix_midline_hyphens(v, words) for k, v in notes.items()}
    width = wrap_width([ln for ln in lines if ln and ln != PAGE])
    items = _build_items(blocks, notes, width, words, midline, committee=layout != "aanhangsel")
    if questions_only:
        items = [QAItem(it.numbers, it.question, "", it.fractie, it.footnotes) for it in items]
    head = " ".join(ln for ln in preamble if ln != PAGE)
    cover = join_lines(preamble, width, words, midline=midline).replace("\n\n", " ")
    ident = letter_id(meta, body, source, text)
    return Letter(
        id=ident,
        title=letter_title(head, meta, source, cover),
        source=source,
        layout=layout,
        items=tuple(items),
        ministry=letter_ministry(preamble, head),
        date=letter_date(head),
        references=letter_references(meta, head, ident, body),
        signatory=letter_signatory(preamble, head),
    )


def _has_vraag(lines: list[str]) -> bool:
    return any(_VRAAG.match(ln) for ln in lines)


def _detect_layout(lines: list[str], body: str, questions_only: bool) -> str | None:
    vraag = sum(1 for ln in lines if _VRAAG.match(ln))
    if questions_only:
        numbered = sum(1 for ln in lines if re.match(r"^\d{1,3}[.)]?(\s|$)", ln))
        return "questions" if vraag or numbered else None
    if vraag:
        plain = sum(1 for ln in lines if re.match(r"^Antwoord \d", ln))
        on_vraag = sum(1 for ln in lines if re.match(r"^Antwoord(en)? op vra", ln))
        ah = "Aanhangsel van de Handelingen" in body[:1500] or "ISSN 0921" in body
        return "aanhangsel" if ah or plain > on_vraag else "ministry-letter"
    answers = sum(1 for ln in lines if COMMITTEE_ANSWER.match(ln))
    numbers = sum(1 for ln in lines if BARE_NUM.match(ln))
    return "committee-report" if answers and numbers else None


def _nums(spec: str) -> set[int]:
    """ "8, 9, 10 en 11" → {8, 9, 10, 11}; "7–9 en 11–13" → {7, 8, 9, 11, 12, 13}."""
    out: set[int] = set()
    for a, b in re.findall(r"(\d+)(?:\s*(?:[–-]|t/m|tot en met)\s*(\d+))?", spec):
        lo, hi = int(a), int(b or a)
        out.update(range(lo, hi + 1) if 0 <= hi - lo <= 50 else (lo, hi))
    return out


def _vraag_blocks(lines: list[str]) -> tuple[list[str], list[Block]]:
    """Layouts (a) and (b): "Vraag N" / "Antwoord [op vraag] N" headings."""
    preamble: list[str] = []
    blocks: list[Block] = []
    pending: set[int] = set()
    for ln in lines:
        if m := _VRAAG.match(ln):
            blocks.append(Block("q", _nums(m[1])))
            pending |= blocks[-1].nums
        elif (m := _ANTWOORD.match(ln)) and blocks:
            nums = _nums(m[1]) if m[1] else (pending or set(blocks[-1].nums))
            _recover_question(blocks, nums)
            blocks.append(Block("a", nums))
            pending = set()
        elif blocks:
            blocks[-1].lines.append(ln)
        else:
            preamble.append(ln)
    return preamble, blocks


def _recover_question(blocks: list[Block], nums: set[int]) -> None:
    """A "Vraag N" heading lost in a page-break gap: the text after the page break in the
    previous answer, up to a "?", is the rest of question N."""
    asked = {n for b in blocks if b.kind == "q" for n in b.nums}
    if not blocks or blocks[-1].kind != "a" or nums & asked or PAGE not in blocks[-1].lines:
        return
    prev = blocks[-1]
    breaks = [i for i, ln in enumerate(prev.lines) if ln == PAGE]
    # the gap sits at the last page break that follows a finished sentence
    ends = [i for i in breaks if re.search(r"[.!?»”)]$", _last_text(prev.lines[:i]))]
    cut = (ends or breaks)[-1] + 1
    tail = prev.lines[cut:]
    if any("?" in ln for ln in tail):
        del prev.lines[cut:]
        blocks.append(Block("q", set(nums), tail))
        log.debug("question %s recovered from text after a page break", sorted(nums))


def _last_text(lines: list[str]) -> str:
    return next((ln for ln in reversed(lines) if ln and ln != PAGE), "")


def _build_items(
    blocks: list[Block],
    notes: dict[str, str],
    width: float | None,
    words: Counter[str],
    midline: bool,
    *,
    committee: bool,
) -> list[QAItem]:
    parent: dict[int, int] = {}

    def find(n: int) -> int:
        while parent.setdefault(n, n) != n:
            n = parent[n]
        return n

    for b in blocks:
        first = min(b.nums)
        for n in b.nums:
            parent[find(n)] = find(first)
    groups: dict[int, list[Block]] = {}
    for b in blocks:
        groups.setdefault(find(min(b.nums)), []).append(b)
    items = []
    fractie: str | None = None
    for root in sorted(groups, key=lambda r: min(n for n in parent if find(n) == r)):
        members = groups[root]
        nums = tuple(sorted({n for b in members for n in b.nums}))
        q = "\n\n".join(
            t for b in members if b.kind == "q" if (t := _text(b, width, words, midline))
        )
        a = "\n\n".join(
            t for b in members if b.kind == "a" if (t := _text(b, width, words, midline))
        )
        if committee:
            fractie = fractie_in(q) or next((b.fractie for b in members if b.fractie), fractie)
        keys = list(dict.fromkeys(SENTINEL.findall(q + "\n" + a)))
        footnotes = tuple(Footnote(k, notes[k]) for k in keys if k in notes)
        items.append(
            QAItem(nums, _strip_refs(q), _strip_refs(a), fractie if committee else None, footnotes)
        )
    return items


def _text(block: Block, width: float | None, words: Counter[str], midline: bool) -> str:
    lines = [ln for ln in block.lines if not BARE_NUM.match(ln)]  # stray page numbers
    return join_lines(lines, width, words, midline=midline)


def _strip_refs(text: str) -> str:
    text = re.sub(rf"[ \t]*{SENTINEL.pattern}", "", text)
    return "\n\n".join(re.sub(r" {2,}", " ", p).strip() for p in text.split("\n\n") if p.strip())


# ------------------------------------------------------------------------------ JSONL
def _parse_jsonl(text: str, source: str, errors: list[ParseError] | None) -> list[Letter]:
    letters: list[Letter] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            letters.append(_question_set(json.loads(line), f"{source}:{lineno}"))
        except (ValueError, TypeError, KeyError) as exc:
            if isinstance(exc, json.JSONDecodeError):
                reason = f"invalid JSON: {exc.msg} at column {exc.colno}"
            elif isinstance(exc, KeyError):
                reason = f"missing key {exc}"
            else:
                reason = str(exc)
            err = ParseError(f"{source}:{lineno}", f"bad question set ({reason}); fix or remove it")
            if errors is None:
                log.warning("%s", err)
            else:
                errors.append(err)
    if not letters and not errors:
        raise ParseError(source, "no question sets found")
    return letters


def _question_set(obj: object, source: str) -> Letter:
    if not isinstance(obj, dict):
        raise TypeError("line is not a JSON object")
    questions = obj["questions"]
    if not isinstance(questions, list) or not questions:
        raise TypeError("'questions' must be a non-empty list")
    items = []
    last = 0
    for raw in questions:
        if not isinstance(raw, str):
            raise TypeError("each question must be a string")
        head, _, rest = raw.strip().partition("\n")
        m = _VRAAG.match(head.strip())
        nums = _nums(m[1]) if m else {last + 1}
        body = rest if m else raw
        lines = body.split("\n")
        text = join_lines(lines, wrap_width(lines), word_counts(body), midline=False)
        items.append(QAItem(tuple(sorted(nums)), text, ""))
        last = max(nums)
    guid = str(obj.get("tk_document_guid") or "")
    subject = str(obj.get("subject") or "")
    ident = f"tk-{guid}" if guid else "questions-" + hashlib.sha1(subject.encode()).hexdigest()[:10]
    date = obj.get("answer_date")
    return Letter(
        id=ident,
        title=re.sub(r"\s+", " ", subject).strip() or ident,
        source=source,
        layout="incoming-jsonl",
        items=tuple(items),
        date=str(date) if date else None,
        references=(guid,) if guid else (),
    )
