"""The ``connections`` benchmark: what joining costs the server, against websockets.

N clients connect to a server in its own process (pinned to one core), at most
``WINDOW`` at a time (more would overflow the listen backlog: a dropped SYN waits
a second to be sent again, which measures the kernel). The clients are the light
ones of ``bench/capacity.py``, in two processes of their own on the other core, the
same for every subject: for ours they do the WebSocket upgrade and the HELLO and
then only read; for raw websockets, the upgrade alone. What is measured is the
server: a thousand library clients in one process would measure the clients (each
learns of every other peer: N*N in the one process, where real clients share it
out over their machines). Measured:

* the time from the first connect until every client is in (for ours: its id
  received; for raw websockets: the upgrade done);
* the server's CPU time over the joins, per join;
* the server's resident memory per client: its RSS once every client is in, minus
  its RSS before, divided by N (garbage collected before both readings).

Ours is the ``ours`` server of the other benchmarks (a SceneTree, relay on, as by
default: each join is announced to every other peer, in one ADD_PEERS per peer and
poll in the native profile) and the same with ``server_relay`` off. The baseline is
the plain ``websockets`` server (``raw``).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from capacity import CLIENT_PROCESSES, ClientProcess, _pin
from served import Served, raise_file_limit, served

WINDOW = 25
KINDS = {"ours": "ours", "ours, relay off": "ours-norelay", "raw websockets": "raw"}
ROUNDS = 2  # each subject measured in turn, twice; the quicker run counts


async def measure(subject: str, count: int) -> tuple[float, float, float]:
    """Seconds to connect ``count`` clients, server CPU seconds per join, and server
    bytes per client."""
    processes: list[ClientProcess] = []
    try:
        async with served(KINDS[subject]) as server:
            _pin(server.process.pid, server=True)
            _pin(os.getpid(), server=False)
            share = [count // CLIENT_PROCESSES] * CLIENT_PROCESSES
            share[0] += count - sum(share)
            greets = subject != "raw websockets"
            processes = [
                await ClientProcess.start(server.url, n, WINDOW // CLIENT_PROCESSES, greets=greets)
                for n in share
            ]
            return await _measure(server, count, processes)
    finally:
        for process in processes:
            await process.stop()


async def _measure(
    server: Served, count: int, processes: list[ClientProcess]
) -> tuple[float, float, float]:
    await asyncio.sleep(0.2)  # the server settles
    before = await server.stats(collect=True)
    start = time.perf_counter()
    joined = await asyncio.gather(*(p.ask("go") for p in processes))
    elapsed = time.perf_counter() - start
    failures = [f for report in joined for f in report["failures"]]
    if failures:
        raise RuntimeError(f"{len(failures)} clients failed to join: {failures[:3]}")
    during = await server.wait_for_peers(count)
    await asyncio.sleep(0.5)  # what the server sends on admission is out
    after = await server.stats(collect=True)
    assert before.rss_kib is not None and after.rss_kib is not None, "no /proc here"
    cpu = (during.cpu - before.cpu) / count
    return elapsed, cpu, (after.rss_kib - before.rss_kib) * 1024 / count


async def connections(smoke: bool) -> list[dict[str, Any]]:
    """The rows: connect time, server CPU and memory per client, against websockets."""
    count = 100 if smoke else 1000  # (fewer would make memory deltas noise)
    raise_file_limit(count + 256)  # a socket per client in the server
    runs: dict[str, list[tuple[float, float, float]]] = {subject: [] for subject in KINDS}
    for _ in range(1 if smoke else ROUNDS):
        for subject in KINDS:
            runs[subject].append(await measure(subject, count))
    results = {subject: min(found) for subject, found in runs.items()}  # the best run
    raw_time, raw_cpu, raw_memory = results["raw websockets"]
    rows: list[dict[str, Any]] = []
    for subject, (elapsed, cpu, memory) in results.items():
        row = dict(
            benchmark=f"connect {count} clients",
            subject=subject,
            value=elapsed * 1000,
            unit="ms",
            ratio=elapsed / raw_time,
        )
        if subject == "ours":
            row.update(target="<= 1.5x raw", met=elapsed <= 1.5 * raw_time)
        rows.append(row)
        rows.append(
            dict(
                benchmark="server CPU per join",
                subject=subject,
                value=cpu * 1e6,
                unit="us",
                ratio=cpu / raw_cpu if raw_cpu > 0 else None,
            )
        )
        rows.append(
            dict(
                benchmark="server memory per client",
                subject=subject,
                value=memory / 1024,
                unit="KiB",
                ratio=memory / raw_memory if raw_memory > 0 else None,
            )
        )
    return rows
