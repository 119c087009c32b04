"""The profile of one round trip: Python function calls and CPU time per side.

    python bench/rtt_profile.py [--calls 2000]

For ours (a SceneTree client calling ``ping`` on the ``ours`` server, answered by
``pong``) and for raw websockets (an echo), the client here and the server in its
own process (``serve.py --stats``) make ``--calls`` round trips twice: once under
cProfile, to count the Python function calls each side makes per round trip, and
once without, to measure each side's CPU time per round trip (``process_time``,
user and system). The calls are what the interpreter runs; the CPU time includes
the system calls, which are the same for both (one send, one receive, the waits).
Run from any checkout: it uses only the public API and ``serve.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parent))  # (after PYTHONPATH: build/compiled wins)

from served import served  # noqa: E402


def calls_in(profile: cProfile.Profile | str) -> int:
    """Function calls a profile counted (primitive and recursive alike)."""
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


async def side_by_side(subject: str, calls: int) -> dict[str, float]:
    import importlib.util

    # bench/run.py's clients, the same as rpc_rtt's (``run`` alone is the root's run.py)
    spec = importlib.util.spec_from_file_location("bench_run", HERE / "run.py")
    assert spec is not None and spec.loader is not None
    bench_run = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = bench_run  # (its dataclasses look their module up)
    spec.loader.exec_module(bench_run)

    kind = {"ours": "ours", "raw websockets": "raw"}[subject]
    client = bench_run.OursClient() if subject == "ours" else bench_run.RawClient()
    async with served(kind) as server:
        await client.connect(server.port)
        try:
            for i in range(200):  # warm up
                await client.rtt(i)
            # CPU time per round trip, no profiler.
            before, mine = await server.stats(), time.process_time()
            for i in range(calls):
                await client.rtt(i)
            after, mine = await server.stats(), time.process_time() - mine
            # Python calls per round trip, under cProfile on both sides.
            path = Path(tempfile.mkdtemp()) / "server.prof"
            await server.ask("profile start")
            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(calls):
                await client.rtt(i)
            profiler.disable()
            await server.ask(f"profile {path}")
        finally:
            await client.close()
    return {
        "client calls": calls_in(profiler) / calls,
        "server calls": calls_in(str(path)) / calls,
        "client us": mine / calls * 1e6,
        "server us": (after.cpu - before.cpu) / calls * 1e6,
    }


async def main(calls: int) -> None:
    results = {s: await side_by_side(s, calls) for s in ("ours", "raw websockets")}
    print(
        "| per round trip | client: Python calls | client: CPU µs | server: Python calls"
        " | server: CPU µs |"
    )
    print("|---|--:|--:|--:|--:|")
    for subject, found in results.items():
        print(
            f"| {subject} | {found['client calls']:.0f} | {found['client us']:.0f} | "
            f"{found['server calls']:.0f} | {found['server us']:.0f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    asyncio.run(main(parser.parse_args().calls))
