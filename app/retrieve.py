"""Question → ranked Precedents: dense (Chroma + embeddings), BM25, or both fused.

Hybrid = reciprocal-rank fusion (Cormack et al. 2009): score(d) = Σ 1 / (RRF_K + rank_i(d)) over
the dense and the BM25 ranking, each taken over a candidate pool larger than k (`pool_size`).
RRF needs no score calibration between cosine and BM25, which live on unrelated scales; RRF_K=60
is the constant from the paper, which damps the difference between rank 1 and rank 2 so that an
item ranked well by both methods beats one ranked first by only one.

Hybrid is the default: it does not beat the better single method here, but it is never the weak
one (BM25 wins on exact wording, dense on paraphrases), and new questions come in both kinds.
Measured (`kv eval retrieval`): docs/measurements.md#retrieval-modes.

Every Precedent returned carries both raw signals where known (`dense_score`, `lexical_score`,
`dense_rank`, `lexical_rank`), so `has_precedent` and the UI can explain a ranking.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from app.errors import InputError
from app.index.embeddings import KVEmbeddings, get_embeddings
from app.index.lexical import LexicalIndex
from app.index.store import Store
from app.records import Precedent
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from app.index.ingest import IngestResult

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
RRF_K = 60
MIN_POOL = 50

# "No precedent" thresholds, calibrated with `kv eval retrieval` (on-topic against off-topic
# questions). The margins are small (e5 cosines are compressed) and BM25 scores grow with the
# corpus: re-run the eval after a large ingest.
# Measured: docs/measurements.md#no-precedent-thresholds
DENSE_MIN = 0.87
"""Best cosine (query vs question+answer) at or above which a precedent is assumed."""
LEXICAL_MIN = 5.0
"""Best BM25 score at or above which a precedent is assumed."""


def pool_size(k: int) -> int:
    return max(MIN_POOL, 4 * k)


def has_precedent(
    precedents: Sequence[Precedent], dense_min: float = DENSE_MIN, lexical_min: float = LEXICAL_MIN
) -> bool:
    """False when nothing retrieved is close enough to count as prior cabinet policy.

    Rule: no precedent when the best cosine similarity is below `dense_min` AND the best BM25
    score is below `lexical_min`; either signal alone is enough to keep a precedent, because
    dense catches paraphrases and BM25 catches exact names and terms. A signal that was not
    computed (None, e.g. lexical-only search) does not count.
    """
    dense = [p.dense_score for p in precedents if p.dense_score is not None]
    lexical = [p.lexical_score for p in precedents if p.lexical_score is not None]
    return bool((dense and max(dense) >= dense_min) or (lexical and max(lexical) >= lexical_min))


def rrf(rankings: Sequence[Sequence[str]], k_const: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion of rankings (ids, best first) → (id, fused score), best first;
    ties go to the id with the better single rank."""
    fused: dict[str, float] = {}
    best: dict[str, int] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking, 1):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (k_const + rank)
            best[pid] = min(best.get(pid, rank), rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], best[kv[0]], kv[0]))


