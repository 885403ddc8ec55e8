"""Drafting: question → precedents → prompt → model → Draft with citations, checks and warnings.

The model only writes; trust comes from around it. Precedents are retrieved first and travel
with every outcome (also an abstention or a failed model call), citations `[n]` are resolved to
precedent ids, every figure is checked against the precedents (`app.check`), and whatever
cannot be traced becomes a warning in the Draft rather than being silently kept. Every draft
is written to the audit log. `draft_stream` yields the same steps as events for the UI.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel

from app import audit, extractive
from app.check import check_answer
from app.errors import InputError, ModelError
from app.prompt import build_messages, numbered, prompt_version, system_prompt
from app.records import CheckReport, Draft, Finding, Precedent
from app.retrieve import has_precedent
from app.settings import Settings
from app.tokens import ensure_tiktoken_cache

log = logging.getLogger(__name__)

MIN_WORDS, MAX_WORDS = 50, 250
GAP = "[INPUT NODIG: {}]"
ABSTAIN_TEXT = (
    "Het kabinet heeft zich over deze vraag niet eerder uitgesproken in de beschikbare "
    "antwoorden op Kamervragen. " + GAP.format("standpunt en feiten van de beleidsdirectie")
)
ABSTAIN_WARNING = (
    "Geen precedent gevonden: het concept onthoudt zich van een antwoord en laat een open plek "
    "voor de beleidsdirectie."
)
LEAK_WARNING = "Het concept bevatte tekst uit de instructies aan het model; die is verwijderd."
REDACTED = "[VERWIJDERD]"
_CITATION = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_LABEL = re.compile(r"^\s*(?:concept)?antwoord(?:\s+\d+)?\s*:\s*", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*(?=\s|$)")
"""A sentence ends at . ! or ? plus any citations right after it ("… gedaan. [1]")."""
_LEADING = re.compile(
    r"(^|(?<=[.!?])\s+)\[(\d+(?:\s*[,;]\s*\d+)*)\]\s+([^\[\n]*?[.!?])(?=\s|$)", re.M
)
"""Small models label a sentence with its source up front ("[1] Zin."); the citation belongs
after it, where readers and the footnote writer expect it."""
LEAK_NGRAM = 8


class Retrieves(Protocol):
    """What drafting needs from `app.retrieve.Retriever` (tests hand in a small fake).

    Redrafting from ticked precedents also needs `get(ids)` (or a `.store.get`).
    """

    def search(
        self,
        question: str,
        k: int,
        exclude_ids: Sequence[str] = (),
        exclude_letters: Sequence[str] = (),
    ) -> list[Precedent]: ...


@dataclass(frozen=True)
class PrecedentsFound:
    """Retrieval is done: `precedents` in rank order; the model sees `numbered` as [1]…[n]."""

    precedents: list[Precedent]
    numbered: list[Precedent]
    omitted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Token:
    """A chunk of generated text (streamed). The final Draft's text may differ (redaction)."""

    text: str


@dataclass(frozen=True)
class Done:
    draft: Draft


DraftEvent = PrecedentsFound | Token | Done


class DraftError(ModelError):
    """The model call failed; `draft` still carries the precedents, warnings and timings."""

    def __init__(self, message: str, draft: Draft) -> None:
        super().__init__(message)
        self.draft = draft


def validate_question(question: str, settings: Settings, what: str = "question") -> str:
    text = question.strip() if isinstance(question, str) else ""
    if not text:
        raise InputError(f"the {what} is empty; type the Kamervraag to answer")
    if _unreadable(text):
        raise InputError(
            f"the {what} is not readable text (binary data, or bytes that are not UTF-8); "
            "paste the Kamervraag as plain text, or save the file as UTF-8 first"
        )
    if len(text) > settings.max_question_chars:
        raise InputError(
            f"the {what} is {len(text)} characters, over the limit of "
            f"{settings.max_question_chars}; shorten it or split it into separate questions "
            "(or raise KV_MAX_QUESTION_CHARS)"
        )
    return text


def _unreadable(text: str) -> bool:
    """Lone surrogates (undecodable bytes from argv/stdin), NUL, or >5% control/U+FFFD chars."""
    if "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text):
        return True
    junk = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\t\n\r\f"))
    return junk > 0.05 * len(text)


def draft(question: str, **kwargs: Any) -> Draft:
    """Draft an answer (see `draft_stream` for the arguments); returns the logged Draft."""
    for event in draft_stream(question, stream=False, **kwargs):
        if isinstance(event, Done):
            return event.draft
    raise AssertionError("draft_stream ended without a Done event")  # pragma: no cover


