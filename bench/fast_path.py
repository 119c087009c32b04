"""Round trip of sequential pings: raw picows vs raw websockets echo, and this
library's RPC over each WebSocket backend, each on asyncio and on uvloop.

    python bench/fast_path.py [--smoke]     (or bench/run.py --only fast_path)

Every subject is a server process and a client process of its own, both on the
subject's event loop; the driver (this process) has each client measure a share
of its calls in every round, taking turns, as ``run.py``'s ``rpc_rtt`` does, so
that a change in the machine's speed touches every subject alike. Reported: p50
and p99 of each, and ratios to raw websockets on asyncio. picows and uvloop are
the ``fast`` extra (``pip install pygodot-multiplayer[fast]``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parent))  # (after PYTHONPATH: build/compiled wins)

IMPLS = ["raw websockets", "raw picows", "ours/websockets", "ours/picows"]
LOOPS = ["asyncio", "uvloop"]


def run_on(loop: str, coroutine: Any) -> Any:
    if loop == "uvloop":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


# Servers.


async def serve_picows() -> None:
    from picows import WSListener, ws_create_server

    class Echo(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type == 2:
                transport.send(2, frame.get_payload_as_bytes())

    server = await ws_create_server(lambda request: Echo(), "127.0.0.1", 0)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Future()


async def serve(impl: str) -> None:
    import serve as bench_serve

    if impl == "raw websockets":
        await bench_serve.serve_raw()
    elif impl == "raw picows":
        await serve_picows()
    else:
        await bench_serve.serve_ours()  # (the backend: MULTIPLAYER_WS_BACKEND)


# Clients.


class PicowsClient:
    async def connect(self, port: int) -> None:
        from picows import WSListener, ws_connect

        client = self

        class Answer(WSListener):  # type: ignore[misc]
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if client.waiter is not None:
                    client.waiter.set_result(frame.get_payload_as_bytes())
                    client.waiter = None

        self.waiter: asyncio.Future[bytes] | None = None
        self.transport, _ = await ws_connect(Answer, f"ws://127.0.0.1:{port}")

    async def rtt(self, n: int) -> float:
        start = time.perf_counter()
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.send(2, b"p" + n.to_bytes(4, "little"))
        await self.waiter
        return time.perf_counter() - start


async def work(impl: str, port: int) -> None:
    if impl == "raw picows":
        client: Any = PicowsClient()
    else:
        import importlib.util

        spec = importlib.util.spec_from_file_location("bench_run", HERE / "run.py")
        assert spec is not None and spec.loader is not None
        bench_run = importlib.util.module_from_spec(spec)
        sys.modules["bench_run"] = bench_run
        spec.loader.exec_module(bench_run)
        OursClient, RawClient = bench_run.OursClient, bench_run.RawClient

        client = RawClient() if impl == "raw websockets" else OursClient()
    await client.connect(port)
    print("ready", flush=True)
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line or line.strip() == "quit":
            break
        count = int(line.split()[1])
        times = [await client.rtt(i) for i in range(count)]
        print(json.dumps(times), flush=True)
    if hasattr(client, "close"):
        await client.close()


# The driver.


def env_for(impl: str) -> dict[str, str]:
    env = dict(os.environ)
    env["MULTIPLAYER_WS_BACKEND"] = "picows" if impl == "ours/picows" else "websockets"
    return env


async def start(impl: str, loop: str) -> tuple[Any, Any]:
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "server",
        impl,
        loop,
        stdout=asyncio.subprocess.PIPE,
        env=env_for(impl),
    )
    try:
        assert server.stdout is not None
        port = int((await asyncio.wait_for(server.stdout.readline(), 30)).split()[-1])
        client = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "client",
            impl,
            loop,
            str(port),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env_for(impl),
        )
    except BaseException:
        server.kill()
        raise
    try:
        assert client.stdout is not None
        assert (await asyncio.wait_for(client.stdout.readline(), 30)).strip() == b"ready"
    except BaseException:
        server.kill()
        client.kill()
        raise
    return server, client


async def measure(client: Any, count: int) -> list[float]:
    client.stdin.write(f"run {count}\n".encode())
    await client.stdin.drain()
    return list(json.loads(await client.stdout.readline()))


async def drive(calls: int, rounds: int) -> dict[tuple[str, str], list[float]]:
    """Every subject's round trips, in seconds, measured taking turns."""
    subjects = [(impl, loop) for loop in LOOPS for impl in IMPLS]
    procs = {}
    try:
        for subject in subjects:
            procs[subject] = await start(*subject)
        for _, client in procs.values():
            await measure(client, 100)  # warm up
        times: dict[tuple[str, str], list[float]] = {s: [] for s in subjects}
        for _ in range(rounds):
            for subject, (_, client) in procs.items():
                times[subject] += await measure(client, calls // rounds)
    finally:
        for server, client in procs.values():
            if client.returncode is None:
                client.stdin.write(b"quit\n")
                await client.stdin.drain()
                try:
                    await asyncio.wait_for(client.wait(), 10)
                except TimeoutError:
                    client.kill()
            server.terminate()
            await server.wait()
    return times


NAMES = {
    "raw websockets": "raw websockets",
    "raw picows": "raw picows",
    "ours/websockets": "ours",
    "ours/picows": "ours, picows",
}


async def fast_path(smoke: bool) -> list[dict[str, Any]]:
    """The rows: p50 and p99 of each subject on each loop, as ratios to raw
    websockets on asyncio; the target, ours on the fast path (picows and uvloop)
    at most raw websockets' round trip."""
    times = await drive(200 if smoke else 3000, 2 if smoke else 10)
    reference = statistics.median(times[("raw websockets", "asyncio")])
    rows: list[dict[str, Any]] = []
    for (impl, loop), found in times.items():
        p50 = statistics.median(found)
        p99 = statistics.quantiles(found, n=100)[98]
        subject = NAMES[impl] + (", uvloop" if loop == "uvloop" else "")
        row: dict[str, Any] = dict(
            benchmark="fast path rtt p50",
            subject=subject,
            value=p50 * 1e6,
            unit="us",
            ratio=p50 / reference,
        )
        if (impl, loop) == ("ours/picows", "uvloop"):
            row.update(target="<= 1.0x raw websockets", met=p50 <= reference)
        rows.append(row)
        rows.append(
            dict(
                benchmark="fast path rtt p99",
                subject=subject,
                value=p99 * 1e6,
                unit="us",
                ratio=p99 / reference,
            )
        )
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "server":
        run_on(sys.argv[3], serve(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "client":
        run_on(sys.argv[3], work(sys.argv[2], int(sys.argv[4])))
    else:
        parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
        parser.add_argument("--smoke", action="store_true")
        for row in asyncio.run(fast_path(parser.parse_args().smoke)):
            print(row)
