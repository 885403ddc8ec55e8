"""The `extractive` provider: a draft made only of sentences the cabinet already wrote.

No model: the draft is the focused evidence itself (`app.drafting.evidence`: the answer
sentences that answer each question part, scored with the embedding model and BM25), each
source's sentences together in their own order, best and most recent source first, a citation
`[n]` after each (`app.drafting.compose.assemble`). It cannot invent a figure, which makes it
the baseline the evals compare a model against and a useful mode when no model is available.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from langchain_core.messages import BaseMessage

from app.errors import ConfigError
from app.records import Precedent
from app.text import HOUSE_MAX_WORDS, HOUSE_MIN_WORDS
from app.writers.tokens import remote_counter

MIN_WORDS, MAX_WORDS = HOUSE_MIN_WORDS, HOUSE_MAX_WORDS


def compose(question: str, precedents: Sequence[Precedent]) -> str:
    """The extractive draft of `question`: the focused evidence (`app.drafting.evidence`, lexical
    scoring here; `app.drafting.draft` adds the embedding model), each source's sentences
    together and best source first, every sentence cited `[n]` with `precedents` numbered 1..n in
    the order given. Returns "" when the precedents hold no usable sentence."""
    from app.drafting.evidence import select
    from app.drafting.parts import split_parts
    from app.drafting.tidy import tidy

    ev = select(split_parts(question), precedents, None)
    nr = {p.id: i for i, p in enumerate(precedents, 1)}
    text = " ".join(f"{s.text} [{nr[g.precedent.id]}]" for g in ev.groups for s in g.sentences)
    return tidy(text, question, MAX_WORDS)


NO_MODEL = (
    "the extractive provider drafts without a chat model; check `uses_model` before asking it "
    "to write, or use --provider local/openai"
)


class ExtractiveWriter:
    """The ``extractive`` writer: no model (`uses_model` False), so drafting composes the draft
    from the evidence itself (`app.drafting.compose.assemble`, then `tidy`)."""

    provider = "extractive"
    label = "extractive"
    display = "geen (extractief: zinnen uit de precedenten)"
    default_design: str | None = None
    uses_model = False
    runs_worker = False

    def invoke(
        self,
        messages: Sequence[BaseMessage],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> str:
        raise ConfigError(NO_MODEL)

    def stream(
        self,
        messages: Sequence[BaseMessage],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        raise ConfigError(NO_MODEL)

    def token_counter(self) -> Callable[[str], int]:
        return remote_counter()

    def check(self) -> str:
        return "extractive (no chat model)"

    def self_test(self) -> str:
        return "extractive (no chat model: nothing to start)"