def draft_stream(
    question: str,
    *,
    retriever: Retrieves,
    chat_model: BaseChatModel | None,
    settings: Settings,
    provider: str | None = None,
    k: int | None = None,
    exclude_ids: Sequence[str] = (),
    exclude_letters: Sequence[str] = (),
    precedent_ids: Sequence[str] | None = None,
    history: Sequence[tuple[str, str]] | None = None,
    parent_id: int | None = None,
    log_to_audit: bool = True,
    stream: bool = True,
) -> Iterator[DraftEvent]:
    """Draft an answer to `question`, yielding PrecedentsFound, Token…, then Done(draft).

    `precedent_ids`: redraft from exactly these (ticked) precedents instead of searching.
    `history`: earlier chat turns as (user message, draft text) pairs, first one the original
    question; `question` is then the follow-up instruction ("korter", "voeg toe dat …") and the
    precedents are those of the original question. Raises InputError for unusable input and
    DraftError (a ModelError carrying the partial, logged Draft) when the model call fails.
    """
    t0 = time.perf_counter()
    audit_dir = settings.data_dir if log_to_audit else None
    provider = provider or settings.provider
    k = k or settings.top_k
    ensure_tiktoken_cache(settings.data_dir)
    turns: list[tuple[str, str]] = []
    instruction: str | None = None
    if history:
        original = validate_question(history[0][0], settings)
        instruction = validate_question(question, settings, "follow-up instruction")
        follow_ups = [u for u, _ in history[1:]] + [instruction]
        turns = [(d, u) for (_, d), u in zip(history, follow_ups, strict=True)]
    else:
        original = validate_question(question, settings)

    if precedent_ids is not None:
        precedents = fetch(retriever, precedent_ids)
    else:
        precedents = retriever.search(
            original, k=k, exclude_ids=exclude_ids, exclude_letters=exclude_letters
        )
    timings = {"retrieve": time.perf_counter() - t0}
    log.info("retrieved %s for drafting", [p.id for p in precedents])

    found = precedents if precedent_ids is not None else _supported(precedents)
    d = Draft(
        question=original,
        text="",
        citations=[],
        precedents=precedents,
        abstained=False,
        warnings=[],
        model="extractive" if provider == "extractive" else "",
        provider=provider,
        prompt_version=prompt_version(settings.prompts_dir),
        timings=timings,
        parent_id=parent_id,
        instruction=instruction,
    )
    if not found:
        yield PrecedentsFound(precedents, [])
        yield Done(_finish(_abstain(d), t0, audit_dir))
        return

    if provider == "extractive":
        cited = list(precedents)
        yield PrecedentsFound(precedents, cited)
        t1 = time.perf_counter()
        d.text = extractive.compose(original, cited)
        if not d.text:  # the precedents hold no usable sentence
            yield Done(_finish(_abstain(d), t0, audit_dir))
            return
        if instruction:
            d.warnings.append(
                "De extractieve modus past geen aanwijzingen toe; kies een taalmodel om het "
                "concept te herschrijven."
            )
        timings["generate"] = time.perf_counter() - t1
    else:
        if chat_model is None:
            from app.llm import get_chat_model

            chat_model = get_chat_model(settings, provider)
        d.model = model_label(chat_model, settings, provider)
        from app.llm import token_counter

        counter = token_counter(settings, provider, chat_model)
        messages, d.omitted_precedents = build_messages(
            original, precedents, settings, turns=turns, count_tokens=counter
        )
        cited = numbered(precedents, d.omitted_precedents)
        if d.omitted_precedents:
            d.warnings.append(
                f"{len(d.omitted_precedents)} precedent(en) pasten niet in het contextvenster "
                f"van het model en zijn niet gebruikt: {', '.join(d.omitted_precedents)}"
            )
        yield PrecedentsFound(precedents, cited, list(d.omitted_precedents))
        t1 = time.perf_counter()
        parts: list[str] = []
        try:
            if stream:
                for chunk in chat_model.stream(messages):
                    piece = _text(chunk.content)
                    if piece:
                        timings.setdefault("first_token", time.perf_counter() - t1)
                        parts.append(piece)
                        yield Token(piece)
            else:
                parts.append(_text(chat_model.invoke(messages).content))
        except Exception as exc:  # any vendor failure becomes a DraftError
            timings["generate"] = time.perf_counter() - t1
            raise _failed(d, exc, t0, audit_dir) from exc
        timings["generate"] = time.perf_counter() - t1
        d.text = _clean("".join(parts))
        if not d.text:
            raise _failed(d, ModelError("the model returned an empty answer"), t0, audit_dir)

    _review(d, cited, settings, original if not instruction else f"{original}\n{instruction}")
    yield Done(_finish(d, t0, audit_dir))