class Retriever:
    """Search over one store. The BM25 index is loaded (or rebuilt) on first use; call
    `refresh()` after writing to the store from this process."""

    def __init__(self, store: Store, embeddings: KVEmbeddings) -> None:
        self.store = store
        self.embeddings = embeddings
        self._lexical: LexicalIndex | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Retriever:
        s = settings or get_settings()
        emb = get_embeddings(s)
        return cls(Store(s, emb), emb)

    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 index: loaded from the cache beside the store when it was saved for the
        store's current version, else rebuilt from the store's records and saved."""
        with self._lock:
            if self._lexical is None:
                t0 = time.perf_counter()
                version = self.store.version()
                settings = self.store.settings
                folder = Path(settings.data_dir) / "bm25" / settings.collection
                index = LexicalIndex.load(folder, version) if version else None
                how = "loaded"
                if index is None:
                    index = LexicalIndex(self.store.records())
                    how = "rebuilt"
                    if version and len(index):
                        try:
                            index.save(folder, version)
                        except OSError as exc:
                            log.warning("could not cache the BM25 index in %s: %s", folder, exc)
                self._lexical = index
                log.info(
                    "BM25 index %s: %d records in %.2fs",
                    how,
                    len(index),
                    time.perf_counter() - t0,
                )
            return self._lexical

    def refresh(self) -> None:
        """Forget the BM25 index (call after the store changed)."""
        with self._lock:
            self._lexical = None

    def ensure_indexed(
        self, progress: Callable[[int, int, str], None] | None = None
    ) -> IngestResult | None:
        """Index `settings.corpus_dir` when the store is empty; None when nothing was needed."""
        if self.store.count() > 0:
            return None
        from app.index.ingest import ingest

        result = ingest([self.store.settings.corpus_dir], self.store, progress=progress)
        self.refresh()
        return result

    def search(
        self,
        question: str,
        k: int = 5,
        exclude_ids: Sequence[str] = (),
        exclude_letters: Sequence[str] = (),
        mode: Mode = "hybrid",
        query_vector: np.ndarray | None = None,
    ) -> list[Precedent]:
        """The `k` best precedents for `question` (see the module docstring for the modes).

        `query_vector`: the question's embedding when the caller already has it (benchmarks,
        several searches for one question)."""
        question = question.strip()
        if not question:
            raise InputError("the question is empty; give the text of a parliamentary question")
        if mode not in MODES:
            raise InputError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        if k < 1:
            raise InputError(f"k must be at least 1 (got {k})")
        t0 = time.perf_counter()
        n = pool_size(k)
        if mode == "lexical":
            out = self.lexical.search(question, n, exclude_ids, exclude_letters)[:k]
        else:
            vec = self.embeddings.query_vector(question) if query_vector is None else query_vector
            if mode == "dense":
                out = self.store.query(vec, n, exclude_ids, exclude_letters)[:k]
            else:
                out = self._hybrid(question, vec, k, n, exclude_ids, exclude_letters)
        log.info(
            "search mode=%s k=%d -> %s (%.0f ms)",
            mode,
            k,
            [p.id for p in out],
            1000 * (time.perf_counter() - t0),
        )
        return out

    def _hybrid(
        self,
        question: str,
        vec: np.ndarray,
        k: int,
        n: int,
        exclude_ids: Sequence[str],
        exclude_letters: Sequence[str],
    ) -> list[Precedent]:
        """RRF over the dense and BM25 pools. Records come from the BM25 index (already in
        memory), so Chroma only returns ids and distances; every result gets both scores, also
        when it was outside one pool (its rank there stays None)."""
        lex = self.lexical  # one index for the whole search, even if refresh() runs meanwhile
        dense = self.store.nearest(vec, n, exclude_ids, exclude_letters)
        scores = lex.scores(question)
        lexical = lex.rank(scores, n, exclude_ids, exclude_letters)
        fused = rrf([[i for i, _ in dense], [p.id for p in lexical]])[:k]
        ids = [i for i, _ in fused]
        d_rank = {i: r for r, (i, _) in enumerate(dense, 1)}
        d_score = dict(dense)
        d_score.update(self.store.similarities(vec, [i for i in ids if i not in d_score]))
        l_rank = {p.id: p.lexical_rank for p in lexical}
        records = {i: r for i in ids if (r := lex.get(i)) is not None}
        records.update({p.id: p for p in self.store.get([i for i in ids if i not in records])})
        return [
            replace(
                records[i],
                score=score,
                dense_score=d_score.get(i),
                dense_rank=d_rank.get(i),
                lexical_score=lex.score_of(scores, i),
                lexical_rank=l_rank.get(i),
            )
            for i, score in fused
            if i in records
        ]
