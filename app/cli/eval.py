"""`kv eval` (drafting eval, `--compare`, `--gate`) and `kv eval retrieval`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli.common import PROVIDERS, IngestBar, emit_json
from evals import SOURCE_LETTER as LETTER_ID

EVAL_GATE_EXIT = 4
"""`kv eval --gate` exit code when a threshold in evals/thresholds.yaml is missed."""


@click.group("eval", invoke_without_command=True)
@click.option("--provider", type=PROVIDERS, default=None, help="[default: KV_PROVIDER, local]")
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
    "--letter",
    "letter_id",
    default=None,
    metavar="ID|none",
    help="Evaluate one letter of the corpus on its own: every answer re-drafted without itself, "
    "its derived consistency links, and its paraphrase set (evals/source_letter_cases.yaml for "
    f"{LETTER_ID}). Given alone it is the whole run; add --limit/--cases for the rest. "
    f"[default: {LETTER_ID} as an extra section of a full run (no --limit/--case-limit) when "
    "it is in the corpus; 'none' skips it]",
)
@click.option(
    "--max-tokens",
    default=None,
    type=click.IntRange(16),
    help="Cap each draft's tokens [default: KV_MAX_ANSWER_TOKENS].",
)
@click.option(
    "--design",
    default=None,
    type=click.Choice(["connect", "free"]),
    help="Drafting design of a chat model, to compare them (connect: the cabinet's sentences "
    "verbatim plus a connecting sentence by the model; free: the model writes the answer) "
    "[default: KV_DRAFT_DESIGN, else connect for the bundled model, free for an endpoint].",
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
    help="Print what changed between two results.json files (runs nothing); with --out, also "
    "write them side by side (report.md/html/json, plots), e.g. extractive beside local.",
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
    letter_id: str | None,
    max_tokens: int | None,
    design: str | None,
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
    The source letter's section (--letter) adds linked-answer hit@3, premise warnings caught,
    the paraphrase set's score and a verdict in Dutch; `kv eval --provider local --letter
    apply-ai-strategie` is that eval with the bundled model (25 + 63 drafts).
    Offline with --provider local or extractive; any OpenAI-compatible endpoint with
    --provider openai (KV_OPENAI_BASE_URL). Subcommand `retrieval`: the retrieval eval.
    """
    if ctx.invoked_subcommand is not None:
        return
    from datetime import datetime

    from app.errors import InputError
    from app.settings import ROOT, get_settings
    from evals.drafting import run
    from evals.report import write
    from evals.report_letter import write_side_by_side
    from evals.results import read_run
    from evals.summary import compare as compare_runs
    from evals.summary import format_summary

    if compare:
        try:
            a, b = (read_run(Path(p)) for p in compare)
            click.echo(compare_runs(a, b))
            if out:
                write_side_by_side([a, b], Path(out))
                click.echo(f"\nside by side: {Path(out) / 'report.html'}")
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"--compare needs two results.json files of kv eval ({exc})") from exc
        return
    settings = get_settings()
    if max_tokens:
        settings = settings.model_copy(update={"max_answer_tokens": max_tokens})
    if design:
        settings = settings.model_copy(update={"draft_design": design})
    chosen = provider or settings.provider
    cases = None if cases_path.lower() == "none" else Path(cases_path)
    if cases is not None and not cases.is_absolute() and not cases.exists():
        cases = ROOT / cases
    letter, letter_only, letter_required = _letter_part(ctx, letter_id)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(out) if out else ROOT / "evals" / "out" / f"{stamp}-{chosen}"
    click.echo(f"kv: drafting eval with {chosen}; report in {folder}", err=True)
    with IngestBar("eval") as bar:
        results = run(
            chosen,
            paths=[Path(p) for p in letter_paths] or None,
            cases_path=cases,
            limit=limit,
            case_limit=case_limit,
            judge=judge,
            settings=settings,
            progress=bar,
            letter=letter,
            letter_only=letter_only,
            letter_required=letter_required,
        )
    write(results, folder)
    if as_json:
        data = results.to_json()
        emit_json({k: data[k] for k in ("meta", "summary", "gate")} | {"out": str(folder)})
    else:
        click.echo(format_summary([results]))
        click.echo(f"\nreport: {folder / 'report.html'}")
    if gate and not (results.gate.thresholds and results.gate.passed):
        why = (
            f"{len(results.gate.failures)} threshold(s) missed"
            if results.gate.thresholds
            else f"evals/thresholds.yaml has no thresholds for provider {chosen} for the parts "
            "this run evaluated; add them"
        )
        click.echo(f"kv: eval gate failed: {why}", err=True)
        sys.exit(EVAL_GATE_EXIT)


def _letter_part(ctx: click.Context, letter_id: str | None) -> tuple[str | None, bool, bool]:
    """(letter id or None, letter only?, required?) for `--letter`. Not given: the source
    letter as an extra section of a full run (not of a --limit/--case-limit subset), if the
    evaluated letters hold it. Given: that letter (an error if it is missing), and only it
    unless --limit or --cases was given too."""
    from click.core import ParameterSource

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)

    if letter_id is None:
        subset = given("limit") or given("case_limit")
        return (None if subset else LETTER_ID), False, False
    if letter_id.lower() == "none":
        return None, False, False
    return letter_id, not (given("limit") or given("cases_path")), True


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

    from app.errors import InputError
    from app.index.store import EMBED_TEXT
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
        emit_json(report)
    else:
        click.echo(format_report(report))
