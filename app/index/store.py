"""The vector store: one Chroma collection, one record per QA item.

Embedded `PersistentClient(data_dir/"chroma")` by default, `HttpClient` when `KV_CHROMA_HOST` is
set (opened by `app.index.chroma`, the only chromadb import); everything after opening the client
is the same code path.

Records (their id, metadata and document, and what is embedded) are described in
`app.index.chroma`.

The collection metadata records the embedding model, its dimension and the embedded-text scheme;
opening a store built differently raises `StoreError` telling the user to run
`kv ingest --rebuild`. Chroma results become `Precedent`s here (`app.index.chroma.to_precedent`)
and never leak further.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import ParseError, StoreError
from app.index.chroma import (
    EMBED_TEXT,
    EmbedText,
    KVChromaEmbeddingFunction,
    NotFoundError,
    clear_client_cache,
    embed_text,
    item_metadata,
    open_client,
    opt,
    to_precedent,
)
from app.index.embeddings import KVEmbeddings
from app.records import IndexedLetter, Letter, Precedent
from app.settings import Settings

log = logging.getLogger(__name__)

SCHEMA = 1
_PAGE = 5000
_LETTER_GUESS = 50
"""Items per excluded letter to over-fetch at first (real letters have 2-20)."""
REBUILD_HINT = "run `kv ingest --rebuild` to rebuild the index from the letters"


@dataclass
class UpsertResult:
    """What one `upsert_letter` changed (item ids)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class Store:
    """One Chroma collection of QA items. Opened lazily; all Chroma errors become StoreError."""

    def __init__(
        self, settings: Settings, embeddings: KVEmbeddings, scheme: EmbedText = EMBED_TEXT
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.scheme = scheme
        self.path = Path(settings.data_dir) / "chroma"
        self._client: Any = None
        self._coll: Any = None
        self._lock = threading.RLock()

    # -- opening --------------------------------------------------------------------------
    @property
    def location(self) -> str:
        s = self.settings
        return f"Chroma server {s.chroma_host}:{s.chroma_port}" if s.chroma_host else str(self.path)

    def _get_client(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            self._client = open_client(self.settings, self.path)
        except Exception as exc:
            self._forget_client()
            raise self._error("cannot be opened", exc) from exc
        return self._client

    def _forget_client(self) -> None:
        """Chroma caches one System per path; drop a broken one so a retry starts clean."""
        self._client = None
        self._coll = None
        if not self.settings.chroma_host:
            clear_client_cache()

    def _error(self, what: str, exc: BaseException) -> StoreError:
        msg = f"{exc.__class__.__name__}: {exc}".strip()
        if self.settings.chroma_host:
            fix = (
                "check that the server runs (`chroma run --path DIR --port "
                f"{self.settings.chroma_port}`) or unset KV_CHROMA_HOST to use the embedded store"
            )
        elif "readonly" in msg.lower() or "read-only" in msg.lower() or "permission" in msg.lower():
            fix = f"make {self.path} writable, or set KV_DATA_DIR to a writable folder"
        else:
            fix = REBUILD_HINT
        return StoreError(f"the index at {self.location} {what} ({msg[:300]}); {fix}")

    def _wanted_meta(self) -> dict[str, Any]:
        return {
            "kv_model": self.embeddings.model_id,
            "kv_dim": self.embeddings.dim,
            "kv_text": self.scheme,
            "kv_schema": SCHEMA,
        }

    def version(self) -> str:
        """A token that changes with every write (read fresh from Chroma, so a write by another
        process or machine shows); "" when there is no collection. Keys the BM25 cache."""
        if self._collection(create=False) is None:
            return ""
        try:
            coll = self._get_client().get_collection(
                self.settings.collection,
                embedding_function=KVChromaEmbeddingFunction(self.embeddings),
            )
        except Exception as exc:
            raise self._error("cannot be read", exc) from exc
        return str((coll.metadata or {}).get("kv_version", ""))

    def _bump_version(self, coll: Any) -> None:
        """Called after (never before) records change, so a reader that sees the new version
        also sees the new records."""
        coll.modify(metadata={**self._wanted_meta(), "kv_version": uuid.uuid4().hex})

    def _collection(self, create: bool) -> Any:
        """The collection, or None when it does not exist and `create` is False."""
        with self._lock:
            return self._open_collection(create)

    def _open_collection(self, create: bool) -> Any:
        if self._coll is not None:
            return self._coll
        if not create and not self.settings.chroma_host and not self.path.exists():
            return None
        client = self._get_client()
        ef = KVChromaEmbeddingFunction(self.embeddings)
        try:
            try:
                coll = client.get_collection(self.settings.collection, embedding_function=ef)
            except NotFoundError:
                if not create:
                    return None
                self._coll = client.create_collection(
                    self.settings.collection,
                    metadata={**self._wanted_meta(), "kv_version": uuid.uuid4().hex},
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=ef,
                )
                return self._coll
        except Exception as exc:
            self._forget_client()
            raise self._error("cannot be opened", exc) from exc
        have = dict(coll.metadata or {})
        want = self._wanted_meta()
        diff = [k for k in ("kv_model", "kv_dim", "kv_text", "kv_schema") if have.get(k) != want[k]]
        if diff:
            raise StoreError(
                f"the index at {self.location} was built with embedding model "
                f"{have.get('kv_model')!r} ({have.get('kv_dim')}-d, text {have.get('kv_text')!r}) "
                f"but the configured one is {want['kv_model']!r} ({want['kv_dim']}-d, text "
                f"{want['kv_text']!r}); {REBUILD_HINT}, or change KV_EMBEDDING_* back"
            )
        self._coll = coll
        return coll

    def reset(self) -> None:
        """Drop the collection (for `--rebuild`); removes an unreadable embedded store entirely."""
        try:
            with contextlib.suppress(NotFoundError):
                self._get_client().delete_collection(self.settings.collection)
        except Exception as exc:
            if self.settings.chroma_host:
                raise self._error("cannot be reset", exc) from exc
            log.warning("removing unreadable store %s (%s)", self.path, exc)
            self._forget_client()
            shutil.rmtree(self.path, ignore_errors=True)
        self._coll = None

    # -- reading --------------------------------------------------------------------------
    def count(self) -> int:
        coll = self._collection(create=False)
        return 0 if coll is None else int(coll.count())

    def _iter_rows(
        self, where: dict[str, Any] | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        coll = self._collection(create=False)
        if coll is None:
            return
        offset = 0
        while True:
            try:
                got = coll.get(where=where, include=["metadatas"], limit=_PAGE, offset=offset)
            except Exception as exc:
                raise self._error("cannot be read", exc) from exc
            yield from zip(got["ids"], got["metadatas"] or [], strict=True)
            if len(got["ids"]) < _PAGE:
                return
            offset += _PAGE

    def records(self) -> list[Precedent]:
        """Every stored item (score 0), e.g. to build the lexical index."""
        return [to_precedent(i, m) for i, m in self._iter_rows()]

    def get(self, ids: Sequence[str]) -> list[Precedent]:
        coll = self._collection(create=False)
        if coll is None or not ids:
            return []
        try:
            got = coll.get(ids=list(ids), include=["metadatas"])
        except Exception as exc:
            raise self._error("cannot be read", exc) from exc
        return [to_precedent(i, m) for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)]

    def similarities(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of `vector` to the stored vectors of `ids`."""
        coll = self._collection(create=False)
        if coll is None or not ids:
            return {}
        try:
            got = coll.get(ids=list(ids), include=["embeddings"])
        except Exception as exc:
            raise self._error("cannot be read", exc) from exc
        embs = got["embeddings"]
        if embs is None or not len(embs):
            return {}
        sims = np.asarray(embs, dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
        return {i: float(x) for i, x in zip(got["ids"], sims, strict=True)}

    def letters(self) -> list[IndexedLetter]:
        """What is indexed, one row per letter (sorted by id)."""
        seen: dict[str, IndexedLetter] = {}
        for _, m in self._iter_rows():
            lid = str(m["letter_id"])
            old = seen.get(lid)
            seen[lid] = IndexedLetter(
                id=lid,
                title=str(m.get("title") or ""),
                date=opt(m.get("date")),
                items=(old.items if old else 0) + 1,
                ministry=opt(m.get("ministry")),
                source=opt(m.get("source")),
            )
        return [seen[k] for k in sorted(seen)]

    def nearest(
        self,
        vector: np.ndarray,
        n: int,
        exclude_ids: Sequence[str] = (),
        exclude_letters: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        """Ids and cosine similarities of the `n` nearest items, best first.

        Exclusions are applied after the query (an item's letter is the part of its id before
        "#"), fetching more neighbours until `n` remain; that is exact, and faster than a Chroma
        `where` ($nin) filter, which builds an allow-list of every other record, or looking the
        excluded letters' items up first. Measured: docs/measurements.md#store-exclusions.
        """
        coll = self._collection(create=False)
        if coll is None:
            return []
        ids_out, letters_out = set(exclude_ids), set(exclude_letters)
        fetch = n + len(ids_out) + _LETTER_GUESS * len(letters_out)
        while True:
            try:
                res = coll.query(
                    query_embeddings=[np.asarray(vector, dtype=np.float32)],
                    n_results=max(1, fetch),
                    include=["distances"],
                )
            except Exception as exc:
                raise self._error("cannot be searched", exc) from exc
            got = list(zip(res["ids"][0], (res["distances"] or [[]])[0], strict=True))
            hits = [
                (i, 1.0 - float(d))
                for i, d in got
                if i not in ids_out and i.rsplit("#", 1)[0] not in letters_out
            ]
            if len(hits) >= n or len(got) < fetch:
                return hits[:n]
            fetch *= 2

    def query(
        self,
        vector: np.ndarray,
        n: int,
        exclude_ids: Sequence[str] = (),
        exclude_letters: Sequence[str] = (),
    ) -> list[Precedent]:
        """`nearest` as Precedents (`dense_score`, `dense_rank` set)."""
        hits = self.nearest(vector, n, exclude_ids, exclude_letters)
        by_id = {p.id: p for p in self.get([i for i, _ in hits])}
        return [
            replace(by_id[i], score=sim, dense_score=sim, dense_rank=rank)
            for rank, (i, sim) in enumerate(hits, 1)
            if i in by_id
        ]

    # -- writing --------------------------------------------------------------------------
    def upsert_letter(
        self,
        letter: Letter,
        vectors: np.ndarray | None = None,
    ) -> UpsertResult:
        """Make the store hold exactly `letter`'s items: add new ones, re-embed changed ones,
        delete ones the letter no longer has. `vectors` (one row per item) skips embedding."""
        coll = self._collection(create=True)
        result = UpsertResult()
        old = dict(self._iter_rows(where={"letter_id": letter.id}))
        ids, texts, metas = [], [], []
        for item in letter.items:
            iid = letter.item_id(item)
            text = embed_text(item, self.scheme)
            meta = item_metadata(letter, item, text)
            ids.append(iid)
            texts.append(text)
            metas.append(meta)
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ParseError(letter.source, f"question numbers {dup} occur twice; fix the letter")
        embed_idx: list[int] = []
        meta_idx: list[int] = []
        for k, (iid, meta) in enumerate(zip(ids, metas, strict=True)):
            prev = old.get(iid)
            if prev is None:
                result.added.append(iid)
                embed_idx.append(k)
            elif prev.get("hash") == meta["hash"] and vectors is None:
                result.unchanged.append(iid)
            else:
                result.updated.append(iid)
                (
                    meta_idx
                    if prev.get("text_hash") == meta["text_hash"] and vectors is None
                    else embed_idx
                ).append(k)
        result.deleted = sorted(set(old) - set(ids))
        try:
            if embed_idx:
                vecs = (
                    np.asarray(vectors, dtype=np.float32)[embed_idx]
                    if vectors is not None
                    else self.embeddings.passages([texts[k] for k in embed_idx])
                )
                step = max(1, min(self._get_client().get_max_batch_size(), _PAGE))
                for a in range(0, len(embed_idx), step):
                    part = embed_idx[a : a + step]
                    coll.upsert(
                        ids=[ids[k] for k in part],
                        embeddings=vecs[a : a + step],
                        documents=[texts[k] for k in part],
                        metadatas=[metas[k] for k in part],
                    )
            if meta_idx:
                coll.update(ids=[ids[k] for k in meta_idx], metadatas=[metas[k] for k in meta_idx])
            if result.deleted:
                coll.delete(ids=result.deleted)
            if result.added or result.updated or result.deleted:
                self._bump_version(coll)
        except StoreError:
            raise
        except Exception as exc:
            raise self._error("cannot be written", exc) from exc
        return result

    def delete_letter(self, letter_id: str) -> int:
        """Remove every item of `letter_id`; returns how many."""
        coll = self._collection(create=False)
        if coll is None:
            return 0
        ids = [i for i, _ in self._iter_rows(where={"letter_id": letter_id})]
        if ids:
            try:
                coll.delete(ids=ids)
                self._bump_version(coll)
            except Exception as exc:
                raise self._error("cannot be written", exc) from exc
        return len(ids)
