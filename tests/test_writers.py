"""One writer class per provider, chosen by one factory; nobody else asks which provider it is."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage

import app.writers.local
from app.errors import ConfigError
from app.settings import ROOT, Settings
from app.writers.base import ChatWriter
from app.writers.extractive import ExtractiveWriter
from app.writers.factory import make_writer
from app.writers.local import LocalWriter
from app.writers.openai import OpenAIWriter


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **kw)  # type: ignore[call-arg]


def test_the_factory_gives_each_provider_its_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = GenericFakeChatModel(messages=iter([]))
    monkeypatch.setattr(app.writers.local, "local_chat_model", lambda settings: fake)
    s = _settings(tmp_path, openai_base_url="http://127.0.0.1:1/v1", openai_model="m")
    local = make_writer(s, "local")
    assert isinstance(local, LocalWriter) and local.default_design == "connect"
    assert local.provider == "local" and local.label.startswith("local:") and local.runs_worker
    remote = make_writer(s, "openai")
    assert isinstance(remote, OpenAIWriter) and remote.default_design == "free"
    assert (
        remote.label == "openai:m@http://127.0.0.1:1/v1"
        and remote.display == "m@http://127.0.0.1:1/v1"
    )
    extractive = make_writer(s, "extractive")
    assert isinstance(extractive, ExtractiveWriter) and extractive.default_design is None
    assert not extractive.uses_model and extractive.label == "extractive"
    assert make_writer(s.model_copy(update={"provider": "extractive"})).provider == "extractive"
    with pytest.raises(ConfigError, match="unknown provider"):
        make_writer(s, "llama")


def test_a_handed_in_chat_model_gets_the_generic_writer(tmp_path: Path) -> None:
    fake = GenericFakeChatModel(messages=iter([AIMessage(content="Antwoord [1].")]))
    writer = make_writer(_settings(tmp_path), "local", fake)
    assert type(writer) is ChatWriter and writer.default_design == "free"
    assert writer.provider == "local" and writer.label == "GenericFakeChatModel"
    assert writer.uses_model and not writer.runs_worker
    assert writer.invoke([HumanMessage("vraag")], max_tokens=5) == "Antwoord [1]."
    # extractive needs no model, whatever is handed in
    assert isinstance(make_writer(_settings(tmp_path), "extractive", fake), ExtractiveWriter)


def test_extractive_has_no_design_and_writes_nothing(tmp_path: Path) -> None:
    writer = make_writer(_settings(tmp_path), "extractive")
    assert writer.default_design is None and not writer.uses_model
    with pytest.raises(ConfigError, match="without a chat model"):
        writer.invoke([HumanMessage("vraag")])


def _sources(*parts: str) -> list[Path]:
    return [p for part in parts for p in sorted((ROOT / part).rglob("*.py"))]


def test_provider_names_are_compared_only_in_the_factory() -> None:
    pattern = re.compile(
        r"\bprovider\s*[!=]=|[!=]=\s*[\"'](?:local|openai|extractive)[\"']|__module__"
    )
    found = [
        str(p.relative_to(ROOT))
        for p in _sources("app", "evals")
        if pattern.search(p.read_text(encoding="utf-8"))
    ]
    # app/index/embeddings.py compares the *embedding* provider (KV_EMBEDDING_PROVIDER)
    assert [f for f in found if f != "app/index/embeddings.py"] == ["app/writers/factory.py"]


def test_langchain_chat_models_are_imported_only_under_app_writers() -> None:
    vendors = ("langchain_core.language_models", "langchain_openai")
    outside = []
    for path in _sources("app", "evals"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            for name in names:
                if name.startswith(vendors) and not path.is_relative_to(ROOT / "app" / "writers"):
                    outside.append(f"{path.relative_to(ROOT)}: {name}")
    assert outside == []
