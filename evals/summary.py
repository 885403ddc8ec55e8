"""The summary of a drafting-eval run as a table (the terminal output of `kv eval`), and what
changed between two runs (`kv eval --compare`), and the run labels and row lookups the reports
share. Used by evals/report.py (files), evals/report_letter.py (the source-letter section) and
evals/plots.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evals.metrics import CASE_METRICS, CORPUS_METRICS, FORM_METRICS, LETTER_METRICS
from evals.results import ItemRow, Run

SUMMARY_ROWS = (
    (
        "corpus",
        (
            "n",
            "linked",
            "hit@1",
            "hit@3",
            "hit@5",
            "mrr",
            *CORPUS_METRICS,
            "false_abstention",
            "abstain_or_gap_unlinked",
            *FORM_METRICS,
            "errors",
            "seconds_per_draft",
        ),
    ),
    ("cases", ("n", *CASE_METRICS, "errors")),
    ("cases_in_scope", ("n", "passed", "retrieval_hit", "must_ok")),
    ("cases_false_premise", ("n", "passed", "premise_caught", "premise_in_draft")),
    ("cases_out_of_scope", ("n", "passed", "abstention_ok")),
    ("cases_injection", ("n", "passed", "must_not_ok", "abstention_ok")),
    ("judge", ("n", "mean_grade", "same_stance")),
    (
        "letter",
        (
            "n",
            "linked",
            *LETTER_METRICS,
            *FORM_METRICS,
            "errors",
            "seconds_per_draft",
            "seconds_p50",
        ),
    ),
    ("letter_cases", ("n", *CASE_METRICS, *FORM_METRICS, "errors", "seconds_per_draft")),
    (
        "letter_cases_in_scope",
        ("n", "passed", "must_ok", "gold_hit@3", "gold_cited", "premise_alarm"),
    ),
    (
        "letter_cases_false_premise",
        ("n", "passed", "premise_caught", "premise_in_draft", "must_ok"),
    ),
    ("letter_cases_out_of_scope", ("n", "passed", "abstention_ok")),
    ("letter_cases_injection", ("n", "passed", "must_not_ok", "abstention_ok")),
)
MOVERS = ("chrf", "cosine", "fact_recall", "fact_precision")


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def summary_rows(runs: Sequence[Run]) -> list[list[str]]:
    """Rows [section.metric, value per run] of the summaries side by side."""
    rows = []
    for section, metrics in SUMMARY_ROWS:
        if not any(section in r.summary for r in runs):
            continue
        for metric in metrics:
            vals = [r.summary.get(section, {}).get(metric) for r in runs]
            if any(v is not None for v in vals):
                rows.append([f"{section}.{metric}", *(fmt(v) for v in vals)])
    return rows


def run_name(run: Run) -> str:
    """A run's name in tables: the provider, and the drafting design of a chat model
    ("local connect"), so two designs of one model compare side by side."""
    meta = run.meta
    return f"{meta.provider} {meta.design}" if meta.design else meta.provider


def run_labels(runs: Sequence[Run]) -> list[str]:
    """A column name per run: its `run_name`, with the start time when two runs share one."""
    names = [run_name(r) for r in runs]
    if len(set(names)) == len(names):
        return names
    return [f"{n} {r.meta.started[5:16]}" for n, r in zip(names, runs, strict=True)]


def with_letter(runs: Sequence[Run]) -> list[Run]:
    """The runs that have a source-letter part."""
    return [r for r in runs if r.letter]


def letter_rows(
    runs: Sequence[Run], cases: bool = False
) -> tuple[list[str], list[dict[str, ItemRow]]]:
    """The ids of the runs' letter answers (or paraphrase cases) in order, and per run its rows
    by id (runs of `with_letter`)."""
    maps = [
        {row.id: row for row in (r.letter.cases if cases else r.letter.items)}
        for r in runs
        if r.letter
    ]
    order = list(dict.fromkeys(i for mp in maps for i in mp))
    return order, maps


def _label(run: Run) -> str:
    return f"{run_name(run)} ({run.meta.started[:16]})"


def format_summary(runs: Sequence[Run]) -> str:
    """A plain-text table with one column per run (the terminal summary of `kv eval`)."""
    head = ["metric", *(_label(r) for r in runs)]
    rows = summary_rows(runs)
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [head, *rows]
    ]
    for r in runs:
        meta, gate, part = r.meta, r.gate, r.letter
        extra = (
            f" + letter {part.id}: {len(part.items)} drafts, {len(part.cases)} cases"
            if part
            else ""
        )
        lines.append(
            f"\n{meta.provider}: {meta.model}, {meta.seconds} s, "
            f"{len(r.items)} drafts (limit {meta.limit}){extra}, prompt "
            f"{meta.prompt_version}"
        )
        if gate.thresholds:
            lines.append("gate: PASS" if gate.passed else "gate: FAIL")
            lines += [f"  - {f}" for f in gate.failures]
    return "\n".join(lines)


def _composite(row: ItemRow) -> float | None:
    vals = [row.scores.get(k) for k in MOVERS]
    nums = [float(v) for v in vals if v is not None]
    return sum(nums) / len(nums) if nums else None


def _all_rows(run: Run) -> dict[str, ItemRow]:
    """The run's drafts by id, the source-letter ones under "letter:<id>" (they repeat corpus
    ids)."""
    part = run.letter
    extra = {f"letter:{r.id}": r for r in (part.items + part.cases if part else [])}
    return {r.id: r for r in run.items} | extra


def compare(a: Run, b: Run, top: int = 10) -> str:
    """What changed from run A to run B: summary deltas, then the questions that moved most
    (by the mean of chrF, cosine, fact recall and fact precision)."""
    lines = [
        f"A = {_label(a)}   B = {_label(b)}",
        "",
        f"{'metric':<40} {'A':>8} {'B':>8} {'B-A':>8}",
    ]
    for section, metrics in SUMMARY_ROWS:
        for metric in metrics:
            va = a.summary.get(section, {}).get(metric)
            vb = b.summary.get(section, {}).get(metric)
            if va is None and vb is None:
                continue
            change = (
                f"{vb - va:+.3f}"
                if isinstance(va, int | float) and isinstance(vb, int | float)
                else "-"
            )
            lines.append(f"{section + '.' + metric:<40} {fmt(va):>8} {fmt(vb):>8} {change:>8}")
    rows_a, rows_b = _all_rows(a), _all_rows(b)
    moved = []
    for qid, rb in rows_b.items():
        ra = rows_a.get(qid)
        if ra is None:
            continue
        ca, cb = _composite(ra), _composite(rb)
        if ca is not None and cb is not None and abs(cb - ca) > 1e-9:
            moved.append((cb - ca, qid, ra, rb))
        elif rb.kind == "case" and ra.scores.get("passed") != rb.scores.get("passed"):
            moved.append((1.0 if rb.scores.get("passed") else -1.0, qid, ra, rb))
    only = len(set(rows_a) ^ set(rows_b))
    lines += ["", f"{len(moved)} questions changed score ({only} in only one run); most moved:"]
    for delta, qid, ra, rb in sorted(moved, key=lambda x: -abs(x[0]))[:top]:
        parts = [
            f"{k} {fmt(ra.scores.get(k))}→{fmt(rb.scores.get(k))}"
            for k in (*MOVERS, "passed", "abstained")
            if ra.scores.get(k) != rb.scores.get(k)
        ]
        lines.append(f"  {delta:+.3f}  {qid}: {', '.join(parts)}")
    return "\n".join(lines)
