"""Parse report: how a folder of answer letters splits into questions and answers.

    .venv/bin/python scripts/parse_report.py [FOLDER ...]      (default: ../shared/data/letters)

A script, not a test: it prints a table per layout (letters, items, combined items, items
without an answer) and lists every letter whose item numbers do not run 1..N without gaps,
next to the "Vraag N" numbers its raw text contains, so a gap can be told apart from a letter
whose source text is itself incomplete. Files that fail to parse are listed with their reason.
"""

from __future__ import annotations

import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.errors import ParseError
from app.letters.parse import find_letter_files, parse_file
from app.records import Letter
from app.settings import ROOT

DEFAULT = ROOT.parent / "shared" / "data" / "letters"


def raw_question_numbers(path: Path) -> set[int]:
    """Numbers in the raw text's "Vraag …" heading lines (text files only)."""
    if path.suffix.lower() not in {".txt", ".md"}:
        return set()
    heads = re.findall(r"(?m)^\s*Vraag ([\d ,en–-]+?)[a-z]?\s*$", path.read_text("utf-8"))
    return {int(n) for h in heads for n in re.findall(r"\d+", h)}


def main(argv: list[str]) -> int:
    folders = [Path(a) for a in argv] or [DEFAULT]
    files = find_letter_files(folders)
    per_layout: dict[str, list[Letter]] = defaultdict(list)
    failures: list[str] = []
    gaps: list[str] = []
    start = time.perf_counter()
    for path in files:
        try:
            letter = parse_file(path)
        except ParseError as exc:
            failures.append(str(exc))
            continue
        per_layout[letter.layout].append(letter)
        nums = sorted(n for it in letter.items for n in it.numbers)
        if nums != list(range(1, (max(nums) if nums else 0) + 1)):
            raw = sorted(raw_question_numbers(path))
            missing = sorted(set(range(1, max(nums) + 1)) - set(nums))
            gaps.append(f"{letter.id}: items {nums}, missing {missing}; raw 'Vraag' headings {raw}")
    elapsed = time.perf_counter() - start

    header = (
        f"{'layout':<18}{'letters':>8}{'items':>8}{'combined':>10}{'no answer':>11}{'notes':>7}"
    )
    print(header)
    print("-" * len(header))
    totals = [0, 0, 0, 0, 0]
    for layout in sorted(per_layout):
        letters = per_layout[layout]
        items = [it for letter in letters for it in letter.items]
        row = [
            len(letters),
            len(items),
            sum(1 for it in items if len(it.numbers) > 1),
            sum(1 for it in items if not it.answer),
            sum(len(it.footnotes) for it in items),
        ]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        print(f"{layout:<18}{row[0]:>8}{row[1]:>8}{row[2]:>10}{row[3]:>11}{row[4]:>7}")
    print("-" * len(header))
    t = totals
    print(f"{'total':<18}{t[0]:>8}{t[1]:>8}{t[2]:>10}{t[3]:>11}{t[4]:>7}")
    print(f"\nparsed {len(files)} files in {elapsed:.2f} s")
    print(f"\nletters with gaps in their numbering: {len(gaps)}")
    for line in gaps:
        print(f"  {line}")
    print(f"\nfiles that failed to parse: {len(failures)}")
    for line in failures:
        print(f"  {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
