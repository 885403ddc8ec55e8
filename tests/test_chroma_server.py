"""The same store code against a real Chroma server (`chroma run`), as a team would deploy it."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.index.ingest import ingest
from app.retrieve import Retriever, has_precedent
from app.settings import ROOT, get_settings
from tests.conftest import CORPUS_LETTERS, free_port, stop_process

CHROMA = ROOT / ".venv" / "bin" / "chroma"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if not CHROMA.exists():
        pytest.fail(f"{CHROMA} is missing: run `make setup`")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
                with urllib.request.urlopen(url, timeout=2) as r:
                    if "nanosecond heartbeat" in json.loads(r.read()):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"chroma server did not start: {(path / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(0.3)
        yield port
    finally:
        stop_process(proc, timeout=20)
        log.close()


def test_ingest_and_search_through_a_chroma_server(
    chroma_server: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KV_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("KV_CHROMA_PORT", str(chroma_server))
    monkeypatch.setenv("KV_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        retriever = Retriever.from_settings()
        assert retriever.store.location == f"Chroma server 127.0.0.1:{chroma_server}"
        letters = [
            CORPUS_LETTERS / "ah-tk-20232024-1983.txt",
            CORPUS_LETTERS / "ah-tk-20232024-421.txt",
        ]
        result = ingest(letters, retriever.store)
        assert not result.failed and result.items_added == 10
        assert ingest(letters, retriever.store).items_unchanged == 10  # idempotent over HTTP too
        # A new client (another process would do the same) finds the records and searches them.
        fresh = Retriever.from_settings()
        assert fresh.store.count() == 10
        hits = fresh.search("Mag de bingo voor ouderen in het buurthuis doorgaan?", k=3)
        assert hits[0].letter_id == "ah-tk-20232024-1983" and has_precedent(hits)
        assert not (tmp_path / "data" / "chroma").exists()  # nothing embedded on disk
    finally:
        get_settings.cache_clear()


def test_unreachable_server_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.errors import StoreError

    monkeypatch.setenv("KV_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("KV_CHROMA_PORT", str(free_port()))
    monkeypatch.setenv("KV_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        with pytest.raises(StoreError, match="KV_CHROMA_HOST"):
            Retriever.from_settings().store.count()
    finally:
        get_settings.cache_clear()
