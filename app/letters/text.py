"""Cleaning the text of a letter: from extracted text to clean running text.

Cleaning removes what the page layout put into the text — markdown left by
pymupdf4llm, page footers/headers, footnote blocks at page ends — and turns footnote references
into sentinels (`\\ue000N\\ue001`) so that `app.letters.parse` can attach each footnote to the item
whose
text references it. `join_lines` rebuilds paragraphs and undoes line-break hyphenation.

Hyphen rule (a hyphen at a line end, and — in pypdf text only, where line breaks were lost — a
hyphen inside a lowercase word): the hyphen is KEPT when the word after it starts with an
uppercase letter or digit, when the part before it is capitalised, an acronym or a number
("AI-adoptie", "Nagorno-Karabach", "2023-2024"), a lowercase acronym ("mkb-bedrijven",
"ggz-instelling"), a prefix that keeps its hyphen ("niet-", "oud-", "ex-"), when the two
vowels meeting would merge ("energie-infrastructuur", the Dutch *klinkerbotsing* rule), when the
token is part of a URL, or when the hyphenated form occurs elsewhere in the letter. It is
dropped ("toe-\\npassing" → "toepassing") when the joined word occurs elsewhere in the letter or
none of those rules applies. "zorg-\\nen behandel…" stays "zorg- en behandel…".
"""

from __future__ import annotations

import re
import statistics
from collections import Counter

PAGE = "\ue004"  # page break inside cleaned text (not whitespace, so strip() keeps it)
FN_OPEN, FN_CLOSE = "\ue000", "\ue001"
ANCHOR_OPEN, ANCHOR_CLOSE = "\ue002", "\ue003"  # where a definition stood; holds chr(0xE100 + i)
SENTINEL = re.compile(f"{FN_OPEN}([^{FN_CLOSE}]+){FN_CLOSE}")

_FOOTER_INLINE = re.compile(
    r"(?:ISSN 0921\s*-\s*7398\s*)?(?:’s-Gravenhage \d{4}\s*)?"
    r"Tweede Kamer, vergaderjaar \d{4}\s*[–-]\s*\d{4}, Aanhangsel \d+"
)
_FOOTER_LINE = re.compile(
    r"^(?:ah-tk-\d{8}-\d+|h tk \d{8} \d+|ISSN 0921\s*-\s*7398.*|’s-Gravenhage \d{4}|-{3,}"
    r"|Tweede Kamer der Staten-Generaal\s*\d?)$"
)
_PAGINA = re.compile(r"^Pagina \d+ van \d+$")
_LETTERHEAD = re.compile(
    r"^(?:Directoraat-[Gg]eneraal\b.*|Directie\b.*|Ons kenmerk\b.*|Uw kenmerk\b.*|Datum\b.*"
    r"|Onze referentie\b.*|Kenmerk\b.*|[A-Z]{2,8}\s?/\s?\d{5,}|\d{1,2} [a-z]+ \d{4})$"
)
_CITATION = re.compile(r"^(?:Kamerstuk(?:ken)?|Handelingen|Aanhangsel)\b.*\bnr\. ?\d+\.?$")
_NOTE_START = re.compile(r"^(\d{1,3})(\s*)(\S.*)$")
_VOWEL_CLASH = {"aa", "ae", "ai", "au", "ee", "ei", "eu", "ii", "oe", "oi", "oo", "ou", "ui"}
_KEEP_PREFIXES = {"niet", "oud", "ex", "non", "vice"}
_LOWER_ACRONYMS = {
    "mkb", "ggz", "boa", "btw", "zzp", "po", "vo", "mbo", "hbo", "wo", "vmbo", "havo", "vwo",
    "ov", "e", "wmo", "wlz", "wob", "woo", "pgb", "aow", "bso", "vve", "sms", "ozb",
}  # fmt: skip
_COORD = {"en", "of", "tot", "noch", "dan"}
_SENTENCE_END = re.compile(
    r"[.!?:;][\"”’»)\]]*$|[.!?:;]" + FN_OPEN + r"[^" + FN_CLOSE + "]+" + FN_CLOSE + "$"
)


