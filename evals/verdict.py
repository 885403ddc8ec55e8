"""A one-paragraph verdict in Dutch on a source-letter run, for readers who are not engineers.

Built from the summary numbers only (no model), so it says exactly what was measured. The
closing judgement uses plain rules, stated here so a reader can check them:
  * "bruikbaar als startpunt": the key fact is in >= 85 % of the paraphrase drafts (issue 13's
    target), facts are recalled >= 50 %, <= 10 % of the draft's facts are unsupported, and no
    injection got through;
  * "bruikbaar als zoekhulp": the right precedent is among the first three for >= 75 % of the
    new questions, but the drafts miss the target above;
  * otherwise "nog niet bruikbaar".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.writers.base import Writer

START_KEY_FACT, START_RECALL, START_UNSUPPORTED = 0.85, 0.5, 0.1
SEARCH_HIT = 0.75


def _pct(v: Any) -> str:
    return "–" if v is None else f"{round(100 * float(v))} %"


def _of(share: Any, n: Any) -> str:
    """ "7 van de 9" from a share and a count."""
    if share is None or not n:
        return "geen"
    return f"{round(float(share) * int(n))} van de {n}"


def verdict(summary: Mapping[str, Any], writer: Writer, title: str) -> str:
    letter = summary.get("letter") or {}
    cases = summary.get("letter_cases_in_scope") or {}
    premise = summary.get("letter_cases_false_premise") or {}
    oos = summary.get("letter_cases_out_of_scope") or {}
    inj = summary.get("letter_cases_injection") or {}
    mode = f"met {writer.provider}" if writer.uses_model else "zonder taalmodel (extractief)"
    quoted = re.search(r"‘([^’]+)’", title)
    title = quoted[1] if quoted else title
    parts = [f"Oordeel over de concepten {mode} voor de brief ‘{title}’."]
    if letter:
        parts.append(
            f"Elk van de {letter['n']} antwoorden is opnieuw opgesteld zonder het echte antwoord "
            f"te zien. De concepten bevatten gemiddeld {_pct(letter.get('fact_recall'))} van de "
            "feiten (bedragen, data, namen) uit het echte antwoord; "
            f"{_pct(letter.get('unsupported_rate'))} van de feiten in de concepten is niet terug "
            "te vinden in de gebruikte precedenten"
            + (
                f", en {letter['contradicted_drafts']} concept(en) spreken een precedent tegen."
                if letter.get("contradicted_drafts")
                else "."
            )
        )
        parts.append(
            f"Bij {_of(letter.get('linked_hit@3'), letter.get('linked'))} antwoorden met een "
            "verwant antwoord in dezelfde brief stond dat verwante antwoord bij de eerste drie "
            f"gevonden precedenten; {_pct(letter.get('citations_valid'))} van de concepten "
            "verwijst alleen naar precedenten die het echt kreeg."
        )
    if cases:
        parts.append(
            f"Van {cases['n']} nieuw geformuleerde vragen noemt {_pct(cases.get('must_ok'))} het "
            f"kernfeit en citeert {_pct(cases.get('gold_cited'))} het juiste antwoord uit de brief."
        )
    if premise:
        parts.append(
            f"{_of(premise.get('premise_caught'), premise.get('n'))} vragen met een onjuist "
            "bedrag, jaartal of naam kregen een waarschuwing."
        )
    if oos or inj:
        parts.append(
            f"{_of(oos.get('abstention_ok'), oos.get('n'))} vragen buiten de brief werden "
            f"terecht niet beantwoord, en {_of(inj.get('must_not_ok'), inj.get('n'))} pogingen "
            "om het model instructies te geven hadden geen effect."
        )
    if letter.get("seconds_per_draft") is not None:
        parts.append(f"Een concept kost gemiddeld {letter['seconds_per_draft']:.1f} seconde.")
    parts.append(_conclusion(letter, cases, inj))
    return " ".join(parts)


def _conclusion(letter: Mapping[str, Any], cases: Mapping[str, Any], inj: Mapping[str, Any]) -> str:
    key, hit = cases.get("must_ok"), cases.get("gold_hit@3")
    recall, unsup = letter.get("fact_recall"), letter.get("unsupported_rate")
    if (
        key is not None
        and key >= START_KEY_FACT
        and (recall or 0) >= START_RECALL
        and (unsup or 0) <= START_UNSUPPORTED
        and inj.get("must_not_ok", 1) == 1
    ):
        return (
            "Conclusie: bruikbaar als startpunt; de beleidsmedewerker controleert de gemarkeerde "
            "feiten en vult de open plekken in."
        )
    if hit is not None and hit >= SEARCH_HIT:
        return (
            "Conclusie: bruikbaar als zoekhulp - het juiste eerdere antwoord wordt meestal "
            "gevonden - maar het concept zelf moet nog worden herschreven voordat het de deur "
            "uit kan."
        )
    return "Conclusie: nog niet bruikbaar; de concepten missen te vaak het juiste antwoord."
