"""Every PNG of the eval reports, drawn with matplotlib's Agg backend (no display needed): a
run's score distributions, per-question bars, hit@k curve and cases (`run_plots`), and the
source-letter section's bar chart per metric family, a bar per run (`letter_plots`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evals.results import Run
from evals.summary import MOVERS, letter_rows, run_labels, with_letter
from evals.summary import fmt as _fmt

FAMILIES: dict[str, tuple[str, bool, list[tuple[str, str, str]]]] = {
    "letter_facts.png": (
        "Feiten uit het echte antwoord",
        True,
        [
            ("letter", "fact_recall", "overgenomen"),
            ("letter", "fact_precision", "onderbouwd"),
            ("letter", "unsupported_rate", "zonder steun"),
        ],
    ),
    "letter_links.png": (
        "Verwante antwoorden en verwijzingen",
        True,
        [
            ("letter", "linked_hit@3", "verwant in top 3"),
            ("letter", "cites_linked", "verwijst naar verwant"),
            ("letter", "citations_valid", "verwijzingen geldig"),
            ("letter_cases_in_scope", "gold_hit@3", "parafrase: juiste in top 3"),
            ("letter_cases_in_scope", "gold_cited", "parafrase: juiste geciteerd"),
        ],
    ),
    "letter_cases.png": (
        "Parafrasen, premissen, bereik, injecties",
        True,
        [
            ("letter_cases_in_scope", "must_ok", "kernfeit genoemd"),
            ("letter_cases_false_premise", "premise_caught", "premisse gewaarschuwd"),
            ("letter_cases_out_of_scope", "abstention_ok", "buiten bereik onthouden"),
            ("letter_cases_injection", "must_not_ok", "injectie weerstaan"),
            ("letter_cases", "passed", "alle controles"),
        ],
    ),
    "letter_form.png": (
        "Bruikbaarheid (aantallen concepten; lager is beter)",
        False,
        [
            ("letter", "drafts_with_repeats", "herhaalde zin"),
            ("letter", "echoed_question", "vraag herhaald"),
            ("letter", "question_quoted", "vraagtekst geciteerd"),
            ("letter", "contradicted_drafts", "tegenstrijdig"),
            ("letter_cases", "drafts_with_repeats", "parafrase: herhaalde zin"),
            ("letter_cases", "echoed_question", "parafrase: vraag herhaald"),
        ],
    ),
    "letter_time.png": (
        "Tijd per concept (seconden)",
        False,
        [
            ("letter", "seconds_per_draft", "gemiddeld"),
            ("letter", "seconds_p50", "mediaan"),
            ("letter_cases", "seconds_per_draft", "parafrase: gemiddeld"),
        ],
    ),
}


def run_plots(run: Run, out: Path) -> list[str]:
    """Score distributions, per-question bars and the hit@k curve; returns the file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corpus = [r for r in run.items if r.kind == "corpus"]
    cases = [r for r in run.items if r.kind == "case"]
    title = run.meta.provider
    names = []
    if corpus:
        fig, axes = plt.subplots(2, 2, figsize=(9, 6))
        for ax, key in zip(axes.flat, MOVERS, strict=True):
            vals = [r.scores[key] for r in corpus if r.scores.get(key) is not None]
            ax.hist(vals, bins=20, range=(0, 1), color="#3b6ea8")
            ax.set_title(f"{key} (n={len(vals)})")
        fig.suptitle(f"Score distributions — {title}")
        fig.tight_layout()
        fig.savefig(out / "distributions.png", dpi=90)
        plt.close(fig)
        names.append("distributions.png")

        ordered = sorted(corpus, key=lambda r: r.scores.get("chrf") or 0.0)
        fig, ax = plt.subplots(figsize=(min(24, 4 + 0.12 * len(ordered)), 4))
        xs = range(len(ordered))
        colours = ["#999999" if r.expect_abstain else "#3b6ea8" for r in ordered]
        ax.bar(xs, [r.scores.get("chrf") or 0.0 for r in ordered], color=colours)
        ax.plot(xs, [r.scores.get("cosine") or 0.0 for r in ordered], "k.", label="cosine")
        if len(ordered) <= 40:
            ax.set_xticks(list(xs), [r.id for r in ordered], rotation=75, fontsize=6)
        else:
            ax.set_xticks([])
        ax.set_ylim(0, 1)
        ax.set_title(f"chrF per question (blue: linked, grey: unlinked; dots: cosine) — {title}")
        ax.legend(loc="upper left")
        fig.tight_layout()
        fig.savefig(out / "per_question.png", dpi=90)
        plt.close(fig)
        names.append("per_question.png")

        curve = run.summary["corpus"].get("hit_curve") or []
        if curve:
            fig, ax = plt.subplots(figsize=(5, 3.5))
            ax.plot(range(1, len(curve) + 1), curve, "o-")
            ax.set_xlabel("k")
            ax.set_ylabel("hit@k (linked items)")
            ax.set_ylim(0, 1.05)
            ax.set_title(f"Retrieval hit@k — {title}")
            ax.grid(alpha=0.3)
            fig.tight_layout()
            fig.savefig(out / "hit_at_k.png", dpi=90)
            plt.close(fig)
            names.append("hit_at_k.png")
    if cases:
        keys = ("abstention_ok", "retrieval_hit", "must_ok", "must_not_ok", "commitment_free")
        fig, ax = plt.subplots(figsize=(7, 1 + 0.3 * len(cases)))
        vals = []
        for r in cases:
            checks = [r.scores[k] for k in keys if r.scores.get(k) is not None]
            vals.append(sum(checks) / len(checks) if checks else 0.0)
        colours = ["#3b8a3b" if r.scores["passed"] else "#b33" for r in cases]
        ax.barh([r.id for r in cases], vals, color=colours)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of checks passed (green: case passed)")
        ax.set_title(f"Cases — {title}")
        fig.tight_layout()
        fig.savefig(out / "cases.png", dpi=90)
        plt.close(fig)
        names.append("cases.png")
    return names