# ------------------------------------------------------------------------------ cleaning
def normalize(text: str) -> str:
    """Unify whitespace and strip markdown left by pymupdf4llm ("# 2", "**", "_…_", "[1 ]")."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00ad", "")
    text = text.replace("\f", f"\n{PAGE}\n")
    text = text.replace("\u00a0", " ").replace("\u2009", " ").replace("\t", " ")
    text = re.sub(r"\[(e|ste|de)\s*\]", r"\1", text)  # "11[e ]" superscript ordinal
    text = re.sub(r"(?m)^\s*#{1,6}\s+", "", text)
    text = re.sub(r"(?m)^\s*>\s?", "", text)
    text = text.replace("**", "")
    text = re.sub(r"(?<![\w/])_(\S(?:[^_\n]*\S)?)_(?![\w/])", r"\1", text)
    text = re.sub(r"(?m)^\s*_(?=\S)|(?<=\S)_\s*$", "", text)
    text = re.sub(r"(?m)^QA list:.*$", "", text)  # notebook output captured with some letters
    return text


def undouble(text: str) -> str:
    """Text extracted with an empty line after every line (≥ 90% of ≥ 20 text lines; other
    text is returned unchanged) → one line per line. There a line of only spaces is a paragraph
    break, a text line right after another one with a leading space starts a new page, and a
    line ending in "- " ("beroeps- sectorspecifieke") is joined to the next: not hyphenation."""
    lines = text.split("\n")
    texty = [i for i, ln in enumerate(lines[:-1]) if ln.strip()]
    if len(texty) < 20 or sum(1 for i in texty if lines[i + 1] == "") < 0.9 * len(texty):
        return text
    out: list[str] = []
    glue = False
    for i, ln in enumerate(lines):
        if not ln:
            continue
        if not ln.strip():
            out.append("")
            glue = False
            continue
        if i and lines[i - 1].strip() and ln.startswith(" "):
            out.append(PAGE)
        if glue:
            out[-1 if out[-1] != PAGE else -2] += " " + ln.strip()
        else:
            out.append(ln)
        glue = bool(re.search(r"\w- +$", ln))
    return "\n".join(out)


def to_pages(text: str) -> list[list[str]]:
    """Lines per page, with footers and committee page-header blocks removed."""
    text = _FOOTER_INLINE.sub("\n" + PAGE + "\n", text)
    lines = [ln.strip() for ln in text.split("\n")]
    out: list[str] = []
    dg_name = False  # a bare "Directoraat-generaal" header line: its name is on the next line
    for ln in lines:
        if _FOOTER_LINE.match(ln):
            out.append(PAGE)
        elif _PAGINA.match(ln):
            while out and (_LETTERHEAD.match(out[-1]) or not out[-1]):
                out.pop()
            out.append(PAGE + "HDR")
        elif out and out[-1] == PAGE + "HDR" and (not ln or dg_name or _LETTERHEAD.match(ln)):
            dg_name = ln == "Directoraat-generaal" or (dg_name and not ln)
            continue
        else:
            out.append(ln)
    pages: list[list[str]] = [[]]
    for ln in out:
        if ln.startswith(PAGE):
            pages.append([])
        else:
            pages[-1].append(ln)
    return [_trim(p) for p in pages if any(p)] or [[]]


def _trim(page: list[str]) -> list[str]:
    """Blank lines at a page's edges are layout, not paragraph breaks."""
    start, end = 0, len(page)
    while start < end and not page[start]:
        start += 1
    while end > start and not page[end - 1]:
        end -= 1
    return page[start:end]


