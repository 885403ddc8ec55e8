"""The audit log: one committed row per draft, feedback, history, no secrets."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from app.drafting import audit
from app.errors import InputError
from app.records import Draft
from app.settings import get_settings
from tests._drafting import sudan_precedents


def make(text: str = "Concept [1].", **kw: object) -> Draft:
    fields: dict[str, object] = {
        "question": "Hoeveel geld ging naar Soedan?",
        "text": text,
        "citations": ["ah-tk-20232024-946#3"],
        "precedents": sudan_precedents(),
        "abstained": False,
        "warnings": ["Niet onderbouwd: 150 miljoen euro"],
        "model": "local:qwen",
        "provider": "local",
        "prompt_version": "abc123def456",
        "timings": {"retrieve": 0.1, "total": 1.5},
    }
    fields.update(kw)
    return Draft(**fields)  # type: ignore[arg-type]


def test_log_and_list_round_trip(kv_env: Path) -> None:
    first = audit.log_draft(make("Eerste [1]."), kv_env)
    second = audit.log_draft(make("Tweede [1].", parent_id=first, instruction="korter"), kv_env)
    rows = audit.list_drafts(10, kv_env)
    assert [r.id for r in rows] == [second, first]  # newest first
    newest = rows[0]
    assert newest.output == "Tweede [1]." and newest.parent_id == first
    assert newest.instruction == "korter"
    assert newest.precedents[0] == {"id": "ah-tk-20232024-946#3", "score": pytest.approx(1 / 61)}
    assert newest.warnings == ["Niet onderbouwd: 150 miljoen euro"]
    assert newest.timings == {"retrieve": 0.1, "total": 1.5}
    assert newest.prompt_version == "abc123def456" and newest.model == "local:qwen"
    assert audit.list_drafts(1, kv_env)[0].id == second


def test_rows_are_committed_and_wal_is_on(kv_env: Path) -> None:
    draft = make()
    audit.log_draft(draft, kv_env)
    assert draft.draft_id == 1
    conn = sqlite3.connect(audit.db_path(kv_env))  # a separate reader sees the row
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM drafts").fetchone()[0] == 1
    finally:
        conn.close()


def test_feedback_is_stored_and_validated(kv_env: Path) -> None:
    draft_id = audit.log_draft(make(), kv_env)
    audit.add_feedback(draft_id, "down", "bedrag klopt niet", kv_env)
    entry = audit.get_draft(draft_id, kv_env)
    assert entry is not None and entry.feedback == "down"
    assert entry.feedback_reason == "bedrag klopt niet"
    with pytest.raises(InputError, match="up, down"):
        audit.add_feedback(draft_id, "meh", None, kv_env)
    with pytest.raises(InputError, match="no draft with id 999"):
        audit.add_feedback(999, "up", None, kv_env)


def test_errors_are_logged_without_api_keys(kv_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KV_OPENAI_API_KEY", "my-very-secret-key-123")
    get_settings.cache_clear()
    err = (
        "HTTP 401 for key my-very-secret-key-123; Incorrect API key provided: "
        "sk-proj-AbCdEf1234567890 (Authorization: Bearer abcdefghijklmnop)"
    )
    draft_id = audit.log_draft(make("", error=err), kv_env)
    raw = audit.db_path(kv_env).read_bytes()
    for secret in (b"my-very-secret-key-123", b"sk-proj-AbCdEf1234567890", b"abcdefghijklmnop"):
        assert secret not in raw
    entry = audit.get_draft(draft_id, kv_env)
    assert entry is not None and entry.error is not None and "HTTP 401" in entry.error


def test_concurrent_writers_each_get_a_row(kv_env: Path) -> None:
    ids: list[int] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        draft_id = audit.log_draft(make(f"Concept {i} [1]."), kv_env)
        with lock:
            ids.append(draft_id)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == list(range(1, 9))
    assert {r.output for r in audit.list_drafts(20, kv_env)} == {
        f"Concept {i} [1]." for i in range(8)
    }


def test_unwritable_location_says_how_to_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(Exception, match="KV_DATA_DIR"):
        audit.log_draft(make(), blocker / "data")
