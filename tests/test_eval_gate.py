"""CI gate: the real `kv eval` (subprocess, offline) must meet evals/thresholds.yaml.

The extractive run (`--limit 8` + all cases) takes ~20 s once the eval index exists (building it
embeds the 312 corpus items once, ~1-5 minutes on 2 shared cores, into data/eval/). The local-model
run (`--limit 3 --case-limit 2`, 2048-token context, answers capped at 160 tokens; three model
calls) is marked slow: ~2-5 minutes.
Both use the repository's data/ folder, like tests/test_llm.py, so the bundled model and the eval
index are reused between runs. The gate function itself is tested on deliberately bad results.
"""

from __future__ import annotations

import copy
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.letters.parse import find_letter_files, parse_file
from app.settings import ROOT
from evals import thresholds as t
from evals.cases import CASES_PATH, load_cases
from evals.results import Run
from evals.summary import compare, format_summary
from evals.thresholds import THRESHOLDS_PATH
from tests.conftest import run_kv

EXTRACTIVE_ARGS = ("--provider", "extractive", "--limit", "8")
LOCAL_ARGS = ("--provider", "local", "--limit", "3", "--case-limit", "2", "--max-tokens", "160")
LOCAL_ENV = {"KV_CONTEXT_TOKENS": "2048"}
"""A 2048-token context halves prompt evaluation, the slow part of a local draft on 2 cores."""
REPORT_FILES = {
    "results.json",
    "report.md",
    "report.html",
    "distributions.png",
    "per_question.png",
    "hit_at_k.png",
    "cases.png",
}


