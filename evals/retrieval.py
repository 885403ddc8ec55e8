"""Retrieval eval: does a question find the earlier answers that state the same position?

Ground truth is derived from the texts, not hand-labelled, so it is reproducible: two QA items are
*linked* when their answers share a run of at least `MIN_RUN` (12) consecutive normalised words
(lower-cased word characters, PDF hyphenation joined). A run that occurs in more than
`BOILERPLATE_SHARE` (5 %) of the letters, and in at least 3, is boilerplate (page footers,
standard closing lines) and links nothing. The links are written to `evals/links.json`
(`kv eval retrieval --derive-links` regenerates it).

Leave-one-out: for every linked item, search with its question while excluding that item, and
score the rank of the first linked item: hit@1/3/5 and MRR (over the top 10) for dense, BM25 and
hybrid. `--embed q,a,qa` compares what the store embeds (question, answer, both).

It also calibrates the "no precedent" rule (`app.retrieve.has_precedent`): positives are the
linked items' questions (leave-one-out) and the paraphrases in `evals/retrieval_queries.json`;
negatives are the off-topic questions there. It reports the best dense and BM25 score of each
group and how the current thresholds classify them.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.index.embeddings import get_embeddings
from app.index.ingest import ingest, letter_files
from app.index.store import EMBED_TEXT, EmbedText, Store
from app.records import Letter
from app.retrieve import DENSE_MIN, LEXICAL_MIN, MODES, Retriever, has_precedent
from app.settings import Settings, get_settings

EVALS = Path(__file__).resolve().parent
LINKS_PATH = EVALS / "links.json"
QUERIES_PATH = EVALS / "retrieval_queries.json"
MIN_RUN = 12
BOILERPLATE_SHARE = 0.05
TOP = 10
_WORD = re.compile(r"\w+", re.UNICODE)
_HYPHEN = re.compile(r"(\w)-\s+(\w)")


@dataclass(frozen=True)
class Link:
    a: str
    b: str
    run: str
    """The first shared run (evidence a reviewer can check)."""


def normalise_words(text: str) -> list[str]:
    return _WORD.findall(_HYPHEN.sub(r"\1\2", text.lower()))


def derive_links(letters: Sequence[Letter], min_run: int = MIN_RUN) -> list[Link]:
    """Pairs of items (in any letters, never an item with itself) whose answers share a run."""
    owners: dict[str, set[str]] = defaultdict(set)
    for letter in letters:
        for item in letter.items:
            words = normalise_words(item.answer)
            iid = letter.item_id(item)
            for i in range(len(words) - min_run + 1):
                owners[" ".join(words[i : i + min_run])].add(iid)
    max_letters = max(2, math.floor(BOILERPLATE_SHARE * len(letters)))
    first: dict[tuple[str, str], str] = {}
    for run, ids in owners.items():
        if len(ids) < 2 or len({i.split("#")[0] for i in ids}) > max_letters:
            continue
        srt = sorted(ids)
        for x in range(len(srt)):
            for y in range(x + 1, len(srt)):
                first.setdefault((srt[x], srt[y]), run)
    return [Link(a, b, r) for (a, b), r in sorted(first.items())]


def write_links(links: Sequence[Link], letters: Sequence[Letter], path: Path = LINKS_PATH) -> None:
    data = {
        "about": "QA items whose answers share >= min_run consecutive normalised words; "
        "derived by evals/retrieval.py (kv eval retrieval --derive-links)",
        "min_run": MIN_RUN,
        "boilerplate_share": BOILERPLATE_SHARE,
        "letters": sorted(letter.id for letter in letters),
        "items": sum(len(letter.items) for letter in letters),
        "links": [{"a": x.a, "b": x.b, "run": x.run} for x in links],
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def read_links(path: Path = LINKS_PATH) -> list[Link]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Link(x["a"], x["b"], x["run"]) for x in data["links"]]


def link_map(links: Sequence[Link]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for x in links:
        out[x.a].add(x.b)
        out[x.b].add(x.a)
    return dict(out)


def eval_retriever(
    retriever: Retriever,
    questions: dict[str, str],
    targets: dict[str, set[str]],
    modes: Sequence[str] = MODES,
) -> dict[str, dict[str, float]]:
    """hit@1/3/5 and MRR@10 per mode; each query excludes its own item."""
    out: dict[str, dict[str, float]] = {}
    for mode in modes:
        ranks: list[int | None] = []
        for iid, want in targets.items():
            hits = retriever.search(questions[iid], k=TOP, exclude_ids=[iid], mode=mode)  # type: ignore[arg-type]
            ranks.append(next((r for r, p in enumerate(hits, 1) if p.id in want), None))
        n = max(1, len(ranks))
        out[mode] = {
            "hit@1": sum(1 for r in ranks if r and r <= 1) / n,
            "hit@3": sum(1 for r in ranks if r and r <= 3) / n,
            "hit@5": sum(1 for r in ranks if r and r <= 5) / n,
            "mrr": sum(1 / r for r in ranks if r) / n,
        }
    return out


def _best(precedents: Sequence[Any]) -> dict[str, float | None]:
    d = [p.dense_score for p in precedents if p.dense_score is not None]
    lx = [p.lexical_score for p in precedents if p.lexical_score is not None]
    return {"dense": max(d) if d else None, "lexical": max(lx) if lx else None}


def calibrate(
    retriever: Retriever,
    positives: Sequence[tuple[str, Sequence[str]]],
    negatives: Sequence[str],
) -> dict[str, Any]:
    """Best scores for questions that have a precedent vs off-topic ones, and how the current
    thresholds classify them. `positives`: (question, ids to exclude)."""

    def scores(q: str, excl: Sequence[str]) -> dict[str, Any]:
        hits = retriever.search(q, k=5, exclude_ids=excl, mode="hybrid")
        return {"question": q, **_best(hits), "has_precedent": has_precedent(hits)}

    pos = [scores(q, ex) for q, ex in positives]
    neg = [scores(q, ()) for q in negatives]
    return {
        "suggested": suggest_thresholds(pos, neg),
        "dense_min": DENSE_MIN,
        "lexical_min": LEXICAL_MIN,
        "positives": len(pos),
        "negatives": len(neg),
        "positives_kept": sum(p["has_precedent"] for p in pos) / max(1, len(pos)),
        "negatives_rejected": sum(not n["has_precedent"] for n in neg) / max(1, len(neg)),
        "positive_scores": pos,
        "negative_scores": neg,
    }


def suggest_thresholds(
    pos: Sequence[dict[str, Any]], neg: Sequence[dict[str, Any]]
) -> dict[str, float]:
    """The grid point with the best balanced accuracy (mean of positives kept and negatives
    rejected); among ties the lowest BM25 threshold and the middle of the tied dense range."""

    def keep(row: dict[str, Any], d: float, lx: float) -> bool:
        return (row["dense"] or 0.0) >= d or (row["lexical"] or 0.0) >= lx

    grid_d = [round(0.80 + 0.0025 * i, 4) for i in range(61)]
    grid_l = [0.5 * i for i in range(2, 41)]
    best: tuple[float, float, list[float]] = (-1.0, 0.0, [])
    for lx in grid_l:
        for d in grid_d:
            kept = sum(keep(r, d, lx) for r in pos) / max(1, len(pos))
            rejected = sum(not keep(r, d, lx) for r in neg) / max(1, len(neg))
            acc = (kept + rejected) / 2
            if acc > best[0] + 1e-9:
                best = (acc, lx, [d])
            elif abs(acc - best[0]) <= 1e-9 and lx == best[1]:
                best[2].append(d)
    acc, lx, ds = best
    return {"balanced_accuracy": acc, "lexical_min": lx, "dense_min": ds[len(ds) // 2]}


def _eval_settings(settings: Settings, scheme: str) -> Settings:
    """A private embedded index per embedded-text scheme, reused between runs (idempotent
    ingest embeds only what changed), never the user's own index."""
    return settings.model_copy(
        update={"data_dir": Path(settings.data_dir) / "eval" / scheme, "chroma_host": None}
    )


