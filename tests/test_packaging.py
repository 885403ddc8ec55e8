"""The installed `kv` command works from any folder, not only from the repository root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_installed_packages_import_outside_the_repository(tmp_path: Path) -> None:
    # `kv eval` imports the evals package lazily; the console script does not put the
    # repository on sys.path, so both packages must be installed.
    proc = subprocess.run(
        [sys.executable, "-c", "import app.cli, evals.retrieval, evals.drafting; print('ok')"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_console_script_runs_from_another_folder(tmp_path: Path) -> None:
    kv = Path(sys.executable).with_name("kv")
    proc = subprocess.run(
        [str(kv), "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "kv" in proc.stdout
