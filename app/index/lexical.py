"""BM25 over the stored QA items (question + answer), with Dutch stemming and stopwords.

Dense retrieval misses exact terms a ministry cares about (a law's name, "Wbtr", "NFIA", a zaak
number); BM25 catches them. Tokens: lower-cased word runs of 2+ characters (digits kept, so
"2024" and "30%" still match), a Dutch stopword list (bm25s' Snowball list plus parliamentary
boilerplate such as "bent u bekend met het bericht"), then the Snowball "dutch" stemmer.

Persist or rebuild? A `kv search` is one process per question, and rebuilding would cost every
search seconds from a few thousand items on, loading the saved index far less (measured with
scripts/bench_retrieval.py: docs/measurements.md#bm25-persistence). The index is therefore saved
beside the store (data_dir/bm25/<collection>) and loaded, but only when it was saved for the
store's current version (a token the store changes on every write, read fresh from Chroma). So
it is never stale, also when another process or machine wrote to a shared Chroma server;
otherwise it is rebuilt from the store and saved.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_DUTCH

from app.records import Precedent

log = logging.getLogger(__name__)

_EXTRA_STOPWORDS = (
    # question boilerplate: present in most questions, says nothing about the subject
    "bent", "kunt", "bekend", "bericht", "berichten", "artikel", "kent", "deelt", "mening",
    "waarom", "welke", "wanneer", "hoeveel", "kunnen", "zou", "zouden", "wilt", "graag",
    "toelichten", "aangeven", "vraag", "vragen", "antwoord", "heeft", "hebt", "worden", "wel",
    "u", "uw", "minister", "staatssecretaris", "kabinet", "ik", "wij", "we", "zullen", "zal",
    "deze", "dit", "die", "dat", "daarbij", "daarvan", "hierbij", "hierover", "daarover",
    "onder", "andere", "één", "twee", "ook", "nog", "nl", "www", "https", "http",
)  # fmt: skip
STOPWORDS = frozenset(STOPWORDS_DUTCH) | frozenset(_EXTRA_STOPWORDS)
_FIELDS = (
    "id", "letter_id", "numbers", "question", "answer", "fractie", "title", "date", "ministry",
)  # fmt: skip
_FORMAT = 1
_WORD = re.compile(r"\w\w+", re.UNICODE)
_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*(\w)")


class _Tokenizer:
    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("dutch")

    def __call__(self, text: str) -> list[str]:
        text = _HYPHEN_BREAK.sub(r"\1\2", text).lower()
        words = [w for w in _WORD.findall(text) if w not in STOPWORDS]
        return list(self._stemmer.stemWords(words))


def lexical_text(p: Precedent) -> str:
    return f"{p.question}\n{p.answer}"


class LexicalIndex:
    """An in-memory BM25 index over `records` (Precedents from the store)."""

    def __init__(self, records: Sequence[Precedent], bm25: Any = None) -> None:
        """Index `records`; `bm25` is an already built index over them (from `load`)."""
        t0 = time.perf_counter()
        # bm25s pins its logger to DEBUG on import; hand it back to the app's logging config.
        logging.getLogger("bm25s").setLevel(logging.NOTSET)
        self._tok = _Tokenizer()
        self.records = [replace(r, score=0.0) for r in records]
        self._row = {r.id: i for i, r in enumerate(self.records)}
        self._letters = np.array([r.letter_id for r in self.records], dtype=object)
        self._bm25: Any = bm25
        if self.records and bm25 is None:
            corpus = [self._tok(lexical_text(r)) or ["_"] for r in self.records]
            self._bm25 = bm25s.BM25()
            self._bm25.index(corpus, show_progress=False)
        self.build_s = time.perf_counter() - t0
        log.debug("BM25 over %d records ready in %.3fs", len(self.records), self.build_s)

    # -- persistence (a cache keyed by the store's version) ---------------------------------
    def save(self, folder: Path, version: str) -> None:
        """Write the index and its records to `folder`, tagged with the store `version`."""
        if self._bm25 is None:
            return
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self._bm25.save(str(tmp), show_progress=False)
        rows = [[getattr(r, f) for f in _FIELDS] for r in self.records]
        (tmp / "records.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        manifest = {"format": _FORMAT, "version": version, "count": len(self.records)}
        (tmp / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path, version: str) -> LexicalIndex | None:
        """The index saved in `folder` if it was saved for `version`; None otherwise (missing,
        stale or unreadable: the caller rebuilds)."""
        if not (folder / "manifest.json").exists():
            return None
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("format") != _FORMAT or manifest.get("version") != version:
                return None
            rows = json.loads((folder / "records.json").read_text(encoding="utf-8"))
            records = [Precedent(**dict(zip(_FIELDS, row, strict=True)), score=0.0) for row in rows]
            records = [replace(r, numbers=tuple(r.numbers)) for r in records]
            bm25 = bm25s.BM25.load(str(folder))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("BM25 cache in %s unusable (%s); rebuilding", folder, exc)
            return None
        if len(records) != manifest.get("count"):
            return None
        return cls(records, bm25=bm25)

    def __len__(self) -> int:
        return len(self.records)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every record (0 where no query term occurs)."""
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        ids = self._bm25.get_tokens_ids(self._tok(query))
        if not ids:
            return np.zeros(len(self.records), dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)

    def search(
        self,
        query: str,
        n: int,
        exclude_ids: Sequence[str] = (),
        exclude_letters: Sequence[str] = (),
    ) -> list[Precedent]:
        """Top `n` records with a positive score (`lexical_score`, `lexical_rank` set)."""
        return self.rank(self.scores(query), n, exclude_ids, exclude_letters)

    def get(self, item_id: str) -> Precedent | None:
        """The record of `item_id` as indexed (score 0), or None."""
        i = self._row.get(item_id)
        return None if i is None else self.records[i]

    def score_of(self, scores: np.ndarray, item_id: str) -> float | None:
        """`item_id`'s entry in a `scores()` array (None if the index does not hold it)."""
        i = self._row.get(item_id)
        return None if i is None or i >= len(scores) else float(scores[i])

    def rank(
        self,
        scores: np.ndarray,
        n: int,
        exclude_ids: Sequence[str] = (),
        exclude_letters: Sequence[str] = (),
    ) -> list[Precedent]:
        """Top `n` of a `scores()` array, leaving out the excluded items and letters."""
        scores = scores.copy()
        if not len(scores):
            return []
        for i in exclude_ids:
            if i in self._row:
                scores[self._row[i]] = 0.0
        if exclude_letters:
            scores[np.isin(self._letters, list(exclude_letters))] = 0.0
        n = min(n, int((scores > 0).sum()))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [
            replace(
                self.records[i],
                score=float(scores[i]),
                lexical_score=float(scores[i]),
                lexical_rank=rank,
            )
            for rank, i in enumerate(top, 1)
        ]
