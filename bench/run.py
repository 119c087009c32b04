"""Run the benchmarks and print a table (and write JSON).

    python bench/run.py              # the full run (about 5 minutes, and the soak's 3)
    python bench/run.py --smoke      # a few seconds each: checks they all still run
    python bench/run.py --markdown   # the table as Markdown (the README's)
    python bench/run.py --only rpc_rtt fanout
    python bench/run.py --skip soak cluster
    python bench/run.py --only soak --soak-seconds 600

Each benchmark measures this library and its baselines in the same run, with the
server in a process of its own (``bench/serve.py``) and the clients here, over
loopback, and reports ratios: absolute times on a shared machine are noisy. The
benchmarks: ``wire_bytes``, ``rpc_rtt``, ``rpc_throughput``, ``fanout``, ``sync``
(``bench/replicate.py``), ``connections`` (``bench/connections.py``), ``capacity``
(``bench/capacity.py``: the most clients, each with a synchronized object, that one
server process on one core keeps at 20 Hz, all connected), ``soak``
(``bench/soak.py``: 200 clients calling and syncing while their links are cut at
random) and ``rooms`` (``bench/rooms.py``: a room server of 100 rooms of 4 clients
calling, against one room of 4, one room of 400 and a plain server of 400) and
``cluster`` (``bench/cluster.py``: 2,000 clients in 500 rooms over 4 worker
processes sharing a Redis, against one process; it needs ``redis-server``). The
soak, the rooms and the cluster check as well as measure: if a call or a session is lost, a
delivery comes out of order, or a client fails to join, the run exits with status
1 after the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parent))  # (after PYTHONPATH: build/compiled wins)

import capacity as capacity_bench  # noqa: E402
import cluster as cluster_bench  # noqa: E402
import connections as connections_bench  # noqa: E402
import fast_path as fast_path_bench  # noqa: E402
import replicate  # noqa: E402
import rooms as rooms_bench  # noqa: E402
import soak as soak_bench  # noqa: E402
from serve import Bench  # noqa: E402
from served import served  # noqa: E402

from multiplayer import SceneMultiplayer, SceneTree, Vector2, WebSocketMultiplayerPeer  # noqa: E402
from multiplayer.protocol.commands import Command  # noqa: E402
from multiplayer.protocol.godot.format import GodotFormat  # noqa: E402
from multiplayer.protocol.native.codec import Codec, pack_array_items  # noqa: E402
from multiplayer.protocol.native.encode import encode_call, inner_command  # noqa: E402
from multiplayer.transport.framing import framing_for  # noqa: E402
from multiplayer.transport.framing.native import Hello, parse_message  # noqa: E402

GODOT = GodotFormat(Codec())


@dataclass
class Row:
    benchmark: str
    subject: str
    value: float
    unit: str
    ratio: float | None = None  # against the benchmark's reference
    target: str = ""
    met: bool | None = None


@asynccontextmanager
async def server(kind: str) -> AsyncIterator[int]:
    """A ``bench/serve.py`` process; yields its port."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "serve.py"), kind, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        yield int(line.split()[-1])
    finally:
        process.terminate()
        await process.wait()


# The clients: one of ours, one raw websockets, one socket.io.


