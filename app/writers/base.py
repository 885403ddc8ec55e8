"""What drafting needs from a provider: the `Writer` protocol; `ChatWriter` for any chat model.

A writer is chosen once, by `app.writers.factory.make_writer`; drafting (`app.drafting.draft`)
asks the writer what it needs - does it write with a model (`uses_model`), in which design by
default, how many tokens a text costs - and never which provider it is. One class per provider:
`app.writers.extractive.ExtractiveWriter` (no model), `app.writers.local.LocalWriter` (the bundled
model), `app.writers.openai.OpenAIWriter` (an OpenAI-compatible endpoint); any other LangChain
chat model (a test's fake) gets the generic `ChatWriter`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from app.writers.tokens import remote_counter

ChatModel = BaseChatModel
"""A LangChain chat model, for the callers that hand one in (tests' fakes, the evals) without
importing LangChain's model classes themselves."""


class Writer(Protocol):
    """One provider's way of writing a draft (see the module docstring)."""

    @property
    def provider(self) -> str:
        """ "extractive", "local" or "openai": the `Draft.provider` and the eval's thresholds."""
        ...

    @property
    def label(self) -> str:
        """The stable description for the audit log and the eval reports (no secrets):
        "extractive", "local:…@sha256:…", "openai:model@endpoint", or a handed-in chat model's
        name."""
        ...

    @property
    def display(self) -> str:
        """The model in words, for the web app's header and Corpus tab and `kv serve`."""
        ...

    @property
    def default_design(self) -> str | None:
        """The drafting design used unless one is asked for (`app.drafting.compose`): "connect"
        for the bundled model, "free" for any other chat model, None without a model."""
        ...

    @property
    def uses_model(self) -> bool:
        """False: drafts are composed from the cabinet's sentences alone (extractive)."""
        ...

    @property
    def runs_worker(self) -> bool:
        """True: `self_test` starts a model worker process worth starting before serving."""
        ...

    def invoke(
        self,
        messages: Sequence[BaseMessage],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> str:
        """The model's whole reply to `messages`."""
        ...

    def stream(
        self,
        messages: Sequence[BaseMessage],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """The model's reply to `messages`, piece by piece (empty pieces left out)."""
        ...

    def token_counter(self) -> Callable[[str], int]:
        """How many tokens a text costs for the model that will run the prompt."""
        ...

    def check(self) -> str:
        """Fail early with a clear `ModelError`/`ConfigError` if the writer cannot be used;
        else describe what it writes with."""
        ...

    def self_test(self) -> str:
        """Start what the writer runs on and let it generate a few tokens; describe it."""
        ...


def text_of(content: Any) -> str:
    """LangChain content is a str or a list of parts; keep the text."""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)


def model_title(chat_model: BaseChatModel) -> str:
    """A handed-in chat model's name: its `model_name`/`model`, else its class name."""
    value = getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None)
    return value if isinstance(value, str) and value else type(chat_model).__name__


class ChatWriter:
    """A writer around any LangChain chat model (the base of the local and openai writers, and
    what a handed-in chat model - a test's fake - gets): it writes in the "free" design and
    counts tokens as a remote model's (o200k x `app.writers.tokens.REMOTE_TOKEN_FACTOR`)."""

    default_design: str | None = "free"
    uses_model = True
    runs_worker = False

    def __init__(self, chat_model: BaseChatModel, provider: str, label: str | None = None) -> None:
        self.chat_model = chat_model
        self.provider = provider
        self.label = label or model_title(chat_model)

    @property
    def display(self) -> str:
        return self.label

    def invoke(
        self,
        messages: Sequence[BaseMessage],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> str:
        reply = self.chat_model.invoke(list(messages), **_options(max_tokens, stop))
        return text_of(reply.content)

    def stream(
        self,
        messages: Sequence[BaseMessage],
        *,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        for chunk in self.chat_model.stream(list(messages), **_options(max_tokens, stop)):
            piece = text_of(chunk.content)
            if piece:
                yield piece

    def token_counter(self) -> Callable[[str], int]:
        return remote_counter()

    def check(self) -> str:
        return f"{self.label} (handed in; not checked)"

    def self_test(self) -> str:
        return f"{self.label} (handed in; nothing to start)"


def _options(max_tokens: int | None, stop: list[str] | None) -> dict[str, Any]:
    """The call's keyword arguments: only those given (None leaves the model's own setting)."""
    options: dict[str, Any] = {}
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if stop is not None:
        options["stop"] = stop
    return options