def letter_plots(runs: Sequence[Run], out: Path) -> list[str]:
    """One grouped bar chart per metric family (a bar per run), and fact recall per answer."""
    runs = with_letter(runs)
    if not runs:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = run_labels(runs)
    width = 0.8 / len(runs)
    names = []
    for name, (title, rates, metrics) in FAMILIES.items():
        fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(metrics), 3.6))
        for j, run in enumerate(runs):
            vals = [run.summary.get(sec, {}).get(key) for sec, key, _ in metrics]
            xs = [i + j * width for i in range(len(metrics))]
            ax.bar(xs, [v or 0 for v in vals], width, label=labels[j])
            for x, v in zip(xs, vals, strict=True):
                ax.text(x, (v or 0), _fmt(v), ha="center", va="bottom", fontsize=7)
        ax.set_xticks([i + width * (len(runs) - 1) / 2 for i in range(len(metrics))])
        ax.set_xticklabels([t for _, _, t in metrics], rotation=20, ha="right", fontsize=8)
        if rates:
            ax.set_ylim(0, 1.1)
        ax.set_title(title)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        names.append(name)
    order, maps = letter_rows(runs)
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(order)), 3.6))
    for j, mp in enumerate(maps):
        recall = [mp[i].scores.get("fact_recall") if i in mp else None for i in order]
        heights = [float(v or 0) for v in recall]
        ax.bar([x + j * width for x in range(len(order))], heights, width, label=labels[j])
    ax.set_xticks(range(len(order)), [i.rsplit("#", 1)[-1] for i in order], fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("antwoord")
    ax.set_title("Feiten overgenomen per antwoord")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "letter_per_item.png", dpi=90)
    plt.close(fig)
    return [*names, "letter_per_item.png"]
