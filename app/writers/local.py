"""The ``local`` provider: the bundled model behind its supervised worker process.

The bundled Qwen2.5-Coder-1.5B GGUF (`app.writers.model_bundle`) runs in a supervised
`llama_cpp.server` worker on 127.0.0.1 (`app.writers.local_server` says why it is out of
process), reached through `app.writers.compat.CompatChatOpenAI` exactly like a remote endpoint.
`LocalWriter` drafts in the "connect" design by default (docs/measurements.md#drafting-designs)
and counts tokens with the model's own vocabulary.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr, SecretStr

from app.errors import ModelError
from app.settings import Settings
from app.writers.base import ChatWriter
from app.writers.compat import CompatChatOpenAI
from app.writers.local_server import LOCAL_ALIAS, LocalServer, crash_error, server_for, vocab
from app.writers.model_bundle import MODEL_FILENAME, MODEL_NAME, MODEL_SHA256, ensure_model


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
        count = vocab_counter(self.vocab())
        used = sum(count(str(m.text)) + CHAT_TEMPLATE_TOKENS for m in messages)
        if used + answer_tokens > self.n_ctx:
            raise ModelError(
                f"the prompt needs about {used} tokens and the answer {answer_tokens}, more than "
                f"the local model's context of {self.n_ctx}; shorten the prompt (lower "
                "KV_TOP_K) or raise KV_CONTEXT_TOKENS"
            )


def vocab_counter(llama: Any) -> Callable[[str], int]:
    def count(text: str) -> int:
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return count


CHAT_TEMPLATE_TOKENS = 5
"""Qwen2.5's chat template adds `<|im_start|>role\n … <|im_end|>\n` per message."""


def local_chat_model(settings: Settings) -> LocalChatModel:
    """The bundled model for `settings`: assembled on first use, loaded lazily by its worker at
    the first generation (seconds each: docs/measurements.md#local-model-runtime)."""
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


LABEL = f"local:{MODEL_FILENAME}@sha256:{MODEL_SHA256[:12]}"
"""The bundled model's stable description for the audit log and the eval reports."""


class LocalWriter(ChatWriter):
    """The ``local`` provider: the bundled model, in the "connect" design by default."""

    default_design = "connect"
    runs_worker = True

    def __init__(self, settings: Settings, chat_model: BaseChatModel | None = None) -> None:
        super().__init__(chat_model or local_chat_model(settings), "local", LABEL)
        self.settings = settings

    @property
    def display(self) -> str:
        return f"{MODEL_NAME}, lokaal"

    def token_counter(self) -> Callable[[str], int]:
        """The bundled model's own vocabulary (loaded vocabulary-only in this process)."""
        model = self.chat_model
        if isinstance(model, LocalChatModel):
            return vocab_counter(model.vocab())
        return vocab_counter(vocab(ensure_model(self.settings.data_dir).path))

    def check(self) -> str:
        """Make sure the bundled model is assembled and its worker starts (`self_test`)."""
        bundle = ensure_model(self.settings.data_dir)
        return f"local model {bundle.path} ({bundle.status}); {self.self_test()}"

    def self_test(self) -> str:
        return self_test(self.settings)


def self_test(settings: Settings) -> str:
    """Start the local model worker (assembling the model if needed) and generate a few tokens
    in it; a crashing runtime becomes a ModelError naming the cause and the fix."""
    server = local_chat_model(settings).server()
    server.ensure()
    return f"worker pid {server.pid} on {server.base_url}, ready in {server.last_start_s:.1f} s"


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
