"""The Chroma edge: the only module that imports chromadb.

Opens the client (embedded `PersistentClient` or `HttpClient`), adapts our embeddings to Chroma's
`EmbeddingFunction`, and maps a QA item to a record's metadata and a stored record back to a
`Precedent`. The store logic (`app.index.store.Store`) sits on top of this.

Records: id `<letter-id>#<numbers>`, metadata with the letter's id/title/date/ministry/source, the
item's fractie, numbers ("4,5"), full question and answer, and two hashes so that re-ingesting an
unchanged letter embeds nothing. The document is the text that was embedded.

What is embedded (`EMBED_TEXT`, `embed_text`): question+answer ("qa"), best or nearly so on every
measure of `kv eval retrieval --embed qa,q,a` (question-only loses on linked items, answer-only
on paraphrases; small differences on a small set). Measured: docs/measurements.md#embedded-text.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import chromadb
from chromadb.api.types import Documents, EmbeddingFunction
from chromadb.api.types import Embeddings as ChromaEmbeddings
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError
from chromadb.utils.embedding_functions import register_embedding_function

from app.index.embeddings import KVEmbeddings, embeddings_config, embeddings_from_config
from app.records import Letter, Precedent, QAItem
from app.settings import Settings

__all__ = [
    "EMBED_TEXT",
    "EmbedText",
    "KVChromaEmbeddingFunction",
    "NotFoundError",
    "clear_client_cache",
    "embed_text",
    "item_metadata",
    "open_client",
    "opt",
    "to_precedent",
]

EmbedText = Literal["q", "a", "qa"]
EMBED_TEXT: EmbedText = "qa"


def open_client(settings: Settings, path: Path) -> Any:
    """A Chroma client: `HttpClient` when `KV_CHROMA_HOST` is set, else embedded at `path`."""
    cs = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(
            host=settings.chroma_host, port=settings.chroma_port, settings=cs
        )
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=cs)


def clear_client_cache() -> None:
    """Chroma caches one System per path; drop them so a retry after a failure starts clean."""
    chromadb.api.client.SharedSystemClient.clear_system_cache()


@register_embedding_function
class KVChromaEmbeddingFunction(EmbeddingFunction[Documents]):
    """Our embeddings as a Chroma `EmbeddingFunction`.

    Registered under `name()` so that Chroma rebuilds it from the collection's stored config when
    the collection is reopened; otherwise Chroma would fall back to its default ONNX model, which
    downloads at first use and fails offline.
    """

    def __init__(self, embeddings: KVEmbeddings) -> None:
        self._emb = embeddings

    def __call__(self, input: Documents) -> ChromaEmbeddings:
        return list(self._emb.passages(list(input)))

    def embed_query(self, input: Documents) -> ChromaEmbeddings:
        return [self._emb.query_vector(t) for t in input]

    @staticmethod
    def name() -> str:
        return "kamervragen-assistent"

    def get_config(self) -> dict[str, Any]:
        return embeddings_config(self._emb)

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> KVChromaEmbeddingFunction:
        return KVChromaEmbeddingFunction(embeddings_from_config(config))

    def default_space(self) -> Literal["cosine"]:
        return "cosine"

    def supported_spaces(self) -> list[Literal["cosine", "l2", "ip"]]:
        return ["cosine"]


def embed_text(item: QAItem, scheme: EmbedText = EMBED_TEXT) -> str:
    """The text whose vector represents `item` (see the module docstring for the choice)."""
    if scheme == "q":
        return item.question
    if scheme == "a":
        return item.answer
    return f"{item.question}\n\n{item.answer}"


def _sha(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def item_metadata(letter: Letter, item: QAItem, text: str) -> dict[str, Any]:
    """The record's metadata: the letter's and the item's fields and the two change hashes
    (`text_hash` of the embedded text, `hash` of everything)."""
    meta: dict[str, Any] = {
        "item_id": letter.item_id(item),
        "letter_id": letter.id,
        "title": letter.title,
        "date": letter.date or "",
        "ministry": letter.ministry or "",
        "source": letter.source,
        "fractie": item.fractie or "",
        "numbers": ",".join(str(n) for n in item.numbers),
        "question": item.question,
        "answer": item.answer,
    }
    meta["text_hash"] = _sha(text)
    meta["hash"] = _sha(text, *(f"{k}={meta[k]}" for k in sorted(meta)))
    return meta


def opt(v: Any) -> str | None:
    """A stored metadata value, or None for missing/empty (Chroma stores no None)."""
    return str(v) if v not in (None, "") else None


def to_precedent(item_id: str, m: Any) -> Precedent:
    """A stored record (id and metadata) as a `Precedent`; `Store.query` adds its scores."""
    numbers = tuple(int(n) for n in str(m.get("numbers") or "").split(",") if n.strip())
    return Precedent(
        id=item_id,
        letter_id=str(m.get("letter_id") or item_id.split("#")[0]),
        numbers=numbers,
        question=str(m.get("question") or ""),
        answer=str(m.get("answer") or ""),
        score=0.0,
        fractie=opt(m.get("fractie")),
        title=opt(m.get("title")),
        date=opt(m.get("date")),
        ministry=opt(m.get("ministry")),
    )