def _abstain(d: Draft) -> Draft:
    """No model call: a formal sentence and a marked gap for the policy directorate."""
    d.text, d.abstained, d.model = ABSTAIN_TEXT, True, "geen (onthouding)"
    d.warnings.append(ABSTAIN_WARNING)
    return d


def _supported(precedents: list[Precedent]) -> list[Precedent]:
    """Precedents, or [] when the no-precedent rule says none of them answers the question."""
    return precedents if precedents and has_precedent(precedents) else []


def model_label(chat_model: BaseChatModel, settings: Settings, provider: str) -> str:
    """The audit log's model description: app.llm's for its own models, else the class name."""
    if type(chat_model).__module__ == "app.llm":
        from app.llm import model_name

        return model_name(settings, provider)
    value = getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None)
    return value if isinstance(value, str) and value else type(chat_model).__name__


def fetch(retriever: Retrieves, ids: Sequence[str]) -> list[Precedent]:
    """The ticked precedents, in the order given (a redraft uses exactly these)."""
    getter = getattr(retriever, "get", None) or retriever.store.get  # type: ignore[attr-defined]
    found = {p.id: p for p in getter(list(ids))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise InputError(
            f"precedent(s) {', '.join(missing)} are not in the store; search again and tick "
            "precedents from the current results"
        )
    return [found[i] for i in ids]


def _text(content: Any) -> str:
    """LangChain content is a str or a list of parts; keep the text."""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)


def _clean(text: str) -> str:
    """Strip an "Antwoord:" label or wrapping quotes; move a leading "[1] Zin." to "Zin [1]."."""
    text = _LABEL.sub("", text.strip())
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return _LEADING.sub(lambda m: f"{m[1]}{m[3][:-1].rstrip()} [{m[2]}]{m[3][-1]}", text)


def _failed(d: Draft, exc: BaseException, t0: float, audit_dir: Path | None) -> DraftError:
    """Turn a model failure into a DraftError whose Draft keeps the precedents (and is logged)."""
    if isinstance(exc, ModelError):  # app.llm already translated it (and said how to fix it)
        message = str(exc)
    else:
        message = (
            f"the chat model failed ({type(exc).__name__}: {exc}); try again, check the model "
            "with `kv model`, or use --provider extractive"
        )
    d.error = audit.scrub(message) or message
    d.warnings.append(
        "Het taalmodel gaf geen antwoord; de gevonden precedenten staan hieronder. "
        "Probeer het opnieuw of kies provider 'extractive'."
    )
    log.error("drafting failed after retrieving %s: %s", [p.id for p in d.precedents], d.error)
    _finish(d, t0, audit_dir)
    return DraftError(message, d)


def _finish(d: Draft, t0: float, audit_dir: Path | None) -> Draft:
    """Stamp the total time and write the audit row (unless `audit_dir` is None)."""
    d.timings["total"] = time.perf_counter() - t0
    if audit_dir is not None:
        audit.log_draft(d, audit_dir)
    return d


def _review(d: Draft, cited: list[Precedent], settings: Settings, support_question: str) -> None:
    """Leak redaction, citations → ids, figure check and length: problems become warnings."""
    t = time.perf_counter()
    d.text, leaked = redact_leaks(d.text, system_prompt(settings))
    if leaked:
        d.warnings.append(LEAK_WARNING)
    d.citations, invalid = resolve_citations(d.text, cited)
    for n in invalid:
        d.warnings.append(
            f"Ongeldige verwijzing [{n}]: er zijn {len(cited)} genummerde precedenten."
        )
    if not d.citations:
        d.warnings.append("Geen bronverwijzingen: het concept verwijst naar geen enkel precedent.")
    d.warnings.extend(misattributed(d.text, cited))
    report = check_answer(d.text, support_question, d.precedents)
    d.check = CheckReport(tuple(f for f in report.findings if not _is_gap_marker(f)))
    d.warnings.extend(check_warnings(d.check))
    d.warnings.extend(question_only(d.check))
    words = word_count(d.text)
    if not MIN_WORDS <= words <= MAX_WORDS:
        d.warnings.append(f"Lengte: {words} woorden (huisstijl: {MIN_WORDS}–{MAX_WORDS}).")
    d.timings["check"] = time.perf_counter() - t


