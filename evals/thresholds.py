"""The CI gate: evals/thresholds.yaml per provider, and which of its thresholds a run's summary
misses (`kv eval --gate` exits 4 on any)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from app.errors import InputError
from evals.metrics import LETTER_SECTION

THRESHOLDS_PATH = Path(__file__).resolve().parent / "thresholds.yaml"


def load_thresholds(path: Path) -> dict[str, Any]:
    """evals/thresholds.yaml: {provider: {"section.metric": {"min"|"max": x, "reason": …}}}."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the gate thresholds ({exc}); restore it") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of provider → thresholds")
    return data


def lookup(summary: Mapping[str, Any], key: str) -> Any:
    """`summary["corpus"]["hit@5"]` for the key "corpus.hit@5"."""
    section, _, metric = key.partition(".")
    part = summary.get(section)
    return part.get(metric) if isinstance(part, Mapping) else None


def gate(summary: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
    """Every threshold the summary misses, as a sentence; [] means the gate passes.

    `thresholds`: {"corpus.hit@5": {"min": 0.6, "reason": "…"}, …}. A metric that was not
    measured (None, NaN or absent) fails: a gate must not pass because nothing ran."""
    failures = []
    for key, rule in thresholds.items():
        value = lookup(summary, key)
        if not isinstance(value, int | float) or (isinstance(value, float) and math.isnan(value)):
            failures.append(f"{key}: not measured (expected {_bounds(rule)})")
            continue
        if "min" in rule and value < rule["min"]:
            failures.append(f"{key} = {value:.3f} < min {rule['min']} ({rule.get('reason', '')})")
        if "max" in rule and value > rule["max"]:
            failures.append(f"{key} = {value:.3f} > max {rule['max']} ({rule.get('reason', '')})")
    return failures


def applicable(thresholds: Mapping[str, Any], letter: bool, rest: bool = True) -> dict[str, Any]:
    """The thresholds for the parts a run was asked for: the source-letter ones ("letter…")
    when the letter part ran, the others unless the run was letter-only (`rest` False). A part
    that was asked for and measured nothing still fails (see `gate`)."""
    return {
        k: v for k, v in thresholds.items() if (letter if k.startswith(LETTER_SECTION) else rest)
    }


def _bounds(rule: Mapping[str, Any]) -> str:
    return " and ".join(f"{k} {rule[k]}" for k in ("min", "max") if k in rule)
