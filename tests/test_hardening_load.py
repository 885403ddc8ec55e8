"""Hardening: concurrent sessions against a real `kv serve` (gradio_client, one Client each).

Each session resets its conversation and asks its own distinct question; the answer it gets
back must be exactly the answer that question gets when drafted alone (the extractive
provider is deterministic), so an answer crossing sessions would fail the test. Latencies are
printed (p50/p95), never asserted. `make stress` runs a heavier version (KV_STRESS_SESSIONS,
KV_STRESS_REQUESTS).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.drafting.draft import DraftRequest, draft
from app.letters.parse import parse_file
from app.settings import ROOT
from app.writers.factory import make_writer
from tests._hardening import (
    DOGS,
    LETTERS,
    PHONE,
    Served,
    Tally,
    indexed,
    retriever,
    start_serve,
    stop_serve,
)

SESSIONS = int(os.environ.get("KV_STRESS_SESSIONS", "8"))
REQUESTS = int(os.environ.get("KV_STRESS_REQUESTS", "3"))
TALLY = Tally("concurrent requests answered correctly")


def _questions(n: int) -> list[str]:
    """Distinct real questions from the two indexed letters (repeated with a tag if needed)."""
    qs = [it.question for name in (DOGS, PHONE) for it in parse_file(LETTERS / f"{name}.txt").items]
    qs = [q for q in dict.fromkeys(qs) if 20 < len(q) < 600]
    out = [qs[i % len(qs)] + ("" if i < len(qs) else f" (sessie {i})") for i in range(n)]
    assert len(set(out)) == n
    return out


def _answer_text(messages: list[dict]) -> tuple[str, str]:
    """(last user text, last assistant text) from a gradio Chatbot value."""

    def text(m: dict) -> str:
        c = m["content"]
        if isinstance(c, list):
            return "".join(p.get("text", "") for p in c if isinstance(p, dict))
        return str(c)

    user = next(text(m) for m in reversed(messages) if m["role"] == "user")
    bot = next(text(m) for m in reversed(messages) if m["role"] == "assistant")
    return user, bot


def _percentiles(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return f"p50 {statistics.median(xs):.2f} s, p95 {p95:.2f} s, max {xs[-1]:.2f} s"


def _run_sessions(served: Served, questions: list[list[str]]) -> tuple[list, list[float]]:
    from gradio_client import Client

    results: list[tuple[str, str, str]] = []  # (asked, user echoed, answer)
    latencies: list[float] = []
    lock = threading.Lock()

    def session(qs: list[str]) -> None:
        client = Client(served.url, verbose=False)
        for q in qs:
            client.predict(api_name="/reset")
            t = time.perf_counter()
            out = client.predict(q, api_name="/ask")
            took = time.perf_counter() - t
            user, bot = _answer_text(out[0])
            with lock:
                results.append((q, user, bot))
                latencies.append(took)

    with ThreadPoolExecutor(len(questions)) as pool:
        for f in [pool.submit(session, qs) for qs in questions]:
            f.result()  # re-raises any error a session hit
    return results, latencies


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_serve(tmp_path_factory.mktemp("load"), extra_env={"KV_UI_CONCURRENCY": "4"})
    yield s
    stop_serve(s)


def test_concurrent_sessions_get_their_own_answers(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    qs = _questions(SESSIONS * REQUESTS)
    s = indexed().settings
    expected = {
        q: draft(
            DraftRequest(q, log_to_audit=False),
            retriever=retriever(),
            writer=make_writer(s, "extractive"),
            settings=s,
        ).text
        for q in qs
    }
    per_session = [qs[i::SESSIONS] for i in range(SESSIONS)]
    t0 = time.perf_counter()
    results, latencies = _run_sessions(served, per_session)
    wall = time.perf_counter() - t0
    assert len(results) == SESSIONS * REQUESTS
    for asked, user, answer in results:
        assert user == asked, f"session asked {asked[:60]!r} but its chat shows {user[:60]!r}"
        assert " ".join(answer.split()) == " ".join(expected[asked].split()), asked[:80]
    TALLY.add("extractive", len(results))
    with capsys.disabled():
        print(
            f"\nLOAD extractive: {SESSIONS} sessions x {REQUESTS} requests = {len(results)} "
            f"in {wall:.1f} s; latency {_percentiles(latencies)}"
        )


@pytest.mark.slow
def test_two_sessions_with_the_local_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.writers.model_bundle import ensure_model

    models = ensure_model(ROOT / "data").path.parent
    data = indexed().data
    if not (data / "models").exists():
        (data / "models").symlink_to(models, target_is_directory=True)
    served = start_serve(tmp_path, provider="local", extra_env={"KV_MAX_ANSWER_TOKENS": "80"})
    try:
        qs = _questions(2)
        t0 = time.perf_counter()
        results, latencies = _run_sessions(served, [[qs[0]], [qs[1]]])
        wall = time.perf_counter() - t0
    finally:
        stop_serve(served)
    for asked, user, answer in results:
        assert user == asked and answer and "Het taalmodel gaf geen antwoord" not in answer
    assert results[0][2] != results[1][2]
    TALLY.add("local model", len(results))
    with capsys.disabled():
        print(f"\nLOAD local: 2 sessions x 1 request in {wall:.1f} s; {_percentiles(latencies)}")


def test_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Not a check of its own: prints what this file tried (for the closing note)."""
    if not TALLY.total:
        pytest.skip("no hardening case of this file ran in this selection")
    TALLY.report(capsys)
