"""setup.py: the compiled build when it can be made, plain Python with one line when not.

(The compiled build itself is tested by running the whole suite against it: see
``run.py test`` and docs/compiled.md.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``setup.py build`` of a copy of the project, with a compiler that always fails
    (``CC=/bin/false``); returns the run and the built package."""
    for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, tmp_path)
    shutil.copytree(ROOT / "multiplayer", tmp_path / "multiplayer")
    run = subprocess.run(
        [sys.executable, "setup.py", "-q", "build", "--build-base", "b", "--build-lib", "lib"],
        cwd=tmp_path,
        env={**os.environ, "CC": "/bin/false", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return run, tmp_path / "lib" / "multiplayer"


def said(run: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("pygodot-multiplayer:")]


def test_without_a_working_compiler_it_installs_plain_python_and_says_why(
    tmp_path: Path,
) -> None:
    run, package = build(tmp_path, MULTIPLAYER_MYPYC="auto")
    assert run.returncode == 0, run.stderr
    assert said(run) == [
        "pygodot-multiplayer: pure Python (the C build failed: "
        "command '/bin/false' failed with exit code 1)"
    ]
    assert (package / "protocol" / "native" / "codec.py").exists()
    assert not list(package.rglob("*.so"))  # (no module left without its runtime)


def test_a_required_compiled_build_fails_without_a_compiler(tmp_path: Path) -> None:
    run, _ = build(tmp_path, MULTIPLAYER_MYPYC="1")
    assert run.returncode != 0
    assert "/bin/false" in run.stderr


def test_plain_python_on_request(tmp_path: Path) -> None:
    run, package = build(tmp_path, MULTIPLAYER_MYPYC="0")
    assert run.returncode == 0, run.stderr
    assert said(run) == [
        "pygodot-multiplayer: pure Python (MULTIPLAYER_MYPYC=0, or an editable install)"
    ]
    assert not list(package.rglob("*.so"))


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    run, _ = build(tmp_path, MULTIPLAYER_MYPYC="yes")
    assert run.returncode != 0
    assert "MULTIPLAYER_MYPYC must be auto, 0 or 1, not 'yes'" in run.stderr