class OursClient:
    def __init__(self, protocol: str = "native") -> None:
        self.tree = SceneTree()
        self.peer = WebSocketMultiplayerPeer(protocol)
        self.node = Bench()

    async def connect(self, port: int) -> None:
        """Connect, with the tree running event-driven frames (RPCs run as they come)."""
        await self.peer.create_client(f"ws://127.0.0.1:{port}")
        api: SceneMultiplayer = self.tree.get_multiplayer()
        api.multiplayer_peer = self.peer
        api.ping_interval = 0
        self.tree.root.add_child(self.node)
        self.running = asyncio.ensure_future(self.tree.run(fps=60, event_driven=True))
        while 1 not in api.get_peers():
            await asyncio.sleep(0.001)

    async def answer(self) -> None:
        """Until the server's pong or done arrives."""
        self.node.answered = asyncio.get_running_loop().create_future()
        await self.node.answered

    async def rtt(self, n: int) -> float:
        start = time.perf_counter()
        self.node.ping.rpc_id(1, n)
        await self.answer()
        self.node.pongs.clear()
        return time.perf_counter() - start

    async def throughput(self, count: int) -> float:
        start = time.perf_counter()
        for i in range(count):
            self.node.count.rpc_id(1, i)
            if i % 1000 == 999:
                await asyncio.sleep(0)  # let the writer run
        self.node.count.rpc_id(1, -1)
        await self.answer()
        assert self.node.done_total == count, self.node.done_total
        self.node.done_total = None
        return count / (time.perf_counter() - start)

    @property
    def messages(self) -> int:
        """WebSocket messages this client sent so far."""
        return self.peer.get_stats().messages_out

    async def close(self) -> None:
        self.tree.quit()
        await self.running
        self.peer.close()
        await self.peer.wait_closed()


class RawClient:
    async def connect(self, port: int) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(f"ws://127.0.0.1:{port}", compression=None)

    messages = 0  # sent by throughput()

    async def rtt(self, n: int) -> float:
        start = time.perf_counter()
        await self.ws.send(b"p" + n.to_bytes(4, "little"))
        await self.ws.recv()
        return time.perf_counter() - start

    async def throughput(self, count: int) -> float:
        start = time.perf_counter()
        self.messages += count + 1
        for i in range(count):
            await self.ws.send(b"c" + i.to_bytes(4, "little"))
        await self.ws.send(b"c-1")
        reply = await self.ws.recv()
        assert int(reply[1:]) == count
        return count / (time.perf_counter() - start)

    async def close(self) -> None:
        await self.ws.close()


class RawBatchedClient(RawClient):
    """Raw websockets as a careful game would use it for many small calls: each call
    msgpack-encoded (a method id and its argument), the calls of one pass of the
    event loop joined in one message, decoded and counted one by one by the server."""

    async def throughput(self, count: int) -> float:
        import msgpack

        pack = msgpack.Packer().pack
        batch: list[bytes] = [b"m"]
        start = time.perf_counter()
        for i in range(count):
            batch.append(pack([7, i]))
            if i % 1000 == 999:  # where ours lets the event loop run
                await self.ws.send(b"".join(batch))
                self.messages += 1
                batch = [b"m"]
        if len(batch) > 1:
            await self.ws.send(b"".join(batch))
            self.messages += 1
        await self.ws.send(b"c-1")
        self.messages += 1
        reply = await self.ws.recv()
        assert int(reply[1:]) == count
        return count / (time.perf_counter() - start)


class SocketIOClient:
    messages = 0  # sent by throughput(): an emit is a message

    async def connect(self, port: int) -> None:
        import socketio

        self.sio = socketio.AsyncClient()
        self.done: asyncio.Future[int] | None = None

        @self.sio.event  # type: ignore[misc]
        async def done(total: int) -> None:
            if self.done is not None:
                self.done.set_result(total)

        await self.sio.connect(f"http://127.0.0.1:{port}", transports=["websocket"])

    async def rtt(self, n: int) -> float:
        start = time.perf_counter()
        await self.sio.call("ping", n)
        return time.perf_counter() - start

    async def throughput(self, count: int) -> float:
        self.done = asyncio.get_running_loop().create_future()
        self.messages += count + 1
        start = time.perf_counter()
        for i in range(count):
            await self.sio.emit("count", i)
        await self.sio.emit("count", -1)
        total = await asyncio.wait_for(self.done, 120)
        assert total == count
        return count / (time.perf_counter() - start)

    async def close(self) -> None:
        await self.sio.disconnect()


