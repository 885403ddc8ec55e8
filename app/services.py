"""The composition root: where the retriever and the chat model are built, once per process.

`Services.from_settings` is the one place that turns `Settings` (and a provider) into what
drafting needs: the retriever (`Retriever.from_settings`, its store indexed with the default
corpus when it is still empty), the chat model (`app.writers.chat.get_chat_model`; None for the
extractive provider) and the model's description for the audit log and the eval reports
(`app.writers.chat.model_name`). `kv ask`, `kv draft-letter`, `kv serve` (the web app) and the
evals all
start here; `Services.draft` / `Services.draft_stream` hand a `DraftRequest` to
`app.drafting.draft`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from app.drafting import draft as drafting
from app.records import Draft, Precedent
from app.retrieve import Retriever
from app.settings import Settings, get_settings
from app.writers.tokens import ensure_tiktoken_cache

Bootstrap = Callable[[Retriever], object]
"""Indexes the default corpus into an empty store, given the retriever: the CLI's
`app.cli.common.index_corpus` with its note and progress bar."""


def build_retriever(settings: Settings, bootstrap_corpus: bool | Bootstrap = False) -> Retriever:
    """The retriever for `settings`; with `bootstrap_corpus`, its store holds at least the
    default corpus (indexed once, when the store is empty: True indexes without progress, a
    callable is handed the retriever to index it with its own progress display)."""
    retriever = Retriever.from_settings(settings)
    if bootstrap_corpus and retriever.store.count() == 0:
        if bootstrap_corpus is True:
            retriever.ensure_indexed()
        else:
            bootstrap_corpus(retriever)
    return retriever


def build_chat_model(settings: Settings, provider: str | None = None) -> BaseChatModel | None:
    """The chat model for `provider` (default: `settings.provider`); None for extractive."""
    if (provider or settings.provider) == "extractive":
        return None
    from app.writers.chat import get_chat_model

    return get_chat_model(settings, provider)


@dataclass(frozen=True)
class DraftRequest:
    """One draft to write: `app.drafting.draft.draft_stream`'s keyword arguments (see there)."""

    question: str
    k: int | None = None
    exclude_ids: Sequence[str] = ()
    exclude_letters: Sequence[str] = ()
    precedent_ids: Sequence[str] | None = None
    searched: Sequence[Precedent] | None = None
    history: Sequence[tuple[str, str]] | None = None
    parent_id: int | None = None
    log_to_audit: bool = True
    stream: bool | None = None
    """None: `Services.draft` does not stream (as `drafting.draft.draft`); `draft_stream` does."""
    design: str | None = None


@dataclass(frozen=True)
class Services:
    """What drafting needs, built once: settings, retriever, chat model, provider."""

    settings: Settings
    retriever: Retriever
    chat_model: BaseChatModel | None
    """None for the extractive provider."""
    provider: str
    model: str = field(init=False)
    """The model's stable description (`app.writers.chat.model_name`): "extractive", "local:…",
    "openai:…@host"; as the eval reports name it."""
    audit_dir: Path = field(init=False)
    """Where drafts are logged (`settings.data_dir`)."""

    def __post_init__(self) -> None:
        from app.writers.chat import model_name

        object.__setattr__(self, "model", model_name(self.settings, self.provider))
        object.__setattr__(self, "audit_dir", Path(self.settings.data_dir))

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        provider: str | None = None,
        *,
        bootstrap_corpus: bool | Bootstrap = False,
        retriever: Retriever | None = None,
        chat_model: BaseChatModel | None = None,
        check: bool = False,
    ) -> Services:
        """Build the services for `provider` (default: `settings.provider`).

        `bootstrap_corpus`: index the default corpus first when the store is empty (see
        `build_retriever`). `retriever` / `chat_model`: use these instead of building them (the
        evals' private store, a test's fake). `check`: check the endpoint (`check()`) before
        building the chat model; skipped when a chat model is handed in.
        """
        s = settings or get_settings()
        chosen = provider or s.provider
        ensure_tiktoken_cache(s.data_dir)
        if chat_model is None:
            if check and chosen != "extractive":
                from app.writers.chat import check_endpoint

                check_endpoint(s, chosen)
            chat_model = build_chat_model(s, chosen)
        if retriever is None:
            retriever = build_retriever(s, bootstrap_corpus)
        return cls(s, retriever, chat_model, chosen)

    def check(self) -> str:
        """Fail early with a clear ModelError if the chat model cannot be used; else describe
        it (`app.writers.chat.check_endpoint`)."""
        from app.writers.chat import check_endpoint

        return check_endpoint(self.settings, self.provider)

    def self_test(self) -> str:
        """Start the local model worker; let it generate a few tokens (`writers.chat.self_test`)."""
        from app.writers.chat import self_test

        return self_test(self.settings)

    def model_label(self) -> str:
        """The chat model in words, for the web app's header and Corpus tab and `kv serve`."""
        if self.provider == "extractive":
            return "geen (extractief: zinnen uit de precedenten)"
        if self.provider == "local":
            from app.writers.model_bundle import MODEL_NAME

            return f"{MODEL_NAME}, lokaal"
        return self.model.removeprefix("openai:")

    def draft(self, request: DraftRequest) -> Draft:
        """`app.drafting.draft.draft` for `request` (not streamed unless `request.stream`)."""
        for event in self._events(request, stream=bool(request.stream)):
            if isinstance(event, drafting.Done):
                return event.draft
        raise AssertionError("draft_stream ended without a Done event")  # pragma: no cover

    def draft_stream(self, request: DraftRequest) -> Iterator[drafting.DraftEvent]:
        """`draft.draft_stream` for `request` (streamed unless `request.stream` is False)."""
        return self._events(request, stream=request.stream is not False)

    def _events(self, request: DraftRequest, *, stream: bool) -> Iterator[drafting.DraftEvent]:
        return drafting.draft_stream(
            request.question,
            retriever=self.retriever,
            chat_model=self.chat_model,
            settings=self.settings,
            provider=self.provider,
            k=request.k,
            exclude_ids=request.exclude_ids,
            exclude_letters=request.exclude_letters,
            precedent_ids=request.precedent_ids,
            searched=request.searched,
            history=request.history,
            parent_id=request.parent_id,
            log_to_audit=request.log_to_audit,
            stream=stream,
            design=request.design,
        )
