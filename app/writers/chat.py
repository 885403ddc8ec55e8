"""The chat-model factory: the bundled local model, or any OpenAI-compatible endpoint.

This is the only module that imports `langchain_openai` and `openai`; the rest of the pipeline
receives a LangChain `BaseChatModel` and never knows which one it got.

Providers (`KV_PROVIDER` / `--provider`):

* ``local`` (default) - the bundled Qwen2.5-Coder-1.5B GGUF (see `app.writers.model_bundle`), run
by a
  supervised `llama_cpp.server` worker process on 127.0.0.1 (see `app.writers.local_server` for why
  it
  is out of process) and reached through `CompatChatOpenAI`, exactly like a remote endpoint.
* ``openai`` - `ChatOpenAI` against `KV_OPENAI_BASE_URL` (vLLM, TGI, Ollama, llama.cpp server,
  Azure OpenAI, OpenAI). Its errors (connection refused, timeouts, HTTP 4xx/5xx, malformed
  replies) are translated into `ModelError`s whose messages say what to fix.
* ``extractive`` - no chat model at all (drafts are composed from precedent sentences), so
  `get_chat_model` raises `ConfigError` for it; callers branch on the provider first.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openai
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr, SecretStr

from app.errors import ConfigError, ModelError
from app.settings import Settings
from app.writers import tokens
from app.writers.local_server import LOCAL_ALIAS, LocalServer, crash_error, server_for, vocab
from app.writers.model_bundle import MODEL_FILENAME, MODEL_SHA256, ensure_model

log = logging.getLogger(__name__)

FIX_ENDPOINT = "check KV_OPENAI_BASE_URL or use --provider local/extractive"


# -- openai: any OpenAI-compatible endpoint -------------------------------------------------------


def _endpoint(url: str | None) -> str:
    """The URL without user:password, for messages and the audit log."""
    if not url:
        return "<unset>"
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()


def _reason(exc: BaseException) -> str:
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
    where = f"the LLM endpoint at {_endpoint(url)}"
    try:
        yield
    except openai.APITimeoutError as exc:
        limit = f"within {timeout:g} s" if timeout else "in time"
        raise ModelError(
            f"{where} did not answer {limit}; raise KV_LLM_TIMEOUT_S, check the server's load, "
            "or use --provider local/extractive"
        ) from exc
    except openai.APIConnectionError as exc:
        raise ModelError(f"cannot reach {where} ({_reason(exc)}); {FIX_ENDPOINT}") from exc
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
            f"the LLM endpoint at {_endpoint(self.openai_api_base)} broke off its answer "
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


# -- local: the bundled model behind its supervised worker ----------------------------------------


class LocalChatModel(BaseChatModel):
    """The bundled model, reached through its supervised `llama_cpp.server` worker.

    Each call makes sure the worker runs (starting it, with its self-test, on first use) and
    delegates to a `CompatChatOpenAI` for the worker's URL: the local model takes exactly the
    code path of a remote endpoint. When the worker dies mid-request the error names the cause
    (`app.writers.local_server.crash_error`) and the worker is restarted in the background.
    """

    model_path: str
    data_dir: str = "data"
    n_ctx: int = 4096
    n_threads: int = 2
    temperature: float = 0.1
    max_tokens: int = 400
    repeat_penalty: float = 1.1
    frequency_penalty: float = 0.0
    timeout_s: float = 120.0
    _clients: dict[str, CompatChatOpenAI] = PrivateAttr(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-server-supervised"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": Path(self.model_path).name, "n_ctx": self.n_ctx}

    def server(self) -> LocalServer:
        return server_for(Path(self.model_path), self.n_ctx, self.n_threads, Path(self.data_dir))

    def vocab(self) -> Any:
        """The model's tokenizer (vocabulary only; no weights in this process)."""
        return vocab(Path(self.model_path))

    def _chat(self) -> CompatChatOpenAI:
        url = self.server().ensure()
        client = self._clients.get(url)
        if client is None:
            client = CompatChatOpenAI(
                model=LOCAL_ALIAS,
                base_url=url,
                api_key=SecretStr("not-needed"),
                timeout=self.timeout_s,
                max_retries=0,  # a retry would only queue behind the failed request
                temperature=self.temperature,
                max_completion_tokens=self.max_tokens,
                frequency_penalty=self.frequency_penalty,
                extra_body={"repeat_penalty": self.repeat_penalty},
            )
            self._clients = {url: client}
        return client

    @contextlib.contextmanager
    def _crashes(self) -> Iterator[None]:
        try:
            yield
        except ModelError as exc:
            server = self.server()
            code = server.returncode()
            for _ in range(20):  # the dropped connection can arrive before the exit is reaped
                if code is not None:
                    break
                time.sleep(0.05)
                code = server.returncode()
            if code is None:
                raise
            server.restart_in_background()
            raise crash_error(code, server.log_path, "while drafting") from exc

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Streamed underneath even when the caller wants one reply: llama.cpp's server stops
        # generating when a *streaming* client goes away (a time-out), but finishes a plain
        # request nobody waits for any more, and the next users queue behind it.
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        self._check_fits(messages, int(kwargs.get("max_tokens") or self.max_tokens))
        with self._crashes():
            yield from self._chat()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _check_fits(self, messages: list[BaseMessage], answer_tokens: int) -> None:
        """Refuse a prompt that cannot fit before the worker sees it: llama.cpp's server
        reports an overflowing *streamed* request only as an empty stream."""
        count = _vocab_counter(self.vocab())
        used = sum(count(str(m.text)) + CHAT_TEMPLATE_TOKENS for m in messages)
        if used + answer_tokens > self.n_ctx:
            raise ModelError(
                f"the prompt needs about {used} tokens and the answer {answer_tokens}, more than "
                f"the local model's context of {self.n_ctx}; shorten the prompt (lower "
                "KV_TOP_K) or raise KV_CONTEXT_TOKENS"
            )


