"""Hardening: faults outside our code - a misbehaving LLM endpoint, a broken store, kill -9.

The LLM faults use a real HTTP server of our own (tests/_hardening.MisbehavingLLM) with the real
`openai` provider pointed at it; retrieval, drafting, the audit log and the store are all real.
Each fault must end in a clear ModelError/StoreError, keep the precedents, and be audited.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.drafting import audit
from app.drafting.draft import Done, DraftError, DraftRequest, Token, draft, draft_stream
from app.errors import StoreError
from app.index.ingest import ingest
from app.index.store import Store
from app.letters.parse import parse_file
from app.retrieve import Retriever
from app.settings import ROOT, Settings
from app.writers.factory import make_writer
from tests._hardening import (
    DOGS,
    LETTERS,
    SCHOOL_Q,
    MisbehavingLLM,
    Tally,
    free_port,
    indexed,
    retriever,
)
from tests.conftest import run_kv
from tests.fakes import HashedEmbeddings

TALLY = Tally("faults injected, all reported cleanly")


def _openai_settings(url: str, **kw: object) -> Settings:
    base = indexed().settings
    return base.model_copy(
        update={"provider": "openai", "openai_base_url": url, "openai_model": "fake", **kw}
    )


def _draft_fails(settings: Settings, question: str, stream: bool = False) -> DraftError:
    writer = make_writer(settings, "openai")
    with pytest.raises(DraftError) as info:
        kw: dict[str, Any] = {"retriever": retriever(), "writer": writer, "settings": settings}
        if stream:
            for _ in draft_stream(DraftRequest(question), **kw):
                pass
        else:
            draft(DraftRequest(question), **kw)
    return info.value


def _assert_reported(err: DraftError, question: str, *phrases: str) -> None:
    """Clear message, precedents kept, failure in the audit log."""
    message = str(err)
    for phrase in phrases:
        assert phrase in message, message
    assert "Traceback" not in message and "\n" not in message
    assert err.draft.precedents, "the precedents must survive a model failure"
    assert any(p.id.startswith("jenv-2024Z11889") for p in err.draft.precedents)
    row = audit.get_draft(err.draft.draft_id, indexed().data) if err.draft.draft_id else None
    assert row is not None and row.question == question and row.error
    assert row.precedents and row.output == ""


@pytest.mark.parametrize("retries", [0, 2])
def test_connection_refused_is_retried_then_reported(retries: int) -> None:
    port = free_port()  # nothing listens here
    q = f"{SCHOOL_Q} (geweigerd {retries})"
    settings = _openai_settings(f"http://127.0.0.1:{port}/v1", llm_max_retries=retries)
    err = _draft_fails(settings, q)
    _assert_reported(err, q, "cannot reach", "connection refused", "KV_OPENAI_BASE_URL")
    TALLY.add("connection refused")


def test_http_500_is_retried_as_configured_then_reported() -> None:
    q = f"{SCHOOL_Q} (500)"
    with MisbehavingLLM("500") as server:
        err = _draft_fails(_openai_settings(server.url, llm_max_retries=2), q)
        assert server.chat_requests == 3, "1 request + 2 retries for an HTTP 500"
    _assert_reported(err, q, "HTTP 500", "check the server's log")
    TALLY.add("http 500")


def test_timeout_is_reported_with_the_setting_to_raise() -> None:
    q = f"{SCHOOL_Q} (timeout)"
    with MisbehavingLLM("slow", delay=3) as server:
        settings = _openai_settings(server.url, llm_max_retries=1, llm_timeout_s=0.5)
        err = _draft_fails(settings, q)
        assert server.chat_requests == 2, "1 request + 1 retry after a timeout"
    _assert_reported(err, q, "did not answer within 0.5 s", "KV_LLM_TIMEOUT_S")
    TALLY.add("timeout")


def test_malformed_json_is_reported_without_retrying() -> None:
    q = f"{SCHOOL_Q} (malformed)"
    with MisbehavingLLM("malformed") as server:
        err = _draft_fails(_openai_settings(server.url, llm_max_retries=2), q)
        requests = server.chat_requests
    assert requests == 1, "a malformed 200 reply is not retried (the server answered)"
    _assert_reported(err, q, "not an OpenAI chat completion", "/v1")
    TALLY.add("malformed json")


@pytest.mark.parametrize("mode", ["cut", "eof"])
def test_stream_broken_off_mid_answer_is_an_error_not_a_short_draft(mode: str) -> None:
    """cut: the connection drops inside a chunk; eof: a clean close with no finish reason.
    Both once produced (or could produce) a truncated "draft"; now both are ModelErrors."""
    q = f"{SCHOOL_Q} ({mode})"
    with MisbehavingLLM(mode) as server:
        err = _draft_fails(_openai_settings(server.url, llm_max_retries=2), q, stream=True)
        assert server.chat_requests == 1, "a stream already shown is not silently retried"
    _assert_reported(err, q, "broke off its answer mid-stream", "try again")
    assert "Het kabinet heeft besloten" not in err.draft.text
    TALLY.add(f"stream {mode}")


def test_a_healthy_endpoint_drafts_after_the_faults() -> None:
    """Control: the same wiring with a well-behaved server drafts (the faults were the cause)."""
    answer = "Een gezamenlijke trainingsschool voor overheidshonden is nog niet gerealiseerd [1]."
    with MisbehavingLLM("ok", answer=answer) as server:
        settings = _openai_settings(server.url)
        events = list(
            draft_stream(
                DraftRequest(SCHOOL_Q),
                retriever=retriever(),
                writer=make_writer(settings, "openai"),
                settings=settings,
            )
        )
    assert any(isinstance(e, Token) for e in events)
    done = events[-1]
    assert isinstance(done, Done) and not done.draft.error and done.draft.citations


def test_cli_ask_against_a_failing_endpoint_exits_1_with_one_line() -> None:
    with MisbehavingLLM("500") as server:
        env = indexed().env(
            KV_PROVIDER="openai", KV_OPENAI_BASE_URL=server.url, KV_LLM_MAX_RETRIES="1"
        )
        r = run_kv("ask", SCHOOL_Q, env=env, timeout=120)
        assert server.chat_requests == 2
    assert r.code == 1, r.err
    assert "Traceback" not in r.err
    kv_lines = [ln for ln in r.err.splitlines() if ln.startswith("kv: ")]
    assert len(kv_lines) == 1 and "HTTP 500" in kv_lines[0], r.err
    assert "Bronnen:" in r.out and "jenv-2024Z11889" in r.out  # precedents still printed
    TALLY.add("cli http 500")


# -- the store ------------------------------------------------------------------------------------


def _search(data_dir: Path) -> list[object]:
    """A search on the store in `data_dir`, with fake embeddings (what is tested is how the store
    fails, not what the vectors mean)."""
    s = Settings(data_dir=data_dir, corpus_dir=indexed().settings.corpus_dir, chroma_host=None)
    fake = HashedEmbeddings()
    return list(Retriever(Store(s, fake), fake).search(SCHOOL_Q, k=3))


def test_store_missing_is_not_a_crash(tmp_path: Path) -> None:
    """A data dir without a store: searching finds nothing (and `kv ask` indexes first)."""
    assert _search(tmp_path / "nowhere") == []
    TALLY.add("store missing")


def test_store_path_is_a_file_names_the_fix(tmp_path: Path) -> None:
    """We run as root, so chmod cannot make a folder read-only; a file where the store's
    folder should be stands in for an unwritable location."""
    (tmp_path / "chroma").write_text("not a folder")
    with pytest.raises(StoreError) as info:
        _search(tmp_path)
    assert "KV_DATA_DIR" in str(info.value) or "kv ingest --rebuild" in str(info.value)
    TALLY.add("store not a folder")


def test_read_only_data_dir_names_the_fix(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 0555 does not block writes (see the not-a-folder test)")
    data = tmp_path / "ro"
    data.mkdir()
    data.chmod(0o555)
    s = Settings(data_dir=data, chroma_host=None)
    try:
        with pytest.raises(StoreError, match="writable"):
            ingest([LETTERS / f"{DOGS}.txt"], Retriever.from_settings(s).store)
    finally:
        data.chmod(0o755)
    TALLY.add("store read-only")


def test_corrupt_store_names_the_rebuild_and_cli_says_it_in_one_line(tmp_path: Path) -> None:
    chroma = tmp_path / "chroma"
    chroma.mkdir()
    (chroma / "chroma.sqlite3").write_bytes(os.urandom(4096))
    with pytest.raises(StoreError, match=r"kv ingest --rebuild"):
        _search(tmp_path)
    r = run_kv("search", SCHOOL_Q, env={"KV_DATA_DIR": str(tmp_path)}, timeout=120)
    assert r.code == 1 and "Traceback" not in r.err
    assert r.err.strip().startswith("kv: ") and "kv ingest --rebuild" in r.err
    TALLY.add("store corrupt")


# -- kill -9 during ingest ------------------------------------------------------------------------


def _count(data: Path) -> int:
    s = Settings(data_dir=data, chroma_host=None)
    return Retriever.from_settings(s).store.count()


def test_kill_9_during_ingest_leaves_a_store_that_opens_and_a_rerun_completes(
    tmp_path: Path, corpus_letters: list[Path]
) -> None:
    """Ten small real letters; kill -9 once the progress bar shows the first letter done."""
    letters = tmp_path / "letters"
    letters.mkdir()
    for path in sorted(corpus_letters, key=lambda p: p.stat().st_size)[:10]:
        (letters / path.name).write_bytes(path.read_bytes())
    expected = sum(len(parse_file(p).items) for p in letters.iterdir())
    data = tmp_path / "data"
    # FORCE_COLOR makes rich draw its progress bar on a pipe, so "1/10" can be seen.
    env = {**os.environ, "KV_DATA_DIR": str(data), "FORCE_COLOR": "1", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "ingest", str(letters)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 180
    seen = b""
    while not re.search(rb"\b[1-9]/10\b", seen):
        piece = os.read(proc.stderr.fileno(), 4096)
        if not piece:
            break
        seen += piece
        assert time.monotonic() < deadline, "no progress output within 180 s"
    was_running = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert was_running, f"ingest finished before the kill: {seen[-300:]!r}"
    assert proc.returncode == -signal.SIGKILL
    partial = _count(data)  # the store opens after the kill
    assert partial < expected

    again = run_kv("ingest", "--json", str(letters), env={"KV_DATA_DIR": str(data)}, timeout=300)
    assert again.code == 0, again.err
    summary = json.loads(again.out)
    assert _count(data) == expected, (partial, _count(data), expected)
    print(f"kill -9 after the first letter: {partial} items survived; rerun -> {expected}")
    print(f"rerun summary: {summary}")
    TALLY.add("kill -9 ingest")


def test_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Not a check of its own: prints what this file tried (for the closing note)."""
    if not TALLY.total:
        pytest.skip("no hardening case of this file ran in this selection")
    TALLY.report(capsys)
