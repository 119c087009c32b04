"""examples/plain_loop: a plain-loop server and two plain-loop clients, each a process
of its own, race to the end and stop by themselves."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAIN = "examples/plain_loop/main.py"


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-W", "error", MAIN, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_host_and_two_joiners_as_separate_processes() -> None:
    """--host and two --join --bot processes play one race to its end; every process
    hears the same scores, names the same winner, and exits 0 with nothing on stderr."""
    host = start("--host", "--port", "0", "--players", "2")
    joiners: list[subprocess.Popen[str]] = []
    try:
        assert host.stdout is not None
        first = host.stdout.readline()
        assert first.startswith("listening on port "), first
        url = f"ws://127.0.0.1:{first.split()[-1]}"
        joiners = [start("--join", url, "--bot", "--name", name) for name in ("Ann", "Bob")]
        outputs = [p.communicate(timeout=60) for p in joiners]
        host_out, host_err = host.communicate(timeout=30)
    finally:
        for process in [host, *joiners]:
            if process.returncode is None:
                process.kill()
                process.communicate()
    assert [host.returncode, *(p.returncode for p in joiners)] == [0, 0, 0]
    assert host_err == "" and all(err == "" for _, err in outputs)
    lines = {"server": host_out, "Ann": outputs[0][0], "Bob": outputs[1][0]}
    winners = {
        name: [ln for ln in out.splitlines() if ln.endswith(" wins!")]
        for name, out in lines.items()
    }
    assert all(len(found) == 1 for found in winners.values()), winners
    assert len({found[0].split("|")[1] for found in winners.values()}) == 1  # the same one
    for name, out in lines.items():
        assert "Ann joined" in out and "Bob joined" in out, name
        scores = [ln.split("|")[1].strip() for ln in out.splitlines() if ln.endswith(": 10")]
        assert len(scores) == 1, (name, scores)  # the winner's tenth click, seen once


def test_all_in_one_starts_its_processes_and_ends_by_itself() -> None:
    """Without --host or --join it runs the server and two bots as processes, and ends."""
    result = subprocess.run(
        [sys.executable, "-W", "error", MAIN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout.splitlines()
    assert out[-1] == "race over"
    assert sum(line.startswith(" server |") and line.endswith(" wins!") for line in out) == 1


def test_all_in_one_passes_a_sigterm_on_and_ends_cleanly() -> None:
    """SIGTERM to the all-in-one process in the middle of the race: it passes the
    signal on, its server and bots close their peers, and it says so and exits 0,
    with nothing on stderr (no traceback, no connection lost without a close frame)."""
    race = start()
    try:
        assert race.stdout is not None
        for line in race.stdout:
            if line == " server | go!\n":
                break
        else:
            raise AssertionError(f"the race never began: {race.communicate()[1]}")
        race.send_signal(signal.SIGTERM)
        out, err = race.communicate(timeout=30)
    finally:
        if race.poll() is None:
            race.kill()
            race.communicate()
    assert race.returncode == 0, err
    assert err == ""
    assert out.splitlines()[-1] == "stopped"
    assert " wins!" not in out  # (the signal came while the race was on)


def test_a_taken_port_is_reported_at_once() -> None:
    """--host on a port in use says so and exits 1 (create_server raised OSError)."""
    host = start("--host", "--port", "0", "--players", "1")
    try:
        assert host.stdout is not None
        port = host.stdout.readline().split()[-1]
        second = subprocess.run(
            [sys.executable, MAIN, "--host", "--port", port],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        host.kill()
        host.communicate()
    assert second.returncode == 1
    assert f"cannot listen on port {port}" in second.stderr
