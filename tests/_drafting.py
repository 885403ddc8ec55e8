"""Shared test helpers for the drafting tests: real-text Precedents and a fake retriever.

The precedents are answers 3–5 of a real letter (ah-tk-20232024-946, humanitarian aid to Sudan,
from corpus/letters), cut out of the file verbatim, so the checks run on real text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.records import Precedent
from tests.conftest import CORPUS_LETTERS

SUDAN = CORPUS_LETTERS / "ah-tk-20232024-946.txt"
SUDAN_ID = "ah-tk-20232024-946"
SUDAN_TITLE = (
    "Antwoord op vragen van het lid Bamenga over de situatie in Soedan naar aanleiding van de "
    "oorlog die is uitgebroken in april 2023"
)


def qa(n: int) -> tuple[str, str]:
    """Question and answer n of the Sudan letter, verbatim (joined lines)."""
    text = SUDAN.read_text(encoding="utf-8")
    m = re.search(rf"^Vraag {n}\n(.*?)^Antwoord {n}\n(.*?)^Vraag {n + 1}\n", text, re.M | re.S)
    assert m, f"Vraag/Antwoord {n} not found in {SUDAN}"
    return " ".join(m.group(1).split()), " ".join(m.group(2).split())


def sudan_precedents(strong: bool = True) -> list[Precedent]:
    """Answers 3, 4, 5 as retrieval would return them (scores above/below the rule)."""
    out = []
    for rank, n in enumerate((3, 4, 5), 1):
        q, a = qa(n)
        out.append(
            Precedent(
                id=f"{SUDAN_ID}#{n}",
                letter_id=SUDAN_ID,
                numbers=(n,),
                question=q,
                answer=a,
                score=1 / (60 + rank),
                title=SUDAN_TITLE,
                date="2024-02-05",
                dense_score=(0.9 if strong else 0.5) - rank / 100,
                lexical_score=(20.0 if strong else 2.0) - rank,
                dense_rank=rank,
                lexical_rank=rank,
            )
        )
    return out


@dataclass
class FakeRetriever:
    """Returns fixed precedents; records what it was asked (to prove exclusions pass through)."""

    precedents: list[Precedent]
    calls: list[dict[str, object]] = field(default_factory=list)

    def search(
        self,
        question: str,
        k: int = 5,
        exclude_ids: Sequence[str] = (),
        exclude_letters: Sequence[str] = (),
    ) -> list[Precedent]:
        self.calls.append(
            {
                "question": question,
                "k": k,
                "ids": list(exclude_ids),
                "letters": list(exclude_letters),
            }
        )
        return [
            p
            for p in self.precedents
            if p.id not in exclude_ids and p.letter_id not in exclude_letters
        ][:k]

    def get(self, ids: Sequence[str]) -> list[Precedent]:
        return [p for p in self.precedents if p.id in ids]
