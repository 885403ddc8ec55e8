"""The chat-model factory against real models: the bundled GGUF in its supervised worker process
(`app.writers.local_server`), and the same GGUF behind a real OpenAI-compatible server
(`python -m llama_cpp.server`) on 127.0.0.1 that the test starts itself.

The assembled model is shared by the whole session in the repository's default data dir
(`data/models/`, git-ignored), so it is built at most once per checkout, not once per test.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import math
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from app.drafting.prompt import build_messages
from app.errors import ConfigError, ModelError
from app.letters.parse import find_letter_files, parse_file
from app.records import Precedent
from app.settings import ROOT, Settings
from app.writers import local, openai
from app.writers.base import ChatWriter
from app.writers.extractive import ExtractiveWriter
from app.writers.factory import make_writer
from app.writers.local import LocalChatModel, LocalWriter, local_chat_model, prompt_tokens
from app.writers.model_bundle import ensure_model
from app.writers.openai import openai_chat_model
from app.writers.tokens import REMOTE_TOKEN_FACTOR, count_tokens
from tests.conftest import free_port, stop_process

SHARED_DATA = ROOT / "data"
MESSAGES = [
    SystemMessage("Je bent een beleidsmedewerker. Antwoord kort, in het Nederlands."),
    HumanMessage("Wat is de hoofdstad van Nederland?"),
]


@pytest.fixture(scope="session")
def bundled_model() -> Path:
    """The assembled bundled GGUF (assembled once into data/models/ if missing, ~5 s)."""
    return ensure_model(SHARED_DATA).path


def _settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"data_dir": SHARED_DATA, "context_tokens": 2048, "local_threads": 2}
    return Settings(_env_file=None, **(base | overrides))  # type: ignore[call-arg]


# -- (a) local provider: the real bundled model in its worker process ---------------------------


@pytest.mark.slow
def test_local_invoke_answers_in_dutch(bundled_model: Path) -> None:
    model = local_chat_model(_settings(provider="local"))
    assert isinstance(model, LocalChatModel)
    reply = model.invoke(MESSAGES, max_tokens=24)
    assert isinstance(reply.content, str) and reply.content.strip()
    # llama.cpp's server sends no usage in a stream (the wrapper streams underneath): count
    # the answer with the model's own vocabulary to see that max_tokens held.
    counter = LocalWriter(_settings(provider="local"), model).token_counter()
    assert 0 < counter(reply.content) <= 25
    assert reply.response_metadata["finish_reason"] in {"stop", "length"}


@pytest.mark.slow
def test_local_stream_yields_chunks(bundled_model: Path) -> None:
    model = local_chat_model(_settings(provider="local"))
    chunks = list(model.stream(MESSAGES, max_tokens=24))
    texts = [str(c.content) for c in chunks if c.content]
    assert len(texts) > 1
    assert "".join(texts).strip()


@pytest.mark.slow
def test_local_concurrent_users_both_get_answers(bundled_model: Path) -> None:
    settings = _settings(provider="local")
    model = local_chat_model(settings)
    answers: dict[int, str] = {}
    errors: list[BaseException] = []

    def ask(i: int) -> None:
        try:
            answers[i] = str(model.invoke(MESSAGES, max_tokens=16).content)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    assert set(answers) == {0, 1} and all(a.strip() for a in answers.values())
    assert isinstance(model, LocalChatModel)
    assert model.server().starts == 1  # one worker served both (they queued in it)


@pytest.mark.slow
def test_local_slow_model_gives_model_error(bundled_model: Path) -> None:
    model = local_chat_model(_settings(provider="local", llm_timeout_s=0.3))
    assert isinstance(model, LocalChatModel)
    model.server().ensure()  # started (and self-tested) outside the request's time limit
    with pytest.raises(ModelError, match=r"did not answer within 0\.3 s"):
        model.invoke([HumanMessage("Vertel een lang verhaal over de Tweede Kamer.")])


@pytest.mark.slow
def test_local_context_overflow_gives_model_error(bundled_model: Path) -> None:
    model = local_chat_model(_settings(provider="local"))
    with pytest.raises(ModelError, match="KV_CONTEXT_TOKENS"):
        model.invoke([HumanMessage("kamervraag " * 3000)], max_tokens=4)


# -- (b) openai provider against a real llama.cpp server -----------------------------------------


@pytest.fixture(scope="module")
def llama_server(bundled_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    with log_path.open("w") as log:  # a file, not a pipe: a full pipe would stall the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("llama_cpp.server did not come up within 120 s")
                time.sleep(0.3)
        yield base
    finally:
        stop_process(proc, timeout=15)


@pytest.mark.slow
def test_openai_provider_invoke(llama_server: str) -> None:
    settings = _settings(provider="openai", openai_base_url=llama_server, max_answer_tokens=8)
    reply = openai_chat_model(settings).invoke(MESSAGES)
    assert isinstance(reply.content, str) and reply.content.strip()
    assert reply.usage_metadata is not None
    # the token limit reached the server (ChatOpenAI's max_completion_tokens would be ignored)
    assert 0 < reply.usage_metadata["output_tokens"] <= 8


@pytest.mark.slow
def test_openai_provider_stream(llama_server: str) -> None:
    settings = _settings(provider="openai", openai_base_url=llama_server, max_answer_tokens=16)
    texts = [str(c.content) for c in openai_chat_model(settings).stream(MESSAGES) if c.content]
    assert len(texts) > 1
    assert "".join(texts).strip()


@pytest.mark.slow
def test_check_endpoint_lists_served_models(llama_server: str) -> None:
    settings = _settings(provider="openai", openai_base_url=llama_server)
    assert "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf" in make_writer(settings).check()


# -- (c) unreachable and misbehaving endpoints ---------------------------------------------------


def test_closed_port_gives_model_error_with_fix() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there any more
    settings = _settings(provider="openai", openai_base_url=url, llm_max_retries=0, llm_timeout_s=5)
    model = openai_chat_model(settings)
    for call in (lambda: model.invoke(MESSAGES), lambda: list(model.stream(MESSAGES))):
        with pytest.raises(ModelError) as info:
            call()
        message = str(info.value)
        assert f"cannot reach the LLM endpoint at {url} (connection refused)" in message
        assert "KV_OPENAI_BASE_URL" in message and "--provider local/extractive" in message
    with pytest.raises(ModelError, match="connection refused"):
        make_writer(settings).check()


class _BadServer(http.server.BaseHTTPRequestHandler):
    """A real HTTP server that misbehaves according to the request path's first segment."""

    def do_POST(self) -> None:
        mode = self.path.split("/")[1]
        if mode == "slow":
            time.sleep(2)
        body = b'{"error": "boom"}' if mode == "error500" else b'{"hello": "world"}'
        self.send_response(500 if mode == "error500" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the "slow" client has given up already
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def bad_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BadServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("error500", "failed with HTTP 500 .*boom"),
        ("malformed", "not an OpenAI chat completion"),
        ("slow", "did not answer within 0.5 s"),
    ],
)
def test_misbehaving_endpoint_gives_model_error(bad_server: str, mode: str, expected: str) -> None:
    settings = _settings(
        provider="openai",
        openai_base_url=f"{bad_server}/{mode}/v1",
        llm_max_retries=0,
        llm_timeout_s=0.5,
    )
    model = openai_chat_model(settings)
    with pytest.raises(ModelError, match=expected):
        model.invoke(MESSAGES)
    with pytest.raises(ModelError, match=expected):
        list(model.stream(MESSAGES))


