"""Benchmark the bundled local model: assembly, load, and one realistic drafting prompt.

Runs the same prompt (~800 tokens of a real answer letter from corpus/ + a question) through
our LangChain wrapper (`LocalChatModel.stream`) and through raw
`llama_cpp.Llama.create_chat_completion(stream=True)` on the same loaded model, alternating,
with greedy decoding so both generate the same tokens. Prints a table; asserts nothing.

    .venv/bin/python scripts/bench_llm.py [--reps 2] [--max-tokens 128] [--no-assembly]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain_core.messages import HumanMessage, SystemMessage

from app.llm import LocalChatModel, _runtime, get_chat_model
from app.model_bundle import ensure_model
from app.settings import ROOT, get_settings
from app.tokens import ensure_tiktoken_cache, truncate_to_tokens

LETTER = ROOT / "corpus" / "letters" / "ah-tk-20222023-3366.txt"
SYSTEM = (
    "Je bent een beleidsmedewerker van een Nederlands ministerie. Beantwoord de Kamervraag "
    "kort en zakelijk, uitsluitend op basis van de eerdere antwoorden hieronder. Noem geen "
    "cijfers of toezeggingen die daar niet in staan."
)
QUESTION = (
    "Welke rol ziet u voor rechtswinkels in de eerstelijns rechtshulp, en bent u bereid hun "
    "financiering structureel te regelen?"
)


def _context(tokens: int) -> str:
    text = LETTER.read_text(encoding="utf-8")
    body = text.split("Vraag 1", 1)[-1]  # skip the provenance header
    body = re.sub(r"[*#_]+", "", body)
    return truncate_to_tokens("Vraag 1" + body, tokens)


def _timed(stream: Iterator[str]) -> tuple[float, float, str, int]:
    """(time to first token, total time, text, streamed pieces) for one streamed answer."""
    start = time.perf_counter()
    first = 0.0
    pieces: list[str] = []
    for piece in stream:
        if piece and not pieces:
            first = time.perf_counter() - start
        if piece:
            pieces.append(piece)
    return first, time.perf_counter() - start, "".join(pieces), len(pieces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--context-tokens", type=int, default=800)
    parser.add_argument("--no-assembly", action="store_true", help="skip the fresh-assembly timing")
    args = parser.parse_args()

    settings = get_settings()
    ensure_tiktoken_cache(settings.data_dir)
    rows: list[tuple[str, str]] = []

    if not args.no_assembly:
        with tempfile.TemporaryDirectory(dir=settings.data_dir.parent) as tmp:
            fresh = ensure_model(Path(tmp))
            rows.append(("model assembly (fresh, 22 parts, verified)", f"{fresh.seconds:.1f} s"))
    shared = ensure_model(settings.data_dir)
    rows.append((f"model check ({shared.status})", f"{shared.seconds * 1000:.1f} ms"))

    model = get_chat_model(settings, provider="local")
    assert isinstance(model, LocalChatModel)
    runtime = _runtime(model.model_path, model.n_ctx, model.n_threads)
    llama = runtime.llama
    rows.append((f"model load (n_ctx={model.n_ctx}, threads={model.n_threads})",
                 f"{runtime.load_seconds:.1f} s"))  # fmt: skip

    context = _context(args.context_tokens)
    user = f"Eerdere antwoorden:\n{context}\n\nNieuwe Kamervraag: {QUESTION}"
    lc_messages = [SystemMessage(SYSTEM), HumanMessage(user)]
    raw_messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    warmup = llama.create_chat_completion(messages=raw_messages, max_tokens=1)  # also a warm-up
    prompt_tokens = warmup["usage"]["prompt_tokens"]
    rows.append(("prompt (system + letter excerpt + question)", f"{prompt_tokens} tokens"))

    def wrapper() -> Iterator[str]:
        for chunk in model.stream(lc_messages, max_tokens=args.max_tokens, temperature=0.0):
            yield str(chunk.content)

    def raw() -> Iterator[str]:
        for part in llama.create_chat_completion(
            messages=raw_messages, max_tokens=args.max_tokens, temperature=0.0, stream=True
        ):
            yield part["choices"][0]["delta"].get("content") or ""

    runs: dict[str, list[tuple[float, float, str, int]]] = {"LangChain wrapper": [], "raw": []}
    variants: list[tuple[str, Callable[[], Iterator[str]]]] = [
        ("LangChain wrapper", wrapper),
        ("raw", raw),
    ]
    for _ in range(args.reps):
        for name, run in variants:
            llama.reset()  # no prompt-prefix reuse between runs: each pays the full prefill
            runs[name].append(_timed(run()))

    print(f"\nbench_llm: {Path(model.model_path).name}, {args.reps} runs each, greedy, "
          f"max_tokens={args.max_tokens}\n")  # fmt: skip
    for label, value in rows:
        print(f"  {label:<50} {value}")
    header = f"\n  {'path':<18} {'TTFT s':>8} {'decode tok/s':>13} {'total s':>8} {'tokens':>7}"
    print(header)
    print("  " + "-" * (len(header) - 3))
    for name, results in runs.items():
        for first, total, text, _ in results:
            n = len(llama.tokenize(text.encode(), add_bos=False, special=False))
            rate = (n - 1) / (total - first) if total > first and n > 1 else 0.0
            print(f"  {name:<18} {first:>8.2f} {rate:>13.1f} {total:>8.2f} {n:>7}")
    for name, results in runs.items():
        print(f"  {name + ' (median)':<27} TTFT {statistics.median(r[0] for r in results):.2f} s, "
              f"total {statistics.median(r[1] for r in results):.2f} s")  # fmt: skip
    same = len({r[2] for rs in runs.values() for r in rs}) == 1
    print(f"\n  identical answers across paths/runs: {same}")
    print(f"  answer: {runs['raw'][0][2][:300]!r}")


if __name__ == "__main__":
    main()
