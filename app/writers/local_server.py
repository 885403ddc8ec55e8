"""The bundled local model, run OUT of the app's process by a supervised `llama_cpp.server`.

Why out of process: llama.cpp is native code. A build that meets a CPU it was not compiled for
dies with SIGILL on the first generated token, and any native crash inside `kv serve` would take
the web app down for every user at once (and a crash inside pytest would end the whole run). So
the model runs in a child process - `python -m llama_cpp.server` on 127.0.0.1 and a free port -
that the app reaches through the same OpenAI-compatible path as any remote endpoint
(`app.writers.compat.CompatChatOpenAI`). One code path for local and remote.

The supervisor (`LocalServer`) starts the worker on first use, checks it with a few generated
tokens (the start-up self-test: a crash becomes a `ModelError` that names the signal and the
fix), restarts it in the background when it dies, and stops it when the app exits (the worker
also ends itself when the app is killed: `app.writers.local_worker`). llama.cpp serves one request
at
a time; concurrent users queue in the server (`interrupt_requests` off, so one user's request
never cancels another's).

This module never loads model weights into the app's process. Token counting uses a
*vocabulary-only* `llama_cpp.Llama` (no tensors, no compute), which is safe on any CPU.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import ModelError

log = logging.getLogger(__name__)

LOCAL_ALIAS = "local"
"""The model name the worker serves under (`--model_alias`)."""

FIX_CRASH = (
    "rebuild the runtime for a safe instruction set with `make setup-portable`, "
    "or use --provider extractive (no model) or --provider openai (a model server)"
)


def describe_exit(returncode: int | None) -> str:
    """'killed by SIGILL (illegal instruction)' / 'exited with status 1'."""
    if returncode is None:
        return "is still running"
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode)
        except ValueError:
            return f"was killed by signal {-returncode}"
        what = signal.strsignal(sig) or sig.name
        return f"was killed by {sig.name} ({what.lower()})"
    return f"exited with status {returncode}"


def crash_error(returncode: int | None, log_path: Path, during: str) -> ModelError:
    """The error a user sees when the runtime died: cause, where to look, how to fix it."""
    why = describe_exit(returncode)
    if returncode == -signal.SIGILL:
        hint = (
            "this llama.cpp build uses CPU instructions this machine refuses (e.g. AVX-512 or "
            f"AMX in a virtual machine); {FIX_CRASH}"
        )
    elif returncode == -signal.SIGKILL:
        hint = "it was killed (out of memory, or by hand); it is restarted for the next request"
    else:
        hint = f"see {log_path}; {FIX_CRASH}"
    return ModelError(f"the local model runtime {why} {during}: {hint}")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return dict(json.loads(response.read()))


@dataclass
class LocalServer:
    """One supervised `llama_cpp.server` worker for one model file and configuration."""

    model_path: Path
    n_ctx: int
    n_threads: int
    log_path: Path
    startup_timeout_s: float = 180.0
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    last_start_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- public -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def ensure(self) -> str:
        """The worker's base URL; (re)starts it and runs the self-test when it is not running.
        Raises ModelError naming the cause when the runtime cannot start or crashes at once."""
        with self._lock:
            if not self.alive():
                if self.proc is not None:
                    log.warning(
                        "local model worker %s; restarting", describe_exit(self.returncode())
                    )
                self._start()
            return self.base_url

    def restart_in_background(self) -> None:
        """After a crash: bring the worker back now, so the next draft does not wait for it."""

        def run() -> None:
            with contextlib.suppress(ModelError):
                self.ensure()

        threading.Thread(target=run, name="kv-local-model-restart", daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    # -- internals ----------------------------------------------------------------------------

    def _command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "app.writers.local_worker",
            str(os.getpid()),
            "--model",
            str(self.model_path),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.n_threads),
            "--n_threads_batch",
            str(self.n_threads),
            "--model_alias",
            LOCAL_ALIAS,
            "--interrupt_requests",
            "False",
            "--verbose",
            "False",
        ]

    def _start(self) -> None:
        t0 = time.perf_counter()
        # Reuse the port of the worker that died, so clients built for it keep working.
        if not self.port or not _port_free(self.host, self.port):
            self.port = free_port(self.host)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            out.write(f"\n--- start {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n".encode())
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.starts += 1
        try:
            self._wait_ready(t0)
            self._self_test()
        except ModelError:
            self._kill()
            raise
        self.last_start_s = time.perf_counter() - t0
        log.info(
            "local model worker pid %s on port %s ready in %.1f s",
            self.pid,
            self.port,
            self.last_start_s,
        )

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def _wait_ready(self, t0: float) -> None:
        url = f"http://{self.host}:{self.port}/v1/models"
        while True:
            code = self.returncode()
            if code is not None:
                raise crash_error(code, self.log_path, "while loading the model")
            with (
                contextlib.suppress(OSError, ValueError),
                urllib.request.urlopen(url, timeout=2) as response,
            ):
                if response.status == 200:
                    return
            if time.perf_counter() - t0 > self.startup_timeout_s:
                raise ModelError(
                    f"the local model worker did not come up within {self.startup_timeout_s:.0f} s "
                    f"(see {self.log_path}); the machine may be overloaded - try again, or use "
                    "--provider extractive"
                )
            time.sleep(0.2)

    def _self_test(self) -> None:
        """Generate a few tokens: a runtime built for the wrong CPU dies here, not mid-draft."""
        try:
            reply = _post(
                f"{self.base_url}/completions",
                {"prompt": "De minister", "max_tokens": 3, "temperature": 0},
                timeout=self.startup_timeout_s,
            )
            if not reply.get("choices"):
                raise ValueError("no choices in the reply")
        except (OSError, ValueError, urllib.error.URLError) as exc:
            with contextlib.suppress(subprocess.TimeoutExpired):
                if self.proc is not None:
                    self.proc.wait(timeout=5)
            code = self.returncode()
            if code is not None:
                raise crash_error(code, self.log_path, "on its first generated tokens") from exc
            raise ModelError(
                f"the local model worker failed its self-test ({exc}); see {self.log_path}"
            ) from exc


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


_SERVERS: dict[tuple[str, int, int], LocalServer] = {}
_SERVERS_LOCK = threading.Lock()


def server_for(model_path: Path, n_ctx: int, n_threads: int, data_dir: Path) -> LocalServer:
    """The process-wide supervisor for this model and configuration (not started yet)."""
    key = (str(model_path.resolve()), n_ctx, n_threads)
    with _SERVERS_LOCK:
        server = _SERVERS.get(key)
        if server is None:
            server = LocalServer(
                model_path=Path(key[0]),
                n_ctx=n_ctx,
                n_threads=n_threads,
                log_path=data_dir / "logs" / "local-model.log",
            )
            if not _SERVERS:
                atexit.register(stop_all)
            _SERVERS[key] = server
    return server


def stop_all() -> None:
    with _SERVERS_LOCK:
        servers = list(_SERVERS.values())
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


# -- the tokenizer (vocabulary only, in process) --------------------------------------------------

_VOCABS: dict[str, Any] = {}
_VOCABS_LOCK = threading.Lock()


def vocab(model_path: Path) -> Any:
    """A vocabulary-only `llama_cpp.Llama`: tokenize and chat template, no weights, no compute."""
    key = str(model_path.resolve())
    with _VOCABS_LOCK:
        llama = _VOCABS.get(key)
        if llama is None:
            from llama_cpp import Llama

            try:
                llama = Llama(model_path=key, vocab_only=True, verbose=False)
            except (ValueError, OSError) as exc:
                raise ModelError(
                    f"cannot read the local model's vocabulary from {key} ({exc}); run "
                    "`kv model --verify` to check and repair it"
                ) from exc
            if not _VOCABS:
                atexit.register(_close_vocabs)
            _VOCABS[key] = llama
    return llama


def _close_vocabs() -> None:
    """Free the vocabularies before interpreter teardown: `Llama.__del__` at teardown finds
    llama.cpp's bindings already gone and prints a TypeError traceback after every run."""
    with _VOCABS_LOCK:
        for llama in _VOCABS.values():
            with contextlib.suppress(Exception):
                llama.close()
        _VOCABS.clear()


def system_info() -> str:
    """What the installed llama.cpp was compiled with, e.g. 'CPU : SSE3 = 1 | AVX2 = 1 | …'.
    Reading it runs no model code; used by `kv model --verify` and the portability test."""
    import llama_cpp

    raw = llama_cpp.llama_print_system_info()
    return raw.decode() if isinstance(raw, bytes) else str(raw)