BATCHED = "raw websockets, batched"
CLIENTS: dict[str, Callable[[], Any]] = {
    "ours": OursClient,
    "ours, godot profile": lambda: OursClient("godot"),
    "raw websockets": RawClient,
    "raw websockets, batched": RawBatchedClient,
    "python-socketio": SocketIOClient,
}
KINDS = {
    "ours": "ours",
    "ours, godot profile": "ours-godot",
    "raw websockets": "raw",
    "raw websockets, batched": "raw",
    "python-socketio": "socketio",
}


# Benchmarks.


ROUNDS = 10
"""The latency benchmarks take turns: each subject measures a share of its calls in
every round, so that a change in the machine's speed during the run (they are
shared) touches every subject alike."""


@asynccontextmanager
async def every_client(*skip: str) -> AsyncIterator[dict[str, Any]]:
    """A connected client of each subject but ``skip``, each with its server."""
    async with AsyncExitStack() as stack:
        clients = {}
        for subject in CLIENTS:
            if subject in skip:
                continue
            port = await stack.enter_async_context(server(KINDS[subject]))
            client = clients[subject] = CLIENTS[subject]()
            await client.connect(port)
            stack.push_async_callback(client.close)
        yield clients


async def rpc_rtt(smoke: bool) -> list[Row]:
    calls = 200 if smoke else 2000
    rows: list[Row] = []
    results: dict[str, list[float]] = {s: [] for s in CLIENTS if s != BATCHED}
    async with every_client(BATCHED) as clients:  # (its round trip is raw's)
        for client in clients.values():
            for i in range(50):  # warm up
                await client.rtt(i)
        for _ in range(ROUNDS):
            for subject, client in clients.items():
                results[subject] += [await client.rtt(i) for i in range(calls // ROUNDS)]
    raw = statistics.median(results["raw websockets"])
    sio = statistics.median(results["python-socketio"])
    for subject, times in results.items():
        p50 = statistics.median(times)
        p99 = statistics.quantiles(times, n=100)[98]
        row = Row("rpc_rtt p50", subject, p50 * 1e6, "us", p50 / raw)
        if subject == "ours":
            row.target = "<= 1.2x raw, <= 0.5x socketio"
            row.met = p50 <= 1.2 * raw and p50 <= 0.5 * sio
        rows.append(row)
        rows.append(Row("rpc_rtt p99", subject, p99 * 1e6, "us", p99 / raw))
    return rows


async def rpc_throughput(smoke: bool) -> list[Row]:
    count = 5000 if smoke else 20000
    rounds = 1 if smoke else 5
    runs: dict[str, list[float]] = {subject: [] for subject in CLIENTS}
    messages: dict[str, int] = {}
    async with every_client() as clients:
        before = {subject: client.messages for subject, client in clients.items()}
        for _ in range(rounds):  # taking turns, as rpc_rtt does; the median counts
            for subject, client in clients.items():
                runs[subject].append(await client.throughput(count))
        messages = {s: client.messages - before[s] for s, client in clients.items()}
    rates = {subject: statistics.median(rates) for subject, rates in runs.items()}
    batched = rates[BATCHED]
    rows = []
    for subject, rate in rates.items():
        # The reference is the raw client that batches as ours does: the same calls
        # in about as many messages (shown per 1000 calls), so the ratio is the cost
        # of the RPC layer, not of messages saved.
        row = Row("rpc_throughput", subject, rate, "calls/s", rate / batched)
        if subject == "ours":
            row.target = ">= 0.25x raw batched, >= 5x socketio"
            row.met = rate >= 0.25 * batched and rate >= 5 * rates["python-socketio"]
        rows.append(row)
    calls = (count + 1) * rounds
    for subject, sent in messages.items():
        rows.append(Row("rpc_throughput messages", subject, 1000 * sent / calls, "/1k calls"))
    return rows


WIRE_CASES: list[tuple[str, list[Any]]] = [
    ("no args", []),
    ("one int", [5]),
    ("a Vector2", [Vector2(1.5, 2.0)]),
    ("a 10-char str", ["abcdefghij"]),
    ("a list of 10 ints", [list(range(10))]),
]
"""The reference calls, each on a node and method whose ids are cached (confirmed)."""


def godot_call(args: list[Any]) -> bytes:
    """The call as the godot profile sends it: Godot 4's own REMOTE_CALL, which
    tests/godot/test_wire.py checks byte for byte against what the real engine sends."""
    return GODOT.encode_call(1, 1, GODOT.pack_args(args, allow_objects=False), len(args))


def on_the_wire(message: bytes) -> int:
    """Bytes a client's WebSocket message takes above TCP: a masked frame's header
    (RFC 6455 5.2: 2 bytes, 2 or 8 more for a long payload, 4 of mask) and it."""
    size = len(message)
    return 2 + (0 if size < 126 else 2 if size < 1 << 16 else 8) + 4 + size


async def wire_bytes(smoke: bool) -> list[Row]:
    """A call as it goes on the wire, framing included: the packet in its message
    (each profile's framing: ours may add a kind byte, Godot's adds nothing) in a
    client's WebSocket frame. Godot's packet is the godot profile's, which
    tests/godot/test_wire.py checks byte for byte against the real engine's."""
    native, godot_framing = framing_for("native"), framing_for("godot")
    rows = []
    for name, args in WIRE_CASES:
        packet = encode_call(1, 1, pack_array_items(args), len(args))
        ours = sum(on_the_wire(m) for m in native.encode([packet], 1 << 20))
        godot = sum(on_the_wire(m) for m in godot_framing.encode([godot_call(args)], 1 << 20))
        label = f"wire_bytes {name}"
        rows.append(Row(label, "ours", ours, "bytes", ours / godot, "<= Godot", ours <= godot))
        rows.append(Row(label, "ours, godot profile", godot, "bytes", 1.0))
        rows.append(Row(label, "Godot 4", godot, "bytes", 1.0))
    return rows


async def counting_client(port: int, ours: bool) -> Any:
    """A bare websockets client that only counts what it receives, so that both
    servers are measured with clients of the same (small) cost; for ours it does
    the HELLO exchange by hand."""
    from websockets.asyncio.client import connect

    ws = await connect(f"ws://127.0.0.1:{port}", compression=None, max_queue=None)
    if ours:
        await ws.send(Hello(0, 1 << 20).serialize())
        Hello.parse(await ws.recv())
    return ws


async def count_deliveries(ws: Any, ticks: int, ours: bool) -> None:
    """Receive until ``ticks`` ticks came: messages for raw websockets, RPC calls
    (inside PACKET or BATCH messages) for ours."""
    received = 0
    while received < ticks:
        message = await ws.recv()
        if ours:
            received += sum(inner_command(p) == Command.REMOTE_CALL for p in parse_message(message))
        else:
            received += 1


Blast = Callable[[int, bool], Awaitable[tuple[float, float]]]


@asynccontextmanager
async def fanout_session(subject: str, clients: int) -> AsyncIterator[Blast]:
    """A server with ``clients`` counting clients; yields ``blast(ticks, burst)``,
    which measures one broadcast of ``ticks`` ticks: the deliveries per second, and
    the server's CPU time per delivery (seconds). Each tick goes on its own pass of
    the event loop, or, with ``burst``, all of them in one go (ours coalesces them
    into one message per client; websockets sends each).

    The clients share this machine with the server, so deliveries per second also
    measure how fast they read; the server's CPU time per delivery does not.
    """
    ours = subject == "ours"
    async with served(KINDS[subject]) as server_process:
        port = server_process.port
        sockets = [await counting_client(port, ours) for _ in range(clients)]
        trigger: Any
        if ours:
            trigger = OursClient()  # a client of ours asks for the broadcasts
            await trigger.connect(port)
        else:
            trigger = await counting_client(port, ours)
        await server_process.wait_for_peers(clients + 1)

        async def blast(ticks: int, burst: bool) -> tuple[float, float]:
            before = await server_process.stats()
            start = time.perf_counter()
            if ours:
                method = trigger.node.blast if burst else trigger.node.blast_spread
                method.rpc_id(1, ticks)
            else:
                await trigger.send((b"b" if burst else b"B") + str(ticks).encode())
            await asyncio.gather(*(count_deliveries(ws, ticks, ours) for ws in sockets))
            elapsed = time.perf_counter() - start
            after = await server_process.stats()
            deliveries = clients * ticks
            return deliveries / elapsed, (after.cpu - before.cpu) / deliveries

        try:
            yield blast
        finally:
            await trigger.close()
            for ws in sockets:
                await ws.close()


async def fanout(smoke: bool) -> list[Row]:
    rows = []
    rounds = 1 if smoke else 5
    for clients in (10,) if smoke else (100, 500):
        ticks = 20 if smoke else 100
        async with (
            fanout_session("ours", clients) as ours_blast,
            fanout_session("raw websockets", clients) as raw_blast,
        ):
            for burst in (False, True):
                ours_runs, raw_runs = [], []
                for _ in range(rounds):  # taking turns, as rpc_rtt does
                    ours_runs.append(await ours_blast(ticks, burst))
                    raw_runs.append(await raw_blast(ticks, burst))
                ours, ours_cpu = (statistics.median(x) for x in zip(*ours_runs, strict=True))
                raw, raw_cpu = (statistics.median(x) for x in zip(*raw_runs, strict=True))
                name = f"fanout {clients} clients{' burst' if burst else ''}"
                target = ">= 0.8x websockets.broadcast"
                rows.append(
                    Row(name, "ours", ours, "deliv/s", ours / raw, target, ours >= 0.8 * raw)
                )
                rows.append(Row(name, "websockets.broadcast", raw, "deliv/s", 1.0))
                cpu_name = f"{name} CPU"  # the server's, per delivery
                row = Row(cpu_name, "ours", ours_cpu * 1e6, "us/deliv", ours_cpu / raw_cpu)
                if "burst" not in name:  # (one message per tick and client, as broadcast)
                    row.target = "<= 1.0x websockets.broadcast"
                    row.met = ours_cpu <= raw_cpu
                rows.append(row)
                rows.append(Row(cpu_name, "websockets.broadcast", raw_cpu * 1e6, "us/deliv", 1.0))
    return rows


async def sync(smoke: bool) -> list[Row]:
    """Server CPU share and bytes per client replicating 100 objects to 100 clients."""
    return [Row(**row) for row in await replicate.sync(smoke)]


async def connections(smoke: bool) -> list[Row]:
    """Time to connect 1000 clients, and server memory per client, against websockets."""
    return [Row(**row) for row in await connections_bench.connections(smoke)]


async def capacity(smoke: bool) -> list[Row]:
    """The most clients one server process keeps at 20 Hz, each with an object."""
    return [Row(**row) for row in await capacity_bench.capacity(smoke)]


async def fast_path(smoke: bool) -> list[Row]:
    """Round trips over picows and uvloop (the fast path), against raw websockets."""
    return [Row(**row) for row in await fast_path_bench.fast_path(smoke)]


SOAK = soak_bench.Settings()
"""The full run's soak (``--soak-seconds``, ``--soak-clients``); the smoke's is
``Settings.smoke()``: 20 clients for 5 seconds, each cut every second or so."""
FAILURES: list[str] = []
"""What the checks of a benchmark found wrong (the run exits with status 1)."""


async def soak(smoke: bool) -> list[Row]:
    """Calls, resumes and the server's memory slope, links cut at random."""
    report = await soak_bench.run(soak_bench.Settings.smoke() if smoke else SOAK)
    FAILURES.extend(f"soak: {failure}" for failure in report.failures())
    return [Row(**row) for row in soak_bench.rows(report)]


async def rooms(smoke: bool) -> list[Row]:
    """100 rooms of 4 in one server: round trips, server CPU and joins, against one
    room of 4, one room of 400 and a plain server of 400."""
    report = await rooms_bench.run(
        rooms_bench.Settings.smoke() if smoke else rooms_bench.Settings()
    )
    FAILURES.extend(f"rooms: {failure}" for failure in report.failures())
    return [Row(**row) for row in rooms_bench.rows(report)]


async def cluster(smoke: bool) -> list[Row]:
    """4 worker processes sharing a Redis (players redirected, or forwarded) against
    one process: 2,000 clients in 500 rooms; and the time for 1,000 to join. It needs
    redis-server: without it, one line says so, and no row."""
    if shutil.which("redis-server") is None:
        print("cluster: SKIPPED: it needs redis-server (apt install redis-server)", file=sys.stderr)
        return []
    report = await cluster_bench.run(
        cluster_bench.Settings.smoke() if smoke else cluster_bench.Settings()
    )
    FAILURES.extend(f"cluster: {failure}" for failure in report.failures())
    return [Row(**row) for row in cluster_bench.rows(report)]


BENCHMARKS = {
    "wire_bytes": wire_bytes,
    "rpc_rtt": rpc_rtt,
    "rpc_throughput": rpc_throughput,
    "fast_path": fast_path,
    "fanout": fanout,
    "sync": sync,
    "connections": connections,
    "capacity": capacity,
    "soak": soak,
    "rooms": rooms,
    "cluster": cluster,
}


def _cells(row: Row) -> tuple[str, str]:
    ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
    met = "" if row.met is None else ("met" if row.met else "NOT MET")
    return ratio, f"{row.target} {met}".strip()


def table(rows: list[Row]) -> str:
    lines = [f"{'benchmark':<30} {'subject':<20} {'value':>10} {'unit':<8} {'ratio':>6}  target"]
    for row in rows:
        ratio, target = _cells(row)
        lines.append(
            f"{row.benchmark:<30} {row.subject:<20} {row.value:>10.1f} {row.unit:<8} "
            f"{ratio:>6}  {target}"
        )
    return "\n".join(lines)


def markdown(rows: list[Row]) -> str:
    """The table as Markdown (for the README)."""
    lines = ["| benchmark | subject | value | ratio | target |", "|---|---|--:|--:|---|"]
    for row in rows:
        ratio, target = _cells(row)
        value = f"{row.value:,.1f} {row.unit}"
        lines.append(f"| {row.benchmark} | {row.subject} | {value} | {ratio} | {target} |")
    return "\n".join(lines)


def describe_machine() -> str:
    """CPU, cores, Python and the versions compared, for the table's caption."""
    from importlib.metadata import version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    packages = ", ".join(
        f"{name} {version(name)}" for name in ("websockets", "msgpack", "python-socketio")
    )
    import multiplayer

    build = "compiled with mypyc" if multiplayer.COMPILED else "pure Python"
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()}; "
        f"{platform.python_implementation()} {platform.python_version()}; {packages}; "
        f"multiplayer {build}"
    )


async def main(smoke: bool, only: list[str], skip: list[str], out: Path, as_markdown: bool) -> None:
    rows: list[Row] = []
    for name, benchmark in BENCHMARKS.items():
        if (not only or name in only) and name not in skip:
            rows += await benchmark(smoke)
    print(markdown(rows) if as_markdown else table(rows))
    machine = describe_machine()
    out.write_text(
        json.dumps(
            {"machine": machine, "smoke": smoke, "rows": [asdict(r) for r in rows]}, indent=1
        )
    )
    print(f"\n{machine}; written to {out}")
    for failure in FAILURES:
        print(f"FAILED: {failure}", file=sys.stderr)
    if FAILURES:
        sys.exit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds per benchmark")
    parser.add_argument("--only", nargs="*", default=[], choices=list(BENCHMARKS))
    parser.add_argument("--skip", nargs="*", default=[], choices=list(BENCHMARKS))
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--soak-seconds", type=float, default=SOAK.seconds, help="full run")
    parser.add_argument("--soak-clients", type=int, default=SOAK.clients, help="full run")
    args = parser.parse_args()
    SOAK.seconds, SOAK.clients = args.soak_seconds, args.soak_clients
    args.json.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(args.smoke, args.only, args.skip, args.json, args.markdown))
