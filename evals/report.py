"""Write a drafting-eval run to disk (results.json, report.md, report.html, PNG plots), with
the source-letter section of evals/report_letter.py; the summary table and the comparison of two
runs are in evals/summary.py, the plots in evals/plots.py."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals import report_letter
from evals.plots import letter_plots, run_plots
from evals.results import ItemRow, Run, write_run
from evals.summary import fmt as _fmt
from evals.summary import summary_rows

SHOWN = (
    "rank",
    "abstained",
    "abstention_ok",
    "fact_recall",
    "fact_precision",
    "unsupported_rate",
    "chrf",
    "cosine",
    "citations_valid",
    "words",
    "length_ok",
    "dutch",
    "voice_ok",
    "commitment_free",
    "retrieval_hit",
    "must_ok",
    "must_not_ok",
    "passed",
)


def _scores_line(row: ItemRow) -> str:
    return ", ".join(f"{k} {_fmt(row.scores[k])}" for k in SHOWN if k in row.scores)


def _notes(row: ItemRow) -> list[str]:
    s = row.scores
    out = [f"missed facts: {', '.join(s['missed_facts'])}"] if s.get("missed_facts") else []
    if s.get("unsupported_facts"):
        out.append(f"unsupported facts: {', '.join(s['unsupported_facts'])}")
    out += [f"new commitment: {c}" for c in s.get("new_commitments", [])]
    return [*out, f"error: {row.error}"] if row.error else out


def _case_table(cases: list[ItemRow]) -> list[list[str]]:
    keys = (
        "passed",
        "abstained",
        "abstention_ok",
        "retrieval_hit",
        "must_ok",
        "must_not_ok",
        "commitment_free",
    )
    return [[r.id, r.category, *(_fmt(r.scores.get(k)) for k in keys)] for r in cases]


CASE_HEAD = [
    "case",
    "category",
    "passed",
    "abstained",
    "abstention ok",
    "retrieval hit",
    "must",
    "must not",
    "no new commitment",
]


def markdown(run: Run, images: list[str]) -> str:
    meta = run.meta
    rows = summary_rows([run])
    md = [
        f"# Drafting eval — {meta.provider}",
        "",
        f"{meta.started} · model `{meta.model}` · {meta.letters} letters, "
        f"{meta.corpus_items} items · limit {meta.limit} · cases {meta.cases} · "
        f"top_k {meta.top_k} · max tokens {meta.max_answer_tokens} · prompt "
        f"{meta.prompt_version} · {meta.seconds} s",
        "",
        f"| metric | {meta.provider} |",
        "| --- | ---: |",
    ]
    md += [f"| {a} | {b} |" for a, b in rows]
    gate = run.gate
    if gate.thresholds:
        md += ["", f"**Gate: {'PASS' if gate.passed else 'FAIL'}**"]
        md += [f"- {f}" for f in gate.failures]
    md += ["", *(f"![{n}]({n})" for n in images)]
    cases = [r for r in run.items if r.kind == "case"]
    if cases:
        md += [
            "",
            "## Cases",
            "",
            "| " + " | ".join(CASE_HEAD) + " |",
            "|" + " --- |" * len(CASE_HEAD),
        ]
        md += ["| " + " | ".join(row) + " |" for row in _case_table(cases)]
    md += ["", "## Per question"]
    for r in run.items:
        md += [
            "",
            f"### {r.id} ({r.kind}{', ' + r.category if r.kind == 'case' else ''})",
            "",
            f"**Vraag.** {r.question}",
            "",
        ]
        if r.reference:
            md += [f"**Echt antwoord.** {' '.join(r.reference.split())}", ""]
        md += [f"**Concept.** {r.draft or '(geen)'}", "", f"Scores: {_scores_line(r)}", ""]
        md += [f"Retrieved: {', '.join(r.retrieved[:5])}; expected: {', '.join(r.targets) or '-'}"]
        md += [f"- ⚠ {w}" for w in r.warnings] + [f"- {n}" for n in _notes(r)]
    return "\n".join(md) + "\n"


def _h(text: Any) -> str:
    return html.escape(str(text))


def html_report(run: Run, images: list[str], extra: Sequence[str] = ()) -> str:
    meta = run.meta
    out = [
        "<!doctype html><html lang='nl'><head><meta charset='utf-8'>",
        f"<title>Drafting eval — {_h(meta.provider)}</title><style>",
        "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}",
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}",
        ".bad{color:#b00}.ok{color:#070}details{margin:.4em 0}pre{white-space:pre-wrap}",
        "</style></head><body>",
        f"<h1>Drafting eval — {_h(meta.provider)}</h1>",
        f"<p>{_h(meta.started)} · model <code>{_h(meta.model)}</code> · "
        f"{meta.letters} letters · limit {_h(meta.limit)} · {meta.seconds} s</p>",
        f"<table><tr><th>metric</th><th>{_h(meta.provider)}</th></tr>",
    ]
    out += [f"<tr><td>{_h(a)}</td><td>{_h(b)}</td></tr>" for a, b in summary_rows([run])]
    out.append("</table>")
    gate = run.gate
    if gate.thresholds:
        cls = "ok" if gate.passed else "bad"
        out.append(f"<p class='{cls}'><b>Gate: {'PASS' if gate.passed else 'FAIL'}</b></p>")
        out += ["<ul>", *(f"<li>{_h(f)}</li>" for f in gate.failures), "</ul>"]
    out += [f"<p><img src='{_h(n)}' alt='{_h(n)}'></p>" for n in images]
    cases = [r for r in run.items if r.kind == "case"]
    if cases:
        out += ["<h2>Cases</h2><table><tr>", *(f"<th>{_h(c)}</th>" for c in CASE_HEAD), "</tr>"]
        for row in _case_table(cases):
            out.append("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>")
        out.append("</table>")
    out.append("<h2>Per question</h2>")
    for r in run.items:
        flag = r.scores.get("passed", r.scores.get("abstention_ok"))
        cls = "bad" if flag is False or r.error else "ok"
        out += [
            f"<details><summary class='{cls}'>{_h(r.id)} — {_h(r.question[:120])}</summary>",
            f"<p><b>Vraag.</b> {_h(r.question)}</p>",
        ]
        if r.reference:
            out.append(f"<p><b>Echt antwoord.</b> {_h(' '.join(r.reference.split()))}</p>")
        out += [
            f"<p><b>Concept.</b> {_h(r.draft or '(geen)')}</p>",
            f"<p><small>{_h(_scores_line(r))}</small></p>",
            f"<p><small>retrieved: {_h(', '.join(r.retrieved[:5]))}; expected: "
            f"{_h(', '.join(r.targets) or '-')}</small></p>",
        ]
        notes = [f"⚠ {w}" for w in r.warnings] + _notes(r)
        if notes:
            out += ["<ul>", *(f"<li>{_h(n)}</li>" for n in notes), "</ul>"]
        out.append("</details>")
    out += [*extra, "</body></html>"]
    return "\n".join(out) + "\n"


def write(run: Run, out: Path) -> Path:
    """Write results.json, the plots, report.md and report.html into `out` (created), with
    the source-letter section (evals/report_letter.py) when the run has one."""
    out.mkdir(parents=True, exist_ok=True)
    write_run(run, out / "results.json")
    images = run_plots(run, out)
    extra = letter_plots([run], out)
    md = markdown(run, images) + "\n".join(report_letter.markdown([run], extra))
    (out / "report.md").write_text(md + "\n", encoding="utf-8")
    page = html_report(run, images, report_letter.html_section([run], extra))
    (out / "report.html").write_text(page, encoding="utf-8")
    return out
