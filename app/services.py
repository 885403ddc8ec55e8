"""The composition root: where the retriever and the writer are built, once per process.

`Services.from_settings` is the one place that turns `Settings` (and a provider) into what
drafting needs: the retriever (`Retriever.from_settings`, its store indexed with the default
corpus when it is still empty) and the writer (`app.writers.factory.make_writer`: one class per
provider, which also names the model for the audit log, the eval reports and the web app).
`kv ask`, `kv draft-letter`, `kv serve` (the web app) and the evals all start here;
`Services.draft` / `Services.draft_stream` hand a `DraftRequest` to `app.drafting.draft`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.drafting import draft as drafting
from app.drafting.draft import DraftRequest
from app.records import Draft
from app.retrieve import Retriever
from app.settings import Settings, get_settings
from app.writers.base import ChatModel, Writer
from app.writers.factory import make_writer
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


@dataclass(frozen=True)
class Services:
    """What drafting needs, built once: settings, retriever, writer."""

    settings: Settings
    retriever: Retriever
    writer: Writer
    """Writes the drafts (`app.writers.factory.make_writer`); it knows its provider and model."""

    @property
    def audit_dir(self) -> Path:
        """Where drafts are logged (`settings.data_dir`)."""
        return Path(self.settings.data_dir)

    @property
    def provider(self) -> str:
        return self.writer.provider

    @property
    def model(self) -> str:
        """The model's stable description (`Writer.label`): "extractive", "local:…",
        "openai:…@host"; as the eval reports name it."""
        return self.writer.label

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        provider: str | None = None,
        *,
        bootstrap_corpus: bool | Bootstrap = False,
        retriever: Retriever | None = None,
        chat_model: ChatModel | None = None,
        check: bool = False,
    ) -> Services:
        """Build the services for `provider` (default: `settings.provider`).

        `bootstrap_corpus`: index the default corpus first when the store is empty (see
        `build_retriever`). `retriever` / `chat_model`: use these instead of building them (the
        evals' private store, a test's fake LangChain chat model). `check`: check the writer
        (`Writer.check`: the endpoint answers, the local worker starts) before going on.
        """
        s = settings or get_settings()
        ensure_tiktoken_cache(s.data_dir)
        writer = make_writer(s, provider, chat_model)
        if check:
            writer.check()
        if retriever is None:
            retriever = build_retriever(s, bootstrap_corpus)
        return cls(s, retriever, writer)

    def check(self) -> str:
        """Fail early with a clear ModelError if the writer cannot be used; else describe it."""
        return self.writer.check()

    def self_test(self) -> str:
        """Start what the writer runs on (the local model's worker); let it generate a few
        tokens (`Writer.self_test`)."""
        return self.writer.self_test()

    def model_label(self) -> str:
        """The model in words, for the web app's header and Corpus tab and `kv serve`."""
        return self.writer.display

    def draft(self, request: DraftRequest) -> Draft:
        """`app.drafting.draft.draft` for `request` (not streamed unless `request.stream`)."""
        return drafting.draft(
            request, retriever=self.retriever, writer=self.writer, settings=self.settings
        )

    def draft_stream(self, request: DraftRequest) -> Iterator[drafting.DraftEvent]:
        """`draft.draft_stream` for `request` (streamed unless `request.stream` is False)."""
        return drafting.draft_stream(
            request, retriever=self.retriever, writer=self.writer, settings=self.settings
        )