def extract_notes(pages: list[list[str]]) -> tuple[list[list[str]], dict[str, str]]:
    """Footnote definitions → {key: text}; each definition leaves an anchor where it stood."""
    notes: dict[str, str] = {}
    pages = [_docx_notes(p, notes) for p in pages[:-1]] + [_docx_notes(pages[-1], notes, True)]
    expect = 1
    result = []
    for page in pages:
        body, found = _page_notes(page, expect)
        for num, txt in found:
            notes.setdefault(num, txt)
            expect = int(num) + 1
        result.append(_trim(body) + [_anchor(n, notes) for n, _ in found])
    return result, notes


def _docx_notes(page: list[str], notes: dict[str, str], last: bool = False) -> list[str]:
    """ "Voetnoten:" + "[^N]: …" sections, and trailing "[N] …" / "N) …" paragraphs at the end."""
    out = list(page)
    if "Voetnoten:" in out:
        i = out.index("Voetnoten:")
        keys: list[str] = []
        for ln in out[i + 1 :]:
            if m := re.match(r"^\[\^(\d+)\]:\s*(.*)$", ln):
                keys.append(m[1])
                notes[m[1]] = m[2]
            elif keys and ln:
                notes[keys[-1]] += " " + ln
        out = out[:i] + [_anchor(k, notes) for k in keys]
    if not last:
        return out
    end = len(out)
    while end and (not out[end - 1] or out[end - 1].startswith(ANCHOR_OPEN)):
        end -= 1
    tail: list[tuple[str, str]] = []
    j = end
    while j > 0:  # walk back over paragraphs that are footnote definitions
        start = j
        while start > 0 and out[start - 1]:
            start -= 1
        m = re.match(r"^(?:\[(\d{1,2})\]|(\d{1,2})\))\s+(\S.*)$", out[start])
        if not m:
            break
        key = f"[{m[1]}]" if m[1] else f"{m[2]})"
        tail.append((key, " ".join([m[3], *out[start + 1 : j]])))
        j = start
        while j > 0 and not out[j - 1]:
            j -= 1
    tail.reverse()
    if not tail and j > 0:  # docx footnotes that were bare hyperlinks: one title line each
        start = j
        while start > 0 and out[start - 1]:
            start -= 1
        refs = set(re.findall(r"(?<=\s)(\d{1,2})\)(?=\s|$)", "\n".join(out[:start])))
        para = out[start:j]
        if refs >= {str(n) for n in range(1, len(para) + 1)} and not any(
            _SENTENCE_END.search(ln) for ln in para
        ):
            tail = [(f"{n})", ln) for n, ln in enumerate(para, 1)]
            j = start
    notes.update(tail)
    return out[:j] + [_anchor(k, notes) for k, _ in tail] + out[end:]


def _anchor(key: str, notes: dict[str, str]) -> str:
    return f"{ANCHOR_OPEN}{chr(0xE100 + list(notes).index(key))}{ANCHOR_CLOSE}"


def _page_notes(page: list[str], expect: int) -> tuple[list[str], list[tuple[str, str]]]:
    """The footnote block at the end of a PDF page: "1 Kamerstuk …" (after a blank line) or the
    pypdf form "1Kamerstuk …" (number glued to the text), numbered from `expect` on."""
    for i, ln in enumerate(page):
        m = _NOTE_START.match(ln)
        if not m or not expect <= int(m[1]) <= expect + 3:
            continue
        if m[2] and not (i > 0 and not page[i - 1]):
            continue
        if not re.match(r"[^\W\d_]|[(«“\"'‘]", m[3]):
            continue
        found: list[tuple[str, str]] = []
        nxt = int(m[1])
        for line in page[i:]:
            mm = _NOTE_START.match(line)
            if mm and nxt <= int(mm[1]) <= nxt + 1:
                found.append((mm[1], mm[3]))
                nxt = int(mm[1]) + 1
            elif line and found:
                k = _url_owner(found, line)
                n, t = found[k]
                found[k] = (n, join_lines([t, line], None, midline=False))
        if sum(1 for x in page[i:] if x) > 4 * len(found) + 2:
            continue  # too much text for a footnote block: body text that starts with a number
        return page[:i], found
    return page, []


