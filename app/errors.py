"""The project's error hierarchy.

Every message says what went wrong *and how to fix it*. Errors are translated only at the
edges: the CLI prints `kv: <message>` and exits non-zero; the UI shows a `gr.Error`.
"""

from __future__ import annotations


class KVError(Exception):
    """Base class for every error a user can act on."""

    exit_code = 1


class ConfigError(KVError):
    """A setting is missing or invalid (the message names the variable to set)."""


class ParseError(KVError):
    """A letter or question file could not be parsed (the message names the file and reason)."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class InputError(KVError):
    """User input (a question, an answer text, an upload) is unusable as given."""


class StoreError(KVError):
    """The vector store is missing, corrupt, read-only or built with another model."""


class ModelError(KVError):
    """The language model or embedding model is unavailable or misbehaved."""


class PromptError(KVError):
    """A prompt template is missing, or was rendered with missing/unknown variables."""