def self_test(settings: Settings) -> str:
    """Start the local model worker (assembling the model if needed) and generate a few tokens
    in it; a crashing runtime becomes a ModelError naming the cause and the fix."""
    model = get_chat_model(settings, "local")
    assert isinstance(model, LocalChatModel)
    server = model.server()
    server.ensure()
    return f"worker pid {server.pid} on {server.base_url}, ready in {server.last_start_s:.1f} s"


def _vocab_counter(llama: Any) -> Callable[[str], int]:
    def count(text: str) -> int:
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return count


CHAT_TEMPLATE_TOKENS = 5
"""Qwen2.5's chat template adds `<|im_start|>role\n … <|im_end|>\n` per message."""

REMOTE_TOKEN_FACTOR = 1.4
"""tiktoken o200k undercounts Dutch for other tokenizers. A remote model's tokenizer is unknown,
so its budget is o200k times this, which covers the bundled Qwen2.5's worst case on the corpus
(measured: docs/measurements.md#token-factor)."""


def token_counter(
    settings: Settings, provider: str | None = None, chat_model: BaseChatModel | None = None
) -> Callable[[str], int]:
    """How many tokens a text costs for the model that will run the prompt.

    ``local`` (or a `LocalChatModel` handed in) counts with the bundled model's own vocabulary
    (loaded vocabulary-only in this process); ``openai``/``extractive`` (and any other chat
    model, e.g. a test's fake) count o200k tokens x `REMOTE_TOKEN_FACTOR`, rounded up.
    """
    if isinstance(chat_model, LocalChatModel):
        return _vocab_counter(chat_model.vocab())
    if chat_model is None and _provider(settings, provider) == "local":
        return _vocab_counter(vocab(ensure_model(settings.data_dir).path))

    def count(text: str) -> int:
        return math.ceil(tokens.count_tokens(text) * REMOTE_TOKEN_FACTOR)

    return count


