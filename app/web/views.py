"""HTML and table views for the web UI: precedent cards, warnings, the check report, and a
draft's provenance per sentence and coverage per question part (their CSS: `app.web.style`).

Plain Python (no gradio), so tests can read what the user will see. Every text that comes from
the corpus, a question or a model is HTML-escaped: letters and answers are data, never markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from app.drafting.marks import MARK_LABEL, MARKS, counts_text, mark, sentence_runs
from app.drafting.prompt import numbers_label
from app.records import CheckReport, Draft, PartCoverage, Precedent, SentenceProvenance
from app.text import clip

STATUS_LABEL = {
    "contradicted": "tegenstrijdig",
    "unsupported": "niet onderbouwd",
    "supported": "onderbouwd",
}
KIND_LABEL = {
    "amount": "bedrag",
    "percentage": "percentage",
    "number": "getal",
    "date": "datum",
    "period": "periode",
    "name": "naam",
    "commitment": "toezegging",
}
SEVERITY = {"supported": 1, "unsupported": 2, "contradicted": 3}


def choice_label(p: Precedent, nr: int | None) -> str:
    """The tick-box label: number, date, question number and the start of the question."""
    prefix = f"[{nr}] " if nr else ""
    when = f"{p.date} · " if p.date else ""
    return f"{prefix}{when}vraag {numbers_label(p.numbers)}: {clip(p.question, 80)}"


def _fmt(x: float | None, digits: int) -> str:
    return "–" if x is None else f"{x:.{digits}f}".replace(".", ",")


def precedent_cards(precedents: Sequence[Precedent], numbers: dict[str, int]) -> str:
    """HTML cards; every corpus text is escaped (letters are data, never markup)."""
    if not precedents:
        return '<div class="kv-empty">Nog geen precedenten. Stel een vraag om eerdere antwoorden te zien.</div>'  # noqa: E501
    e = html.escape
    out = []
    for p in precedents:
        nr = numbers.get(p.id)
        badge = (
            f'<span class="kv-num">[{nr}]</span>'
            if nr
            else '<span class="kv-num kv-unused">niet gebruikt</span>'
        )
        meta = [p.date or "datum onbekend", f"vraag {numbers_label(p.numbers)}"]
        if p.fractie:
            meta.append(p.fractie)
        if p.ministry:
            meta.append(p.ministry)
        score = (
            f"relevantie {_fmt(p.score, 3)} · semantisch {_fmt(p.dense_score, 2)} · "
            f"trefwoorden {_fmt(p.lexical_score, 1)}"
        )
        out.append(
            f'<div class="kv-card{"" if nr else " kv-card-unused"}" data-id="{e(p.id)}">'
            f'<div class="kv-card-head">{badge}<span class="kv-title" title="{e(p.title or p.letter_id)}">{e(p.title or p.letter_id)}</span></div>'  # noqa: E501
            f'<div class="kv-meta">{e(" · ".join(meta))}</div>'
            f'<div class="kv-score">{e(score)} · <code>{e(p.id)}</code></div>'
            f'<div class="kv-q"><strong>Vraag.</strong> {e(p.question)}</div>'
            f'<div class="kv-a"><strong>Antwoord.</strong> {e(p.answer)}</div></div>'
        )
    return "\n".join(out)


def alerts_html(d: Draft) -> str:
    """Warnings, most serious first; an abstention or a failed model call as a red banner."""
    e = html.escape
    parts = []
    if d.error:
        parts.append(
            f'<div class="kv-alert kv-alert-error"><strong>Taalmodel niet beschikbaar.'
            f"</strong> {e(d.error)}</div>"
        )
    if d.abstained:
        parts.append(
            '<div class="kv-alert kv-alert-error"><strong>Geen precedent gevonden.</strong> '
            "Het concept laat een open plek [INPUT NODIG] voor de beleidsdirectie. U kunt "
            "toch een precedent aanvinken en opnieuw opstellen.</div>"
        )
    rest = [w for w in d.warnings if not (d.abstained and w.startswith("Geen precedent"))]
    rest += review_notes(d)
    if rest:
        items = "".join(f"<li>{e(w)}</li>" for w in rest)
        parts.append(
            f'<div class="kv-alert kv-alert-warn"><strong>Controleer het concept '
            f"({len(rest)}):</strong><ul>{items}</ul></div>"
        )
    if not parts:
        parts.append(
            '<div class="kv-alert kv-alert-ok">Geen waarschuwingen: alle gecontroleerde '
            "cijfers, data en namen staan in de precedenten.</div>"
        )
    if d.draft_id is not None:
        parts.append(
            f'<div class="kv-audit">Vastgelegd in het auditlog als concept #{d.draft_id} '
            f"· {e(d.model)}</div>"
        )
    return "\n".join(parts)


def highlight_spans(text: str, report: CheckReport) -> list[tuple[str, str | None]]:
    """Non-overlapping (text, label) runs; where findings overlap the worst status wins."""
    level = [0] * len(text)
    for f in report.findings:
        for i in range(max(f.start, 0), min(f.end, len(text))):
            level[i] = max(level[i], SEVERITY.get(f.status, 0))
    names = {v: STATUS_LABEL[k] for k, v in SEVERITY.items()}
    runs: list[tuple[str, str | None]] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or level[i] != level[start]:
            runs.append((text[start:i], names.get(level[start])))
            start = i
    return runs


def premises_html(report: CheckReport) -> str:
    """Premise warnings on the question ("De vraag noemt …; het kabinet noemde eerder …")."""
    if not report.premises:
        return ""
    items = "".join(f"<li>{html.escape(w)}</li>" for w in report.premises)
    return (
        '<div class="kv-alert kv-alert-warn"><strong>Controleer de vraag zelf:</strong>'
        f"<ul>{items}</ul></div>"
    )


def check_summary(report: CheckReport, answer: str) -> str:
    return premises_html(report) + _findings_html(report)


def _findings_html(report: CheckReport) -> str:
    e = html.escape
    problems = report.problems
    if not report.findings:
        return '<div class="kv-alert kv-alert-ok">Niets te controleren: geen cijfers, data, namen of toezeggingen gevonden.</div>'  # noqa: E501
    n = len(problems)
    counted = f"{n} probleem" if n == 1 else f"{n} problemen"
    level = "kv-alert-warn" if problems else "kv-alert-ok"
    head = (
        f'<div class="kv-alert {level}"><strong>{len(report.findings)} controlepunten, '
        f"waarvan {counted}.</strong></div>"
    )
    rows = []
    for f in sorted(report.findings, key=lambda f: (-SEVERITY[f.status], f.start)):
        source = e(f.note) if f.note else e(", ".join(f.support_ids)) or "—"
        rows.append(
            f'<tr class="kv-{f.status}"><td>{STATUS_LABEL[f.status]}</td>'
            f"<td>{KIND_LABEL.get(f.kind, f.kind)}</td><td>{e(clip(f.text, 90))}</td>"
            f"<td>{source}</td></tr>"
        )
    table = (
        '<table class="kv-table"><thead><tr><th>Status</th><th>Soort</th><th>Tekst</th>'
        f"<th>Bron / toelichting</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return head + table


# -- provenance and coverage -------------------------------------------------------------------

MARK_HELP = {
    "reused": "Letterlijk overgenomen uit een eerder kabinetsantwoord",
    "adapted": "Aangepast: het grootste deel van de woorden staat in een eerder antwoord",
    "new": "Nieuwe tekst: staat niet in een eerder antwoord, controleer hem",
    "unverified": "Nieuwe tekst met een verwijzing die niet klopt: de bron zegt dit niet",
    "gap": "Open plek voor de beleidsdirectie",
}


def legend_html() -> str:
    items = "".join(
        f'<span title="{html.escape(MARK_HELP[m])}"><span class="kv-s kv-s-{m}">'
        f"{MARK_LABEL[m]}</span></span>"
        for m in MARKS
    )
    return f'<div class="kv-legend"><span>Legenda:</span>{items}</div>'


def review_notes(d: Draft) -> list[str]:
    """What the coverage and provenance ask of the reviewer, as warning lines: open parts and
    new sentences (an unverified citation is already one of the draft's own warnings)."""
    out = []
    if not d.abstained and d.coverage:
        n = sum(not c.answered for c in d.coverage)
        if n:
            out.append(
                f"{n} van {len(d.coverage)} deelvragen zonder antwoord uit een precedent: vul de "
                "open plek [INPUT NODIG] in of vraag de beleidsdirectie."
            )
    new = sum(mark(p) == "new" for p in d.provenance)
    if new:
        out.append(
            f"{new} zin(nen) nieuwe tekst die niet in een eerder antwoord staat (geel bij "
            "'Herkomst per zin'): controleer ze."
        )
    return out


def _tooltip(p: SentenceProvenance, numbers: dict[str, int]) -> str:
    m = mark(p)
    words = [MARK_HELP[m]]
    if p.precedent_id:
        nr = numbers.get(p.precedent_id)
        words.append(f"bron {f'[{nr}] ' if nr else ''}{p.precedent_id}")
    if m in ("adapted", "unverified") and p.similarity:
        words.append(f"overeenkomst {round(p.similarity * 100)}%")
    if m in ("adapted", "unverified") and p.source:
        words.append(f"dichtstbij: «{clip(p.source, 220)}»")
    return " · ".join(words)


def marked_text_html(
    text: str, items: Sequence[SentenceProvenance], numbers: dict[str, int]
) -> str:
    """The answer with every sentence in a span of its origin (escaped; the origin and its
    source in the tooltip)."""
    e = html.escape
    out = []
    for piece, p in sentence_runs(text, items):
        m = mark(p)
        if p is None or not m:
            out.append(e(piece))
        else:
            out.append(
                f'<span class="kv-s kv-s-{m}" data-origin="{m}" '
                f'title="{e(_tooltip(p, numbers))}">{e(piece)}</span>'
            )
    return f'<div class="kv-marked">{"".join(out)}</div>'


def part_state(c: PartCoverage) -> str:
    """ "ok" (answered with citations), "gap" (marked open) or "nosource" (neither)."""
    if c.answered:
        return "ok"
    return "gap" if c.gap else "nosource"


def coverage_summary(coverage: Sequence[PartCoverage]) -> str:
    """ "2 van 3 deelvragen beantwoord" (or "De vraag is beantwoord" for one part)."""
    done = sum(c.answered for c in coverage)
    if len(coverage) == 1:
        return "De vraag is beantwoord" if done else "De vraag is niet beantwoord"
    return f"{done} van {len(coverage)} deelvragen beantwoord"


def coverage_html(
    coverage: Sequence[PartCoverage], numbers: dict[str, int], precedents: Sequence[Precedent]
) -> str:
    e = html.escape
    by_id = {p.id: p for p in precedents}
    rows = []
    for c in coverage:
        state = part_state(c)
        if state == "ok":
            srcs = []
            for pid in c.citations:
                nr = numbers.get(pid)
                p = by_id.get(pid)
                when = f", {p.date}" if p and p.date else ""
                srcs.append(f"{f'[{nr}] ' if nr else ''}{pid}{when}")
            detail = f'<span class="kv-src">bron: {e("; ".join(srcs))}</span>'
        elif state == "gap":
            detail = f'<span class="kv-open">open: {e(c.gap or "")}</span>'
        else:
            detail = '<span class="kv-open">beantwoord zonder bronverwijzing</span>'
        rows.append(f'<li class="kv-part-{state}" data-state="{state}">{e(c.part)}{detail}</li>')
    return f'<ul class="kv-cover">{"".join(rows)}</ul>'


def review_html(d: Draft | None, numbers: dict[str, int]) -> str:
    """The finished draft for a coordinator: its sentences marked by origin (with a legend)
    and its question parts answered or open. Empty while there is nothing to show."""
    if d is None or d.error or (not d.provenance and not d.coverage):
        return ""
    parts = ['<div class="kv-review">']
    if d.provenance:
        parts += [
            "<h4>Herkomst per zin</h4>",
            f'<div class="kv-counts">{html.escape(counts_text(d.provenance))}</div>',
            legend_html(),
            marked_text_html(d.text, d.provenance, numbers),
        ]
    if d.coverage:
        parts += [
            f'<div class="kv-sec"><h4>Deelvragen: {html.escape(coverage_summary(d.coverage))}</h4>',
            coverage_html(d.coverage, numbers, d.precedents),
            "</div>",
        ]
    parts.append("</div>")
    return "".join(parts)


def provenance_html(items: Sequence[SentenceProvenance], text: str, numbers: dict[str, int]) -> str:
    """The check tab's view of any answer: its sentences marked by where they come from."""
    if not items:
        return ""
    return (
        '<div class="kv-review"><h4>Herkomst per zin</h4>'
        f'<div class="kv-counts">{html.escape(counts_text(items))} · vergeleken met de '
        "gevonden precedenten</div>"
        f"{legend_html()}{marked_text_html(text, items, numbers)}</div>"
    )


def letter_notes(d: Draft) -> str:
    """The letter table's "Controlepunten" cell: coverage, provenance counts, warnings."""
    notes = []
    if d.coverage:
        open_parts = [clip(c.part, 60) for c in d.coverage if not c.answered]
        line = coverage_summary(d.coverage)
        notes.append(line + (f"; open: «{'», «'.join(open_parts)}»" if open_parts else ""))
    if d.provenance:
        notes.append("Herkomst: " + counts_text(d.provenance))
    notes += d.warnings
    return " • ".join(notes) or "geen"