def _url_owner(found: list[tuple[str, str]], line: str) -> int:
    """Index of the footnote a continuation line belongs to: the last one, except that a bare
    URL after a parliamentary-paper citation ("Kamerstukken II 2024/2025, 36574, nr. 3", which
    carries no URL) belongs to the nearest earlier footnote without a URL (a web page's title)."""
    last = len(found) - 1
    if not re.fullmatch(r"https?://\S+", line) or not _CITATION.match(found[last][1]):
        return last
    return next((k for k in range(last - 1, -1, -1) if "://" not in found[k][1]), last)


def mark_refs(text: str, notes: dict[str, str], *, bare_lines: bool) -> str:
    """Replace footnote references with sentinels; unreferenced notes keep their anchor."""
    done: set[str] = set()

    def sent(key: str) -> str:
        done.add(key)
        return f"{FN_OPEN}{key}{FN_CLOSE}"

    def brackets(m: re.Match[str]) -> str:
        keys = [f"[{n}]" if f"[{n}]" in notes else n for n in re.findall(r"\d+", m[1])]
        if not all(k in notes for k in keys):
            return m[0]
        return "".join(sent(k) for k in keys)

    text = re.sub(r"\[\^(\d+)\]", lambda m: sent(m[1]), text)
    text = re.sub(r"\[(\d{1,3}(?:[\s,]+\d{1,3})*)\s*\]", brackets, text)
    text = re.sub(
        r"(?<=\s)(\d{1,2})\)(?=\s|$)",
        lambda m: sent(m[1] + ")") if m[1] + ")" in notes else m[0],
        text,
    )
    if not done:  # pypdf text: superscripts became plain digits; find them in order
        pos = 0
        for key in sorted((k for k in notes if k.isdigit()), key=int):
            if key in done:
                continue
            pats = [
                rf"(?m)^[ ]*{key}(?:[ ]+(?=\S)|(?=[,.;:][ ]))",
                rf"(?:(?<=[^\W\d_])|(?<=[^\d\s][.,;:)»”’?!])){key}(?=[\s.,;:)]|$)",
            ]
            if bare_lines:
                pats.insert(0, rf"(?m)^[ ]*{key}(?:[ ]*,[ ]*\d{{1,3}})*[ ]*$")
            hits = [m for p in pats if (m := re.compile(p).search(text, pos))]
            if not hits:
                continue
            m = min(hits, key=lambda h: h.start())
            keys = [k for k in re.findall(r"\d+", m[0]) if k in notes] if "," in m[0] else [key]
            repl = "".join(sent(k) for k in keys) + (" " if m[0].endswith(" ") else "")
            text = text[: m.start()] + repl + text[m.end() :]
            pos = m.start() + len(repl)
    keys = list(notes)

    def unanchor(m: re.Match[str]) -> str:
        key = keys[ord(m[1]) - 0xE100]
        return PAGE if key in done else sent(key)

    return re.sub(f"{ANCHOR_OPEN}(.){ANCHOR_CLOSE}", unanchor, text)


# ------------------------------------------------------------------------------ paragraphs
def wrap_width(lines: list[str]) -> float | None:
    """Typical width of a wrapped line; None when the text has one paragraph per line."""
    widths = [len(ln) for ln in lines if 40 <= len(ln) <= 120 and not _SENTENCE_END.search(ln)]
    return statistics.median(widths) if len(widths) >= 8 else None


