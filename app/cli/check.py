"""`kv check`: check any answer against what the cabinet said before.

The answer gets the review every draft gets (`app.drafting.review.review`), with two rules
left out on purpose: a pasted text has no citation numbering of ours (its `[n]` may point
anywhere), so the citation rules are skipped rather than guessed; and there is no leak check
(the text is the user's, and `kv check` reports on it, it does not rewrite it). What is printed
is the review's check report (`app.drafting.review.checked`, the same function the review
calls), in which our own `[INPUT NODIG: …]` gap markers are not names.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from app.cli.common import emit_json, read_arg, ready_retriever

CHECK_PROBLEMS_EXIT = 3
"""`kv check` exit code when the answer has unsupported or contradicted findings."""


def _read_answer_file(path: str) -> str:
    """The answer text from a UTF-8 file, or stdin for "-"."""

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


@click.command("check")
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
    from app.checking.check import format_report, mark_problems
    from app.drafting.review import checked
    from app.errors import InputError
    from app.settings import get_settings

    if question == "-" and answer_file == "-":
        raise InputError("only one of --question and --answer-file can be '-' (stdin)")
    q = read_arg(question).strip()
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
        retriever = ready_retriever()
        k = k or settings.top_k
        precedents = retriever.search(q, k=k, exclude_letters=exclude_letter)
    report = checked(answer, q, precedents)
    if as_json:
        emit_json(
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