def run(
    paths: Sequence[Path] | None = None,
    derive: bool = False,
    schemes: Sequence[EmbedText] = (EMBED_TEXT,),
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The whole eval; returns a JSON-able report (see `format_report`)."""
    from app.letters.parse import parse_file

    s = settings or get_settings()
    default = paths is None
    files = letter_files(list(paths) if paths else [s.corpus_dir])
    letters: list[Letter] = []
    for f in files:
        try:
            letters.append(parse_file(f))
        except Exception:  # reported by ingest below
            continue
    if derive or (default and not LINKS_PATH.exists()):
        links = derive_links(letters)
        if default or derive:
            write_links(links, letters)
    elif default:
        links = read_links()
    else:
        links = derive_links(letters)
    ids = {lt.item_id(it) for lt in letters for it in lt.items}
    targets = {k: v & ids for k, v in link_map(links).items() if k in ids and v & ids}
    questions = {lt.item_id(it): it.question for lt in letters for it in lt.items}
    queries = json.loads(QUERIES_PATH.read_text(encoding="utf-8"))
    report: dict[str, Any] = {
        "letters": len(letters),
        "items": len(ids),
        "links": len(links),
        "linked_items": len(targets),
        "min_run": MIN_RUN,
        "schemes": {},
    }
    emb = get_embeddings(s)
    for scheme in schemes:
        es = _eval_settings(s, scheme)
        store = Store(es, emb, scheme=scheme)
        t0 = time.perf_counter()
        if progress:
            progress(f"indexing {len(files)} letters (embedded text: {scheme}) …")
        res = ingest(files, store)
        keep = {lt.id for lt in letters}
        for stale in {lt.id for lt in store.letters()} - keep:
            store.delete_letter(stale)
        retriever = Retriever(store, emb)
        if progress:
            progress(f"searching ({scheme}) …")
        metrics = eval_retriever(retriever, questions, targets)
        para = {
            f"para{i}": (q["question"], set(q["expect"]))
            for i, q in enumerate(queries["paraphrases"])
        }
        para_metrics = eval_retriever(
            retriever, {k: v[0] for k, v in para.items()}, {k: v[1] for k, v in para.items()}
        )
        entry: dict[str, Any] = {
            "metrics": metrics,
            "paraphrases": para_metrics,
            "index_seconds": round(time.perf_counter() - t0, 1),
            "failed_files": [f.path for f in res.failed],
        }
        if scheme == schemes[0]:
            positives = [(questions[i], [i]) for i in sorted(targets)] + [
                (q, ()) for q, _ in para.values()
            ]
            entry["no_precedent"] = calibrate(retriever, positives, queries["offtopic"])
        report["schemes"][scheme] = entry
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"Retrieval eval: {report['letters']} letters, {report['items']} items, "
        f"{report['links']} links (>= {report['min_run']} shared words), "
        f"{report['linked_items']} linked items (leave-one-out)",
        "",
        f"{'embedded':<9} {'mode':<8} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'MRR':>6}"
        f"   paraphrases: {'hit@1':>6} {'hit@5':>6} {'MRR':>6}",
    ]
    for scheme, entry in report["schemes"].items():
        for mode, m in entry["metrics"].items():
            p = entry["paraphrases"][mode]
            lines.append(
                f"{scheme:<9} {mode:<8} {m['hit@1']:>6.3f} {m['hit@3']:>6.3f} "
                f"{m['hit@5']:>6.3f} {m['mrr']:>6.3f}                {p['hit@1']:>6.3f} "
                f"{p['hit@5']:>6.3f} {p['mrr']:>6.3f}"
            )
    for scheme, entry in report["schemes"].items():
        c = entry.get("no_precedent")
        if not c:
            continue

        def rng(rows: list[dict[str, Any]], key: str) -> str:
            vals = sorted(r[key] for r in rows if r[key] is not None)
            return f"{vals[0]:.3f}..{vals[-1]:.3f}" if vals else "-"

        lines += [
            "",
            f"No-precedent rule ({scheme}): dense >= {c['dense_min']} or BM25 >= "
            f"{c['lexical_min']} keeps a precedent",
            f"  in-corpus questions ({c['positives']}): best dense "
            f"{rng(c['positive_scores'], 'dense')}, best BM25 "
            f"{rng(c['positive_scores'], 'lexical')}; kept {c['positives_kept']:.0%}",
            f"  off-topic questions ({c['negatives']}): best dense "
            f"{rng(c['negative_scores'], 'dense')}, best BM25 "
            f"{rng(c['negative_scores'], 'lexical')}; rejected {c['negatives_rejected']:.0%}",
            f"  best on this data: dense >= {c['suggested']['dense_min']} or BM25 >= "
            f"{c['suggested']['lexical_min']} (balanced accuracy "
            f"{c['suggested']['balanced_accuracy']:.3f})",
        ]
    return "\n".join(lines)
