"""Benchmark drafting with the bundled local model: the designs beside the first build's prompt.

On the same questions, interleaved so machine load hits every variant alike:

  whole precedents  the first build's prompt: the k whole precedent answers packed into the
                    context window, the model writes the answer (the ~100 s baseline)
  free              focused evidence (app.drafting.evidence), the model writes the whole answer
  connect           focused evidence, the cabinet's sentences verbatim, the model writes the
                    opening sentence (the default for the bundled model)

Questions: the first --n in-scope paraphrases of evals/source_letter_cases.yaml. Prints per
variant the time to the first text the user sees (p50), the whole draft (p50), prompt tokens,
and the ratio to the baseline measured in the same run. Then, with --letter-set N, times
`kv draft-letter` on question set N of ../shared/data/incoming_questions_2023.jsonl to a .docx
and counts parts answered / marked.

    .venv/bin/python scripts/bench_drafting.py [--n 4] [--letter-set 19] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from app.drafting.draft import Done, DraftRequest, Token, draft_stream
from app.drafting.prompt import build_messages
from app.retrieve import Retriever
from app.settings import ROOT, get_settings
from app.writers.local import LocalWriter, prompt_tokens

CASES = ROOT / "evals" / "source_letter_cases.yaml"
QUESTIONS = ROOT.parent / "shared" / "data" / "incoming_questions_2023.jsonl"


def questions(n: int) -> list[str]:
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    cases = cases.get("cases", cases) if isinstance(cases, dict) else cases
    return [c["question"] for c in cases if c.get("category") == "in_scope"][:n]


def run_design(question: str, design: str, retriever: Retriever, model: LocalWriter) -> dict:
    settings = get_settings()
    t0 = time.perf_counter()
    first = None
    done = None
    for ev in draft_stream(
        DraftRequest(question, design=design, log_to_audit=False),
        retriever=retriever,
        writer=model,
        settings=settings,
    ):
        if isinstance(ev, Token) and first is None and ev.text.strip():
            first = time.perf_counter() - t0
        if isinstance(ev, Done):
            done = ev.draft
    total = time.perf_counter() - t0
    assert done is not None
    return {"first": first if first is not None else total, "total": total, "text": done.text}


def run_baseline(question: str, retriever: Retriever, model: LocalWriter) -> dict:
    settings = get_settings()
    t0 = time.perf_counter()
    precedents = retriever.search(question, k=settings.top_k)
    messages, _ = build_messages(question, precedents, settings, count_tokens=model.token_counter())
    n_prompt = prompt_tokens(settings, messages)
    first = None
    text = ""
    for piece in model.stream(messages, max_tokens=settings.max_answer_tokens):
        if first is None and piece.strip():
            first = time.perf_counter() - t0
        text += piece
    total = time.perf_counter() - t0
    return {"first": first or total, "total": total, "text": text, "prompt": n_prompt}


def flush(model: LocalWriter) -> None:
    """A one-token request with another prompt, so that no variant reuses the previous
    variant's prompt cache (connect and free share their system prompt and evidence list).
    Each row is then a cold request: a real session also reuses the system prompt, so real
    drafts are a little faster than these rows."""
    from langchain_core.messages import HumanMessage

    model.invoke([HumanMessage(content="Zeg alleen: ok.")], max_tokens=1)


def p50(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4, help="questions per variant")
    ap.add_argument(
        "--letter-set", type=int, default=19, help="JSONL set for draft-letter (0: skip)"
    )
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--show", action="store_true", help="print every draft")
    args = ap.parse_args()

    settings = get_settings()
    retriever = Retriever.from_settings()
    if retriever.store.count() == 0:
        sys.exit("the index is empty: run `kv ingest corpus/` first")
    model = LocalWriter(settings)
    variants = ["connect", "free"] + ([] if args.skip_baseline else ["whole precedents"])
    rows: dict[str, list[dict]] = {v: [] for v in variants}
    qs = questions(args.n + 1)
    warm, qs = qs[-1], qs[:-1]
    run_design(warm, "connect", retriever, model)  # warm-up (worker start) on another question
    for q in qs:
        for v in variants:
            flush(model)
            r = (
                run_baseline(q, retriever, model)
                if v == "whole precedents"
                else run_design(q, v, retriever, model)
            )
            rows[v].append(r)
            print(f"  {v:<17} {r['first']:6.1f} s first text, {r['total']:6.1f} s total  {q[:60]}")
            if args.show:
                print("    " + r["text"].replace("\n", " ")[:600])
    base = p50([r["total"] for r in rows.get("whole precedents", [])]) or None
    print(f"\n{len(qs)} questions, 2 threads; load average {os.getloadavg()[0]:.1f}")
    print(f"{'variant':<17} {'first text p50':>15} {'total p50':>10} {'vs baseline':>12}")
    for v, rs in rows.items():
        total = p50([r["total"] for r in rs])
        ratio = f"{total / base:.2f}" if base else "-"
        print(f"{v:<17} {p50([r['first'] for r in rs]):13.1f} s {total:8.1f} s {ratio:>12}")

    if args.letter_set:
        out = Path("/tmp/bench_draft_letter.docx")
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "app", "draft-letter", str(QUESTIONS), "--set",
             str(args.letter_set), "--provider", "local", "--out", str(out)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        took = time.perf_counter() - t
        print(
            f"\nkv draft-letter set {args.letter_set} -> {out}: {took:.1f} s, "
            f"exit {proc.returncode}"
        )
        print("\n".join(proc.stderr.strip().splitlines()[-6:]))
        if out.exists():
            import re

            from docx import Document

            text = "\n".join(p.text for p in Document(str(out)).paragraphs)
            cov = [tuple(map(int, m)) for m in re.findall(r"Deelvragen: (\d+) van (\d+)", text)]
            answered, parts = sum(a for a, _ in cov), sum(b for _, b in cov)
            gaps = text.count("[INPUT NODIG")
            print(
                f"{len(cov)} drafts with coverage: {answered} of {parts} parts answered, the "
                f"other {parts - answered} marked as gaps; [INPUT NODIG] markers in the text: "
                f"{gaps}; 'geen concept': {text.lower().count('geen concept')}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