# -- (d) configuration ---------------------------------------------------------------------------


def test_missing_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="KV_OPENAI_BASE_URL"):
        openai_chat_model(_settings(provider="openai", openai_base_url=None))
    with pytest.raises(ConfigError, match="KV_OPENAI_BASE_URL"):
        make_writer(_settings(provider="local"), "openai")


def test_extractive_has_no_chat_model() -> None:
    writer = make_writer(_settings(provider="extractive"))
    assert not writer.uses_model and writer.default_design is None
    with pytest.raises(ConfigError, match="extractive"):
        writer.invoke(MESSAGES)
    assert writer.check().startswith("extractive")


def test_model_name_for_audit_log_has_no_secrets() -> None:
    settings = _settings(
        openai_base_url="https://user:s3cret@llm.example.nl:8443/v1", openai_model="qwen2.5-72b"
    )
    expected = "openai:qwen2.5-72b@https://llm.example.nl:8443/v1"
    assert make_writer(settings, "openai").label == openai.label(settings) == expected
    assert local.LABEL.startswith("local:qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert ExtractiveWriter().label == "extractive"


def test_api_key_defaults_to_dummy_for_local_servers() -> None:
    model = openai_chat_model(_settings(provider="openai", openai_base_url="http://127.0.0.1:1/v1"))
    assert model.openai_api_key.get_secret_value() == "not-needed"  # type: ignore[attr-defined]


# -- token counting for prompt packing -------------------------------------------------------------


def test_remote_counter_is_o200k_times_the_safety_factor() -> None:
    """openai/extractive, and any chat model that is not the bundled one (a fake here), count
    o200k tokens x REMOTE_TOKEN_FACTOR - and never load the local model to do so."""
    text = "De Autoriteit Persoonsgegevens houdt toezicht op algoritmes."
    expected = math.ceil(count_tokens(text) * REMOTE_TOKEN_FACTOR)
    settings = _settings(provider="local", openai_base_url="http://127.0.0.1:1/v1")
    assert make_writer(settings, "openai").token_counter()(text) == expected
    assert make_writer(settings, "extractive").token_counter()(text) == expected
    fake = GenericFakeChatModel(messages=iter([]))
    writer = make_writer(settings, "local", fake)
    assert isinstance(writer, ChatWriter) and writer.token_counter()(text) == expected


@pytest.mark.slow
def test_local_prompt_from_the_longest_precedents_fits_the_context(bundled_model: Path) -> None:
    """The eval's failure (4,442 of 4,096 tokens): pack the longest corpus answers, five at a
    time (the 60 longest, in windows), with the local model's own tokenizer; render the
    messages with its chat template and count. Each prompt leaves room for the answer."""
    settings = _settings(provider="local", context_tokens=4096)
    items = [
        (letter, item)
        for path in find_letter_files([ROOT / "corpus" / "letters"])
        for letter in [parse_file(path)]
        for item in letter.items
    ]
    items.sort(key=lambda li: len(li[1].answer), reverse=True)
    question = max((i.question for _, i in items), key=len)
    counter = LocalWriter(settings).token_counter()
    # The in-process vocabulary counts what the worker's own tokenizer counts.
    model = local_chat_model(settings)
    assert isinstance(model, LocalChatModel)
    base = model.server().ensure().removesuffix("/v1")
    sample = "De Autoriteit Persoonsgegevens houdt toezicht op algoritmes."
    request = urllib.request.Request(
        f"{base}/extras/tokenize",
        data=json.dumps({"input": sample, "model": "local"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as r:
        served = json.loads(r.read())["tokens"]
    assert counter(sample) == len(served) > 5
    room = settings.context_tokens - settings.max_answer_tokens
    worst_o200k = 0
    for start in range(0, 60, settings.top_k):
        precedents = [
            Precedent(
                letter.item_id(item),
                letter.id,
                item.numbers,
                item.question,
                item.answer,
                1.0,
                title=letter.title,
                date=letter.date,
            )
            for letter, item in items[start : start + settings.top_k]
        ]
        messages, omitted = build_messages(question, precedents, settings, count_tokens=counter)
        used = prompt_tokens(settings, messages)
        plain, _ = build_messages(question, precedents, settings)  # the old o200k packing
        worst_o200k = max(worst_o200k, prompt_tokens(settings, plain))
        print(f"answers {start}-{start + 4}: {used} prompt tokens, {len(omitted)} omitted")
        assert len(omitted) < len(precedents)
        assert used <= room, f"{used} prompt tokens leave no {settings.max_answer_tokens} to answer"
    print(f"o200k packing: up to {worst_o200k} prompt tokens (room: {room})")
    assert worst_o200k > room, "the windows no longer reproduce the overflow this test guards"
