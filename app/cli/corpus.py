"""`kv parse`, `kv ingest`, `kv search`, `kv letters`: answer letters, the index, retrieval."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from app.cli.common import IngestBar, emit_json, ready_retriever, short
from app.errors import KVError

log = logging.getLogger("app")

# == letters (parse) ==========================================================================


@click.command("parse")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print Letter JSON (a list for several).")
@click.option("--full", is_flag=True, help="Print whole questions and answers, not a preview.")
@click.pass_context
def parse_cmd(ctx: click.Context, files: tuple[str, ...], as_json: bool, full: bool) -> None:
    """Show how answer letters are split into questions and answers.

    FILES are .txt/.md/.pdf/.docx letters or folders of them. A file that cannot be parsed is
    reported as `kv: FILE: reason` on stderr; the others are still printed, and the exit code
    is 1 if any failed. With --json, one file prints the Letter object, several print a list.
    """
    from pathlib import Path

    from app.letters.parse import find_letter_files, parse_file

    paths: list[Path] = []
    for name in files:
        f = Path(name)
        paths.extend(find_letter_files([f]) if f.is_dir() else [f])
    parsed: list[Any] = []
    failed = 0
    for path in paths:
        try:
            letter = parse_file(path)
        except KVError as exc:
            failed += 1
            log.debug("parse failed for %s", path, exc_info=ctx.obj.get("debug"))
            click.echo(f"kv: {exc}", err=True)
            continue
        if as_json:
            parsed.append(letter.to_dict())
        else:
            click.echo(_letter_summary(letter, full))
    if as_json and parsed:
        emit_json(parsed[0] if len(files) == 1 and len(paths) == 1 else parsed)
    if failed:
        sys.exit(1)


def _letter_summary(letter: Any, full: bool) -> str:
    """Human-readable view of a parsed Letter (a preview of each item unless `full`)."""

    def cut(text: str, n: int = 110) -> str:
        flat = " ".join(text.split())
        return flat if full or len(flat) <= n else flat[: n - 1] + "…"

    combined = sum(1 for it in letter.items if len(it.numbers) > 1)
    unanswered = sum(1 for it in letter.items if not it.answer)
    lines = [
        f"{letter.id}  [{letter.layout}]  {len(letter.items)} items"
        f" ({combined} combined, {unanswered} without answer)",
        f"  title:      {cut(letter.title)}",
        f"  ministry:   {letter.ministry or '-'}    date: {letter.date or '-'}",
        f"  references: {', '.join(letter.references) or '-'}",
        f"  source:     {letter.source}",
    ]
    for it in letter.items:
        fr = f" ({it.fractie})" if it.fractie else ""
        lines.append(f"  [{it.label}]{fr} V: {cut(it.question)}")
        pad = " " * len(it.label)
        lines.append(f"  {pad}   A: {cut(it.answer) if it.answer else '(geen antwoord)'}")
        for fn in it.footnotes:
            lines.append(f"  {pad}   noot {fn.number}: {cut(fn.text, 90)}")
    return "\n".join(lines) + "\n"


# == store / retrieve (ingest, search, letters) ===============================================


def _print_ingest_summary(result: Any) -> None:
    r = result
    click.echo(
        f"letters: {len(r.letters_added)} added, {len(r.letters_updated)} updated, "
        f"{len(r.letters_unchanged)} unchanged, {len(r.failed)} failed"
    )
    click.echo(
        f"items:   {r.items_added} added, {r.items_updated} updated, "
        f"{r.items_unchanged} unchanged, {r.items_deleted} deleted  ({r.seconds:.1f}s)"
    )
    for f in r.failed:
        click.echo(f"kv: failed {f.path}: {f.reason}", err=True)


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--rebuild", is_flag=True, help="Drop the index first and re-embed everything.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def ingest_cmd(ctx: click.Context, paths: tuple[str, ...], rebuild: bool, as_json: bool) -> None:
    """Index answer letters (files or folders) so that `kv search`/`kv ask` find them.

    Idempotent: an unchanged letter is skipped, a changed one replaces its items. A file that
    cannot be parsed is reported and skipped; the exit code is then 1.
    """
    from app.index.ingest import ingest
    from app.retrieve import Retriever

    retriever = Retriever.from_settings()
    with IngestBar("ingest") as bar:
        result = ingest(paths, retriever.store, rebuild=rebuild, progress=bar)
    if as_json:
        emit_json(result.to_dict())
        for f in result.failed:
            click.echo(f"kv: failed {f.path}: {f.reason}", err=True)
    else:
        _print_ingest_summary(result)
    if result.failed:
        ctx.exit(1)


@click.command("search")
@click.argument("question")
@click.option("--k", "k", default=None, type=click.IntRange(1, 50), help="Number of results.")
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "dense", "lexical"]),
    default="hybrid",
    show_default=True,
    help="hybrid = dense + BM25 fused by reciprocal rank.",
)
@click.option("--exclude-letter", multiple=True, metavar="ID", help="Leave out a letter.")
@click.option("--exclude-id", multiple=True, metavar="ID", help="Leave out one item.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of precedents.")
def search_cmd(
    question: str,
    k: int | None,
    mode: str,
    exclude_letter: tuple[str, ...],
    exclude_id: tuple[str, ...],
    as_json: bool,
) -> None:
    """Find prior answers to QUESTION, best first."""
    from app.retrieve import DENSE_MIN, LEXICAL_MIN, has_precedent

    retriever = ready_retriever()
    k = k or retriever.store.settings.top_k
    hits = retriever.search(
        question, k=k, exclude_ids=exclude_id, exclude_letters=exclude_letter, mode=mode
    )
    if as_json:
        emit_json([p.to_dict() for p in hits])
        return
    if not hits:
        click.echo("no results")
        return
    if not has_precedent(hits):
        click.echo(
            f"NO PRECEDENT: nothing is close enough (needs cosine >= {DENSE_MIN} or "
            f"BM25 >= {LEXICAL_MIN}); the nearest items follow.\n"
        )
    for rank, p in enumerate(hits, 1):
        parts = []
        if p.dense_score is not None:
            parts.append(f"cos {p.dense_score:.3f}")
        if p.lexical_score is not None:
            parts.append(f"bm25 {p.lexical_score:.1f}")
        meta = " · ".join(x for x in (p.date, p.fractie) if x)
        click.echo(f"{rank}. {p.id}  [score {p.score:.4f}; {', '.join(parts)}]  {meta}")
        if p.title:
            click.echo(f"   {short(p.title, 110)}")
        click.echo(f"   V: {short(p.question, 300)}")
        click.echo(f"   A: {short(p.answer, 400)}\n")


@click.command("letters")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def letters_cmd(as_json: bool) -> None:
    """List the indexed letters (id, date, number of items, title)."""
    from dataclasses import asdict

    from app.retrieve import Retriever

    rows = Retriever.from_settings().store.letters()
    if as_json:
        emit_json([asdict(r) for r in rows])
        return
    if not rows:
        click.echo("kv: nothing indexed yet; run `kv ingest corpus/`", err=True)
        return
    for r in rows:
        click.echo(f"{r.id:<48} {r.date or '-':<10} {r.items:>3}  {short(r.title, 70)}")
    click.echo(f"{len(rows)} letters, {sum(r.items for r in rows)} items")
