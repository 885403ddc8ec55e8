"""The one place a provider name becomes a writer: `make_writer`.

Providers (`KV_PROVIDER` / `--provider`): ``local`` (default; the bundled model,
`app.writers.local`), ``openai`` (an OpenAI-compatible endpoint, `app.writers.openai`) and
``extractive`` (no model, `app.writers.extractive`). A chat model handed in (a test's fake, an
eval's stand-in) gets the generic `app.writers.base.ChatWriter` under the provider's name. Nobody
else compares provider names: the rest of the code asks the writer.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from app.errors import ConfigError
from app.settings import Settings
from app.writers.base import ChatWriter, Writer
from app.writers.extractive import ExtractiveWriter

PROVIDERS = ("local", "openai", "extractive")


def provider_of(settings: Settings, provider: str | None = None) -> str:
    """`provider`, else `settings.provider`; an unknown name is a `ConfigError`."""
    chosen = provider or settings.provider
    if chosen not in PROVIDERS:
        raise ConfigError(f"unknown provider {chosen!r}; use local, openai or extractive")
    return chosen


def make_writer(
    settings: Settings, provider: str | None = None, chat_model: BaseChatModel | None = None
) -> Writer:
    """The writer for `provider` (default: `settings.provider`).

    ``extractive`` needs no model (a `chat_model` is then ignored, as drafting always did).
    ``local`` assembles the bundled model on first use (its worker starts at the first
    generation); ``openai`` raises `ConfigError` without `KV_OPENAI_BASE_URL`. With `chat_model`,
    that model writes (the generic `ChatWriter`: "free" design, remote token counts).
    """
    chosen = provider_of(settings, provider)
    if chosen == "extractive":
        return ExtractiveWriter()
    if chat_model is not None:
        return ChatWriter(chat_model, chosen)
    if chosen == "openai":
        from app.writers.openai import OpenAIWriter

        return OpenAIWriter(settings)
    from app.writers.local import LocalWriter

    return LocalWriter(settings)
