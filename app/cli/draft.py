"""`kv ask`, `kv draft-letter`, `kv history`, `kv feedback`: drafting and its audit log."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.cli.common import (
    PROVIDERS,
    IngestBar,
    emit_json,
    index_empty_store,
    read_arg,
    short,
)

if TYPE_CHECKING:
    from app.services import Services


def _drafting_setup(provider: str | None) -> Services:
    """The `app.services.Services` for `provider`: settings, a ready retriever (the corpus
    indexed first if the store is empty), the chat model (None for extractive)."""
    from app.services import Services
    from app.settings import get_settings

    return Services.from_settings(get_settings(), provider, bootstrap_corpus=index_empty_store)


def _print_sources(numbered: list[Any], draft: Any) -> None:
    from app.drafting.prompt import numbers_label

    if not numbered:
        return
    click.echo("\nBronnen:")
    cited = set(draft.citations) if draft is not None else set()
    for nr, p in enumerate(numbered, 1):
        mark = "*" if p.id in cited else " "
        when = f", {p.date}" if p.date else ""
        click.echo(
            f" {mark}[{nr}] {p.id} — {short(p.title or p.letter_id, 70)}{when}, "
            f"vraag {numbers_label(p.numbers)}"
        )
    if draft is not None and draft.omitted_precedents:
        why = "geen zin beantwoordt de vraag" if draft.coverage else "paste niet"
        click.echo(f"  (niet gebruikt, {why}: {', '.join(draft.omitted_precedents)})")


_ORIGIN = {"reused": "hergebruikt", "adapted": "aangepast", "new": "NIEUW"}


def _print_coverage(draft: Any) -> None:
    """Per question part: answered with which sources, or the gap; per sentence: its origin."""
    if getattr(draft, "coverage", None):
        click.echo("\nDeelvragen:")
        for c in draft.coverage:
            where = ", ".join(c.citations) if c.answered else f"OPEN — {c.gap}"
            click.echo(f"  - {short(c.part, 90)} → {where}")
    if getattr(draft, "provenance", None):
        click.echo("\nHerkomst per zin (hergebruikt = letterlijk uit de geciteerde bron):")
        for sp in draft.provenance:
            check = "" if sp.verified or not sp.precedent_id else " (bron bevat dit niet!)"
            click.echo(f"  [{_ORIGIN.get(sp.origin, sp.origin)}{check}] {short(sp.sentence, 90)}")


def _print_warnings(draft: Any) -> None:
    if draft.warnings:
        click.echo("\nWaarschuwingen:")
        for w in draft.warnings:
            click.echo(f"  ! {w}")


@click.command("ask")
@click.argument("question")
@click.option("--provider", type=PROVIDERS, default=None, help="[default: KV_PROVIDER, local]")
@click.option("--k", "k", default=None, type=click.IntRange(1, 50), help="Precedents to retrieve.")
@click.option("--exclude-letter", multiple=True, metavar="ID", help="Leave out a letter.")
@click.option("--json", "as_json", is_flag=True, help="Print the Draft as JSON (no streaming).")
def ask_cmd(
    question: str,
    provider: str | None,
    k: int | None,
    exclude_letter: tuple[str, ...],
    as_json: bool,
) -> None:
    """Draft an answer to QUESTION ('-' reads it from stdin) from what the cabinet answered before.

    \b
    Prints the draft (streamed), the numbered sources it may cite ([n]; * = cited) and the
    warnings: figures no precedent supports, contradictions, invalid citations, length. With
    no precedent it abstains and leaves [INPUT NODIG: …] instead of calling the model. Every
    draft is written to the audit log (`kv history`). Exit code 1 if the model call failed
    (the precedents are still printed).
    """
    from app.drafting.draft import Done, DraftError, PrecedentsFound, Token
    from app.drafting.inputs import validate_question
    from app.services import DraftRequest
    from app.settings import get_settings

    text = read_arg(question)
    validate_question(text, get_settings())  # before indexing or loading a model
    svc = _drafting_setup(provider)
    request = DraftRequest(text, k=k, exclude_letters=exclude_letter)
    if as_json:
        try:
            d = svc.draft(request)
        except DraftError as exc:
            emit_json(exc.draft.to_dict())
            raise
        emit_json(d.to_dict())
        return
    numbered: list[Any] = []
    streamed: list[str] = []
    try:
        for event in svc.draft_stream(request):
            if isinstance(event, PrecedentsFound):
                numbered = event.numbered or event.precedents
            elif isinstance(event, Token):
                streamed.append(event.text)
                click.echo(event.text, nl=False)
            elif isinstance(event, Done):
                d = event.draft
    except DraftError as exc:
        click.echo("")
        _print_sources(numbered or exc.draft.precedents, exc.draft)
        _print_warnings(exc.draft)
        raise
    if not streamed:
        click.echo(d.text)
    elif "".join(streamed).strip() != d.text:
        click.echo("\n\nNa controle aangepast:\n" + d.text)
    else:
        click.echo("")
    _print_sources(numbered, d)
    _print_coverage(d)
    _print_warnings(d)
    took = d.timings.get("total", 0.0)
    click.echo(f"kv: concept #{d.draft_id} in het auditlog ({d.model}, {took:.1f}s)", err=True)


def _pick_set(letters: list[Any], chosen: str | None, source: str) -> Any:
    from app.errors import InputError

    if chosen is None:
        if len(letters) == 1:
            return letters[0]
        listing = "; ".join(f"{i}: {short(x.title, 60)}" for i, x in enumerate(letters[:5], 1))
        raise InputError(
            f"{source} holds {len(letters)} question sets; pick one with --set N "
            f"(1–{len(letters)}) or --set GUID ({listing}{' …' if len(letters) > 5 else ''})"
        )
    if chosen.isdigit():
        n = int(chosen)
        if 1 <= n <= len(letters):
            return letters[n - 1]
        raise InputError(f"--set {n}: {source} holds sets 1–{len(letters)}")
    for x in letters:
        if chosen in (x.id, *x.references) or x.id == f"tk-{chosen}":
            return x
    raise InputError(f"--set {chosen}: no question set with that id or guid in {source}")


@click.command("draft-letter")
@click.argument("source")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write .docx (Word answer letter), .md or .json [default: Markdown on stdout].",
)
@click.option("--provider", type=PROVIDERS, default=None, help="[default: KV_PROVIDER, local]")
@click.option("--k", "k", default=None, type=click.IntRange(1, 50), help="Precedents per question.")
@click.option(
    "--set",
    "set_",
    default=None,
    metavar="N|GUID",
    help="Which question set of a JSONL file (1-based, or its tk_document_guid); required "
    "when the file holds more than one.",
)
@click.option("--exclude-letter", multiple=True, metavar="ID", help="Leave out a letter.")
@click.pass_context
def draft_letter_cmd(
    ctx: click.Context,
    source: str,
    out: str | None,
    provider: str | None,
    k: int | None,
    set_: str | None,
    exclude_letter: tuple[str, ...],
) -> None:
    """Draft answers to a whole set of questions (SOURCE: a file or '-' for stdin).

    \b
    SOURCE: numbered questions ("Vraag 1" … or "1. …") as text, PDF or DOCX, or the JSONL of
    incoming question sets (choose one with --set). A question that an earlier one in the same
    set already covers gets "Zie het antwoord op vraag N." In the .docx, citations become
    footnotes naming the earlier answer; warnings and [INPUT NODIG] gaps are highlighted.
    Exit code 1 if the model failed for any question (the rest is still written).
    """

    from app.drafting.letter import draft_letter, to_markdown, write_answers
    from app.drafting.prompt import numbers_label
    from app.errors import InputError, ParseError
    from app.letters.parse import parse_questions

    errors: list[ParseError] = []
    if source == "-":
        letters = parse_questions(sys.stdin.read(), errors)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{source}: no such file; give a question file or '-' for stdin")
        letters = parse_questions(path, errors)
    for err in errors:
        click.echo(f"kv: skipped {err}", err=True)
    letter = _pick_set(letters, set_, source)
    svc = _drafting_setup(provider)
    with IngestBar(f"{len(letter.items)} vragen") as bar:
        drafts = draft_letter(
            letter,
            retriever=svc.retriever,
            writer=svc.writer,
            settings=svc.settings,
            k=k,
            exclude_letters=exclude_letter,
            progress=lambda done, total, item: bar(done, total, numbers_label(item.numbers)),
        )
    if out is None:
        click.echo(to_markdown(letter, drafts), nl=False)
    else:
        write_answers(letter, drafts, Path(out))
    failed = sum(1 for d in drafts if d.error)
    click.echo(
        f"kv: {len(drafts)} answers ({sum(d.abstained for d in drafts)} abstained, "
        f"{sum(1 for d in drafts if d.warnings)} with warnings, {failed} failed)"
        + (f" written to {out}" if out else ""),
        err=True,
    )
    if failed:
        ctx.exit(1)


@click.command("history")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="Print the audit rows as JSON.")
def history_cmd(limit: int, as_json: bool) -> None:
    """Show the latest drafts from the audit log (newest first).

    Flags: A = abstained, E = model error, W = has warnings; then 👍/👎 feedback if given.
    """
    from app.drafting.audit import list_drafts

    rows = list_drafts(limit)
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    if not rows:
        click.echo('no drafts logged yet (kv ask "…" writes one)')
    for r in rows:
        flags = ("A" if r.abstained else "-") + ("E" if r.error else "-")
        flags += "W" if r.warnings else "-"
        fb = {"up": " 👍", "down": " 👎"}.get(r.feedback or "", "")
        click.echo(
            f"#{r.id:<5} {r.created_at}  {flags}  {r.provider:<10} {short(r.question, 60)}{fb}"
        )


@click.command("feedback")
@click.argument("draft_id", type=int)
@click.argument("rating", type=click.Choice(["up", "down"]))
@click.option("--reason", default=None, help="Why (stored with the rating).")
def feedback_cmd(draft_id: int, rating: str, reason: str | None) -> None:
    """Rate a logged draft (DRAFT_ID from `kv history`) thumbs up or down."""
    from app.drafting.audit import add_feedback

    add_feedback(draft_id, rating, reason)
    click.echo(f"feedback '{rating}' stored on draft #{draft_id}")
