"""The benchmarks' smoke mode: every benchmark still runs (numbers are not judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmarks_smoke(tmp_path: Path) -> None:
    """`bench/run.py --smoke` runs every benchmark, prints the table, writes JSON."""
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(out.read_text())
    seen = {(row["benchmark"], row["subject"]) for row in data["rows"]}
    for subject in ("ours", "ours, godot profile", "raw websockets", "python-socketio"):
        assert ("rpc_rtt p50", subject) in seen
        assert ("rpc_throughput", subject) in seen
    assert ("wire_bytes one int", "Godot 4") in seen
    assert ("wire_bytes one int", "ours, godot profile") in seen
    for name in ("fanout 10 clients", "fanout 10 clients burst"):
        for row in (name, f"{name} CPU"):
            assert (row, "ours") in seen
            assert (row, "websockets.broadcast") in seen
    for mode in ("ALWAYS", "ON_CHANGE"):
        for row in ("server CPU", "rate", "per client"):
            assert (f"sync {mode} {row}", "ours") in seen
        assert (f"sync {mode} per client", "expected") in seen
    for subject in ("ours", "ours, relay off", "raw websockets"):
        assert ("connect 100 clients", subject) in seen
        assert ("server memory per client", subject) in seen
    assert all(row["value"] > 0 for row in data["rows"])
