"""The benchmarks' smoke mode: every benchmark still runs (numbers are not judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(240)  # (subprocesses on a busy CI machine; about 25 s here)
def test_benchmarks_smoke(tmp_path: Path) -> None:
    """`bench/run.py --smoke` runs every benchmark, prints the table, writes JSON; the
    soak's checks hold (no call, session or order lost while links are cut)."""
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
    soak = {row["benchmark"]: row for row in data["rows"] if row["benchmark"].startswith("soak ")}
    for name in ("calls made", "calls lost", "out of order", "resumes", "sessions lost"):
        assert f"soak {name}" in soak
    for name in ("sync per client", "server CPU", "server memory", "server memory slope"):
        assert f"soak {name}" in soak
    # The soak's checks: every call answered once, nothing lost, and links were cut.
    assert soak["soak calls lost"]["value"] == 0
    assert soak["soak calls answered"]["value"] == soak["soak calls made"]["value"] > 0
    assert soak["soak out of order"]["value"] == soak["soak sessions lost"]["value"] == 0
    assert soak["soak resumes"]["value"] > 0
    must_be_zero = ("soak calls lost", "soak out of order", "soak sessions lost")
    may_fall = ("soak server memory slope",)  # (over seconds, it is noise either way)
    for row in data["rows"]:
        if row["benchmark"] not in (*must_be_zero, *may_fall):
            assert row["value"] > 0, row
