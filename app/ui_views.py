"""HTML and table views for the web UI: precedent cards, warnings, the check report.

Plain Python (no gradio), so tests can read what the user will see. Every text that comes from
the corpus, a question or a model is HTML-escaped: letters and answers are data, never markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from app.prompt import numbers_label
from app.records import CheckReport, Draft, Precedent

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


def short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def choice_label(p: Precedent, nr: int | None) -> str:
    """The tick-box label: number, date, question number and the start of the question."""
    prefix = f"[{nr}] " if nr else ""
    when = f"{p.date} · " if p.date else ""
    return f"{prefix}{when}vraag {numbers_label(p.numbers)}: {short(p.question, 80)}"


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


def check_summary(report: CheckReport, answer: str) -> str:
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
            f"<td>{KIND_LABEL.get(f.kind, f.kind)}</td><td>{e(short(f.text, 90))}</td>"
            f"<td>{source}</td></tr>"
        )
    table = (
        '<table class="kv-table"><thead><tr><th>Status</th><th>Soort</th><th>Tekst</th>'
        f"<th>Bron / toelichting</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return head + table
