"""Benchmark the local model runtime: builds and configurations side by side, in one run.

Each variant runs in its own child process (a build that crashes on this CPU fails its row,
not the benchmark), on the same ~600-token prompt (the size of a focused evidence list),
greedy, interleaved over the repetitions so machine load hits every variant alike:

  portable            the installed build (scripts/install_llama_cpp.sh: GGML_NATIVE=OFF, AVX2)
  portable, no repack the same with use_extra_bufts=False (no repacked/AMX weight buffers)
  native              a GGML_NATIVE build, if you pass --native DIR (a `pip install --target`
                      directory of a wheel built with CMAKE_ARGS=-DGGML_NATIVE=ON)
  worker path         the app's own path: LocalChatModel -> supervised llama_cpp.server
                      (portable build), i.e. what a draft pays, HTTP and streaming included

Prints time to first token (= prompt processing), prefill and decode tokens/s, and each
variant's ratio to the portable build measured in the same run.

    .venv/bin/python scripts/bench_llm.py [--reps 3] [--threads 2] [--native /tmp/rt_native]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from langchain_core.messages import HumanMessage, SystemMessage

from app.settings import ROOT, get_settings
from app.writers.local import LocalChatModel, local_chat_model
from app.writers.model_bundle import ensure_model

SYSTEM = "Je schrijft namens het kabinet een kort, formeel antwoord op een Kamervraag."
QUESTION = "Hoeveel investeert Nederland in de AI-fabriek in Groningen?"

CHILD = r"""
import json, sys, time
import llama_cpp, llama_cpp.llama as L
model, prompt = sys.argv[1], sys.argv[2]
n_out, threads, repack = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
if not repack:
    default = L.llama_cpp.llama_model_default_params
    def params():
        p = default()
        p.use_extra_bufts = False
        return p
    L.llama_cpp.llama_model_default_params = params
t = time.perf_counter()
llm = llama_cpp.Llama(model_path=model, n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                      verbose=False)
load = time.perf_counter() - t
n_prompt = len(llm.tokenize(prompt.encode()))
t = time.perf_counter(); first = None; n = 0
for part in llm.create_completion(prompt, max_tokens=n_out, temperature=0.0, stream=True):
    if first is None:
        first = time.perf_counter() - t
    n += 1
total = time.perf_counter() - t
print(json.dumps({"load": load, "ttft": first, "total": total, "n": n, "prompt": n_prompt,
                  "info": llama_cpp.llama_print_system_info().decode()}))
"""


def _prompt() -> str:
    text = (ROOT / "corpus" / "letters" / "apply-ai-strategie.txt").read_text(encoding="utf-8")
    body = " ".join(text.split())
    excerpt = body[body.find("Antwoord") : body.find("Antwoord") + 2400]
    return f"{SYSTEM}\n\nEerdere antwoorden:\n{excerpt}\n\nKamervraag: {QUESTION}\nAntwoord:"


def _child(model: Path, prompt: str, n_out: int, threads: int, repack: bool, path: str | None):
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = path
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), prompt, str(n_out), str(threads),
         "1" if repack else "0"],
        capture_output=True, text=True, env=env, timeout=1800,
    )  # fmt: skip
    if out.returncode != 0:
        return {"error": f"exit {out.returncode}: {out.stderr.strip()[-200:]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _worker(model: LocalChatModel, prompt: str, n_out: int, rep: int) -> dict:
    # A different first token per run: the server would otherwise reuse the previous run's
    # prompt cache (a child process of its own starts cold every time).
    messages = [SystemMessage(f"({rep}) {SYSTEM}"), HumanMessage(prompt)]
    t = time.perf_counter()
    first, n = None, 0
    for chunk in model.stream(messages, max_tokens=n_out, temperature=0.0):
        if chunk.content:
            first = first if first is not None else time.perf_counter() - t
            n += 1
    total = time.perf_counter() - t
    return {"ttft": first, "total": total, "n": n, "prompt": None, "load": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--native", default=None, help="pip --target dir of a native build")
    args = parser.parse_args()

    settings = get_settings().model_copy(
        update={"local_threads": args.threads, "context_tokens": 2048}
    )
    path = ensure_model(settings.data_dir).path
    prompt = _prompt()
    variants: list[tuple[str, bool, str | None]] = [
        ("portable", True, None),
        ("portable, no repack", False, None),
    ]
    if args.native:
        variants.append(("native", True, args.native))
    model = local_chat_model(settings)
    t = time.perf_counter()
    model.server().ensure()
    worker_start = time.perf_counter() - t

    runs: dict[str, list[dict]] = {name: [] for name, _, _ in variants} | {"worker path": []}
    for rep in range(args.reps):
        for name, repack, where in variants:
            runs[name].append(_child(path, prompt, args.max_tokens, args.threads, repack, where))
        runs["worker path"].append(_worker(model, prompt, args.max_tokens, rep))
    model.server().stop()

    load = os.getloadavg()[0]
    print(f"\nbench_llm: {path.name}, {args.threads} threads, {args.reps} reps, greedy, "
          f"{args.max_tokens} new tokens, load average {load:.1f}")  # fmt: skip
    print(f"worker start (load + self-test): {worker_start:.1f} s")
    head = f"{'variant':<22}{'load s':>8}{'TTFT s':>8}{'prefill t/s':>12}{'decode t/s':>11}"
    print(f"\n{head}{'total s':>9}{'÷ portable':>11}")
    base = None
    for name, rs in runs.items():
        good = [r for r in rs if "error" not in r and r["ttft"] is not None]
        if not good:
            print(f"{name:<22} FAILED: {rs[0].get('error')}")
            continue
        ttft = statistics.median(r["ttft"] for r in good)
        total = statistics.median(r["total"] for r in good)
        decode = statistics.median((r["n"] - 1) / (r["total"] - r["ttft"]) for r in good)
        n_prompt = good[0]["prompt"]
        prefill = f"{n_prompt / ttft:.0f}" if n_prompt else "-"
        loaded = good[0]["load"]
        base = base or total
        print(f"{name:<22}{(f'{loaded:.1f}' if loaded else '-'):>8}{ttft:>8.2f}{prefill:>12}"
              f"{decode:>11.1f}{total:>9.2f}{total / base:>11.2f}")  # fmt: skip
    info = next((r["info"] for r in runs["portable"] if "info" in r), "")
    print(f"\nportable build: {info.strip()}\nprompt: {runs['portable'][0].get('prompt')} tokens")


if __name__ == "__main__":
    main()
