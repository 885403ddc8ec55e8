"""Hardening: binding, logins, upload limits, secrets in logs, and the audit log over HTTP.

Runs the real `kv serve` (extractive provider) on 127.0.0.1 and the real `kv ask` against our
own fake OpenAI-compatible endpoint; greps logs, output and the audit DB for the API key.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.errors import KVError
from app.settings import ROOT
from app.web import handlers as h
from app.writers.factory import make_writer
from tests._hardening import (
    SCHOOL_Q,
    MisbehavingLLM,
    Served,
    Tally,
    indexed,
    retriever,
    start_serve,
    stop_serve,
)
from tests.conftest import run_kv

TALLY = Tally("security checks passed")
SECRET = "sk-dummy-SECRET123"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("secure")
    s = start_serve(root, extra_env={"KV_MAX_UPLOAD_BYTES": "200000"})
    yield s
    stop_serve(s)


def _listeners(port: int) -> list[str]:
    """Local addresses listening on `port` (from /proc/net/tcp and tcp6), as hex strings."""
    out = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(name)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            addr, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                out.append(addr)
    return out


def test_serve_binds_loopback_only_by_default(served: Served) -> None:
    addrs = _listeners(served.port)
    if not addrs:
        pytest.skip("/proc/net/tcp not readable here")
    assert addrs == ["0100007F"], f"kv serve listens on {addrs}, expected 127.0.0.1 only"
    TALLY.add("loopback bind")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10"])
def test_non_local_bind_without_login_is_refused(host: str, tmp_path: Path) -> None:
    env = {"KV_DATA_DIR": str(tmp_path), "KV_AUTH_USERS": "", "KV_AUTH_FILE": ""}
    r = run_kv("serve", "--host", host, "--provider", "extractive", env=env, timeout=60)
    assert r.code == 1 and "Traceback" not in r.err
    assert r.err.strip().startswith("kv: refusing to serve on") and "KV_AUTH_USERS" in r.err
    assert not (tmp_path / "chroma").exists(), "nothing may be started or indexed first"
    TALLY.add("non-local bind refused")


# -- uploads --------------------------------------------------------------------------------------


def test_server_rejects_an_upload_over_the_limit(served: Served, tmp_path: Path) -> None:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.txt"'
            "\r\nContent-Type: text/plain\r\n\r\n"
        ).encode()
        + b"Vraag 1\n" * 40_000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(
        served.url + "gradio_api/upload",
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=30)
    assert info.value.code == 413, info.value.code
    TALLY.add("upload too large (server)")


def _svc(limit: int) -> h.Services:
    s = indexed().settings.model_copy(update={"max_upload_bytes": limit})
    return h.Services(s, retriever(), make_writer(s, "extractive"))


def test_handlers_limit_upload_size(tmp_path: Path) -> None:
    big = tmp_path / "groot.txt"
    big.write_text("Vraag 1\nIs dit te groot?\n" * 200, encoding="utf-8")
    svc = _svc(1000)
    with pytest.raises(KVError, match="te groot"):
        h.load_questions(None, str(big), h.LetterSession(), svc)
    rows, summary = h.ingest_files([str(big)], svc, lambda f, d: None)
    assert rows[0][1] == "overgeslagen" and "te groot" in rows[0][3]
    assert summary.startswith("0 van 1")
    TALLY.add("upload too large (handlers)", 2)


@pytest.mark.parametrize("name", ["setup.exe", "macro.docm", "page.html", "script.py"])
def test_handlers_refuse_other_file_types(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(b"MZ\x90\x00 Vraag 1\nWat is dit?\n")
    svc = _svc(10_000)
    with pytest.raises(KVError) as info:
        h.load_questions(None, str(path), h.LetterSession(), svc)
    assert "unsupported file type" in str(info.value) or "binary" in str(info.value)
    rows, _ = h.ingest_files([str(path)], svc, lambda f, d: None)
    assert rows[0][1] == "overgeslagen"
    TALLY.add("upload wrong type", 2)


# -- secrets --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["ok", "500"])
def test_api_key_never_reaches_logs_output_or_audit(mode: str, tmp_path: Path) -> None:
    data = indexed().data
    answer = "Een gezamenlijke trainingsschool voor overheidshonden is nog niet gerealiseerd [1]."
    with MisbehavingLLM(mode, answer=answer) as server:
        env = {
            **os.environ,
            **indexed().env(
                KV_PROVIDER="openai",
                KV_OPENAI_BASE_URL=server.url,
                KV_OPENAI_API_KEY=SECRET,
                KV_LLM_MAX_RETRIES="1",
            ),
        }
        log = tmp_path / "kv.log"
        with log.open("w") as err:
            proc = subprocess.run(
                [sys.executable, "-m", "app", "--debug", "ask", "--provider", "openai", SCHOOL_Q],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=env,
                cwd=ROOT,
                timeout=120,
            )
        sent = [r["headers"].get("authorization", "") for r in server.requests]
    assert proc.returncode == (0 if mode == "ok" else 1)
    assert any(SECRET in a for a in sent), (
        "the key must actually be used (else this proves nothing)"
    )
    logged = log.read_text()
    assert "DEBUG" in logged and len(logged) > 1000  # debug logging really was on
    assert SECRET not in logged and "SECRET123" not in logged
    assert SECRET not in proc.stdout
    with sqlite3.connect(data / "audit.sqlite3") as db:
        dump = "\n".join(db.iterdump())
    assert "SECRET123" not in dump
    TALLY.add("no key in logs/output/audit")


# -- the data dir over HTTP -----------------------------------------------------------------------


def test_audit_log_and_store_are_not_served_over_http(served: Served) -> None:
    data = indexed().data
    audit_db = data / "audit.sqlite3"
    assert audit_db.exists()
    targets = [
        audit_db,
        data / "chroma" / "chroma.sqlite3",
        Path("/etc/passwd"),
    ]
    routes = []
    for t in targets:
        a = str(t)
        routes += [
            f"file={a}",
            f"gradio_api/file={a}",
            f"gradio_api/file={a.replace('/', '%2F')}",
            f"gradio_api/file=../../..{a}",
            f"static/../../..{a}",
            f"gradio_api/file=data/{t.name}",
        ]
    for route in routes:
        try:
            with urllib.request.urlopen(served.url + route, timeout=10) as r:
                content = r.read()
                assert b"SQLite format" not in content and b"root:" not in content, route
                pytest.fail(f"{route} answered {r.status}")
        except urllib.error.HTTPError as exc:
            assert exc.code in (403, 404), (route, exc.code)
        TALLY.add("file route refused")


def test_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Not a check of its own: prints what this file tried (for the closing note)."""
    if not TALLY.total:
        pytest.skip("no hardening case of this file ran in this selection")
    TALLY.report(capsys)
