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
    """`bench/run.py --smoke` runs every benchmark (but the cluster's, which needs
    Redis: test_cluster_benchmark_smoke), prints the table, writes JSON; the soak's
    checks hold (no call, session or order lost while links are cut)."""
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--smoke", "--skip", "cluster", "--json", str(out)],
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
        assert ("server CPU per join", subject) in seen
    # Capacity: both of the smoke's steps ran, their clients got in and got state
    # (at 20 Hz on an idle machine: a loaded one may fall short in its 1 s window).
    capacity = {row["benchmark"]: row for row in data["rows"] if row["subject"] == "ours"}
    for step in (20, 40):
        assert capacity[f"capacity {step} x {step} state rate"]["value"] > 10
    assert "capacity (clients = objects, 20 Hz)" in capacity
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
    assert ("rooms calls lost", "all") in seen  # (test_rooms_benchmark_smoke checks it)
    must_be_zero = (
        *("soak calls lost", "soak out of order", "soak sessions lost"),
        *("rooms calls lost", "rooms clients not joined"),
    )
    may_fall = ("soak server memory slope",)  # (over seconds, it is noise either way)
    for row in data["rows"]:
        # (what a few calls add to an idle server's CPU, measured for a tenth of a
        # second: noise either way)
        above_idle = row["benchmark"].startswith("rooms server CPU per call above idle")
        if row["benchmark"] not in (*must_be_zero, *may_fall) and not above_idle:
            assert row["value"] > 0, row


ROOMS_SUBJECTS = ("5 rooms of 2", "1 room of 2", "1 room of 10", "plain server, 10")


@pytest.mark.timeout(120)  # (about 7 s here)
def test_rooms_benchmark_smoke(tmp_path: Path) -> None:
    """`bench/run.py --only rooms --smoke`: 5 rooms of 2 clients calling for 0.5 s, and
    the same against one room of 2, one room of 10 and a plain server of 10. Every
    client joins (the rooms as many as the seats call for, each full), every call is
    answered once, and every room is disposed once its clients have left: else the
    run fails."""
    out = tmp_path / "rooms.json"
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--only", "rooms", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {(row["benchmark"], row["subject"]): row for row in json.loads(out.read_text())["rows"]}
    for subject in ROOMS_SUBJECTS:
        for name in ("join", "rtt p50", "rtt p99", "server CPU", "server CPU per call"):
            assert rows[f"rooms {name}", subject]["value"] > 0
    assert rows["rooms join", "plain, relay off, 10"]["value"] > 0
    assert rows["rooms rtt p50: 5 rooms of 2 / 1 room of 10", "ratio"]["value"] > 0
    assert rows["rooms clients joined", "all"]["value"] == 10 + 2 + 10 + 10 + 10
    assert rows["rooms clients not joined", "all"]["value"] == 0
    assert rows["rooms calls made", "all"]["value"] > 0
    assert rows["rooms calls lost", "all"]["value"] == 0


CLUSTER_SUBJECTS = ("1 process", "2 workers, redirected", "2 workers, forwarded")


@pytest.mark.timeout(150)  # (about 12 s here)
def test_cluster_benchmark_smoke(tmp_path: Path, redis_server: object) -> None:
    """`bench/run.py --only cluster --smoke`: 20 clients in rooms of 4 calling, in one
    process and in 2 workers sharing a Redis (it starts its own redis-server; the
    fixture skips or fails this test, as every Redis test, where there is none).
    Every client joins, into full rooms as many as the seats call for, every call
    is answered once, every room is gone once its clients have left: else the run
    fails."""
    out = tmp_path / "cluster.json"
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--only", "cluster", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=140,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {(row["benchmark"], row["subject"]): row for row in json.loads(out.read_text())["rows"]}
    for subject in CLUSTER_SUBJECTS:
        for name in ("rtt p50", "rtt p99", "server CPU", "server CPU per client"):
            assert rows[f"cluster {name}", subject]["value"] > 0
    for subject in ("1 process, 8 joining", "2 workers, 8 joining"):
        assert rows["cluster join", subject]["value"] > 0
    assert rows["cluster clients joined", "all"]["value"] == 3 * 20 + 2 * 8
    assert rows["cluster clients not joined", "all"]["value"] == 0
    assert rows["cluster calls made", "all"]["value"] > 0
    assert rows["cluster calls lost", "all"]["value"] == 0