def _eval(
    tmp: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    res = run_kv("eval", *args, "--gate", "--out", str(tmp), env=env, timeout=900)
    results = (
        json.loads((tmp / "results.json").read_text()) if (tmp / "results.json").exists() else {}
    )
    return res.code, results, res.out + res.err


# -- the thresholds file and the gate function ------------------------------------------------


def test_every_threshold_has_a_reason_and_can_fail() -> None:
    data = t.load_thresholds(THRESHOLDS_PATH)
    assert set(data) >= {"extractive", "local"}
    for provider, rules in data.items():
        assert rules, f"no thresholds for {provider}"
        for key, rule in rules.items():
            assert "." in key and set(rule) <= {"min", "max", "reason"}, key
            assert len(str(rule.get("reason", ""))) > 20, f"{provider} {key}: give a reason"
            # A bound every value meets is no gate: rates live in [0, 1].
            assert ("min" in rule and rule["min"] > 0) or ("max" in rule and rule["max"] < 1), key


@pytest.mark.parametrize("provider", ["extractive", "local"])
def test_zeroed_results_fail_the_gate(provider: str) -> None:
    rules = t.load_thresholds(THRESHOLDS_PATH)[provider]
    passing: dict[str, dict[str, float]] = {}
    for key, rule in rules.items():
        section, _, metric = key.partition(".")
        passing.setdefault(section, {})[metric] = rule.get("min", rule.get("max", 0.0))
    assert t.gate(passing, rules) == []  # exactly on every bound passes ...
    zeroed = {s: dict.fromkeys(v, 0.0) for s, v in passing.items()}
    mins = [k for k, r in rules.items() if "min" in r]
    assert len(t.gate(zeroed, rules)) == len(mins) > 0  # ... zeroed scores fail every minimum
    for key, rule in rules.items():  # and each threshold on its own can fail
        bad = copy.deepcopy(passing)
        section, _, metric = key.partition(".")
        bad[section][metric] = rule["min"] - 0.01 if "min" in rule else rule["max"] + 0.01
        assert [f.split(" ")[0] for f in t.gate(bad, rules)] == [key]


def test_thresholds_file_is_the_one_the_eval_reads() -> None:
    assert THRESHOLDS_PATH == ROOT / "evals" / "thresholds.yaml"
    assert yaml.safe_load(THRESHOLDS_PATH.read_text(encoding="utf-8")) == t.load_thresholds(
        THRESHOLDS_PATH
    )


def test_cases_are_valid_and_name_real_precedents() -> None:
    cases = load_cases(CASES_PATH)
    assert len(cases) >= 20
    assert {c.category for c in cases} == {"in_scope", "out_of_scope", "injection"}
    ids = set()
    for f in find_letter_files([ROOT / "corpus"]):
        if not f.stem.lower().startswith("readme"):
            letter = parse_file(f)
            ids |= {letter.item_id(it) for it in letter.items}
    for c in cases:
        assert c.targets <= ids, f"{c.id}: unknown precedent ids {sorted(c.targets - ids)}"
        assert c.expect_abstain or c.targets, f"{c.id}: an answerable case names its precedents"


def test_an_older_results_file_reads_and_compares() -> None:
    """`kv eval --compare` reads results.json files of earlier versions: keys they lack get
    defaults, and the keys they have come back unchanged."""
    old = {
        "meta": {"provider": "extractive", "model": "extractive", "started": "2026-11-01T10:00"},
        "summary": {"corpus": {"n": 1, "chrf": 0.5}},
        "gate": {"thresholds": True, "passed": True, "failures": []},
        "items": [{"id": "a#1", "kind": "corpus", "question": "V?", "draft": "A.",
                   "scores": {"chrf": 0.5}}],
    }  # fmt: skip
    run = Run.from_json(old)
    assert run.meta.design is None and run.items[0].retrieved == [] and run.letter is None
    new = Run.from_json(run.to_json() | {"summary": {"corpus": {"n": 1, "chrf": 0.7}}})
    assert {k: run.to_json()["items"][0][k] for k in old["items"][0]} == old["items"][0]
    text = compare(run, new)
    assert "corpus.chrf" in text and "+0.200" in text


# -- the real runs -------------------------------------------------------------------------------


def test_extractive_eval_meets_the_gate_and_writes_the_report(tmp_path: Path) -> None:
    code, results, output = _eval(tmp_path / "a", *EXTRACTIVE_ARGS)
    assert results, output
    print(format_summary([Run.from_json(results)]))  # the numbers, for tuning the thresholds
    assert code == 0, f"gate failed:\n{output}"
    assert {p.name for p in (tmp_path / "a").iterdir()} >= REPORT_FILES
    corpus = [r for r in results["items"] if r["kind"] == "corpus"]
    assert [r["id"] for r in corpus] == sorted(r["id"] for r in corpus)  # fixed subset
    assert len(corpus) == 8 and all(not r["expect_abstain"] for r in corpus)
    assert len([r for r in results["items"] if r["kind"] == "case"]) == len(load_cases(CASES_PATH))
    html = (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    assert corpus[0]["id"] in html and "<script" not in html

    # Comparing a run with a degraded copy of itself names what moved.
    worse = copy.deepcopy(results)
    worse["items"][0]["scores"]["chrf"] = 0.0
    worse["summary"]["corpus"]["chrf"] -= 0.1
    (tmp_path / "worse.json").write_text(json.dumps(worse), encoding="utf-8")
    res = run_kv(
        "eval", "--compare", str(tmp_path / "a" / "results.json"), str(tmp_path / "worse.json")
    )
    assert res.code == 0, res.err
    assert "corpus.chrf" in res.out and "-0.100" in res.out
    assert f"{corpus[0]['id']}: chrf" in res.out
    assert compare(Run.from_json(results), Run.from_json(worse)) == res.out.rstrip("\n")
    assert Run.from_json(results).to_json() == results  # results.json reads back unchanged


def test_a_missed_threshold_fails_the_cli(tmp_path: Path) -> None:
    """The gate is live: an eval whose drafts cannot match (no corpus items, only the three
    out-of-scope-first cases) misses the corpus thresholds and exits 4."""
    code, results, output = _eval(
        tmp_path, "--provider", "extractive", "--limit", "0", "--case-limit", "2"
    )
    assert code == 4, output
    assert not results["gate"]["passed"] and "eval gate failed" in output
    assert any(f.startswith("corpus.") and "not measured" in f for f in results["gate"]["failures"])


@pytest.mark.slow
def test_local_model_eval_meets_the_gate(tmp_path: Path) -> None:
    code, results, output = _eval(tmp_path, *LOCAL_ARGS, env=LOCAL_ENV)
    assert results, output
    print(format_summary([Run.from_json(results)]))
    assert code == 0, f"gate failed:\n{output}"
    assert results["meta"]["model"].startswith("local:")
    assert results["meta"]["max_answer_tokens"] == 160


# -- an OpenAI-compatible endpoint (a small real HTTP server standing in for vLLM/Azure) ---------

# Cites only [1]: drafts number just the precedents whose evidence they were given, and a
# leave-one-out item may have a single one.
DRAFT_REPLY = (
    "Het kabinet verwijst naar het eerdere antwoord op deze vraag [1]. Daarin is aangegeven wat "
    "de stand van zaken is en welke partijen betrokken zijn [1]. Het kabinet heeft daar op dit "
    "moment niets aan toe te voegen en blijft de ontwikkelingen volgen, zoals eerder aan de "
    "Kamer is gemeld [1]. [INPUT NODIG: actuele cijfers van de beleidsdirectie]"
)
JUDGE_REPLY = '{"grade": 1, "stance": "deels", "reason": "juist maar onvolledig"}'


class _OpenAICompatible(http.server.BaseHTTPRequestHandler):
    def _send(self, data: dict[str, Any]) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # /v1/models (check_endpoint)
        self._send({"object": "list", "data": [{"id": "fake", "object": "model",
                                                "created": 0, "owned_by": "test"}]})  # fmt: skip

    def do_POST(self) -> None:  # /v1/chat/completions
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = " ".join(str(msg["content"]) for msg in request["messages"])
        reply = JUDGE_REPLY if "<echt_antwoord>" in prompt else DRAFT_REPLY
        self._send({
            "id": "x", "object": "chat.completion", "created": 0, "model": request["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })  # fmt: skip

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def endpoint() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OpenAICompatible)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_eval_runs_against_an_openai_compatible_endpoint_with_judge(
    endpoint: str, tmp_path: Path
) -> None:
    env = {"KV_OPENAI_BASE_URL": endpoint, "KV_OPENAI_MODEL": "fake", "KV_LLM_MAX_RETRIES": "0"}
    args = ("eval", "--provider", "openai", "--limit", "2", "--case-limit", "1", "--judge")
    res = run_kv(*args, "--out", str(tmp_path), "--json", env=env)
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert out["meta"]["model"].startswith("openai:fake@")
    assert out["summary"]["judge"] == {"model": "fake", "n": 2, "mean_grade": 0.5,
                                       "same_stance": 0.0}  # fmt: skip
    assert not out["gate"]["thresholds"]  # an endpoint run is reported, never gated
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    corpus = [r for r in results["items"] if r["kind"] == "corpus"]
    answered = [r for r in corpus if not r["scores"]["abstained"]]
    assert answered and all(r["draft"].startswith("Het kabinet verwijst") for r in answered)
    assert all(r["scores"]["citations_valid"] and r["scores"]["gap"] for r in answered)
    assert all(r["judge"]["stance"] == "deels" for r in corpus)
    # --judge without an endpoint says how to fix it.
    args = ("eval", "--provider", "extractive", "--limit", "1", "--cases", "none", "--judge")
    res = run_kv(*args, "--out", str(tmp_path / "b"), env={"KV_OPENAI_BASE_URL": ""})
    assert res.code == 1 and "KV_OPENAI_BASE_URL" in res.err
