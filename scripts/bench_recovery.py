"""Benchmark: how long the app takes to recover when the local model worker is killed mid-draft.

Through the app's own composition root (`app.services.Services`, as `kv serve` builds it), with
the bundled local model in its supervised worker (`app.writers.local_server`):

  1. a normal draft (the worker warm): the baseline time of a draft;
  2. a streamed draft during which the worker is killed with SIGKILL as soon as the first text
     is shown: the time until that draft fails with its error (precedents kept);
  3. the time until the worker is back (restarted in the background, self-test passed);
  4. the next draft, started right after the failure: its time, and its ratio to the baseline.

Repeated --reps times on the first in-scope paraphrases of evals/source_letter_cases.yaml.
Uses KV_DATA_DIR's store (index it first: `kv ingest corpus/`).

    .venv/bin/python scripts/bench_recovery.py [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import time

from bench_drafting import questions  # the same in-scope source-letter questions

from app.drafting.draft import DraftError, Token
from app.services import DraftRequest, Services
from app.settings import get_settings
from app.writers.local import local_chat_model


def timed_draft(svc: Services, question: str) -> float:
    t0 = time.perf_counter()
    svc.draft(DraftRequest(question, log_to_audit=False))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    settings = get_settings()
    svc = Services.from_settings(settings, "local")
    server = local_chat_model(settings).server()  # the process-wide supervisor the writer uses
    qs = questions(args.reps + 1)
    timed_draft(svc, qs[0])  # start the worker and warm its cache
    rows = []
    for question in qs[1:]:
        baseline = timed_draft(svc, question)
        starts = server.starts
        t0 = time.perf_counter()
        failed_after = None
        killed_at = None
        try:
            for event in svc.draft_stream(DraftRequest(question, log_to_audit=False)):
                if isinstance(event, Token) and killed_at is None and server.pid:
                    os.kill(server.pid, signal.SIGKILL)
                    killed_at = time.perf_counter()
        except DraftError as exc:
            failed_after = time.perf_counter()
            kept = len(exc.draft.precedents)
        if killed_at is None or failed_after is None:
            raise SystemExit("the draft finished before the worker could be killed")
        server.ensure()  # waits for the background restart (it holds the lock) or does it
        back = time.perf_counter()
        if server.starts <= starts:
            raise SystemExit("the worker was not restarted after the kill")
        next_draft = timed_draft(svc, question)
        rows.append(
            {
                "baseline": baseline,
                "error": failed_after - killed_at,
                "worker_back": back - killed_at,
                "restart": server.last_start_s,
                "next_draft": next_draft,
                "recovered": time.perf_counter() - killed_at,
                "kept": kept,
                "before_kill": killed_at - t0,
            }
        )
        r = rows[-1]
        print(
            f"baseline draft {r['baseline']:.1f} s | killed after {r['before_kill']:.1f} s | "
            f"error shown {r['error']:.2f} s later ({r['kept']} precedents kept) | worker back "
            f"{r['worker_back']:.1f} s after the kill (restart {r['restart']:.1f} s) | next draft "
            f"{r['next_draft']:.1f} s | kill → next draft done {r['recovered']:.1f} s",
            flush=True,
        )
    print(f"\nload average {os.getloadavg()[0]:.1f}; medians over {len(rows)} kills:")
    for key in ("baseline", "error", "worker_back", "next_draft", "recovered"):
        print(f"  {key:12s} {statistics.median(r[key] for r in rows):6.2f} s")
    ratio = statistics.median(r["next_draft"] / r["baseline"] for r in rows)
    print(f"  next draft ÷ baseline draft: {ratio:.2f}")


if __name__ == "__main__":
    main()
