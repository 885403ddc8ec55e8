"""Sentence scoring for evidence selection (`app.drafting.evidence`): cached passage vectors,
BM25 over candidate sentences, a few policy-Dutch near-synonyms and 0..1 scaling.

Nothing here knows about parts or precedents: it scores texts.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from app.text import terms

BM25_K1, BM25_B = 1.2, 0.75
_CACHE_LIMIT = 20000


class Embeds(Protocol):
    """What evidence selection needs from `app.index.embeddings.KVEmbeddings`."""

    def passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def query_vector(self, text: str) -> np.ndarray: ...


_cache: dict[str, np.ndarray] = {}
_cache_lock = threading.Lock()


def sentence_vectors(embeddings: Embeds, texts: Sequence[str]) -> np.ndarray:
    """Passage vectors of `texts`, cached in-process (precedent sentences recur across
    questions, parts and letters)."""
    with _cache_lock:
        todo = [t for t in dict.fromkeys(texts) if t not in _cache]
    if todo:
        vecs = embeddings.passages(todo)
        with _cache_lock:
            if len(_cache) > _CACHE_LIMIT:
                _cache.clear()
            _cache.update(zip(todo, vecs, strict=True))
    with _cache_lock:
        return np.stack([_cache[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)


def bm25(query: list[str], docs: list[list[str]]) -> np.ndarray:
    n = len(docs)
    if not n:
        return np.zeros(0)
    avg = sum(len(d) for d in docs) / n or 1.0
    df: dict[str, int] = {}
    for d in docs:
        for t in set(d):
            df[t] = df.get(t, 0) + 1
    out = np.zeros(n)
    for i, d in enumerate(docs):
        tf: dict[str, int] = {}
        for t in d:
            tf[t] = tf.get(t, 0) + 1
        for t in set(query):
            if t in tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                f = tf[t]
                out[i] += (
                    idf * f * (BM25_K1 + 1) / (f + BM25_K1 * (1 - BM25_B + BM25_B * len(d) / avg))
                )
    return out


def window(sentences: Sequence[str], i: int) -> str:
    """A sentence with the one before it: what "hiervoor" or "deze consortia" points at."""
    return " ".join(sentences[max(0, i - 1) : i + 1])


_SYNONYMS = {
    k: tuple(terms(v))
    for k, v in {
        "geld": "middelen financiering budget bijdragen",
        "middelen": "geld financiering budget",
        "budget": "middelen geld",
        "financiering": "middelen geld",
        "kosten": "middelen budget",
        "bedrijven": "ondernemers mkb",
        "ondernemers": "bedrijven mkb",
        "boeren": "agrarische ondernemers agrifood",
        "gemeenten": "overheden",
    }.items()
}
_SYN = {terms(k)[0]: v for k, v in _SYNONYMS.items() if terms(k)}


def expand(words: list[str]) -> list[str]:
    """Stemmed words plus a few policy-Dutch near-synonyms ("geld" → "middelen")."""
    return words + [s for w in words for s in _SYN.get(w, ())]


def scale(x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return x
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