def misattributed(text: str, cited: Sequence[Precedent]) -> list[str]:
    """Sentences whose words are in another precedent than the one they cite.

    Small models number sentences ("[1] … [2] …") instead of citing sources; a reviewer must
    not trust such a footnote. Only clear cases are flagged: the cited precedents hold under
    half of the sentence's content words and another one holds at least 70%.
    """
    bags = [set(extractive.terms(p.answer)) for p in cited]
    out = []
    for sentence in sentences(text):
        nums = [int(n) for m in _CITATION.finditer(sentence) for n in re.findall(r"\d+", m[1])]
        nums = [n for n in nums if 1 <= n <= len(bags)]
        words = set(extractive.terms(_CITATION.sub(" ", sentence)))
        if not nums or len(words) < 4:
            continue
        cover = [len(words & bag) / len(words) for bag in bags]
        best = max(range(len(bags)), key=cover.__getitem__)
        if max(cover[n - 1] for n in nums) < 0.5 and cover[best] >= 0.7:
            marks = "".join(f"[{n}]" for n in nums)
            out.append(
                f"Verwijzing {marks} lijkt niet te kloppen: «{_clip(sentence, 80)}» staat in "
                f"precedent [{best + 1}]."
            )
    return out


def _is_gap_marker(f: Finding) -> bool:
    """The words "INPUT NODIG" of our own gap marker are not a name to check."""
    return f.kind == "name" and "INPUT NODIG" in f.text


def resolve_citations(text: str, cited: Sequence[Precedent]) -> tuple[list[str], list[int]]:
    """Precedent ids for the `[n]` markers (first-use order, unique) and the invalid numbers."""
    ids: list[str] = []
    invalid: list[int] = []
    for m in _CITATION.finditer(text):
        for n in (int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))):
            if 1 <= n <= len(cited):
                if cited[n - 1].id not in ids:
                    ids.append(cited[n - 1].id)
            elif n not in invalid:
                invalid.append(n)
    return ids, invalid


QUESTION_ONLY_KINDS = ("amount", "percentage", "number", "date", "commitment")


def question_only(report: CheckReport) -> list[str]:
    """Figures and promises that only the question states. The check counts the question as
    support (an answer may repeat what was asked), but a draft must not adopt a questioner's -
    or an injected - figure or promise as the cabinet's own without a reviewer noticing."""
    out = []
    for f in report.findings:
        if f.kind in QUESTION_ONLY_KINDS and f.support_ids == ("question",):
            what = f"de toezegging «{_clip(f.text, 100)}»" if f.kind == "commitment" else f.text
            out.append(
                f"Alleen de vraag noemt {what}: geen precedent bevestigt dit; controleer het "
                "voordat het kabinet het overneemt."
            )
    return out


def check_warnings(report: CheckReport) -> list[str]:
    out = []
    for f in report.problems:
        if f.status == "contradicted":
            note = f" — {f.note}" if f.note else ""
            out.append(f"Tegenstrijdig met een precedent: {f.text}{note}")
        elif f.kind == "commitment":
            out.append(f"Nieuwe toezegging zonder precedent: {_clip(f.text, 120)}")
        else:
            out.append(f"Niet onderbouwd: {f.text}")
    return out


def sentences(text: str) -> list[str]:
    """Sentences with their trailing citations (a rough split: enough for the checks here)."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start : m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def word_count(text: str) -> int:
    return len(_CITATION.sub(" ", text).split())


def _words(text: str) -> list[str]:
    """Lower-case words after NFKC (full-width letters) and without format characters
    (zero-width spaces, bidi overrides), so a disguised copy of the prompt still matches."""
    text = "".join(
        " " if unicodedata.category(c) == "Cf" else c for c in unicodedata.normalize("NFKC", text)
    )
    return re.findall(r"\w+", text.lower())


def redact_leaks(text: str, secret: str, n: int = LEAK_NGRAM) -> tuple[str, bool]:
    """Replace every sentence that repeats `n` consecutive words of the system prompt."""
    words = _words(secret)
    grams = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
    out, leaked = [], False
    for sentence in sentences(text):
        w = _words(sentence)
        if any(tuple(w[i : i + n]) in grams for i in range(len(w) - n + 1)):
            out.append(REDACTED)
            leaked = True
        else:
            out.append(sentence)
    return (" ".join(out) if leaked else text), leaked
