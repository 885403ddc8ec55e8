"""Reading a letter file: text out of .txt/.md/.pdf/.docx, and what the letter says about itself.

Readers turn a file into text in which PDF pages are separated by form feeds, and turn every
failure (empty, binary, not UTF-8, no text layer, encrypted, damaged) into a one-line
`ParseError` that says what to do. The metadata helpers derive a stable letter id, title,
sender ministry, ISO date and references from the `SOURCE:`/`OFFICIAL:` header and the cover
text (the part before the first question).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from app.errors import ParseError

_HEADER_KEY = re.compile(r"^([A-Z][A-Z-]{2,}):\s?(.*)$")
_MONTHS = "januari februari maart april mei juni juli augustus september oktober november december"
_DATE = re.compile(rf"(\d{{1,2}})\s+({'|'.join(_MONTHS.split())})\s+(\d{{4}})")
_PUB_ID = re.compile(r"\b(?:ah-tk-\d{8}-\d+|kv-tk-\d{4}Z\d{5}|kst-\d+(?:-[A-Z]+)?-\d+)\b")


def read_source(path: Path) -> str:
    """Text of a letter file; PDF pages are separated by form feeds (\\f). Raises ParseError."""
    src = str(path)
    if not path.exists():
        raise ParseError(src, "no such file; check the path")
    if path.is_dir():
        raise ParseError(src, "is a folder, not a letter file; pass the files in it")
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if not data.strip():
        raise ParseError(src, "empty file; export the letter again")
    if suffix == ".pdf":
        return _read_pdf(path, data)
    if suffix == ".docx":
        return _read_docx(path, data)
    if suffix not in {".txt", ".md", ".jsonl"}:
        raise ParseError(src, f"unsupported file type {suffix!r}; use .txt, .md, .pdf or .docx")
    if b"\x00" in data[:8192]:
        raise ParseError(src, "binary file, not text; save the letter as UTF-8 text, PDF or DOCX")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            src, f"not UTF-8 text (invalid byte at offset {exc.start}); re-save it as UTF-8"
        ) from None


def _read_pdf(path: Path, data: bytes) -> str:
    import pypdf  # imported here: only PDF input needs it

    src = str(path)
    if not data.startswith(b"%PDF"):
        raise ParseError(src, "not a PDF file (no %PDF header); export the letter again")
    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError(src, "encrypted PDF; remove the password (e.g. `qpdf --decrypt`)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ParseError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        raise ParseError(src, f"malformed PDF ({type(exc).__name__}); export it again") from None
    if not "".join(pages).strip():
        raise ParseError(src, "PDF has no text layer (scanned?); run OCR first, e.g. ocrmypdf")
    return "\f".join(pages)


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _read_docx(path: Path, data: bytes) -> str:
    import docx  # imported here: only DOCX input needs it
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn

    src = str(path)
    if data.startswith(OLE_MAGIC):  # Word wraps password-protected .docx (and old .doc) in OLE
        raise ParseError(
            src,
            "password-protected or old-format (.doc) Word file; remove the password and "
            "save it as .docx",
        )
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # zipfile/KeyError/PackageNotFoundError on damaged files
        raise ParseError(src, f"malformed DOCX ({type(exc).__name__}); save it again") from None
    skip = {
        qn("w:txbxContent"),
        "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback",
    }

    def text_of(el: object, out: list[str]) -> None:
        for child in el:  # type: ignore[attr-defined]
            tag = child.tag
            if tag in skip:
                continue
            if tag == qn("w:t"):
                out.append(child.text or "")
            elif tag == qn("w:tab"):
                out.append("\t")
            elif tag in (qn("w:br"), qn("w:cr")):
                out.append("\n")
            elif tag == qn("w:footnoteReference"):
                out.append(f"[^{child.get(qn('w:id'))}]")
            else:
                text_of(child, out)

    paras = []
    for p in document.element.body.iter(qn("w:p")):
        out: list[str] = []
        text_of(p, out)
        paras.append("".join(out))
    notes = []
    for part in document.part.package.parts:
        if str(part.partname).endswith("/footnotes.xml"):
            for fn in parse_xml(part.blob).iter(qn("w:footnote")):
                if fn.get(qn("w:type")) in ("separator", "continuationSeparator"):
                    continue
                body: list[str] = []
                text_of(fn, body)
                notes.append(f"[^{fn.get(qn('w:id'))}]: {''.join(body).strip()}")
    text = "\n\n".join(paras)
    if notes:
        text += "\n\nVoetnoten:\n" + "\n".join(notes)
    if not text.strip():
        raise ParseError(src, "DOCX contains no text")
    return text


def split_header(text: str) -> tuple[dict[str, str], str]:
    """Leading `KEY: value` lines (SOURCE:, OFFICIAL:, EXTRACTION:, …) are metadata, not text."""
    lines = text.lstrip("\ufeff").split("\n")
    meta: dict[str, str] = {}
    i = 0
    while i < len(lines) and (m := _HEADER_KEY.match(lines[i].strip())):
        meta[m[1]] = m[2].strip()
        i += 1
    return meta, "\n".join(lines[i:])


def letter_id(meta: dict[str, str], body: str, source: str, text: str) -> str:
    """Publication id from the header or a page footer, else the file stem, else a hash."""
    for key in ("OFFICIAL", "SOURCE"):
        if m := _PUB_ID.search(meta.get(key, "")):
            return m[0]
    if m := re.search(r"(?m)^\s*(ah-tk-\d{8}-\d+)\s*$", body):
        return m[1]
    if source != "<text>":
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(source).stem).strip("-.")
        if slug:
            return slug
    return "text-" + hashlib.sha1(text.encode()).hexdigest()[:10]


_COVER_TITLE = re.compile(
    r"Hierbij \w+ ik u de (antwoorden (?:op|van) de vragen .+?)\s*(?:\(|\.(?=\s+[A-Z]|\s*$))"
)


def letter_title(head: str, meta: dict[str, str], source: str, cover: str = "") -> str:
    """The "Vragen van … over …" sentence, the Onderwerp/Betreft line, the bijlage title, or
    the cover letter's "Hierbij zend ik u de antwoorden op de vragen van … over …" (`cover` is
    the cover text with its lines joined and line-break hyphens undone)."""
    for pattern in (
        r"(Vragen van (?:het lid|de leden) .+?)\s*\((?:ingezonden|ontvangen)",
        r"(?:Onderwerp|Betreft)\s+(.+?)(?=\s+(?:Directoraat|Directie|Ons kenmerk|Datum|Uw )|$)",
        r"(Antwoorden? (?:van|op) .+?)(?:\.\s|$)",
    ):
        if m := re.search(pattern, head):
            return re.sub(r"\s+", " ", m[1]).strip()[:300]
    if m := _COVER_TITLE.search(cover):
        title = re.sub(r"\s+", " ", m[1]).strip()
        if title.count(")") > title.count("("):  # "… voor Digitale Zaken) over …": a typo
            title = re.sub(r"\)(?=[^()]*$)", "", title.replace(") ", " ", 1)).strip()
        return (title[0].upper() + title[1:])[:300]
    return meta.get("TITLE") or Path(source).stem


_SIGNER = re.compile(r"^(?:[A-Z]\.)+ ?[\w’' .-]+$|^[A-Z][a-zà-ÿ]+(?: [a-z]+)*(?: [A-Z][\w’'-]+)+$")
_SIGNER_ROLE = re.compile(r"^(?:De |de )?(?:Minister|minister|Staatssecretaris|staatssecretaris) "
                          r"(?:van|voor) .+?,?$")  # fmt: skip


def letter_signatory(preamble: list[str], head: str) -> str | None:
    """Who signed: the name under (or above) the "Minister van …" line of the cover letter, or
    the name in "Antwoord van Minister Adriaansens (…)"."""
    if m := re.search(r"Antwoord van (?:de )?(?:Minister|Staatssecretaris) ([^()]+?)\s*\(", head):
        return _cedilla(m[1].strip())
    lines = [ln.strip() for ln in preamble]
    for i, ln in enumerate(lines):
        if not _SIGNER_ROLE.match(ln):
            continue
        after = next((x for x in lines[i + 1 :] if x), "")
        before = next((x for x in reversed(lines[:i]) if x), "")
        for cand in (after, before):
            if len(cand) <= 40 and _SIGNER.match(cand) and not _SIGNER_ROLE.match(cand):
                return _cedilla(cand)
    return None


def _cedilla(name: str) -> str:
    """PDF text spells "ş" as "s¸" (a spacing cedilla): "Yes¸ilgöz" → "Yeşilgöz"."""
    return unicodedata.normalize("NFC", re.sub(r"(?<=\w)\u00b8", "\u0327", name))


def letter_ministry(preamble: list[str], head: str) -> str | None:
    """The sender's portfolio as written ("Justitie en Veiligheid"), without "Ministerie van"."""
    if m := re.search(r"Antwoord van (?:de )?(?:Minister|Staatssecretaris)[^()]*\(([^)]+)\)", head):
        return m[1].strip()
    for ln in preamble:
        if m := re.match(r"^(?:De |de )?(?:Minister|minister|Staatssecretaris|staatssecretaris) "
                         r"(?:van|voor) (.+?),?$", ln):  # fmt: skip
            return m[1].strip()
    if m := re.search(
        r"(?:minister|Minister) (?:van|voor) ([A-Z][\w ,]+?)(?= op | mede|,|\.)", head
    ):
        return m[1].strip()
    return None


