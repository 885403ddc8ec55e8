"""The source-letter part of the eval report, and runs side by side (extractive beside local).

Written for a reader who is not an engineer: the verdict in Dutch first, then the numbers and
one plot per metric family (evals/plots.py), then per answer the real answer beside each draft
with its facts marked. In the real answer: green = the draft states it too, red = the draft
misses it. In a draft: green = also in the real answer, blue = a precedent states it, orange =
no precedent states it (added without support), red = it contradicts a precedent.
Every function takes a list of runs (one results.json each), so a single run and a
comparison (`kv eval --compare A.json B.json --out DIR`) render the same way.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.plots import letter_plots
from evals.results import Run
from evals.summary import fmt as _fmt
from evals.summary import letter_rows, run_labels, summary_rows, with_letter

LEGEND = (
    "Markering - echt antwoord: **vet** = ook in het concept, ~~doorgehaald~~ = gemist; "
    "concept: **vet** = ook in het echte antwoord, ⟦…⟧ = door geen precedent gestaafd, "
    "⟦…⟧‼ = in strijd met een precedent."
)
MD_MARK = {
    "recalled": ("**", "**"),
    "in_answer": ("**", "**"),
    "missed": ("~~", "~~"),
    "unsupported": ("⟦", "⟧"),
    "contradicted": ("⟦", "⟧‼"),
}
ITEM_COLUMNS = (
    ("fact_recall", "feiten overgenomen"),
    ("unsupported_rate", "zonder steun"),
    ("linked_hit@3", "verwant top 3"),
    ("cites_linked", "verwijst naar verwant"),
    ("citations_valid", "verwijzingen geldig"),
    ("repeated_sentences", "herhaalde zinnen"),
)
CASE_COLUMNS = (
    ("passed", "geslaagd"),
    ("must_ok", "kernfeit"),
    ("gold_cited", "juiste geciteerd"),
    ("premise_caught", "premisse"),
    ("abstention_ok", "onthouding ok"),
    ("must_not_ok", "verboden tekst vermeden"),
)


def _mark(text: str, spans: Sequence[dict[str, Any]], as_html: bool) -> str:
    """`text` with each fact span wrapped (overlapping spans: the first one wins)."""
    out, pos = [], 0
    for sp in sorted(spans, key=lambda x: (x["start"], -x["end"])):
        if sp["start"] < pos or sp["end"] > len(text):
            continue
        piece = text[sp["start"] : sp["end"]]
        before = text[pos : sp["start"]]
        if as_html:
            out += [
                html.escape(before),
                f"<mark class='{sp['status']}'>{html.escape(piece)}</mark>",
            ]
        else:
            a, b = MD_MARK.get(sp["status"], ("", ""))
            out += [before, f"{a}{piece}{b}"]
        pos = sp["end"]
    rest = text[pos:]
    out.append(html.escape(rest) if as_html else rest)
    return " ".join("".join(out).split())


def _cell(v: Any) -> str:
    if isinstance(v, list):
        return str(len(v)) if v else "0"
    return _fmt(v)


# -- markdown ------------------------------------------------------------------------------------


def markdown(runs: Sequence[Run], images: Sequence[str]) -> list[str]:
    runs = with_letter(runs)
    if not runs:
        return []
    first = runs[0].letter
    assert first is not None
    labels = run_labels(runs)
    md = ["", f"## Bronbrief: {first.title} (`{first.id}`)", ""]
    md += [
        f"> **{lab}.** {r.letter.verdict if r.letter else ''}\n"
        for lab, r in zip(labels, runs, strict=True)
    ]
    rows = [row for row in summary_rows(runs) if row[0].startswith("letter")]
    md += ["| maat | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    md += ["", *(f"![{n}]({n})" for n in images if n.startswith("letter_")), ""]
    md += ["### Consistentielinks van de brief (afgeleid uit de tekst)", ""]
    md += ["| antwoord | antwoord | soort | gedeelde tekst of term |", "| --- | --- | --- | --- |"]
    md += [f"| {x['a']} | {x['b']} | {x['kind']} | {x['evidence'][:80]} |" for x in first.links]
    order, maps = letter_rows(runs)
    head = ["antwoord", *(f"{t} ({lab})" for lab in labels for _, t in ITEM_COLUMNS), "s"]
    md += ["", "### Per antwoord (leave-one-out)", "", "| " + " | ".join(head) + " |"]
    md.append("|" + " --- |" * len(head))
    for iid in order:
        cells = [iid]
        for mp in maps:
            sc = mp[iid].scores if iid in mp else {}
            cells += [_cell(sc.get(k)) for k, _ in ITEM_COLUMNS]
        cells.append("/".join(_fmt(mp[iid].seconds if iid in mp else None) for mp in maps))
        md.append("| " + " | ".join(cells) + " |")
    md += ["", LEGEND]
    for iid in order:
        rows_i = [mp[iid] for mp in maps if iid in mp]
        ref = rows_i[0]
        md += ["", f"#### {iid}", "", f"**Vraag.** {' '.join(ref.question.split())}", ""]
        md += [f"**Echt antwoord.** {_mark(ref.reference, ref.reference_facts or [], False)}"]
        for lab, row in zip(labels, rows_i, strict=False):
            sc = row.scores
            md += ["", f"**Concept ({lab}).** {_mark(row.draft, row.draft_facts or [], False)}"]
            md += [
                "",
                f"Overgenomen: {', '.join(sc.get('recalled_facts') or []) or '-'} · gemist: "
                f"{', '.join(sc.get('missed_facts') or []) or '-'} · zonder steun: "
                f"{', '.join(sc.get('unsupported_facts') or []) or '-'} · tegenstrijdig: "
                f"{', '.join(sc.get('contradictions') or []) or '-'} · precedenten: "
                f"{', '.join(row.retrieved[:3])} · verwant: "
                f"{', '.join(x['id'] for x in row.links or []) or '-'}",
            ]
    md += _cases_markdown(runs, labels)
    return md


def _cases_markdown(runs: Sequence[Run], labels: list[str]) -> list[str]:
    order, maps = letter_rows(runs, cases=True)
    if not order:
        return []
    head = ["vraag", "soort", *(f"{t} ({lab})" for lab in labels for _, t in CASE_COLUMNS)]
    md = ["", "### Parafrasen en controlevragen", "", "| " + " | ".join(head) + " |"]
    md.append("|" + " --- |" * len(head))
    for cid in order:
        first = next(mp[cid] for mp in maps if cid in mp)
        cells = [cid, first.category]
        for mp in maps:
            sc = mp[cid].scores if cid in mp else {}
            cells += [_cell(sc.get(k)) for k, _ in CASE_COLUMNS]
        md.append("| " + " | ".join(cells) + " |")
    return md


# -- html ----------------------------------------------------------------------------------------

CSS = (
    "mark.recalled,mark.in_answer{background:#cfc}mark.missed{background:#fcc}"
    "mark.supported{background:#def}mark.unsupported{background:#fd9}"
    "mark.contradicted{background:#f88}td.txt{vertical-align:top;width:33%}"
    "blockquote{background:#f4f4f4;padding:.5em 1em;border-left:4px solid #3b6ea8}"
)


def html_section(runs: Sequence[Run], images: Sequence[str]) -> list[str]:
    runs = with_letter(runs)
    if not runs:
        return []
    h = html.escape
    first = runs[0].letter
    assert first is not None
    labels = run_labels(runs)
    out = [f"<style>{CSS}</style>", f"<h2>Bronbrief: {h(first.title)} ({h(first.id)})</h2>"]
    out += [
        f"<blockquote><b>{h(lab)}.</b> {h(r.letter.verdict if r.letter else '')}</blockquote>"
        for lab, r in zip(labels, runs, strict=True)
    ]
    out.append("<table><tr><th>maat</th>" + "".join(f"<th>{h(x)}</th>" for x in labels) + "</tr>")
    for row in summary_rows(runs):
        if row[0].startswith("letter"):
            out.append("<tr>" + "".join(f"<td>{h(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    out += [f"<p><img src='{h(n)}' alt='{h(n)}'></p>" for n in images if n.startswith("letter_")]
    out.append("<h3>Consistentielinks (afgeleid)</h3><table><tr><th>a</th><th>b</th>")
    out.append("<th>soort</th><th>gedeelde tekst of term</th></tr>")
    out += [
        f"<tr><td>{h(x['a'])}</td><td>{h(x['b'])}</td><td>{h(x['kind'])}</td>"
        f"<td>{h(x['evidence'])}</td></tr>"
        for x in first.links
    ]
    out += ["</table>", f"<h3>Per antwoord</h3><p><small>{h(LEGEND)}</small></p>"]
    order, maps = letter_rows(runs)
    for iid in order:
        rows_i = [(lab, mp[iid]) for lab, mp in zip(labels, maps, strict=True) if iid in mp]
        ref = rows_i[0][1]
        bad = any(r.scores.get("contradictions") or r.error for _, r in rows_i)
        summary = ", ".join(
            f"{lab}: feiten {_fmt(r.scores.get('fact_recall'))}, verwant top-3 "
            f"{_fmt(r.scores.get('linked_hit@3'))}"
            for lab, r in rows_i
        )
        out += [
            f"<details><summary class='{'bad' if bad else 'ok'}'>{h(iid)} - {h(summary)}</summary>",
            f"<p><b>Vraag.</b> {h(' '.join(ref.question.split()))}</p><table><tr>",
            "<th>Echt antwoord</th>",
            *(f"<th>Concept ({h(lab)})</th>" for lab, _ in rows_i),
            "</tr><tr>",
            f"<td class='txt'>{_mark(ref.reference, ref.reference_facts or [], True)}</td>",
            *(
                f"<td class='txt'>{_mark(r.draft, r.draft_facts or [], True)}</td>"
                for _, r in rows_i
            ),
            "</tr></table>",
        ]
        for lab, r in rows_i:
            sc = r.scores
            out.append(
                f"<p><small>{h(lab)}: gemist {h(', '.join(sc.get('missed_facts') or []) or '-')}"
                f"; zonder steun {h(', '.join(sc.get('unsupported_facts') or []) or '-')}; "
                f"precedenten {h(', '.join(r.retrieved[:3]))}; verwant "
                f"{h(', '.join(x['id'] for x in r.links or []) or '-')}; "
                f"{h(_fmt(r.seconds))} s</small></p>"
            )
        out.append("</details>")
    out += _cases_html(runs, labels)
    return out


def _cases_html(runs: Sequence[Run], labels: list[str]) -> list[str]:
    h = html.escape
    order, maps = letter_rows(runs, cases=True)
    if not order:
        return []
    out = ["<h3>Parafrasen en controlevragen</h3>"]
    for cid in order:
        rows_c = [(lab, mp[cid]) for lab, mp in zip(labels, maps, strict=True) if cid in mp]
        first = rows_c[0][1]
        ok = all(r.scores.get("passed") for _, r in rows_c)
        out += [
            f"<details><summary class='{'ok' if ok else 'bad'}'>{h(cid)} ({h(first.category)})"
            f" - {h(first.question[:110])}</summary>",
            f"<p><b>Vraag.</b> {h(first.question)}<br><small>verwacht: "
            f"{h(', '.join(first.targets) or '-')}; moet noemen: "
            f"{h(', '.join(first.must or []) or '-')}; premisse: "
            f"{h(', '.join(first.premise or []) or '-')}</small></p>",
        ]
        for lab, r in rows_c:
            checks = ", ".join(f"{t} {_fmt(r.scores.get(k))}" for k, t in CASE_COLUMNS)
            warn = "".join(f"<li>{h(w)}</li>" for w in r.warnings)
            out.append(
                f"<p><b>Concept ({h(lab)}).</b> {h(r.draft or '(geen)')}<br><small>"
                f"{h(checks)}</small></p><ul>{warn}</ul>"
            )
        out.append("</details>")
    return out


# -- runs side by side ---------------------------------------------------------------------------


def write_side_by_side(runs: Sequence[Run], out: Path) -> Path:
    """report.json, report.md, report.html and the plots for runs side by side in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    keep = ("meta", "summary", "gate", "letter")
    slim = [{k: v for k, v in r.to_json().items() if k in keep} for r in runs]
    (out / "report.json").write_text(
        json.dumps({"runs": slim}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    images = letter_plots(runs, out)
    labels = run_labels(runs)
    md = [f"# Eval naast elkaar: {' · '.join(labels)}", ""]
    md += ["| maat | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
    md += ["| " + " | ".join(row) + " |" for row in summary_rows(runs)]
    md += markdown(runs, images)
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    page = [
        "<!doctype html><html lang='nl'><head><meta charset='utf-8'>",
        f"<title>Eval naast elkaar: {html.escape(' · '.join(labels))}</title><style>",
        "body{font-family:sans-serif;max-width:1300px;margin:auto;padding:1em}",
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}",
        ".bad{color:#b00}.ok{color:#070}",
        "</style></head><body>",
        f"<h1>Eval naast elkaar: {html.escape(' · '.join(labels))}</h1>",
        *html_section(runs, images),
        "</body></html>",
    ]
    (out / "report.html").write_text("\n".join(page) + "\n", encoding="utf-8")
    return out
