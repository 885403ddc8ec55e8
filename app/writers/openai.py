"""The ``openai`` provider: any OpenAI-compatible endpoint (`KV_OPENAI_BASE_URL`).

vLLM, TGI, Ollama, llama.cpp's server, Azure OpenAI, OpenAI: reached through
`app.writers.compat.CompatChatOpenAI`, whose errors become `ModelError`s that say what to fix.
`OpenAIWriter` drafts in the "free" design by default (a larger model writes a whole answer
well, and the same review checks catch what it invents) and counts tokens as o200k x
`app.writers.tokens.REMOTE_TOKEN_FACTOR` (the endpoint's tokenizer is unknown).
"""

from __future__ import annotations

import contextlib
import logging

import openai
from pydantic import SecretStr

from app.errors import ConfigError
from app.settings import Settings
from app.writers.base import ChatWriter
from app.writers.compat import CompatChatOpenAI, endpoint, translate_errors

log = logging.getLogger(__name__)


def require_base_url(settings: Settings) -> str:
    if not settings.openai_base_url:
        raise ConfigError(
            "the openai provider needs KV_OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1 for a "
            "local server, https://api.openai.com/v1 for OpenAI); set it, or use "
            "--provider local/extractive"
        )
    return settings.openai_base_url


def api_key(settings: Settings) -> str:
    # Local servers want no key, but the OpenAI client refuses to start without one.
    key = settings.openai_api_key
    return key.get_secret_value() if key else "not-needed"


def openai_chat_model(settings: Settings) -> CompatChatOpenAI:
    """The chat model for `KV_OPENAI_BASE_URL` / `KV_OPENAI_MODEL`; a missing URL is a
    `ConfigError` naming the variable."""
    return CompatChatOpenAI(
        model=settings.openai_model,
        base_url=require_base_url(settings),
        api_key=SecretStr(api_key(settings)),
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        temperature=settings.llm_temperature,
        max_completion_tokens=settings.max_answer_tokens,
    )


def label(settings: Settings) -> str:
    """The endpoint's stable description for the audit log (no user:password)."""
    return f"openai:{settings.openai_model}@{endpoint(settings.openai_base_url)}"


def model_errors(settings: Settings) -> contextlib.AbstractContextManager[None]:
    """Wrap any call that reaches the configured endpoint: errors become `ModelError`s."""
    return translate_errors(settings.openai_base_url, settings.openai_model, settings.llm_timeout_s)


class OpenAIWriter(ChatWriter):
    """The ``openai`` provider: an OpenAI-compatible endpoint, in the "free" design."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(openai_chat_model(settings), "openai", label(settings))
        self.settings = settings

    @property
    def display(self) -> str:
        return self.label.removeprefix("openai:")

    def check(self) -> str:
        """List the endpoint's models (one quick request, no retries)."""
        s = self.settings
        client = openai.OpenAI(
            base_url=require_base_url(s),
            api_key=api_key(s),
            timeout=min(s.llm_timeout_s, 10.0),
            max_retries=0,
        )
        with model_errors(s):
            served = [m.id for m in client.models.list().data]
        if s.openai_model not in served:
            log.warning(
                "%s does not list model %r (it serves %s)",
                endpoint(s.openai_base_url),
                s.openai_model,
                served,
            )
        return f"{endpoint(s.openai_base_url)} serves {', '.join(served) or 'no models'}"

    def self_test(self) -> str:
        return self.check()
