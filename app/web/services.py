"""What the web UI's handlers share: their `Services` and the input checks.

Plain Python (no gradio). `Services` is `app.services.Services` (re-exported here): what every
handler needs (settings, retriever, writer), built once when the server starts.
"""

from __future__ import annotations

from collections.abc import Callable

from app.errors import InputError
from app.services import Services

__all__ = ["Progress", "Services", "require_text"]

Progress = Callable[[float, str], None]
"""progress(fraction_done, description) — gr.Progress fits this shape."""


def require_text(text: str | None, what: str, limit: int) -> str:
    """The stripped input, or an InputError in Dutch saying what to do about it."""
    value = (text or "").strip()
    if not value:
        raise InputError(f"{what} is leeg: vul eerst de tekst in.")
    if len(value) > limit:
        raise InputError(
            f"{what} is te lang ({len(value):,} tekens, maximaal {limit:,}). "
            "Kort de tekst in of splits hem op."
        )
    return value
