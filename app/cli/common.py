"""What several `kv` command modules share: JSON output, the progress bar, a ready retriever.

This module imports no other `app.cli` module (the command modules import it; only
`app/cli/__init__.py` imports the command modules). Heavy imports stay inside the functions, so
that `kv --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

PROVIDERS = click.Choice(["local", "openai", "extractive"])
"""The chat providers a command can be told to use (default: KV_PROVIDER)."""


def emit_json(data: Any) -> None:
    """Print `data` as indented JSON, non-ASCII characters as they are."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def short(text: str, n: int) -> str:
    """`text` on one line, cut to at most `n` characters (with "…" when cut)."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def read_arg(value: str) -> str:
    """An argument's text, or stdin for "-"."""
    return sys.stdin.read() if value == "-" else value


class IngestBar:
    """A rich progress bar on stderr, fed by `app.index.ingest`'s progress callback."""

    def __init__(self, label: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[name]}"),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task(label, total=None, name="")

    def __enter__(self) -> IngestBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, done: int, total: int, name: str) -> None:
        self._progress.update(self._task, completed=done, total=total, name=name)


def index_corpus(retriever: Any, note: str) -> None:
    """Index the default corpus into `retriever`'s store (says `note` first, then the result)."""
    click.echo(note, err=True)
    with IngestBar("indexing corpus") as bar:
        result = retriever.ensure_indexed(progress=bar)
    if result is not None:
        click.echo(
            f"kv: indexed {result.letters} letters, {result.items_added} items "
            f"({len(result.failed)} files failed) in {result.seconds:.0f}s",
            err=True,
        )


def index_empty_store(retriever: Any) -> None:
    """`index_corpus` with the note for a command that found the store empty (the bootstrap
    `kv ask`, `kv draft-letter`, `kv check` and `kv search` hand to `app.services`)."""
    corpus = retriever.store.settings.corpus_dir
    index_corpus(retriever, f"kv: the index is empty; indexing {corpus} first (once) …")


def ready_retriever() -> Any:
    """A Retriever whose store holds at least the default corpus (indexed once, with a note)."""
    from app.services import build_retriever
    from app.settings import get_settings

    return build_retriever(get_settings(), bootstrap_corpus=index_empty_store)
