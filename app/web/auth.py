"""Login for `kv serve`: salted, slow password hashes in a setting or a file.

Why not plain sha256: a leaked `.env` or users file must not give away passwords, and a fast
unsalted hash is cracked in seconds. We use `hashlib.scrypt` (standard library, memory-hard)
with a random 16-byte salt per password, and compare in constant time.

Formats (both may be used together; the file wins for a user named in both):
  KV_AUTH_USERS="anna:scrypt$16384$8$1$<salt>$<hash>,bram:scrypt$…"
  KV_AUTH_FILE=/etc/kv/users      one "user:hash" per line; blank lines and "# …" are ignored
Create a hash with `kv hash-password` (it prompts; nothing lands in the shell history).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from pathlib import Path

from app.errors import ConfigError
from app.settings import Settings

log = logging.getLogger(__name__)

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
"""scrypt cost: ~16 MiB and ~50 ms per check here; enough to make guessing slow."""
DKLEN = 32
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=DKLEN, maxmem=2**26
    )


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$hash` (url-safe base64, no ':' or ',' so it fits the user lists)."""
    if not password:
        raise ConfigError("an empty password cannot be hashed; choose a password")
    salt = salt if salt is not None else os.urandom(16)
    digest = _scrypt(password, salt, N, R, P)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches `encoded` (a string from `hash_password`)."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != SCHEME:
            return False
        expected = _unb64(digest)
        actual = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _parse_entries(entries: list[str], source: str) -> dict[str, str]:
    users: dict[str, str] = {}
    for raw in entries:
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        user, sep, encoded = entry.partition(":")
        if not sep or not user.strip() or not encoded.strip().startswith(f"{SCHEME}$"):
            raise ConfigError(
                f"{source}: entry {user.strip() or entry[:20]!r} is not 'user:scrypt$…'; "
                "create the hash with `kv hash-password`"
            )
        users[user.strip()] = encoded.strip()
    return users


def load_users(settings: Settings) -> dict[str, str]:
    """Users and hashes from KV_AUTH_USERS and KV_AUTH_FILE (empty dict: no login configured)."""
    users: dict[str, str] = {}
    if settings.auth_users is not None:
        users |= _parse_entries(settings.auth_users.get_secret_value().split(","), "KV_AUTH_USERS")
    if settings.auth_file is not None and str(settings.auth_file) not in ("", "."):  # "" = unset
        path = Path(settings.auth_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(
                f"KV_AUTH_FILE {path}: cannot read it ({exc.strerror}); fix the path or unset it"
            ) from exc
        users |= _parse_entries(lines, f"KV_AUTH_FILE {path}")
    return users


def is_local(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    return host in LOCAL_HOSTS or host.startswith("127.")


class Authenticator:
    """The `auth=` callable for Gradio's login page: (username, password) -> bool."""

    def __init__(self, users: dict[str, str]) -> None:
        self._users = dict(users)

    def __call__(self, username: str, password: str) -> bool:
        encoded = self._users.get(username)
        if encoded is None:
            # Spend the same time as for a known user, so response times do not reveal names.
            verify_password(password, hash_password("x", salt=b"\0" * 16))
            log.info("login refused for an unknown user")
            return False
        ok = verify_password(password, encoded)
        log.info("login %s for user %s", "accepted" if ok else "refused", username)
        return ok
