"""The question as drafting accepts it: non-empty, readable text, within the length limit.

Checked before anything is searched or a model is loaded, so that bad input gets a clear
error (an `InputError` saying what to do) and costs nothing.
"""

from __future__ import annotations

from app.errors import InputError
from app.settings import Settings


def validate_question(question: str, settings: Settings, what: str = "question") -> str:
    text = question.strip() if isinstance(question, str) else ""
    if not text:
        raise InputError(f"the {what} is empty; type the Kamervraag to answer")
    if unreadable(text):
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


def unreadable(text: str) -> bool:
    """Lone surrogates (undecodable bytes from argv/stdin), NUL, or >5% control/U+FFFD chars."""
    if "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text):
        return True
    junk = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\t\n\r\f"))
    return junk > 0.05 * len(text)
