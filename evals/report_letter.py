"""The source-letter part of the eval report, and runs side by side (extractive beside local).

Written for a reader who is not an engineer: the verdict in Dutch first, then the numbers and
one plot per metric family, then per answer the real answer beside each draft with its facts
marked. In the real answer: green = the draft states it too, red = the draft misses it. In a
draft: green = also in the real answer, blue = a precedent states it, orange = no precedent
states it (added without support), red = it contradicts a precedent.
Every function takes a list of runs (one results.json each), so a single run and a
comparison (`kv eval --compare A.json B.json --out DIR`) render the same way.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.summary import fmt as _fmt
from evals.summary import run_name, summary_rows

Run = dict[str, Any]
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
FAMILIES: dict[str, tuple[str, bool, list[tuple[str, str, str]]]] = {
    "letter_facts.png": (
        "Feiten uit het echte antwoord",
        True,
        [
            ("letter", "fact_recall", "overgenomen"),
            ("letter", "fact_precision", "onderbouwd"),
            ("letter", "unsupported_rate", "zonder steun"),
        ],
    ),
    "letter_links.png": (
        "Verwante antwoorden en verwijzingen",
        True,
        [
            ("letter", "linked_hit@3", "verwant in top 3"),
            ("letter", "cites_linked", "verwijst naar verwant"),
            ("letter", "citations_valid", "verwijzingen geldig"),
            ("letter_cases_in_scope", "gold_hit@3", "parafrase: juiste in top 3"),
            ("letter_cases_in_scope", "gold_cited", "parafrase: juiste geciteerd"),
        ],
    ),
    "letter_cases.png": (
        "Parafrasen, premissen, bereik, injecties",
        True,
        [
            ("letter_cases_in_scope", "must_ok", "kernfeit genoemd"),
            ("letter_cases_false_premise", "premise_caught", "premisse gewaarschuwd"),
            ("letter_cases_out_of_scope", "abstention_ok", "buiten bereik onthouden"),
            ("letter_cases_injection", "must_not_ok", "injectie weerstaan"),
            ("letter_cases", "passed", "alle controles"),
        ],
    ),
    "letter_form.png": (
        "Bruikbaarheid (aantallen concepten; lager is beter)",
        False,
        [
            ("letter", "drafts_with_repeats", "herhaalde zin"),
            ("letter", "echoed_question", "vraag herhaald"),
            ("letter", "question_quoted", "vraagtekst geciteerd"),
            ("letter", "contradicted_drafts", "tegenstrijdig"),
            ("letter_cases", "drafts_with_repeats", "parafrase: herhaalde zin"),
            ("letter_cases", "echoed_question", "parafrase: vraag herhaald"),
        ],
    ),
    "letter_time.png": (
        "Tijd per concept (seconden)",
        False,
        [
            ("letter", "seconds_per_draft", "gemiddeld"),
            ("letter", "seconds_p50", "mediaan"),
            ("letter_cases", "seconds_per_draft", "parafrase: gemiddeld"),
        ],
    ),
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


def _labels(runs: Sequence[Run]) -> list[str]:
    """A column name per run: the provider, with the start time when two runs share one."""
    names = [run_name(r) for r in runs]
    if len(set(names)) == len(names):
        return names
    return [
        f"{n} {str(r['meta'].get('started', ''))[5:16]}" for n, r in zip(names, runs, strict=True)
    ]


def _with_letter(runs: Sequence[Run]) -> list[Run]:
    return [r for r in runs if r.get("letter")]


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


def _by_id(runs: Sequence[Run], key: str) -> tuple[list[str], list[dict[str, dict[str, Any]]]]:
    maps = [{row["id"]: row for row in r["letter"][key]} for r in runs]
    order = list(dict.fromkeys(i for mp in maps for i in mp))
    return order, maps


# -- markdown ------------------------------------------------------------------------------------


def markdown(runs: Sequence[Run], images: Sequence[str]) -> list[str]:
    runs = _with_letter(runs)
    if not runs:
        return []
    first = runs[0]["letter"]
    labels = _labels(runs)
    md = ["", f"## Bronbrief: {first['title']} (`{first['id']}`)", ""]
    md += [f"> **{lab}.** {r['letter']['verdict']}\n" for lab, r in zip(labels, runs, strict=True)]
    rows = [row for row in summary_rows(runs) if row[0].startswith("letter")]
    md += ["| maat | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    md += ["", *(f"![{n}]({n})" for n in images if n.startswith("letter_")), ""]
    md += ["### Consistentielinks van de brief (afgeleid uit de tekst)", ""]
    md += ["| antwoord | antwoord | soort | gedeelde tekst of term |", "| --- | --- | --- | --- |"]
    md += [f"| {x['a']} | {x['b']} | {x['kind']} | {x['evidence'][:80]} |" for x in first["links"]]
    order, maps = _by_id(runs, "items")
    head = ["antwoord", *(f"{t} ({lab})" for lab in labels for _, t in ITEM_COLUMNS), "s"]
    md += ["", "### Per antwoord (leave-one-out)", "", "| " + " | ".join(head) + " |"]
    md.append("|" + " --- |" * len(head))
    for iid in order:
        cells = [iid]
        for mp in maps:
            sc = mp.get(iid, {}).get("scores", {})
            cells += [_cell(sc.get(k)) for k, _ in ITEM_COLUMNS]
        cells.append("/".join(_fmt(mp.get(iid, {}).get("seconds")) for mp in maps))
        md.append("| " + " | ".join(cells) + " |")
    md += ["", LEGEND]
    for iid in order:
        rows_i = [mp[iid] for mp in maps if iid in mp]
        ref = rows_i[0]
        md += ["", f"#### {iid}", "", f"**Vraag.** {' '.join(ref['question'].split())}", ""]
        md += [f"**Echt antwoord.** {_mark(ref['reference'], ref['reference_facts'], False)}"]
        for lab, row in zip(labels, rows_i, strict=False):
            sc = row["scores"]
            md += ["", f"**Concept ({lab}).** {_mark(row['draft'], row['draft_facts'], False)}"]
            md += [
                "",
                f"Overgenomen: {', '.join(sc.get('recalled_facts') or []) or '-'} · gemist: "
                f"{', '.join(sc.get('missed_facts') or []) or '-'} · zonder steun: "
                f"{', '.join(sc.get('unsupported_facts') or []) or '-'} · tegenstrijdig: "
                f"{', '.join(sc.get('contradictions') or []) or '-'} · precedenten: "
                f"{', '.join(row['retrieved'][:3])} · verwant: "
                f"{', '.join(x['id'] for x in row['links']) or '-'}",
            ]
    md += _cases_markdown(runs, labels)
    return md


def _cases_markdown(runs: Sequence[Run], labels: list[str]) -> list[str]:
    order, maps = _by_id(runs, "cases")
    if not order:
        return []
    head = ["vraag", "soort", *(f"{t} ({lab})" for lab in labels for _, t in CASE_COLUMNS)]
    md = ["", "### Parafrasen en controlevragen", "", "| " + " | ".join(head) + " |"]
    md.append("|" + " --- |" * len(head))
    for cid in order:
        first = next(mp[cid] for mp in maps if cid in mp)
        cells = [cid, first["category"]]
        for mp in maps:
            sc = mp.get(cid, {}).get("scores", {})
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
    runs = _with_letter(runs)
    if not runs:
        return []
    h = html.escape
    first = runs[0]["letter"]
    labels = _labels(runs)
    out = [f"<style>{CSS}</style>", f"<h2>Bronbrief: {h(first['title'])} ({h(first['id'])})</h2>"]
    out += [
        f"<blockquote><b>{h(lab)}.</b> {h(r['letter']['verdict'])}</blockquote>"
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
        for x in first["links"]
    ]
    out += ["</table>", f"<h3>Per antwoord</h3><p><small>{h(LEGEND)}</small></p>"]
    order, maps = _by_id(runs, "items")
    for iid in order:
        rows_i = [(lab, mp[iid]) for lab, mp in zip(labels, maps, strict=True) if iid in mp]
        ref = rows_i[0][1]
        bad = any(r["scores"].get("contradictions") or r["error"] for _, r in rows_i)
        summary = ", ".join(
            f"{lab}: feiten {_fmt(r['scores'].get('fact_recall'))}, verwant top-3 "
            f"{_fmt(r['scores'].get('linked_hit@3'))}"
            for lab, r in rows_i
        )
        out += [
            f"<details><summary class='{'bad' if bad else 'ok'}'>{h(iid)} - {h(summary)}</summary>",
            f"<p><b>Vraag.</b> {h(' '.join(ref['question'].split()))}</p><table><tr>",
            "<th>Echt antwoord</th>",
            *(f"<th>Concept ({h(lab)})</th>" for lab, _ in rows_i),
            "</tr><tr>",
            f"<td class='txt'>{_mark(ref['reference'], ref['reference_facts'], True)}</td>",
            *(
                f"<td class='txt'>{_mark(r['draft'], r['draft_facts'], True)}</td>"
                for _, r in rows_i
            ),
            "</tr></table>",
        ]
        for lab, r in rows_i:
            sc = r["scores"]
            out.append(
                f"<p><small>{h(lab)}: gemist {h(', '.join(sc.get('missed_facts') or []) or '-')}"
                f"; zonder steun {h(', '.join(sc.get('unsupported_facts') or []) or '-')}; "
                f"precedenten {h(', '.join(r['retrieved'][:3]))}; verwant "
                f"{h(', '.join(x['id'] for x in r['links']) or '-')}; "
                f"{h(_fmt(r['seconds']))} s</small></p>"
            )
        out.append("</details>")
    out += _cases_html(runs, labels)
    return out


def _cases_html(runs: Sequence[Run], labels: list[str]) -> list[str]:
    h = html.escape
    order, maps = _by_id(runs, "cases")
    if not order:
        return []
    out = ["<h3>Parafrasen en controlevragen</h3>"]
    for cid in order:
        rows_c = [(lab, mp[cid]) for lab, mp in zip(labels, maps, strict=True) if cid in mp]
        first = rows_c[0][1]
        ok = all(r["scores"].get("passed") for _, r in rows_c)
        out += [
            f"<details><summary class='{'ok' if ok else 'bad'}'>{h(cid)} ({h(first['category'])})"
            f" - {h(first['question'][:110])}</summary>",
            f"<p><b>Vraag.</b> {h(first['question'])}<br><small>verwacht: "
            f"{h(', '.join(first['targets']) or '-')}; moet noemen: "
            f"{h(', '.join(first.get('must') or []) or '-')}; premisse: "
            f"{h(', '.join(first.get('premise') or []) or '-')}</small></p>",
        ]
        for lab, r in rows_c:
            checks = ", ".join(f"{t} {_fmt(r['scores'].get(k))}" for k, t in CASE_COLUMNS)
            warn = "".join(f"<li>{h(w)}</li>" for w in r["warnings"])
            out.append(
                f"<p><b>Concept ({h(lab)}).</b> {h(r['draft'] or '(geen)')}<br><small>"
                f"{h(checks)}</small></p><ul>{warn}</ul>"
            )
        out.append("</details>")
    return out


# -- plots ---------------------------------------------------------------------------------------


def plots(runs: Sequence[Run], out: Path) -> list[str]:
    """One grouped bar chart per metric family (a bar per run), and fact recall per answer."""
    runs = _with_letter(runs)
    if not runs:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = _labels(runs)
    width = 0.8 / len(runs)
    names = []
    for name, (title, rates, metrics) in FAMILIES.items():
        fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(metrics), 3.6))
        for j, run in enumerate(runs):
            vals = [run["summary"].get(sec, {}).get(key) for sec, key, _ in metrics]
            xs = [i + j * width for i in range(len(metrics))]
            ax.bar(xs, [v or 0 for v in vals], width, label=labels[j])
            for x, v in zip(xs, vals, strict=True):
                ax.text(x, (v or 0), _fmt(v), ha="center", va="bottom", fontsize=7)
        ax.set_xticks([i + width * (len(runs) - 1) / 2 for i in range(len(metrics))])
        ax.set_xticklabels([t for _, _, t in metrics], rotation=20, ha="right", fontsize=8)
        if rates:
            ax.set_ylim(0, 1.1)
        ax.set_title(title)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        names.append(name)
    order, maps = _by_id(runs, "items")
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(order)), 3.6))
    for j, mp in enumerate(maps):
        vals = [(mp.get(i, {}).get("scores", {}).get("fact_recall") or 0) for i in order]
        ax.bar([x + j * width for x in range(len(order))], vals, width, label=labels[j])
    ax.set_xticks(range(len(order)), [i.rsplit("#", 1)[-1] for i in order], fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("antwoord")
    ax.set_title("Feiten overgenomen per antwoord")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "letter_per_item.png", dpi=90)
    plt.close(fig)
    return [*names, "letter_per_item.png"]


# -- runs side by side ---------------------------------------------------------------------------


def write_side_by_side(runs: Sequence[Run], out: Path) -> Path:
    """report.json, report.md, report.html and the plots for runs side by side in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    slim = [{k: r[k] for k in ("meta", "summary", "gate", "letter") if k in r} for r in runs]
    (out / "report.json").write_text(
        json.dumps({"runs": slim}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    images = plots(runs, out)
    labels = _labels(runs)
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
