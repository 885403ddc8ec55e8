"""The `kv` command: one subcommand per job. `--help` text is the documentation's source.

Errors from `app.errors` become a one-line `kv: …` message and a non-zero exit code; a traceback
is shown only with `kv --debug …`.

Commands are grouped by job, one module each, and are added to the `cli` group here (the only
module that imports the command modules):

    app/cli/corpus.py   parse, ingest, search, letters
    app/cli/draft.py    ask, draft-letter, history, feedback
    app/cli/check.py    check
    app/cli/eval.py     eval, eval retrieval
    app/cli/model.py    model
    app/cli/serve.py    serve, hash-password
    app/cli/common.py   what they share (imports no other app.cli module)

Keep the handlers thin: parse arguments, call the stage's function, print. Import the stage
inside the handler, so that `kv --help` stays fast.
"""

from __future__ import annotations

import logging
import sys

import click

from app import __version__
from app.cli.check import check_cmd
from app.cli.corpus import ingest_cmd, letters_cmd, parse_cmd, search_cmd
from app.cli.draft import ask_cmd, draft_letter_cmd, feedback_cmd, history_cmd
from app.cli.eval import eval_group
from app.cli.model import model_cmd
from app.cli.serve import hash_password_cmd, serve_cmd
from app.errors import KVError


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
      kv serve                    the web app on http://127.0.0.1:7860 (indexes corpus/ once)
      kv ask "vraag"              draft one answer, with sources and warnings
      kv draft-letter FILE --out antwoorden.docx
                                  draft every question of an incoming set
      kv check -q "vraag" -a antwoord.txt
                                  check any answer against earlier answers
      kv search "vraag"           find prior answers
      kv ingest PATH              index more answer letters
      kv eval --provider extractive
                                  evaluation run with a report

    Configuration comes from KV_* environment variables or a .env file (see README).
    """
    level = logging.DEBUG if debug else (logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


for _command in (
    # letters and store/retrieve
    parse_cmd,
    ingest_cmd,
    search_cmd,
    letters_cmd,
    # drafting and checking
    check_cmd,
    ask_cmd,
    draft_letter_cmd,
    history_cmd,
    feedback_cmd,
    model_cmd,
    # evals
    eval_group,
    # the web app
    serve_cmd,
    hash_password_cmd,
):
    cli.add_command(_command)


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
