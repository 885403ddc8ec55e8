"""The OpenAI-compatible client both chat-model writers talk through, and its error translation.

This is the only module that imports `langchain_openai`; `app.writers.openai` also uses the plain
`openai` client (to list an endpoint's models). `CompatChatOpenAI` speaks to every
OpenAI-compatible server (vLLM, TGI, Ollama, llama.cpp's server - the bundled model's worker
too, see `app.writers.local`), and `translate_errors` turns its failures (connection refused,
timeouts, HTTP 4xx/5xx, malformed replies) into `ModelError`s whose messages say what to fix.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import openai
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

from app.errors import ModelError

FIX_ENDPOINT = "check KV_OPENAI_BASE_URL or use --provider local/extractive"


def endpoint(url: str | None) -> str:
    """The URL without user:password, for messages and the audit log."""
    if not url:
        return "<unset>"
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()


def reason(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if isinstance(seen, ConnectionRefusedError) or "Connection refused" in text:
            return "connection refused"
        if "Name or service not known" in text or "nodename nor servname" in text:
            return "unknown host name"
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


@contextlib.contextmanager
def translate_errors(
    url: str | None, model: str = "", timeout: float | None = None
) -> Iterator[None]:
    """Turn openai/httpx/response-shape errors raised inside the block into `ModelError`s."""
    where = f"the LLM endpoint at {endpoint(url)}"
    try:
        yield
    except openai.APITimeoutError as exc:
        limit = f"within {timeout:g} s" if timeout else "in time"
        raise ModelError(
            f"{where} did not answer {limit}; raise KV_LLM_TIMEOUT_S, check the server's load, "
            "or use --provider local/extractive"
        ) from exc
    except openai.APIConnectionError as exc:
        raise ModelError(f"cannot reach {where} ({reason(exc)}); {FIX_ENDPOINT}") from exc
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise ModelError(
            f"{where} rejected the API key (HTTP {exc.status_code}); set KV_OPENAI_API_KEY"
        ) from exc
    except openai.NotFoundError as exc:
        raise ModelError(
            f"{where} answered HTTP 404 for model {model!r}; check KV_OPENAI_MODEL and that "
            "KV_OPENAI_BASE_URL ends in /v1"
        ) from exc
    except openai.RateLimitError as exc:
        raise ModelError(f"{where} is rate-limiting (HTTP 429); wait and try again") from exc
    except openai.BadRequestError as exc:
        body = str(exc.body or exc)[:200]
        if re.search(r"context|too long|exceed", body, re.IGNORECASE):
            raise ModelError(
                f"{where} refused the request as too long for its context window ({body}); "
                "shorten the prompt (lower KV_TOP_K) or raise KV_CONTEXT_TOKENS"
            ) from exc
        raise ModelError(
            f"{where} refused the request (HTTP 400: {body}); check the request settings, "
            "or use --provider local/extractive"
        ) from exc
    except openai.APIStatusError as exc:
        fix = "check the server's log" if exc.status_code >= 500 else "check the request settings"
        raise ModelError(
            f"{where} failed with HTTP {exc.status_code} ({str(exc.body)[:200]}); {fix}, "
            "or use --provider local/extractive"
        ) from exc
    except (openai.APIResponseValidationError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(
            f"{where} sent a reply that is not an OpenAI chat completion ({exc}); "
            f"{FIX_ENDPOINT} (it should end in /v1)"
        ) from exc


_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")


class CompatChatOpenAI(ChatOpenAI):
    """`ChatOpenAI` that speaks to every OpenAI-compatible server and raises `ModelError`s.

    ChatOpenAI renames `max_tokens` to `max_completion_tokens`, which llama.cpp's server and
    older vLLM/TGI/Ollama ignore (the answer then runs to the context limit). Only OpenAI's
    reasoning models require the new name, so every other model gets `max_tokens`.
    """

    def _get_request_payload(
        self, input_: Any, *, stop: list[str] | None = None, **kw: Any
    ) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kw)
        if "max_completion_tokens" in payload and not _REASONING_MODEL.match(self.model_name):
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        return payload

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        timeout = self.request_timeout if isinstance(self.request_timeout, int | float) else None
        return translate_errors(self.openai_api_base, self.model_name, timeout)

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with self._errors():
            return super()._generate(*args, **kwargs)

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        with self._errors():
            empty, finished = True, False
            try:
                for chunk in super()._stream(*args, **kwargs):
                    empty = False
                    finished = finished or bool((chunk.generation_info or {}).get("finish_reason"))
                    yield chunk
            except openai.APIConnectionError as exc:
                if empty:
                    raise
                raise self._broken_off(f"the connection dropped: {exc}") from exc
            if empty:
                raise ValueError("an empty stream: no server-sent events")
            if not finished:  # a clean close mid-answer must not pass for a complete draft
                raise self._broken_off("the stream ended without a finish reason")

    def _broken_off(self, why: str) -> ModelError:
        return ModelError(
            f"the LLM endpoint at {endpoint(self.openai_api_base)} broke off its answer "
            f"mid-stream ({why}); try again, check the server's log, or use "
            "--provider local/extractive"
        )

    async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with self._errors():
            return await super()._agenerate(*args, **kwargs)

    async def _astream(self, *args: Any, **kwargs: Any) -> Any:
        with self._errors():
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk
