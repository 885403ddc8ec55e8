"""The letters stage on the 42 real letters, the source letter
(corpus/letters/apply-ai-strategie.txt), a synthetic committee report, PDF/DOCX copies of real
letters and broken inputs. Offline and fast: no models, no store."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from app.errors import ParseError
from app.letters.parse import find_letter_files, parse_file, parse_questions, parse_text
from app.records import Letter, QAItem
from tests.conftest import CORPUS_LETTERS, INCOMING_JSONL, SOURCE_LETTER, run_kv

FIXTURES = Path(__file__).parent / "fixtures"
COMMITTEE = FIXTURES / "committee_report_synthetic.txt"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SOURCE_SHA256 = "47b661ec49a0774acddd5a05b742f6a5ae3dfab3e6bcc1b63c6648f15c529d21"

# The source text of this letter (a notebook extract) only contains questions 5, 6 and 11.
PARTIAL_SOURCES = {"ah-tk-20232024-1165"}

FURNITURE = re.compile(
    r"ISSN 0921|vergaderjaar \d{4}\s*[–-]\s*\d{4}, Aanhangsel \d|Pagina \d+ van \d+|Ons kenmerk"
    r"|(?m:^\d{1,3}$)|(?m:^ah-tk-\d{8}-\d+$)|-----|\*\*|(?m:^#)|[\ue000-\ue0ff]|QA list"
)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _items(letter: Letter) -> list[tuple[tuple[int, ...], str, str, list[str]]]:
    return [
        (it.numbers, _norm(it.question), _norm(it.answer), [f.number for f in it.footnotes])
        for it in letter.items
    ]


def _item(letter: Letter, *numbers: int) -> QAItem:
    return next(it for it in letter.items if it.numbers == numbers)


def _heading_numbers(raw: str, word: str) -> set[int]:
    heads = re.findall(rf"(?m)^\s*{word}\b[^\n]*?((?:\d+[a-z]?[ ,en–-]*)+)\s*$", raw)
    return {int(n) for h in heads for n in re.findall(r"\d+", h)}


@pytest.fixture(scope="module")
def parsed(corpus_letters: list[Path]) -> dict[str, Letter]:
    return {path.stem: parse_file(path) for path in corpus_letters}


def _letter(name: str) -> Path:
    return CORPUS_LETTERS / f"{name}.txt"


# ------------------------------------------------------------------------------ real letters
def test_every_corpus_letter_parses_with_its_layout(parsed: dict[str, Letter]) -> None:
    assert len(parsed) == 42
    for stem, letter in parsed.items():
        expected = "aanhangsel" if stem.startswith("ah-tk-") else "ministry-letter"
        assert letter.layout == expected, stem
        assert letter.id == stem  # ah-tk ids come from the OFFICIAL header, jenv ids from the stem
        assert letter.items, stem


def test_item_numbers_cover_1_to_n(parsed: dict[str, Letter]) -> None:
    for stem, letter in parsed.items():
        raw = _letter(stem).read_text("utf-8")
        asked = _heading_numbers(raw, "Vraag")
        numbers = sorted(n for it in letter.items for n in it.numbers)
        assert len(numbers) == len(set(numbers)), f"{stem}: a number in two items"
        if stem in PARTIAL_SOURCES:
            assert set(numbers) == asked, stem
        else:
            assert numbers == list(range(1, max(asked) + 1)), stem
    assert sorted(n for it in parsed["ah-tk-20232024-1165"].items for n in it.numbers) == [5, 6, 11]


def test_every_question_and_given_answer_has_text(parsed: dict[str, Letter]) -> None:
    for stem, letter in parsed.items():
        answered = _heading_numbers(_letter(stem).read_text("utf-8"), "Antwoord(?:en)?")
        for it in letter.items:
            assert len(it.question) > 15, (stem, it.label)
            if set(it.numbers) & answered or not answered:
                assert len(it.answer) >= 2, (stem, it.label)
    # 1031 answers question 16 under a bare "Antwoord" heading
    assert _item(parsed["ah-tk-20232024-1031"], 16).answer == "Ja."


def test_no_page_furniture_or_markup_left_in_texts(parsed: dict[str, Letter]) -> None:
    for stem, letter in parsed.items():
        for it in letter.items:
            for text in (it.question, it.answer, *(f.text for f in it.footnotes)):
                m = FURNITURE.search(text)
                assert m is None, f"{stem} [{it.label}]: {m and m[0]!r} in {text[:80]!r}…"


def test_page_break_joins_text_from_both_pages(parsed: dict[str, Letter]) -> None:
    a2 = _item(parsed["ah-tk-20232024-1031"], 2).answer
    # "…beperkt" "1NOS…" footer "beschikbare … huisvestingsmogelijkhe-" "den voor talent"
    assert (
        "beperkt beschikbare fysieke ruimte, onvoldoende aanbod van huisvestingsmogelijkheden" in a2
    )
    assert "NOS, 22 januari" not in a2


def test_combined_questions_are_one_item(parsed: dict[str, Letter]) -> None:
    l387 = parsed["ah-tk-20232024-387"]
    it = _item(l387, 4, 5)
    assert "Nachitsjevan" in it.question and "geweldsescalatie" in it.question
    assert it.answer.startswith("In het trilaterale akkoord van 2020")
    assert not any(i.numbers in ((4,), (5,)) for i in l387.items)
    assert l387.item_id(it) == "ah-tk-20232024-387#4-5"
    it = _item(parsed["ah-tk-20232024-1031"], 8, 9, 10, 11)
    assert "Nationaal Groeifonds" in it.question and it.answer.startswith("Nederland kent")
    # ministry letters: answers given later for questions that were not adjacent
    it = _item(parsed["jenv-2024Z11859-politiebureau-wolvega"], 3, 8)
    assert "Hooflijnenakkoord" in it.question and "Weststellingwerf?" in it.question
    assert it.answer.startswith("Het hoofdlijnenakkoord")
    it = _item(parsed["jenv-2023Z19006-milieudelicten-politie"], 3, 4, 5, 9, 10)
    assert it.answer.startswith("Milieucriminaliteit kan ernstige gevolgen")
    assert _item(parsed["jenv-2023Z19677-niet-noodnummer-brandweer"], 7, 8, 9).answer


def test_question_heading_lost_in_a_page_gap_is_recovered(parsed: dict[str, Letter]) -> None:
    letter = parsed["ah-tk-20232024-302"]  # "Vraag 2" fell into a gap of the extraction
    q2 = _item(letter, 2).question
    assert q2.startswith("van een zogeheten privacyverklaring") and q2.endswith("ggz?")
    assert "zogeheten privacyverklaring voor cliënten" not in _item(letter, 1).answer


def test_footnotes_attach_to_the_referencing_item(parsed: dict[str, Letter]) -> None:
    l387 = parsed["ah-tk-20232024-387"]  # pymupdf4llm markers "[1 ]", notes at page ends
    notes = {it.label: [(f.number, f.text[:20]) for f in it.footnotes] for it in l387.items}
    assert notes["1"] == [("1", "Nederlands Dagblad, "), ("2", "De Volkskrant, 20 se")]
    assert [n for n, _ in notes["3"]] == ["4", "5"] and notes["4-5"] == []
    assert "«Netjes gezuiverd» en" in _item(l387, 1).question  # marker removed from the text

    l1031 = parsed["ah-tk-20232024-1031"]  # pypdf: superscripts became plain digits
    assert [f.number for f in _item(l1031, 1).footnotes] == ["1"]
    a4 = _item(l1031, 4)
    assert a4.footnotes[0] == a4.footnotes[0].__class__("2", "Kamerstuk 32 637, nr. 225")
    assert "Kamerstuk 32 637" not in a4.answer and "genomen:" in a4.answer

    me = parsed["jenv-kenmerk5303168-me-religie"]  # "1)" question notes + Word footnotes "[^1]"
    assert [f.number for f in _item(me, 1).footnotes] == ["1)", "2)"]
    assert [f.number for f in _item(me, 2).footnotes] == ["1"]
    assert "1)" not in _item(me, 1).question

    honden = parsed["jenv-2024Z11889-politiehonden"]
    assert [f.number for f in _item(honden, 1).footnotes] == ["[1]", "[2]"]
    assert [f.number for f in _item(honden, 10).footnotes] == ["[3]"]
    assert [f.number for f in _item(honden, 21).footnotes] == ["2"]
    assert "Koers Politiehonden is nader besproken" in _item(honden, 21).footnotes[0].text


def test_hyphenation_in_real_letters(parsed: dict[str, Letter]) -> None:
    l1031 = parsed["ah-tk-20232024-1031"]
    text = " ".join(it.question + " " + it.answer for it in l1031.items)
    assert "stikstofcrisis voor vestigingsklimaat" in text  # "stikstofcri-\nsis"
    assert "ondernemingsklimaat" in text and "onderne-mingsklimaat" not in text  # pypdf mid-line
    assert "duurzame energie-infrastructuur" in text  # klinkerbotsing keeps the hyphen
    assert "VNO-NCW" in text and "MIEK-voortgangsbrief" in text
    l387 = " ".join(it.question + " " + it.answer for it in parsed["ah-tk-20232024-387"].items)
    assert "NagornoKarabach" not in l387 and "bewoners van Nagorno-Karabach" in l387
    assert "EU-lidstaten" in l387


@pytest.mark.parametrize(
    ("broken", "joined"),
    [
        ("de toe-\npassing van", "de toepassing van"),
        ("de AI-\nadoptie", "de AI-adoptie"),
        ("in mkb-\nbedrijven", "in mkb-bedrijven"),
        ("rond Nagorno-\nKarabach", "rond Nagorno-Karabach"),
        ("de energie-\ninfrastructuur", "de energie-infrastructuur"),
        ("de zorg-\nen behandelgegevens", "de zorg- en behandelgegevens"),
        ("in 2023-\n2024", "in 2023-2024"),
        ("het niet-\nbeëindigen", "het niet-beëindigen"),
        ("zie nos.nl/artikel/1-werk-\ngevers-weg", "zie nos.nl/artikel/1-werk-gevers-weg"),
    ],
)
def test_line_break_hyphen_rule(broken: str, joined: str) -> None:
    letter = parse_text(f"Vraag 1\nWat vindt u van {broken} hier?\nAntwoord 1\nGoed.\n")
    assert letter.items[0].question == f"Wat vindt u van {joined} hier?"


def test_letter_metadata(parsed: dict[str, Letter]) -> None:
    l387 = parsed["ah-tk-20232024-387"]
    assert l387.title.startswith(
        "Vragen van het lid Boswijk (CDA) aan de Minister van Buitenlandse"
    )
    assert (l387.date, l387.ministry) == ("2023-11-13", "Buitenlandse Zaken")
    assert "ah-tk-20222023-3250" in parsed["ah-tk-20222023-3366"].references  # "Zie ook … nr. 3250"
    wolvega = parsed["jenv-2024Z11859-politiebureau-wolvega"]
    assert "2024Z11859" in wolvega.references and wolvega.ministry == "Justitie en Veiligheid"
    boa = parsed["jenv-kenmerk5401166-boa-religieuze-uitingen"]
    assert boa.date == "2024-05-16" and "5401166" in boa.references
    assert boa.title.startswith("Beantwoording Kamervragen van de leden Lahlah en Chakor")
    json.dumps([letter.to_dict() for letter in parsed.values()], ensure_ascii=False)
    text = "Vraag 1\nWaarom?\nAntwoord 1\nDaarom.\n"
    untitled = parse_text(text)  # no header, no source: a stable id from the content
    assert untitled.id.startswith("text-") and untitled.id == parse_text(text).id


# ------------------------------------------------------------------------------ committee report
def test_committee_report_fixture() -> None:
    assert COMMITTEE.read_text("utf-8").startswith("SYNTHETIC:")
    letter = parse_file(COMMITTEE)
    assert letter.layout == "committee-report"
    assert [it.numbers for it in letter.items] == [(1,), (2,), (3,), (4,), (5,)]
    assert [it.fractie for it in letter.items] == ["D66", "D66", "D66", "CDA", "CDA"]
    q3 = _item(letter, 3)  # its number line was lost at a page break: inferred as 3
    assert q3.question.startswith("Deze leden vragen ten slotte") and q3.answer.startswith("Ja.")
    a2 = _item(letter, 2).answer  # page header block (Pagina 2 van 3, kenmerk) inside the answer
    assert "voor de eerste fase van de proeftuinen. Een besluit over de vervolgfase" in a2
    assert "Directoraat" not in a2 and "DGED" not in a2
    assert "toepassing van de proeftuinen in het mkb-bedrijfsleven" in _item(letter, 1).question
    assert "AI-adoptie in mkb-bedrijven" in _item(letter, 1).answer
    notes = {it.label: [f.number for f in it.footnotes] for it in letter.items}
    assert notes == {"1": ["1"], "2": ["2"], "3": [], "4": ["3"], "5": []}
    assert _item(letter, 2).footnotes[0].text == "Voorstel van de Commissie, bijlage 1 (fictief)."
    assert "Vragen en opmerkingen" not in _item(letter, 3).answer
    assert (letter.date, letter.ministry) == ("2025-03-03", "Economische Zaken")
    assert {"DGED / 103922863", "2025Z00001"} <= set(letter.references)


# ------------------------------------------------------------------------------ source letter
@pytest.fixture(scope="module")
def source() -> Letter:
    return parse_file(SOURCE_LETTER)


def test_source_letter_ships_unchanged_with_provenance() -> None:
    assert hashlib.sha256(SOURCE_LETTER.read_bytes()).hexdigest() == SOURCE_SHA256
    sidecar = SOURCE_LETTER.with_suffix(".provenance.yaml")
    assert SOURCE_SHA256 in sidecar.read_text("utf-8")
    found = find_letter_files([SOURCE_LETTER.parent])
    assert SOURCE_LETTER in found and sidecar not in found  # provenance is not ingested


def test_source_letter_items_and_fracties(source: Letter) -> None:
    assert (source.id, source.layout) == ("apply-ai-strategie", "committee-report")
    assert [it.numbers for it in source.items] == [(n,) for n in range(1, 26)]
    assert [source.item_id(it) for it in source.items][::24] == [
        "apply-ai-strategie#1",
        "apply-ai-strategie#25",
    ]
    expected = ["D66"] * 4 + ["GroenLinks-PvdA"] * 6 + ["CDA"] * 9 + ["BBB"] * 6
    assert [it.fractie for it in source.items] == expected
    assert all(len(it.question) > 150 and len(it.answer) > 150 for it in source.items)
    for it in source.items:  # no question text swallowed by an answer, nothing left of the layout
        assert not re.search(r"De leden van de|Deze leden|\?", it.answer), it.label
        assert not FURNITURE.search(it.question + it.answer), it.label
    assert len(_item(source, 1).answer.split("\n\n")) == 2  # a line of spaces: new paragraph


def test_source_letter_question_3_recovered(source: Letter) -> None:
    """Its number was lost at a page break and it has no question mark."""
    q3 = _item(source, 3)
    assert q3.question.startswith("De leden van de D66-fractie zien dat de Europese Commissie")
    assert q3.question.endswith("welke prioritering hierin gemaakt gaat worden.")
    assert q3.answer.startswith("Zoals aangegeven in het BNC-fiche heeft het kabinet bedenkingen")
    assert _item(source, 2).answer.endswith("industrie-specifieke AI-modellen.")


def test_source_letter_page_header_removed_from_answer_15(source: Letter) -> None:
    a15 = _item(source, 15).answer
    assert "Er is in samenwerking met andere Europese landen en de Commissie" in a15
    for furniture in ("Pagina", "Directoraat", "Economie en Digitalisering", "kenmerk", "DGED"):
        assert furniture not in a15
    assert "103922863" not in "".join(it.question + it.answer for it in source.items)


def test_source_letter_footnotes(source: Letter) -> None:
    url = "https://single-market-economy.ec.europa.eu/industry/strategy_en#a-new-industrial-strategy-for-europe"
    notes = {it.label: [(f.number, f.text) for f in it.footnotes] for it in source.items}
    assert notes.pop("7") == [
        ("1", f"Strategy - Internal Market, Industry, Entrepreneurship and SMEs {url}")
    ]
    assert notes.pop("8") == [("2", "Kamerstukken II 2024/2025, 36574, nr. 3")]
    assert not any(notes.values())
    assert "gebaseerd op de Europese Industriestrategie. Het kabinet" in _item(source, 7).answer
    assert "digitale open strategische autonomie. Investeren" in _item(source, 8).answer
    texts = "".join(it.question + it.answer for it in source.items)
    assert "http" not in texts and "Kamerstukken" not in texts and "Strategy -" not in texts
    assert _item(source, 8).answer.endswith("dat de private sector in deze opgave investeert.")


def test_source_letter_hyphens_and_facts(source: Letter) -> None:
    texts = "\n".join(it.question + "\n" + it.answer for it in source.items)
    assert "AI- fabriek" not in texts and "mkb- bedrijven" not in texts
    # a hyphen before a space only in coordination ("kennis- en innovatiekracht") and where the
    # letter itself has one ("beroeps- sectorspecifieke", "data- bescherming")
    assert set(re.findall(r"\w- (\w+)", texts)) == {"en", "of", "sectorspecifieke", "bescherming"}
    assert "praktische ondersteuning van mkb-bedrijven bij AI-adoptie" in _item(source, 1).question
    a10 = _item(source, 10).answer
    assert "investeert het 131 miljoen euro in een AI-fabriek in Groningen" in a10
    assert (
        "Vooralsnog zijn hiervoor geen specifieke middelen op de Rijksbegroting gereserveerd" in a10
    )
    assert "het versterken van Europese AI-capaciteiten" in a10  # across a page break
    assert "AI-geletterdheidstrainingen" in _item(source, 5).answer
    assert "prestatie-indicatoren" in _item(source, 23).answer  # vowel clash keeps the hyphen


def test_source_letter_metadata(source: Letter) -> None:
    assert source.title == (
        "Antwoorden op de vragen van de vaste commissie voor Digitale Zaken over de brief "
        "d.d. 14 november 2025 ‘Fiche: Mededeling Apply AI-strategie’"
    )
    assert (source.ministry, source.signatory, source.date) == (
        "Economische Zaken",
        "Vincent Karremans",
        None,  # the letter's own date is not in the text
    )
    assert source.references == ("2025Z19883", "DGED / 103922863")
    data = json.loads(run_kv("parse", "--json", str(SOURCE_LETTER)).out)
    assert data["letter"]["signatory"] == "Vincent Karremans"
    assert [d["id"] for d in data["items"]][2] == "apply-ai-strategie#3"


def test_signatory_of_other_layouts(parsed: dict[str, Letter]) -> None:
    assert parsed["jenv-2024Z11859-politiebureau-wolvega"].signatory == "D.M. van Weel"
    assert parsed["ah-tk-20232024-909"].signatory == "Yeşilgöz-Zegerius"  # PDF's "Yes¸ilgöz"
    assert parsed["ah-tk-20232024-1031"].signatory == "Adriaansens"
    assert all(letter.signatory for letter in parsed.values())


def test_double_spaced_extraction_parses_like_the_plain_text() -> None:
    """An empty line after every line, a line of one space between paragraphs: the form of the
    source letter's extraction, applied to the synthetic committee report."""
    body = COMMITTEE.read_text("utf-8").split("\n", 2)[2]  # without the two header lines
    doubled = "\n\n".join(ln if ln.strip() else " " for ln in body.split("\n"))
    plain, spaced = parse_text(body), parse_text(doubled)
    assert len(plain.items) == 5 and spaced.items == plain.items
    assert (spaced.title, spaced.references) == (plain.title, plain.references)


