"""examples/rooms/first_room.py runs as a user runs it, and shows what rooms promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_first_room_example() -> None:
    result = subprocess.run(
        [sys.executable, "examples/rooms/first_room.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    rooms = dict(re.findall(r"(\w+) is peer \d+ in room (\w{6})", out))
    assert rooms["Ann"] == rooms["Bob"] != rooms["Cid"] == rooms["Dee"]
    # Ids start at 2 in each room: each is a session of its own.
    assert "Ann is peer 2" in out and "Cid is peer 2" in out
    assert f"Cid was refused: room {rooms['Ann']} is full (2 seats)" in out
    heard = re.findall(r"(\w+) hears: 2 says '(.*)'", out)
    assert sorted(heard) == [
        ("Ann", "hello from the first room"),
        ("Bob", "hello from the first room"),
        ("Cid", "hello from the second room"),
        ("Dee", "hello from the second room"),
    ]
    assert out.rstrip().endswith("the server has shut down")
    assert result.stderr == ""  # (no warning: a refusal is the caller's to show)
