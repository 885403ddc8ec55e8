"""LLM-judge stance grade (`kv eval --judge`): only with an OpenAI-compatible endpoint.

A second opinion on what the string metrics cannot see - whether the draft takes the same
position as the real answer. It is reported apart and never gates CI: a judge model's grade
drifts with the judge model, and a small local model is not a reliable judge.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from langchain_core.messages import HumanMessage

from app.drafting.prompt import load_template, render
from app.errors import ConfigError, KVError
from app.settings import Settings
from evals import metrics as m
from evals.results import ItemRow

log = logging.getLogger(__name__)
_JSON = re.compile(r"\{.*\}", re.DOTALL)


def parse_grade(reply: str) -> dict[str, Any] | None:
    """{"grade": 0-2, "stance": …, "reason": …} from the judge's reply; None if unusable."""
    found = _JSON.search(reply)
    if not found:
        return None
    try:
        data = json.loads(found.group(0))
    except json.JSONDecodeError:
        return None
    grade = data.get("grade") if isinstance(data, dict) else None
    if not isinstance(grade, int) or grade not in (0, 1, 2):
        return None
    return {"grade": grade, "stance": str(data.get("stance", "")), "reason": data.get("reason")}


def require_endpoint(settings: Settings) -> None:
    """Fail before drafting anything when --judge has no endpoint to ask."""
    if not settings.openai_base_url:
        raise ConfigError(
            "--judge needs an OpenAI-compatible endpoint: set KV_OPENAI_BASE_URL (and "
            "KV_OPENAI_MODEL / KV_OPENAI_API_KEY), or leave out --judge"
        )


def judge_rows(rows: Sequence[ItemRow], settings: Settings) -> tuple[list[ItemRow], dict[str, Any]]:
    """Grade every corpus draft: the rows with their grade (`ItemRow.judge`; None when the
    endpoint failed), and the judge summary."""
    require_endpoint(settings)
    from app.writers.openai import OpenAIWriter

    writer = OpenAIWriter(settings)
    template = load_template("judge", settings.prompts_dir)
    grades: list[dict[str, Any]] = []
    out = []
    for row in rows:
        if row.kind != "corpus" or not row.draft:
            out.append(row)
            continue
        prompt = render(
            template,
            "judge",
            question=row.question,
            reference=row.reference,
            draft=m.clean(row.draft),
        )
        try:
            reply = writer.invoke([HumanMessage(prompt)])
        except KVError as exc:
            log.warning("judge failed for %s: %s", row.id, exc)
            out.append(replace(row, judge=None, judged=True))
            continue
        grade = parse_grade(reply)
        out.append(replace(row, judge=grade, judged=True))
        if grade:
            grades.append(grade)
    return out, {
        "model": settings.openai_model,
        "n": len(grades),
        "mean_grade": m.mean(g["grade"] / 2 for g in grades),
        "same_stance": m.mean(g["grade"] == 2 for g in grades),
    }
