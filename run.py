#!/usr/bin/env python3
"""One entry point that needs nothing but python3: it makes .venv, installs, and runs.

    python3 run.py demo    the main job: the dice game, a server and 3 bots, ending by itself
                           (extra arguments go to it: python3 run.py demo --bots 5)
    python3 run.py test    lint, type-check, and the whole test suite (and the transport's
                           tests again on the picows WebSocket backend)
    python3 run.py python ARGS...   any command with the project's interpreter

Dependencies are installed into ./.venv the first time, and again whenever
pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
DEMO = ["examples/websocket_multiplayer/main.py"]


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


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "help"
    if command == "demo":
        ensure_venv("")
        sys.exit(run_demo(argv[1:]))
    elif command == "test":
        ensure_venv("test")
        run(PYTHON, "-m", "ruff", "check", "multiplayer", "tests", "examples", "tools")
        run(PYTHON, "-m", "mypy", "-p", "multiplayer", "-p", "tools.webgodot")
        run(PYTHON, "-m", "pytest", *argv[1:])
        if not argv[1:]:  # the whole suite: the transport's tests again, on picows
            print("run.py: the transport tests again, with the picows backend", flush=True)
            picows = {**os.environ, "MULTIPLAYER_WS_BACKEND": "picows"}
            run(PYTHON, "-m", "pytest", "-q", "tests/transport", env=picows)
    elif command == "python":
        ensure_venv("test")
        run(PYTHON, *argv[1:])
    else:
        print(__doc__)
        sys.exit(0 if command == "help" else 2)


if __name__ == "__main__":
    main(sys.argv[1:])