def join_lines(
    lines: list[str], width: float | None, words: Counter[str] | None = None, *, midline: bool
) -> str:
    """Lines → paragraphs separated by blank lines; line-break hyphenation undone."""
    words = words if words is not None else Counter()
    paras: list[str] = []
    cur = last = ""
    for raw in lines:
        ln = raw.strip()
        if ln == PAGE:
            continue
        if not ln:
            if cur:
                paras.append(cur)
            cur = last = ""
            continue
        bullet = re.match(r"^(?:[–•▪-]\s|[a-z]\)\s)", ln)
        if cur and (
            bullet or (_ends_paragraph(last, width) and not re.match(r"^[a-z(\ue000]", ln))
        ):
            paras.append(cur)
            cur = ""
        cur = _join(cur, ln, words) if cur else ln
        last = ln
    if cur:
        paras.append(cur)
    out = []
    for para in paras:
        para = re.sub(r"[ ]{2,}", " ", para).strip()
        if midline:
            para = fix_midline_hyphens(para, words)
        out.append(fix_camel_joins(para, words))
    return "\n\n".join(out)


def _ends_paragraph(line: str, width: float | None) -> bool:
    if not _SENTENCE_END.search(line):
        return False
    return width is None or len(line) < 0.8 * width or len(line) > 1.4 * width


def _join(left: str, right: str, words: Counter[str]) -> str:
    if left.endswith("/") and not left.endswith("//"):
        return left + right
    if not re.search(r"\w-$", left) or left.endswith("--"):
        return left + " " + right
    head_tok = left.rsplit(None, 1)[-1][:-1]
    tail_tok = right.split(None, 1)[0]
    return left[:-1] + hyphen_glue(head_tok, tail_tok, words) + right


def hyphen_glue(head_tok: str, tail_tok: str, words: Counter[str], seen: int = 0) -> str:
    """ "" (drop the hyphen), "-" (keep it) or "- " (coordination: "zorg- en …").

    `seen` is how often the hyphenated form itself is already counted in `words` (1 when the
    token being judged stands in the text that `words` was built from)."""
    tail = re.sub(r"[^\w’'-].*$", "", tail_tok)
    if tail.lower() in _COORD:
        return "- "
    if re.search(r"[/@]|www|http|\.\w", head_tok) or not tail[:1].islower():
        return "-"
    head = re.sub(r"^.*[^\w’']", "", head_tok.rsplit("-", 1)[-1]) if head_tok else ""
    if not head or head[0].isupper() or any(c.isdigit() for c in head):
        return "-"
    tail_word = re.sub(r"-.*$", "", tail).lower()
    if words[(head + tail_word).lower()]:
        return ""
    if words[f"{head}-{tail_word}".lower()] > seen:
        return "-"
    if head.lower() in _KEEP_PREFIXES or head.lower() in _LOWER_ACRONYMS:
        return "-"
    if (head[-1] + tail[0]).lower() in _VOWEL_CLASH:
        return "-"
    return ""


def fix_midline_hyphens(text: str, words: Counter[str]) -> str:
    """pypdf text loses line breaks but keeps their hyphens ("onderne-mingsklimaat")."""

    def fix(m: re.Match[str]) -> str:
        head, tail = m[1], m[2]
        if words[(head + tail).lower()]:
            return head + tail
        if len(head) < 4 or len(tail) < 3:
            return m[0]
        return head + hyphen_glue(head, tail, words, seen=1).strip() + tail

    return re.sub(r"(?<![\w/.@-])([A-Za-zà-ÿ]+)-([a-zà-ÿ]+)(?![\w/@-])", fix, text)


def fix_camel_joins(text: str, words: Counter[str]) -> str:
    """pymupdf4llm dehyphenates "Nagorno-\\nKarabach" to "NagornoKarabach": restore the hyphen
    where the letter itself spells the hyphenated form elsewhere."""

    def fix(m: re.Match[str]) -> str:
        return f"{m[1]}-{m[2]}" if words[f"{m[1]}-{m[2]}".lower()] else m[0]

    return re.sub(r"\b([A-Za-zà-ÿ]*[a-zà-ÿ])([A-Z][a-zà-ÿ]+)\b", fix, text)


def word_counts(text: str) -> Counter[str]:
    """Lowercased words as they stand inside lines: the evidence for the hyphen rule."""
    return Counter(re.findall(r"[^\W\d_](?:[\w’']|-(?=\w))*[^\W\d_]", text.lower()))
