"""examples/resume/cut_link.py runs as a user runs it: a real process whose link is cut
in the middle; the client comes back as the same peer and the server hears every
number once, in order."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_cut_link_example_loses_nothing_and_ends() -> None:
    result = subprocess.run(
        [sys.executable, "examples/resume/cut_link.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["server: peer 2 joined", "network: cutting the link after 20 numbers"]
    assert sorted(lines[2:6]) == [
        "client: connection lost; reconnecting",
        "client: reconnected",
        "server: peer 2 dropped; keeping its session",
        "server: peer 2 is back",
    ]
    assert lines[6:] == [
        "server: heard 60 numbers, each once and in order: True",
        "client: still peer 2",
    ]
    assert "trying to resume the session for up to 10.0 s" in result.stderr
