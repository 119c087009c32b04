#!/usr/bin/env python3
"""One entry point that needs nothing but python3: it makes .venv, installs, and runs.

    python3 run.py demo    the main job: the dice game, a server and 3 bots, ending by itself
                           (extra arguments go to it: python3 run.py demo --bots 5)
    python3 run.py test    lint, type-check, and the whole test suite; the transport's
                           tests again on the picows WebSocket backend; and the whole
                           suite again on the build compiled with mypyc (when a C
                           compiler is there)
    python3 run.py compile builds the package with its hot path compiled (mypyc)
                           into build/compiled (docs/compiled.md)
    python3 run.py python ARGS...   any command with the project's interpreter

Dependencies are installed into ./.venv the first time, and again whenever
pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
DEMO = ["examples/websocket_multiplayer/main.py"]
COMPILED_BUILD = ROOT / "build" / "compiled"
PURE = {"MULTIPLAYER_EXPECT_BUILD": "pure"}


def run(*command: str | Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(c) for c in command], cwd=ROOT, env=env)
    if result.returncode:
        sys.exit(result.returncode)


def run_demo(args: list[str]) -> int:
    """Run the demo; Ctrl-C and SIGTERM are the demo's to handle (it closes its peers
    and ends quietly), so this waits for it and ends with its status."""
    demo = subprocess.Popen([str(PYTHON), *DEMO, *args], cwd=ROOT)
    # Ctrl-C reaches the demo too (one process group); a SIGTERM sent to run.py
    # alone is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: demo.send_signal(signum))
    return demo.wait()


def ensure_venv(extra: str) -> None:
    """Create .venv and install the project (with ``extra``) unless already done."""
    if not PYTHON.exists():
        print("run.py: creating .venv", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            sys.exit(
                f"run.py: cannot create a virtual environment ({exc}); "
                "on Debian or Ubuntu, install python3-venv"
            )
    spec = f".[{extra}]" if extra else "."
    stamp = VENV / f".installed-{extra or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"run.py: installing {spec} into .venv", flush=True)
    run(
        PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--editable", spec
    )
    stamp.write_text(digest)


def missing_for_c_build() -> str | None:
    """What building C extensions lacks here (a compiler, Python's headers), if anything."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler})"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.exists():
        return f"no Python headers ({headers})"
    return None


def build_compiled() -> None:
    """Build the package with its hot path compiled (setup.py, mypyc) into build/compiled."""
    print("run.py: building the compiled hot path (mypyc) into build/compiled", flush=True)
    shutil.rmtree(COMPILED_BUILD, ignore_errors=True)
    run(
        PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
        "--target", COMPILED_BUILD, ".",
        env={**os.environ, "MULTIPLAYER_MYPYC": "1"},
    )  # fmt: skip


def test_compiled() -> None:
    """The whole suite again, against the build setup.py compiles with mypyc. It goes
    to build/compiled: the source tree stays pure (a .so beside its .py would win the
    import, and hide every edit until the next build)."""
    missing = missing_for_c_build()
    if missing:
        if os.environ.get("MULTIPLAYER_REQUIRE_COMPILED") == "1":
            sys.exit(f"run.py: cannot test the compiled build: {missing}")
        print(
            f"run.py: SKIPPED the suite on the compiled build: {missing} "
            "(install gcc and python3-dev to run it)",
            flush=True,
        )
        return
    build_compiled()
    print("run.py: the whole suite again, on the compiled build", flush=True)
    compiled = {
        **os.environ,
        "PYTHONPATH": str(COMPILED_BUILD),  # (for the examples run as subprocesses)
        "MULTIPLAYER_EXPECT_BUILD": "compiled",
    }
    pythonpath = f"pythonpath={COMPILED_BUILD} {ROOT}"
    run(PYTHON, "-m", "pytest", "-q", "-o", pythonpath, env=compiled)


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "help"
    if command == "demo":
        ensure_venv("")
        sys.exit(run_demo(argv[1:]))
    elif command == "test":
        ensure_venv("test")
        run(PYTHON, "-m", "ruff", "check", "multiplayer", "tests", "examples", "tools")
        run(PYTHON, "-m", "mypy", "-p", "multiplayer", "-p", "tools.webgodot")
        run(PYTHON, "-m", "pytest", *argv[1:], env={**os.environ, **PURE})
        if not argv[1:]:  # the whole suite: the transport's tests again, on picows
            print("run.py: the transport tests again, with the picows backend", flush=True)
            picows = {**os.environ, **PURE, "MULTIPLAYER_WS_BACKEND": "picows"}
            run(PYTHON, "-m", "pytest", "-q", "tests/transport", env=picows)
            test_compiled()
    elif command == "compile":
        ensure_venv("test")
        missing = missing_for_c_build()
        if missing:
            sys.exit(f"run.py: cannot compile: {missing} (install gcc and python3-dev)")
        build_compiled()
        print(f"run.py: built; use it with PYTHONPATH={COMPILED_BUILD}", flush=True)
    elif command == "python":
        ensure_venv("test")
        run(PYTHON, *argv[1:])
    else:
        print(__doc__)
        sys.exit(0 if command == "help" else 2)


if __name__ == "__main__":
    main(sys.argv[1:])