# ------------------------------------------------------------------------------ PDF and DOCX
def _write_pdf(text: str, path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_page()
    if FONT.exists():
        pdf.add_font("DejaVu", fname=str(FONT))
        pdf.set_font("DejaVu", size=8)
    else:  # core fonts are latin-1 only
        pdf.set_font("Helvetica", size=8)
        text = text.translate(str.maketrans("’‘“”«»–", '\'\'""""-'))
    for line in text.split("\n"):
        if line.strip() == "-----":  # pymupdf4llm page separator: a real page break here
            pdf.add_page()
        else:
            pdf.multi_cell(0, 3.8, line.strip() or " ", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def _write_docx(text: str, path: Path) -> None:
    import docx

    document = docx.Document()
    for para in re.split(r"\n\s*\n", text):
        document.add_paragraph(para.strip())  # line breaks inside become <w:br/>
    document.save(str(path))


def _body(name: str) -> str:
    return _letter(name).read_text("utf-8").split("\n\n", 1)[1]  # without the SOURCE: header


@pytest.mark.parametrize("name", ["ah-tk-20232024-387", "jenv-2024Z11859-politiebureau-wolvega"])
def test_pdf_copy_parses_like_the_text(name: str, tmp_path: Path) -> None:
    body = _body(name)
    pdf = tmp_path / f"{name}.pdf"
    _write_pdf(body, pdf)
    from_pdf = parse_file(pdf)
    assert _items(from_pdf) == _items(parse_text(body))
    if name.startswith("ah-tk"):
        assert from_pdf.id == name  # from the page footer in the text, not the file name


@pytest.mark.parametrize(
    "name", ["jenv-2024Z11859-politiebureau-wolvega", "jenv-kenmerk5303168-me-religie"]
)
def test_docx_copy_parses_like_the_text(name: str, tmp_path: Path) -> None:
    body = _body(name)
    path = tmp_path / f"{name}.docx"
    _write_docx(body, path)
    from_docx = parse_file(path)
    assert from_docx.id == name and from_docx.layout == "ministry-letter"
    assert _items(from_docx) == _items(parse_text(body))


def test_docx_word_footnote_is_attached(tmp_path: Path) -> None:
    """python-docx cannot write footnotes, so add a footnotes part to its package by hand."""
    import zipfile

    import docx

    plain, path = tmp_path / "plain.docx", tmp_path / "noot.docx"
    document = docx.Document()
    for text in ("Vraag 1", "Kent u het bericht?", "Antwoord op vraag 1", "Ja, zie de brief."):
        document.add_paragraph(text)
    document.save(str(plain))
    ns = "http://schemas.openxmlformats.org"
    edits = {
        "word/document.xml": (
            "brief.</w:t></w:r>",
            'brief.</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r>',
        ),
        "[Content_Types].xml": (
            "</Types>",
            '<Override PartName="/word/footnotes.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>',
        ),
        "word/_rels/document.xml.rels": (
            "</Relationships>",
            f'<Relationship Id="rIdFn" Type="{ns}/officeDocument/2006/relationships/footnotes"'
            ' Target="footnotes.xml"/></Relationships>',
        ),
    }
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename in edits:
                data = data.decode().replace(*edits[item.filename]).encode()
            out.writestr(item, data)
        out.writestr(
            "word/footnotes.xml",
            f'<w:footnotes xmlns:w="{ns}/wordprocessingml/2006/main">'
            '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
            '</w:footnote><w:footnote w:id="1"><w:p><w:r><w:t>Kamerstuk 12 345, nr. 6.</w:t>'
            "</w:r></w:p></w:footnote></w:footnotes>",
        )
    (item,) = parse_file(path).items
    assert (item.question, item.answer) == ("Kent u het bericht?", "Ja, zie de brief.")
    assert [(f.number, f.text) for f in item.footnotes] == [("1", "Kamerstuk 12 345, nr. 6.")]


# ------------------------------------------------------------------------------ bad input
def _no_text_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # a "scan": graphics only
    pdf.output(str(path))


def _encrypted_pdf(path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    plain = path.with_name("plain.pdf")
    _write_pdf("Vraag 1\nWaarom?\nAntwoord 1\nDaarom.", plain)
    writer = PdfWriter()
    writer.append(PdfReader(plain))
    writer.encrypt(user_password="geheim", owner_password="geheim")
    with path.open("wb") as fh:
        writer.write(fh)


BAD_INPUTS = {
    "empty.txt": (b"", "empty file"),
    "blank.md": (b"  \n\n \n", "empty file"),
    "garbage.txt": (bytes(range(256)) * 8, "binary file"),
    "latin1.txt": ("Vraag 1\nKent u het café?\nAntwoord 1\nJa.".encode("latin-1"), "not UTF-8"),
    "noquestions.txt": (b"Geachte voorzitter,\n\nHierbij de brief.\n", "no questions"),
    "zero.pdf": (b"", "empty file"),
    "zero.docx": (b"", "empty file"),
    "broken.pdf": (b"%PDF-1.4\n1 0 obj garbage", "malformed PDF"),
    "notapdf.pdf": (b"hello world", "not a PDF"),
    "broken.docx": (b"PK\x03\x04 not really a zip", "malformed DOCX"),
    "letter.rtf": (b"{\\rtf1 Vraag 1}", "unsupported file type"),
    "scan.pdf": (_no_text_pdf, "no text layer"),
    "locked.pdf": (_encrypted_pdf, "encrypted PDF"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gives_a_one_line_parse_error(name: str, tmp_path: Path) -> None:
    content, reason = BAD_INPUTS[name]
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        content(path)
    with pytest.raises(ParseError) as info:
        parse_file(path)
    message = str(info.value)
    assert reason in message and str(path) in message and "\n" not in message


def test_missing_file_and_empty_text() -> None:
    with pytest.raises(ParseError, match="no such file"):
        parse_file(Path("/nonexistent/letter.txt"))
    with pytest.raises(ParseError, match="empty"):
        parse_text("   \n")


def test_kv_parse_batch_reports_bad_files_and_goes_on(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    noq = tmp_path / "noq.txt"
    noq.write_text("Geen vragen hier.\n")
    good = _letter("ah-tk-20232024-387")
    result = run_kv("parse", str(empty), str(good), str(noq), timeout=120)
    assert result.code == 1
    assert "ah-tk-20232024-387  [aanhangsel]  9 items (1 combined" in result.out
    errors = result.err.strip().splitlines()
    assert errors == [
        f"kv: {empty}: empty file; export the letter again",
        f"kv: {noq}: no questions found (expected 'Vraag 1' … 'Antwoord 1' or numbered questions)",
    ]
    assert "Traceback" not in result.err


def test_kv_parse_json() -> None:
    one = run_kv("parse", "--json", str(COMMITTEE), timeout=120)
    assert one.code == 0
    data = json.loads(one.out)
    assert data["letter"]["layout"] == "committee-report"
    assert data["items"][2]["id"] == "committee_report_synthetic#3"
    several = run_kv("parse", "--json", str(COMMITTEE), str(_letter("ah-tk-20232024-1031")))
    assert [d["letter"]["id"] for d in json.loads(several.out)] == [
        "committee_report_synthetic",
        "ah-tk-20232024-1031",
    ]
    assert run_kv("parse").code == 2  # usage error


# ------------------------------------------------------------------------------ incoming questions
def test_parse_questions_shared_jsonl() -> None:
    errors: list[ParseError] = []
    sets = parse_questions(INCOMING_JSONL, errors)
    assert (len(sets), sum(len(s.items) for s in sets), errors) == (22, 218, [])
    first = sets[0]
    assert first.layout == "incoming-jsonl" and first.date == "2023-08-21"
    assert first.id == "tk-89191c68-14c2-4925-bb17-dfa9802c7a10"
    assert [it.numbers for it in first.items][:5] == [
        (1,),
        (2, 3),
        (4,),
        (5, 6),
        (7, 8, 9, 11, 12, 13),
    ]
    assert all(it.question and not it.answer for s in sets for it in s.items)


def test_parse_questions_jsonl_with_broken_lines(tmp_path: Path) -> None:
    good = INCOMING_JSONL.read_text("utf-8").splitlines()[:2]
    path = tmp_path / "incoming.jsonl"
    path.write_text("\n".join([good[0], '{"subject": "kapot", "questions": [', good[1], "{}"]))
    errors: list[ParseError] = []
    sets = parse_questions(path, errors)
    assert len(sets) == 2
    assert [e.source for e in errors] == [f"{path}:2", f"{path}:4"]
    assert "invalid JSON" in errors[0].reason and "missing key 'questions'" in errors[1].reason
    assert len(parse_questions(path)) == 2  # without a list: logged, good lines still returned


def test_parse_questions_from_text() -> None:
    text = (
        "Vragen van het lid X\n\n1. Kent u het bericht?\n2. Deelt u de mening dat het\nbeter kan?\n"
    )
    (letter,) = parse_questions(text)
    assert letter.layout == "questions"
    assert [(it.numbers, it.question) for it in letter.items] == [
        ((1,), "Kent u het bericht?"),
        ((2,), "Deelt u de mening dat het beter kan?"),
    ]
    (letter,) = parse_questions("Vraag 1\nWaarom?\n\nVraag 2 en 3\nHoe? En wanneer?\n")
    assert [it.numbers for it in letter.items] == [(1,), (2, 3)]
    # an answered letter read as questions: the answers are dropped
    (letter,) = parse_questions(_letter("ah-tk-20232024-387"))
    assert len(letter.items) == 9 and not any(it.answer for it in letter.items)
    with pytest.raises(ParseError, match="no questions"):
        parse_questions("Geen vragen.\n")


def test_find_letter_files(tmp_path: Path) -> None:
    for rel in ["b.txt", "a/c.pdf", "a/d.docx", "a/deep/e.md", "a/skip.json", "f.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    found = find_letter_files([tmp_path, tmp_path / "b.txt"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a/c.pdf",
        "a/d.docx",
        "a/deep/e.md",
        "b.txt",
    ]
