"""The collaborators of the web UI's handlers, built once when the server starts.

Plain Python (no gradio). `Services` holds what every handler needs (settings, retriever, chat
model, provider) and hands it to the pipeline functions as keyword arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from app.errors import InputError
from app.retrieve import Retriever
from app.settings import Settings

Progress = Callable[[float, str], None]
"""progress(fraction_done, description) — gr.Progress fits this shape."""


@dataclass
class Services:
    """The collaborators every handler needs, built once when the server starts."""

    settings: Settings
    retriever: Retriever
    chat_model: BaseChatModel | None
    provider: str

    @classmethod
    def start(cls, settings: Settings, provider: str | None = None) -> Services:
        provider = provider or settings.provider
        chat_model = None
        if provider != "extractive":
            from app.llm import get_chat_model

            chat_model = get_chat_model(settings, provider)
        return cls(settings, Retriever.from_settings(settings), chat_model, provider)

    def model_label(self) -> str:
        """The chat model in words, for the header and the Corpus tab."""
        if self.provider == "extractive":
            return "geen (extractief: zinnen uit de precedenten)"
        if self.provider == "local":
            from app.model_bundle import MODEL_NAME

            return f"{MODEL_NAME}, lokaal"
        from app.llm import model_name

        return model_name(self.settings, self.provider).removeprefix("openai:")

    def pipeline(self) -> dict[str, Any]:
        return {
            "retriever": self.retriever,
            "chat_model": self.chat_model,
            "settings": self.settings,
            "provider": self.provider,
        }


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