def letter_date(head: str) -> str | None:
    """ISO date of the answer: "(ontvangen 13 november 2023)" or "Datum 16 mei 2024"."""
    m = re.search(rf"ontvangen\s+{_DATE.pattern}", head) or re.search(
        rf"Datum\s+{_DATE.pattern}", head
    )
    if not m:
        return None
    month = _MONTHS.split().index(m[2]) + 1
    return f"{int(m[3]):04d}-{month:02d}-{int(m[1]):02d}"


_KENMERK_IN_HEADER = r"(?m)^\s*Ons kenmerk\s*\n(?:\s*\n)*\s*([A-Z]{2,8}\s?/\s?\d{5,})\s*$"


def letter_references(
    meta: dict[str, str], text: str, own_id: str, letterhead: str = ""
) -> tuple[str, ...]:
    """Publication ids, zaak/document numbers and kenmerken in the header and cover text, and
    the "Ons kenmerk" of a page header anywhere in `letterhead` (the letter's full text)."""
    text = " ".join(meta.values()) + "\n" + text
    refs = [own_id] if _PUB_ID.fullmatch(own_id) else []
    refs += _PUB_ID.findall(text)
    refs += re.findall(r"\b\d{4}[ZD]\d{5}\b", text)
    refs += [re.sub(r"\s*/\s*", " / ", k) for k in re.findall(r"\b[A-Z]{2,8}\s?/\s?\d{5,}\b", text)]
    refs += [k for k in re.findall(r"(?:Ons|Uw) kenmerk\s+([\w./-]*\d[\w./-]*)", text)]
    refs += [re.sub(r"\s*/\s*", " / ", k) for k in re.findall(_KENMERK_IN_HEADER, letterhead)]
    for y1, y2, nr in re.findall(
        r"Zie ook Aanhangsel Handelingen, vergaderjaar\s*(\d{4})\s*[–-]\s*(\d{4}),\s*nr\.\s*(\d+)",
        text,
    ):
        refs.append(f"ah-tk-{y1}{y2}-{nr}")
    return tuple(dict.fromkeys(refs))
