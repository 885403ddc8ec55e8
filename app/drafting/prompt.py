"""Prompt templates (prompts/*.md) → chat messages, with precedents packed into a token budget.

Templates are files so that wording changes are reviewed like code; they use named variables
`{{name}}` and rendering fails loudly on a missing *or* an unknown variable, so a renamed
variable can never silently produce a prompt with a hole in it. Values are substituted in one
pass, so a question that contains `{{question}}` (or any markup) stays literal text.

Wording: short rules, precedents first and the question and task last, no example text, because
the bundled model copies example gaps, example sentences and block labels into its answer
(measured: docs/measurements.md#prompt-wording). The model still often puts "[1]" in front of a
sentence; `app.drafting.draft` moves it behind the sentence and warns when a sentence cites a
precedent
that does not contain it.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from app.errors import PromptError
from app.records import Precedent
from app.settings import Settings, get_settings
from app.writers import tokens

log = logging.getLogger(__name__)

TEMPLATES = (
    "system",
    "user",
    "precedent",
    "refine",
    "evidence_system",
    "evidence_user",
    "connect_user",
)
_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_HEADER = re.compile(r"\A(?:\s*<!--.*?-->[ \t]*\n)+", re.DOTALL)

MESSAGE_OVERHEAD_TOKENS = 8
"""Chat-template tokens per message (role markers) that the text itself does not count. Qwen's
ChatML template costs 5 per message plus 3 for the assistant header that generation starts from
(counted as one more message); 8 leaves room for wordier templates."""
SAFETY = 0.9
"""Keep 10% of the budget spare even with the model's own tokenizer (`Writer.token_counter`):
the parts are counted one by one, and tokens at their joins can differ from the whole; for a
remote model the count is an estimate."""
TRUNCATION_MARK = " […]"

TokenCounter = Callable[[str], int]


def load_template(name: str, prompts_dir: Path) -> str:
    """The template text without its leading `<!-- … -->` header (documentation only)."""
    path = prompts_dir / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(
            f"prompt template {path} cannot be read ({exc.strerror or exc}); restore it from the "
            "repository or point KV_PROMPTS_DIR at a folder with "
            + ", ".join(f"{t}.md" for t in TEMPLATES)
        ) from exc
    return _HEADER.sub("", text, count=1).strip("\n")


def variables(template: str) -> set[str]:
    return set(_VAR.findall(template))


def render(template: str, name: str = "template", **values: str) -> str:
    """Fill `{{var}}` placeholders; every placeholder must get a value and every value a place."""
    wanted = variables(template)
    missing = sorted(wanted - values.keys())
    unknown = sorted(values.keys() - wanted)
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing value for {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown variable {', '.join(unknown)}")
        raise PromptError(
            f"prompt {name}: {'; '.join(parts)}. The template uses {sorted(wanted) or 'none'}: "
            "fix the template's {{variables}} or the code that renders it."
        )
    leftover = _VAR.sub("", template)
    if "{{" in leftover or "}}" in leftover:
        raise PromptError(
            f"prompt {name}: malformed placeholder (stray '{{{{' or '}}}}'); variables are "
            "written {{name}} with letters, digits and underscores"
        )
    return _VAR.sub(lambda m: values[m.group(1)], template)


def prompt_version(prompts_dir: Path) -> str:
    """Short sha256 over the template files, so the audit log says which wording made a draft."""
    digest = hashlib.sha256()
    for name in TEMPLATES:
        path = prompts_dir / f"{name}.md"
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()[:12]


def as_data(text: str) -> str:
    """Escape `<`, `>` and `&` so question/precedent text cannot close its delimiting tag."""
    return html.escape(text.strip(), quote=False)


def _attr(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=True)


def numbers_label(numbers: Sequence[int]) -> str:
    """(4,) → "4"; (4, 5) → "4 en 5"; (1, 2, 3) → "1, 2 en 3" (as the letters write it)."""
    items = [str(n) for n in numbers]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " en " + items[-1]


def render_precedent(nr: int, p: Precedent, prompts_dir: Path, template: str | None = None) -> str:
    tpl = template if template is not None else load_template("precedent", prompts_dir)
    return render(
        tpl,
        "precedent",
        nr=str(nr),
        id=_attr(p.id),
        title=_attr(p.title or p.letter_id),
        date=_attr(p.date or "onbekend"),
        numbers=_attr(numbers_label(p.numbers)),
        question=as_data(p.question),
        answer=as_data(p.answer),
    )


def pack_precedents(
    precedents: Sequence[Precedent],
    budget_tokens: int,
    count_tokens: TokenCounter,
    prompts_dir: Path | None = None,
) -> tuple[list[Precedent], list[Precedent]]:
    """Keep precedents, best first, while their rendered blocks fit in `budget_tokens`.

    The best precedent is never dropped for being long: its answer is cut (marked "[…]") to
    fit instead, because one strong precedent beats several weak ones. Later ones that do not
    fit are reported as omitted; a smaller one after an omitted one may still fit.
    """
    if prompts_dir is None:
        prompts_dir = get_settings().prompts_dir
    tpl = load_template("precedent", prompts_dir)
    included: list[Precedent] = []
    omitted: list[Precedent] = []
    used = 0
    for p in precedents:
        nr = len(included) + 1
        cost = count_tokens(render_precedent(nr, p, prompts_dir, tpl)) + 2  # "\n\n" joiner
        if used + cost <= budget_tokens:
            included.append(p)
            used += cost
        elif not included:
            cut = _truncate(p, budget_tokens - used - 2, count_tokens, prompts_dir, tpl)
            if cut is None:
                omitted.append(p)
            else:
                included.append(cut)
                used += count_tokens(render_precedent(nr, cut, prompts_dir, tpl)) + 2
        else:
            omitted.append(p)
    if omitted:
        log.info("precedents omitted for the token budget: %s", [p.id for p in omitted])
    return included, omitted


def _truncate(
    p: Precedent, budget: int, count: TokenCounter, prompts_dir: Path, tpl: str
) -> Precedent | None:
    """The longest word-prefix of the answer whose block fits `budget`; None if nothing fits."""
    words = p.answer.split()

    def cut(n: int) -> Precedent:
        text = " ".join(words[:n]) + TRUNCATION_MARK
        return replace(p, answer=text, extra={**p.extra, "truncated": True})

    if count(render_precedent(1, cut(0), prompts_dir, tpl)) > budget:
        return None
    lo, hi = 0, len(words)
    while lo < hi:  # largest n that fits
        mid = (lo + hi + 1) // 2
        if count(render_precedent(1, cut(mid), prompts_dir, tpl)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    log.info("precedent %s truncated to %d of %d words", p.id, lo, len(words))
    return cut(lo)


def build_messages(
    question: str,
    precedents: Sequence[Precedent],
    settings: Settings,
    *,
    turns: Sequence[tuple[str, str]] = (),
    count_tokens: TokenCounter | None = None,
) -> tuple[list[BaseMessage], list[str]]:
    """System + user messages (+ refine turns) and the ids of precedents left out for space.

    `count_tokens` should be the running model's tokenizer (`Writer.token_counter`); the default,
    plain o200k, undercounts Dutch for most open models.
    `turns` are chat follow-ups as (previous draft, instruction) pairs. The precedents that
    made it in are numbered 1..n in their given order minus the omitted ones — the numbers the
    model cites (see `numbered`).
    """
    if count_tokens is None:
        count_tokens = tokens.count_tokens
    pdir = settings.prompts_dir
    system = render(load_template("system", pdir), "system")
    user_tpl = load_template("user", pdir)
    refine_tpl = load_template("refine", pdir)
    refines = [render(refine_tpl, "refine", instruction=as_data(i)) for _, i in turns]
    fixed = (
        count_tokens(system)
        + count_tokens(render(user_tpl, "user", question=as_data(question), precedents=""))
        + sum(count_tokens(d) + count_tokens(r) for (d, _), r in zip(turns, refines, strict=True))
        + MESSAGE_OVERHEAD_TOKENS * (3 + 2 * len(turns))  # + the assistant header
    )
    available = int((settings.context_tokens - settings.max_answer_tokens - fixed) * SAFETY)
    if available <= 0:
        raise PromptError(
            f"no room for precedents: the question and instructions take about {fixed} tokens of "
            f"the {settings.context_tokens}-token context (with {settings.max_answer_tokens} kept "
            "for the answer). Shorten the question, or raise KV_CONTEXT_TOKENS for a model with a "
            "larger context window."
        )
    included, omitted = pack_precedents(precedents, available, count_tokens, pdir)
    blocks = "\n\n".join(render_precedent(i, p, pdir) for i, p in enumerate(included, 1))
    user = render(
        user_tpl,
        "user",
        question=as_data(question),
        precedents=blocks or "(geen precedenten gevonden)",
    )
    messages: list[BaseMessage] = [SystemMessage(content=system), HumanMessage(content=user)]
    for (previous, _), refine in zip(turns, refines, strict=True):
        messages += [AIMessage(content=previous), HumanMessage(content=refine)]
    return messages, [p.id for p in omitted]


def numbered(precedents: Sequence[Precedent], omitted_ids: Sequence[str]) -> list[Precedent]:
    """The precedents as the prompt numbered them (index 0 is [1])."""
    skip = set(omitted_ids)
    return [p for p in precedents if p.id not in skip]


def system_prompt(settings: Settings) -> str:
    """The rendered system prompt (used by the leak check after generation)."""
    return render(load_template("system", settings.prompts_dir), "system")
