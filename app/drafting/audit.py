"""The audit log: one committed SQLite row per draft (stdlib sqlite3, `data_dir/audit.sqlite3`).

A ministry must be able to say, for a Woo request, which question produced which draft from
which precedents, with which model and prompt wording. So every draft is written — also the
ones that abstained or whose model call failed — and committed before the caller sees it.
WAL mode lets the UI read history while another thread writes; each call opens its own
connection, which keeps the functions thread-safe without a shared lock. API keys never
reach this module; error texts are scrubbed of anything that looks like one anyway.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.errors import ConfigError, InputError
from app.records import Draft
from app.settings import get_settings

log = logging.getLogger(__name__)

DB_NAME = "audit.sqlite3"
RATINGS = ("up", "down")
_SECRET = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,}|api[_-]?key['\"=:\s]+[A-Za-z0-9._\-]{8,})",
    re.IGNORECASE,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS drafts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    instruction TEXT,
    precedents TEXT NOT NULL,
    omitted TEXT NOT NULL,
    citations TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    output TEXT NOT NULL,
    warnings TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    timings TEXT NOT NULL,
    error TEXT,
    parent_id INTEGER,
    feedback TEXT,
    feedback_reason TEXT,
    feedback_at TEXT
);
CREATE INDEX IF NOT EXISTS drafts_created ON drafts(created_at);
"""


@dataclass(frozen=True)
class AuditEntry:
    """One logged draft as `kv history` and the UI show it."""

    id: int
    created_at: str
    question: str
    instruction: str | None
    precedents: list[dict[str, Any]]
    """[{"id": …, "score": …}, …] in retrieval order."""
    citations: list[str]
    prompt_version: str
    provider: str
    model: str
    output: str
    warnings: list[str]
    abstained: bool
    timings: dict[str, float]
    error: str | None
    parent_id: int | None
    """The draft this one refines (not a foreign key: the parent may live in another log)."""
    feedback: str | None
    feedback_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def db_path(data_dir: Path | None = None) -> Path:
    return (data_dir if data_dir is not None else get_settings().data_dir) / DB_NAME


@contextmanager
def _connect(data_dir: Path | None) -> Iterator[sqlite3.Connection]:
    path = db_path(data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(
            f"cannot open the audit log {path} ({exc}); set KV_DATA_DIR to a writable directory"
        ) from exc
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        with conn:  # one transaction, committed on success
            yield conn
    except sqlite3.DatabaseError as exc:
        raise ConfigError(
            f"the audit log {path} cannot be written ({exc}); check the disk and file "
            "permissions, or move the damaged file away (a new log is created)"
        ) from exc
    finally:
        conn.close()


def scrub(text: str | None) -> str | None:
    """Remove anything that looks like an API key or bearer token (error texts can echo them)."""
    if text is None:
        return None
    settings = get_settings()
    for secret in (settings.openai_api_key, settings.embedding_api_key):
        value = secret.get_secret_value() if secret is not None else ""
        if len(value) >= 6:
            text = text.replace(value, "[geheim]")
    return _SECRET.sub("[geheim]", text)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def log_draft(draft: Draft, data_dir: Path | None = None) -> int:
    """Write `draft` as one committed row; sets and returns `draft.draft_id`."""
    row = (
        datetime.now(UTC).isoformat(timespec="seconds"),
        draft.question,
        draft.instruction,
        _dumps([{"id": p.id, "score": p.score} for p in draft.precedents]),
        _dumps(draft.omitted_precedents),
        _dumps(draft.citations),
        draft.prompt_version,
        draft.provider,
        draft.model,
        draft.text,
        _dumps(draft.warnings),
        int(draft.abstained),
        _dumps(draft.timings),
        scrub(draft.error),
        draft.parent_id,
    )
    with _connect(data_dir) as conn:
        cur = conn.execute(
            "INSERT INTO drafts (created_at, question, instruction, precedents, omitted, citations,"
            " prompt_version, provider, model, output, warnings, abstained, timings, error,"
            " parent_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            row,
        )
        draft_id = int(cur.lastrowid or 0)
    draft.draft_id = draft_id
    log.info(
        "draft %d logged: provider=%s model=%s precedents=%s abstained=%s error=%s",
        draft_id,
        draft.provider,
        draft.model,
        [p.id for p in draft.precedents],
        draft.abstained,
        bool(draft.error),
    )
    return draft_id


def add_feedback(
    draft_id: int, rating: str, reason: str | None = None, data_dir: Path | None = None
) -> None:
    """Record a thumbs up/down (and why) on a logged draft; the latest rating counts."""
    if rating not in RATINGS:
        raise InputError(f"feedback must be one of {', '.join(RATINGS)}, not {rating!r}")
    with _connect(data_dir) as conn:
        cur = conn.execute(
            "UPDATE drafts SET feedback=?, feedback_reason=?, feedback_at=? WHERE id=?",
            (rating, reason, datetime.now(UTC).isoformat(timespec="seconds"), draft_id),
        )
        if cur.rowcount == 0:
            raise InputError(
                f"no draft with id {draft_id} in the audit log {db_path(data_dir)}; "
                "`kv history` lists the ids"
            )


def _entry(r: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        id=r["id"],
        created_at=r["created_at"],
        question=r["question"],
        instruction=r["instruction"],
        precedents=json.loads(r["precedents"]),
        citations=json.loads(r["citations"]),
        prompt_version=r["prompt_version"],
        provider=r["provider"],
        model=r["model"],
        output=r["output"],
        warnings=json.loads(r["warnings"]),
        abstained=bool(r["abstained"]),
        timings=json.loads(r["timings"]),
        error=r["error"],
        parent_id=r["parent_id"],
        feedback=r["feedback"],
        feedback_reason=r["feedback_reason"],
    )


def list_drafts(limit: int = 20, data_dir: Path | None = None) -> list[AuditEntry]:
    """The most recent drafts, newest first."""
    with _connect(data_dir) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM drafts ORDER BY id DESC LIMIT ?", (max(limit, 0),))
        return [_entry(r) for r in rows]


def get_draft(draft_id: int, data_dir: Path | None = None) -> AuditEntry | None:
    with _connect(data_dir) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM drafts WHERE id=?", (draft_id,)).fetchone()
        return _entry(row) if row else None
