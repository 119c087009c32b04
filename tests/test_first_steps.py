"""The README's smallest whole program (examples/first_steps/hello.py) runs as a user
runs it: a real process, a server and a client, one call each way, and it ends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_hello_says_hello_and_ends() -> None:
    result = subprocess.run(
        [sys.executable, "examples/first_steps/hello.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "server: peer 2 says hello: Ada",
        "client: welcome, Ada",
    ]
    assert result.stderr == ""
