"""Files → parsed letters → store. Idempotent; a bad file is reported and skipped.

Re-ingesting an unchanged letter embeds nothing (the store compares content hashes), so
`kv ingest corpus/` can be run after every change to the folder.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.errors import InputError, KVError, ParseError, StoreError
from app.index.store import Store

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""progress(files_done, files_total, current_file_name)"""


@dataclass
class FileFailure:
    path: str
    reason: str


@dataclass
class IngestResult:
    """What an ingest changed: letter ids per outcome, item counts, and failed files."""

    letters_added: list[str] = field(default_factory=list)
    letters_updated: list[str] = field(default_factory=list)
    letters_unchanged: list[str] = field(default_factory=list)
    items_added: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    items_deleted: int = 0
    failed: list[FileFailure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def letters(self) -> int:
        return len(self.letters_added) + len(self.letters_updated) + len(self.letters_unchanged)

    def to_dict(self) -> dict[str, Any]:
        return {
            "letters": {
                "added": self.letters_added,
                "updated": self.letters_updated,
                "unchanged": self.letters_unchanged,
            },
            "items": {
                "added": self.items_added,
                "updated": self.items_updated,
                "unchanged": self.items_unchanged,
                "deleted": self.items_deleted,
            },
            "failed": [{"path": f.path, "reason": f.reason} for f in self.failed],
            "seconds": round(self.seconds, 2),
        }


def letter_files(paths: Sequence[Path | str]) -> list[Path]:
    """The letter files under `paths`; a README found inside a folder is documentation and is
    left out (a README named explicitly is kept, and fails to parse like any non-letter)."""
    from app.letters.parse import find_letter_files

    given = [Path(p) for p in paths]
    missing = [str(p) for p in given if not p.exists()]
    if missing:
        raise InputError(f"no such file or folder: {', '.join(missing)}")
    named = {p.resolve() for p in given if p.is_file()}
    return [
        f
        for f in find_letter_files(given)
        if f.resolve() in named or not f.stem.lower().startswith("readme")
    ]


def ingest(
    paths: Sequence[Path | str],
    store: Store,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> IngestResult:
    """Parse every letter file under `paths` and make the store hold its QA items.

    A file that cannot be parsed (or has no answered questions) lands in `failed` with its
    reason; the rest goes on (`letter_files` says what counts as a letter file). Store errors
    (unreadable, read-only, other model) abort, since every following file would fail the same
    way. `rebuild` drops the collection first.
    """
    from app.letters.parse import parse_file

    t0 = time.perf_counter()
    result = IngestResult()
    files = letter_files(paths)
    if rebuild:
        store.reset()
    for n, path in enumerate(files):
        if progress:
            progress(n, len(files), path.name)
        try:
            letter = parse_file(path)
            answered = tuple(it for it in letter.items if it.answer.strip())
            if not answered:
                raise ParseError(
                    str(path),
                    "no answered questions found (a set of new questions is not a precedent; "
                    "draft answers for it with `kv ask` instead)",
                )
            if len(answered) != len(letter.items):
                log.warning(
                    "%s: %d question(s) without an answer skipped",
                    path,
                    len(letter.items) - len(answered),
                )
                letter = replace(letter, items=answered)
            up = store.upsert_letter(letter)
        except StoreError:
            raise
        except KVError as exc:
            reason = exc.reason if isinstance(exc, ParseError) else str(exc)
            result.failed.append(FileFailure(str(path), reason))
            log.warning("skipped %s: %s", path, reason)
            continue
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            result.failed.append(FileFailure(str(path), f"{exc.__class__.__name__}: {exc}"))
            log.warning("skipped %s: %s", path, exc)
            continue
        result.items_added += len(up.added)
        result.items_updated += len(up.updated)
        result.items_unchanged += len(up.unchanged)
        result.items_deleted += len(up.deleted)
        if not (up.unchanged or up.updated or up.deleted):
            result.letters_added.append(letter.id)
        elif up.added or up.updated or up.deleted:
            result.letters_updated.append(letter.id)
        else:
            result.letters_unchanged.append(letter.id)
    if progress:
        progress(len(files), len(files), "")
    result.seconds = time.perf_counter() - t0
    log.info(
        "ingest: %d letters (%d new), %d items added, %d updated, %d failed files in %.1fs",
        result.letters,
        len(result.letters_added),
        result.items_added,
        result.items_updated,
        len(result.failed),
        result.seconds,
    )
    return result
