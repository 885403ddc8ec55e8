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
        cli.main(args=argv, prog_name="kv", standalone_mode=False)
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

# == store / retrieve (ingest, search, letters) ===============================================

# == drafting (ask, check, draft-letter, history) =============================================

# == evals ====================================================================================

# == ui (serve) ===============================================================================