def prompt_tokens(settings: Settings, messages: list[BaseMessage]) -> int:
    """Tokens the local model sees for `messages`: rendered with the GGUF's own chat template
    (as llama.cpp's server does when no chat format is set) and tokenized with its vocabulary,
    including the assistant header that generation starts from. For tests and diagnostics."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llama = vocab(ensure_model(settings.data_dir).path)

    def token_text(token_id: int) -> str:
        return llama._model.token_get_text(token_id) if token_id != -1 else ""

    formatter = Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"],
        eos_token=token_text(llama.token_eos()),
        bos_token=token_text(llama.token_bos()),
    )
    chat: Any = _to_chat_dicts(messages)
    prompt = formatter(messages=chat).prompt
    return len(llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))


_ROLES = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant"}


def _to_chat_dicts(messages: list[BaseMessage]) -> list[dict[str, str]]:
    out = []
    for message in messages:
        if isinstance(message, ChatMessage):
            role = message.role
        else:
            role = next((r for cls, r in _ROLES.items() if isinstance(message, cls)), "")
        if role not in {"system", "user", "assistant"}:
            raise ModelError(
                f"the local model cannot take a {type(message).__name__} message; "
                "send only system, user and assistant messages"
            )
        out.append({"role": role, "content": str(message.text)})
    return out


# -- the factory ----------------------------------------------------------------------------------


def _provider(settings: Settings, provider: str | None) -> str:
    chosen = provider or settings.provider
    if chosen not in {"local", "openai", "extractive"}:
        raise ConfigError(f"unknown provider {chosen!r}; use local, openai or extractive")
    return chosen


def _require_base_url(settings: Settings) -> str:
    if not settings.openai_base_url:
        raise ConfigError(
            "the openai provider needs KV_OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1 for a "
            "local server, https://api.openai.com/v1 for OpenAI); set it, or use "
            "--provider local/extractive"
        )
    return settings.openai_base_url


def _api_key(settings: Settings) -> str:
    # Local servers want no key, but the OpenAI client refuses to start without one.
    key = settings.openai_api_key
    return key.get_secret_value() if key else "not-needed"


def get_chat_model(settings: Settings, provider: str | None = None) -> BaseChatModel:
    """The chat model for `provider` (default: `settings.provider`).

    Raises `ConfigError` for ``extractive`` (it has no chat model) and for a missing
    `KV_OPENAI_BASE_URL`. ``local`` assembles the bundled model on first use and loads it
    lazily at the first generation (seconds each: docs/measurements.md#local-model-runtime).
    """
    chosen = _provider(settings, provider)
    if chosen == "extractive":
        raise ConfigError(
            "the extractive provider drafts without a chat model; check the provider before "
            "asking for one, or use --provider local/openai"
        )
    if chosen == "openai":
        return CompatChatOpenAI(
            model=settings.openai_model,
            base_url=_require_base_url(settings),
            api_key=SecretStr(_api_key(settings)),
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            temperature=settings.llm_temperature,
            max_completion_tokens=settings.max_answer_tokens,
        )
    bundle = ensure_model(settings.data_dir)
    return LocalChatModel(
        model_path=str(bundle.path),
        data_dir=str(settings.data_dir),
        n_ctx=settings.context_tokens,
        n_threads=settings.local_threads,
        temperature=settings.llm_temperature,
        max_tokens=settings.max_answer_tokens,
        repeat_penalty=settings.llm_repeat_penalty,
        frequency_penalty=settings.llm_frequency_penalty,
        timeout_s=settings.llm_timeout_s,
    )


def model_name(settings: Settings, provider: str | None = None) -> str:
    """A stable description of the model for the audit log (no secrets)."""
    chosen = _provider(settings, provider)
    if chosen == "local":
        return f"local:{MODEL_FILENAME}@sha256:{MODEL_SHA256[:12]}"
    if chosen == "openai":
        return f"openai:{settings.openai_model}@{_endpoint(settings.openai_base_url)}"
    return "extractive"


def model_errors(settings: Settings) -> contextlib.AbstractContextManager[None]:
    """Wrap any call that reaches the configured endpoint: errors become `ModelError`s."""
    return translate_errors(settings.openai_base_url, settings.openai_model, settings.llm_timeout_s)


def check_endpoint(settings: Settings, provider: str | None = None) -> str:
    """Fail early with a clear `ModelError` if the chat model cannot be used; else describe it.

    ``openai``: lists the endpoint's models (one quick request, no retries). ``local``: makes
    sure the bundled model is assembled. ``extractive``: nothing to check.
    """
    chosen = _provider(settings, provider)
    if chosen == "extractive":
        return "extractive (no chat model)"
    if chosen == "local":
        bundle = ensure_model(settings.data_dir)
        return f"local model {bundle.path} ({bundle.status}); {self_test(settings)}"
    client = openai.OpenAI(
        base_url=_require_base_url(settings),
        api_key=_api_key(settings),
        timeout=min(settings.llm_timeout_s, 10.0),
        max_retries=0,
    )
    with model_errors(settings):
        served = [m.id for m in client.models.list().data]
    if settings.openai_model not in served:
        log.warning(
            "%s does not list model %r (it serves %s)",
            _endpoint(settings.openai_base_url),
            settings.openai_model,
            served,
        )
    return f"{_endpoint(settings.openai_base_url)} serves {', '.join(served) or 'no models'}"
