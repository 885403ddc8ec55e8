"""Logins for `kv serve`: scrypt hashes, the user lists, and the refusal to serve openly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import ConfigError
from app.settings import ROOT, Settings
from app.web.auth import Authenticator, hash_password, is_local, load_users, verify_password
from tests.conftest import run_kv


def test_hash_is_salted_and_verifies() -> None:
    a, b = hash_password("Tweede Kamer 2025"), hash_password("Tweede Kamer 2025")
    assert a != b and a.startswith("scrypt$") and ":" not in a and "," not in a
    assert verify_password("Tweede Kamer 2025", a) and verify_password("Tweede Kamer 2025", b)
    assert not verify_password("tweede kamer 2025", a)
    assert not verify_password("x", "sha256$abc") and not verify_password("x", "garbage")
    with pytest.raises(ConfigError):
        hash_password("")


def test_users_from_setting_and_file(tmp_path: Path) -> None:
    anna, bram = hash_password("a-secret"), hash_password("b-secret")
    users_file = tmp_path / "users"
    users_file.write_text(f"# logins\n\nbram:{bram}\n", encoding="utf-8")
    s = Settings(data_dir=tmp_path, auth_users=f"anna:{anna}", auth_file=users_file)
    users = load_users(s)
    assert users == {"anna": anna, "bram": bram}
    auth = Authenticator(users)
    assert auth("anna", "a-secret") and auth("bram", "b-secret")
    assert not auth("anna", "b-secret") and not auth("carla", "a-secret")
    assert load_users(Settings(data_dir=tmp_path)) == {}


@pytest.mark.parametrize("entry", ["anna", "anna:plaintext", ":scrypt$1$2$3$4$5"])
def test_bad_user_entries_name_the_fix(tmp_path: Path, entry: str) -> None:
    with pytest.raises(ConfigError, match="kv hash-password"):
        load_users(Settings(data_dir=tmp_path, auth_users=entry))
    with pytest.raises(ConfigError, match="KV_AUTH_FILE"):
        load_users(Settings(data_dir=tmp_path, auth_file=tmp_path / "missing"))


def test_local_hosts() -> None:
    assert is_local("127.0.0.1") and is_local("localhost") and is_local("::1")
    assert not is_local("0.0.0.0") and not is_local("10.1.2.3")


def test_serve_refuses_a_public_address_without_logins(tmp_path: Path) -> None:
    env = {"KV_DATA_DIR": str(tmp_path), "KV_AUTH_USERS": "", "KV_AUTH_FILE": ""}
    result = run_kv("serve", "--host", "0.0.0.0", "--provider", "extractive", env=env)
    assert result.code == 1
    assert "refusing to serve on 0.0.0.0 without logins" in result.err
    assert "KV_AUTH_USERS" in result.err and not (tmp_path / "chroma").exists()


def test_hash_password_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "app", "hash-password", "--user", "anna"],
        input="geheim wachtwoord\ngeheim wachtwoord\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    user, _, encoded = proc.stdout.strip().splitlines()[-1].partition(":")
    assert user == "anna" and verify_password("geheim wachtwoord", encoded)
