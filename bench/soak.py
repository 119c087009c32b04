"""The ``soak`` benchmark: many clients calling and syncing for minutes while their
links are cut at random, and what the server's memory does meanwhile.

    python bench/soak.py                                  # 200 clients, 3 minutes
    python bench/soak.py --clients 20 --seconds 5 --cut-every 1

A server (a process of its own: ``soak.py serve``) runs a SceneTree at 60 frames a
second with a ``Soak`` node and an ``Arena`` of ``--objects`` synchronized objects
(``bench/replicate.py``) whose values change every frame and are replicated 20
times a second; five times a second it broadcasts a numbered ``news(n)`` RPC,
reliably. The clients (a SceneTree and a WebSocketMultiplayerPeer each, spread
over ``--processes`` processes: ``soak.py clients``) each reach it through a
``FaultProxy`` of their own, which cuts the client's link (an RST both ways, no
close frame) at random moments, on average every ``--cut-every`` seconds. Every
client, all along:

* awaits ``rpc_call(1, "call", seq)`` in a loop, ``seq`` counting 0, 1, 2, ...;
  the server notes each ``seq`` it gets from each peer (one call is in flight at a
  time, so they must come in that order, each once) and answers with it;
* applies the synchronized state, whose step counts may only go up;
* takes the numbered news, which must arrive each once and in order.

At the end the clients stop calling and cutting, finish their call in flight, and
wait until they are connected and have had the last news; then both sides report.
The checks, each of which must be 0 (the process exits with 1 otherwise):

* calls lost: calls made and not answered (a timeout, an error), plus calls the
  server did not get exactly once (a gap in a peer's sequence, or a repeat);
* deliveries out of order: a call, a news or a state update that came twice or
  late (or a news after a gap: one was lost);
* sessions lost: ``peer_disconnected`` on the server, or ``server_disconnected``
  on a client, before the end of the run (a session that did not resume).

Also reported: the resumes (``peer_resumed`` on the server), state updates each
client applied per second, the server's CPU share, and its memory slope: the
server's resident memory (``/proc/<pid>/statm``) is sampled every second, and the
slope of a least-squares line through the samples after the warm-up (the first
third of the run, at most a minute) is given in KiB per minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from replicate import Arena, Mover, server_arena
from served import raise_file_limit

from multiplayer import (
    ConnectionStatus,
    Node,
    PeerDisconnected,
    SceneTree,
    WebSocketMultiplayerPeer,
    rpc,
)
from multiplayer.testing import FaultProxy

HERE = Path(__file__).resolve().parent

SERVER_FPS = 60.0
CLIENT_FPS = 20.0
HZ = 20.0
NEWS_PERIOD = 0.2  # seconds between two news
CONNECT_WINDOW = 5  # clients of one process connecting at once
SAMPLE_PERIOD = 1.0  # seconds between two readings of the server's memory and CPU


@dataclass
class Settings:
    """What a run does (the command line's options, and ``bench/run.py``'s)."""

    clients: int = 200
    seconds: float = 180.0
    cut_every: float = 10.0  # seconds between two cuts of one client's link, on average
    call_interval: float = 0.2  # seconds a client waits between an answer and its next call
    processes: int = 4  # client processes
    objects: int = 2  # synchronized objects
    warmup: float | None = None  # seconds left out of the memory slope (None: a third, <= 60)

    @classmethod
    def smoke(cls) -> Settings:
        return cls(clients=20, seconds=5.0, cut_every=1.0, processes=2, warmup=1.0)

    def warmup_seconds(self) -> float:
        return self.warmup if self.warmup is not None else min(60.0, self.seconds / 3)


# The scene, the same on the server and the clients.


@dataclass(slots=True)
class Receipts:
    """The calls the server got from one peer: ``seq`` must be 0, 1, 2, ... (a client
    makes its next call once the last is answered)."""

    count: int = 0  # different calls received
    repeats: int = 0  # calls received again (a seq below the next one expected)
    gaps: int = 0  # calls skipped over: never received

    def receive(self, seq: int) -> None:
        expected = self.count + self.gaps
        if seq < expected:
            self.repeats += 1
        else:
            self.gaps += seq - expected
            self.count += 1


class Soak(Node):
    """The calls go to the server's; the news, from it, to every client's."""

    def __init__(self) -> None:
        super().__init__("Soak")
        self.receipts: dict[int, Receipts] = {}  # on the server, by peer
        self.news_sent = 0  # on the server
        self.broadcasting = False
        self._since_news = 0.0
        self.news_last: int | None = None  # on a client: the last news, and what was wrong
        self.news_got = 0
        self.news_wrong = 0

    @rpc("any_peer")
    def call(self, seq: int) -> int:
        sender = self.multiplayer.get_remote_sender_id()
        receipts = self.receipts.get(sender)
        if receipts is None:
            receipts = self.receipts[sender] = Receipts()
        receipts.receive(seq)
        return seq

    @rpc
    def news(self, n: int) -> None:
        if self.news_last is not None and n != self.news_last + 1:
            self.news_wrong += 1
        self.news_last = n
        self.news_got += 1

    def _process(self, delta: float) -> None:
        if not self.broadcasting:
            return
        self._since_news += delta
        if self._since_news >= NEWS_PERIOD:
            self._since_news -= NEWS_PERIOD
            self.news.rpc(self.news_sent)
            self.news_sent += 1


# The server process.


async def serve(objects: int) -> None:
    """Serve until ``quit``; answer ``hush`` (no more news: the count sent) and
    ``report`` (what the server saw) on stdin and stdout."""
    tree = SceneTree()
    peer = WebSocketMultiplayerPeer()
    await peer.create_server(0, "127.0.0.1")
    api = tree.get_multiplayer()
    api.multiplayer_peer = peer
    soak = Soak()
    tree.root.add_child(soak)
    tree.root.add_child(server_arena("always", objects, HZ))
    seen: Counter[str] = Counter()
    for name in ("peer_connected", "peer_disconnected", "peer_dropped", "peer_resumed"):
        getattr(api, name).connect(lambda _id, name=name: seen.update([name]))
    soak.broadcasting = True
    running = asyncio.ensure_future(tree.run(fps=SERVER_FPS, event_driven=True))
    print(f"port {peer.get_local_port()}", flush=True)
    reader = await stdin_reader()
    while (line := (await reader.readline()).decode().strip()) not in ("quit", ""):
        if line == "hush":
            soak.broadcasting = False
            print(f"hushed {soak.news_sent}", flush=True)
        elif line == "report":
            receipts = {peer_id: asdict(r) for peer_id, r in soak.receipts.items()}
            report = {**seen, "peers": len(api.get_peers()), "receipts": receipts}
            print("report " + json.dumps(report), flush=True)
    tree.quit()
    await running
    peer.close()
    await asyncio.wait_for(peer.wait_closed(), 10)


async def stdin_reader() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


# The client processes.


class SoakClient:
    """One client, behind a FaultProxy of its own."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.tree = SceneTree()
        self.peer = WebSocketMultiplayerPeer()
        self.soak = Soak()
        self.arena = Arena()
        self.arena.spawner.spawned.connect(self._on_spawned)
        self.proxy: FaultProxy | None = None
        self.running: asyncio.Future[None] | None = None
        self.id = 0  # (kept: the API says 0 once the session is gone)
        self.made = 0  # calls
        self.answered = 0
        self.wrong = 0  # answers that were not the call's seq
        self.errors: Counter[str] = Counter()
        self.cuts = 0
        self.lost = 0  # connection_lost
        self.reconnected = 0
        self.gone = False  # server_disconnected: the session ended
        self.updates = 0  # state updates applied
        self.backwards = 0  # ...whose step count did not go up
        self._steps: dict[str, int] = {}

    def _on_spawned(self, node: Node) -> None:
        if isinstance(node, Mover):
            node.sync.synchronized.connect(lambda: self._applied(node))

    def _applied(self, mover: Mover) -> None:
        self.updates += 1
        if mover.steps <= self._steps.get(mover.name, -1):
            self.backwards += 1
        self._steps[mover.name] = mover.steps

    @property
    def away(self) -> bool:
        return self.lost > self.reconnected

    async def connect(self, port: int) -> None:
        self.proxy = FaultProxy(port)
        await self.proxy.start()
        await self.peer.create_client(self.proxy.url)
        api = self.tree.get_multiplayer()
        api.multiplayer_peer = self.peer
        api.connection_lost.connect(lambda: setattr(self, "lost", self.lost + 1))
        api.reconnected.connect(lambda: setattr(self, "reconnected", self.reconnected + 1))
        api.server_disconnected.connect(lambda: setattr(self, "gone", True))
        self.tree.root.add_child(self.soak)
        self.tree.root.add_child(self.arena)
        self.running = asyncio.ensure_future(
            self.tree.run(fps=CLIENT_FPS, event_driven=True, handle_signals=False)
        )
        while 1 not in api.get_peers():
            if self.peer.get_connection_status() is ConnectionStatus.DISCONNECTED:
                raise ConnectionError(f"a client failed: {self.peer.connection_error!r}")
            await asyncio.sleep(0.01)
        self.id = api.get_unique_id()

    async def call(self, stop: asyncio.Event, interval: float) -> None:
        """Call until ``stop``, one call in flight."""
        while not stop.is_set() and not self.gone:
            seq = self.made
            self.made += 1
            try:
                answer = await self.soak.rpc_call(1, "call", seq)
            except PeerDisconnected:
                self.errors["PeerDisconnected"] += 1
                return
            except Exception as exc:
                self.errors[type(exc).__name__] += 1
                print(f"call {seq} failed: {exc!r}", file=sys.stderr)
            else:
                if answer == seq:
                    self.answered += 1
                else:
                    self.wrong += 1
            await asyncio.sleep(interval * self.rng.uniform(0.5, 1.5))

    async def cut(self, stop: asyncio.Event, every: float) -> None:
        """Cut the link at random moments, ``every`` seconds apart on average."""
        assert self.proxy is not None
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.rng.expovariate(1 / every))
            except TimeoutError:
                if self.proxy.links:
                    self.proxy.cut()
                    self.cuts += 1

    def settled(self, last_news: int) -> bool:
        connected = self.peer.get_connection_status() is ConnectionStatus.CONNECTED
        return self.gone or (connected and not self.away and self.soak.news_last == last_news)

    def result(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "made": self.made,
            "answered": self.answered,
            "wrong": self.wrong,
            "errors": dict(self.errors),
            "cuts": self.cuts,
            "lost": self.lost,
            "reconnected": self.reconnected,
            "gone": self.gone,
            "why": repr(self.peer.connection_error) if self.gone else None,
            "updates": self.updates,
            "backwards": self.backwards,
            "news": self.soak.news_got,
            "news_wrong": self.soak.news_wrong,
            "news_last": self.soak.news_last,
        }

    async def close(self) -> None:
        self.tree.quit()
        if self.running is not None:
            await self.running
        self.peer.close()
        await asyncio.wait_for(self.peer.wait_closed(), 10)
        if self.proxy is not None:
            await asyncio.wait_for(self.proxy.close(), 10)


async def drive_clients(
    port: int, count: int, seed: int, cut_every: float, interval: float
) -> None:
    """``count`` clients; on stdin: ``go``, then ``stop N`` (N: the news the server
    sent; answered with ``result {json}``), then ``close``."""
    raise_file_limit(4 * count + 256)  # a socket per client, and two in its proxy
    # Each cut would log a warning ("connection lost ... trying to resume"); a session
    # that ends is in the result, with the reason.
    logging.getLogger("multiplayer").setLevel(logging.ERROR)
    clients: list[SoakClient] = []
    for start in range(0, count, CONNECT_WINDOW):
        seeds = range(seed + start, seed + min(count, start + CONNECT_WINDOW))
        clients += await asyncio.gather(*(join(port, s) for s in seeds))
    print("ready", flush=True)
    reader = await stdin_reader()
    await expect(reader, "go")
    stop = asyncio.Event()
    updates = [c.updates for c in clients]
    began = time.monotonic()
    tasks = [asyncio.ensure_future(c.call(stop, interval)) for c in clients]
    tasks += [asyncio.ensure_future(c.cut(stop, cut_every)) for c in clients]
    news_sent = int((await expect(reader, "stop")).split()[1])
    stop.set()
    elapsed = time.monotonic() - began
    updates = [c.updates - before for c, before in zip(clients, updates, strict=True)]
    await asyncio.wait(tasks, timeout=60)
    deadline = time.monotonic() + 30
    while not all(c.settled(news_sent - 1) for c in clients) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    results = [c.result() for c in clients]
    for result, applied in zip(results, updates, strict=True):
        result["updates"] = applied  # while calling and cutting
        result["seconds"] = elapsed
    print("result " + json.dumps(results), flush=True)
    await expect(reader, "close")
    await asyncio.gather(*(c.close() for c in clients))


async def join(port: int, seed: int, attempts: int = 3) -> SoakClient:
    """A connected client. Joining is not what is soaked: a first connection that
    fails (a busy machine) is tried again, with a new client."""
    for _ in range(attempts - 1):
        client = SoakClient(random.Random(seed))
        try:
            await client.connect(port)
            return client
        except ConnectionError as exc:
            print(f"client {seed}: {exc}; trying again", file=sys.stderr)
            await client.close()
    client = SoakClient(random.Random(seed))
    await client.connect(port)
    return client


async def expect(reader: asyncio.StreamReader, word: str) -> str:
    line = (await reader.readline()).decode().strip()
    if line.split(" ")[0] != word:
        raise RuntimeError(f"expected {word!r} on stdin, not {line!r}")
    return line


# The run, from outside.


class Process:
    """A process of the run, spoken to by lines, and measured in /proc."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, *args: str) -> Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "soak.py"),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def hear(self, word: str, timeout: float) -> str:
        assert self.process.stdout is not None
        line = (await asyncio.wait_for(self.process.stdout.readline(), timeout)).decode()
        if line.split(" ")[0].strip() != word:
            raise RuntimeError(f"expected {word!r} from {self.process.pid}, not {line!r}")
        return line.partition(" ")[2].strip()

    def cpu(self) -> float:
        """Seconds of CPU time (user + system) it used so far."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        with open(f"/proc/{self.process.pid}/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024

    async def end(self, timeout: float = 15) -> None:
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@dataclass
class Report:
    settings: Settings
    seconds: float = 0.0  # of calling and cutting
    calls_made: int = 0
    calls_answered: int = 0
    calls_lost: int = 0
    out_of_order: int = 0
    resumes: int = 0
    cuts: int = 0
    sessions_lost: int = 0
    updates_per_second: float = 0.0  # of each object, per client (the mean)
    news: int = 0  # delivered to the clients
    server_cpu: float = 0.0  # share of one core
    load: tuple[float, float] = (0.0, 0.0)  # the machine's load average, at the start and end
    clients_cpu: float = 0.0  # of the client processes, in all
    rss_start_kib: int = 0  # after the warm-up
    rss_end_kib: int = 0
    slope_kib_per_minute: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    why_lost: dict[str, int] = field(default_factory=dict)  # the sessions lost, by reason
    samples: list[tuple[float, int]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)  # what the processes reported

    def failures(self) -> list[str]:
        wrong = []
        if self.calls_lost:
            wrong.append(f"{self.calls_lost} calls lost (errors: {self.errors})")
        if self.out_of_order:
            wrong.append(f"{self.out_of_order} deliveries out of order or twice")
        if self.sessions_lost:
            wrong.append(f"{self.sessions_lost} sessions lost")
        return wrong


async def run(settings: Settings) -> Report:
    """The whole soak: a server, the client processes, and the report."""
    raise_file_limit(settings.clients + 256)
    server = await Process.start("serve", "--objects", str(settings.objects))
    groups = [
        len(range(i, settings.clients, settings.processes)) for i in range(settings.processes)
    ]
    drivers: list[Process] = []
    try:
        port = await server.hear("port", 30)
        for index, count in enumerate(n for n in groups if n):
            args = ["--count", str(count), "--seed", str(index * 100_000)]
            args += ["--cut-every", str(settings.cut_every)]
            args += ["--call-interval", str(settings.call_interval)]
            drivers.append(await Process.start("clients", port, *args))
        for driver in drivers:
            await driver.hear("ready", 120)
        return await _run(settings, server, drivers)
    finally:
        for process in (*drivers, server):
            if process.process.returncode is None:
                process.process.kill()
            await process.process.wait()


async def _run(settings: Settings, server: Process, drivers: list[Process]) -> Report:
    report = Report(settings)
    for driver in drivers:
        await driver.say("go")
    start = time.monotonic()
    cpu_start = server.cpu()
    load_start = os.getloadavg()[0]
    clients_cpu_start = sum(d.cpu() for d in drivers)
    while (now := time.monotonic()) - start < settings.seconds:
        report.samples.append((now - start, server.rss_kib()))
        await asyncio.sleep(min(SAMPLE_PERIOD, start + settings.seconds - now))
    elapsed = time.monotonic() - start
    report.server_cpu = (server.cpu() - cpu_start) / elapsed
    report.clients_cpu = (sum(d.cpu() for d in drivers) - clients_cpu_start) / elapsed
    report.load = (load_start, os.getloadavg()[0])
    await server.say("hush")
    news_sent = int(await server.hear("hushed", 30))
    results: list[dict[str, Any]] = []
    for driver in drivers:
        await driver.say(f"stop {news_sent}")
    for driver in drivers:
        results += json.loads(await driver.hear("result", 120))
    await server.say("report")
    seen = json.loads(await server.hear("report", 30))
    for driver in drivers:
        await driver.say("close")
    await asyncio.gather(*(d.end() for d in drivers))
    await server.say("quit")
    await server.end()
    report.raw = {"clients": results, "server": seen, "news": news_sent}
    tally(report, results, seen, news_sent)
    return report


def tally(report: Report, results: list[dict[str, Any]], seen: dict[str, Any], news: int) -> None:
    """Fill ``report`` from the clients' results and the server's report."""
    receipts = seen["receipts"]
    errors: Counter[str] = Counter()
    why_lost: Counter[str] = Counter()
    for result in results:
        got = receipts.get(str(result["id"]), {"count": 0, "repeats": 0, "gaps": 0})
        report.calls_made += result["made"]
        report.calls_answered += result["answered"]
        # Not answered (rightly), or not received exactly once by the server.
        unanswered = result["made"] - result["answered"]
        missed = max(0, result["made"] - got["count"]) + got["repeats"]
        report.calls_lost += max(unanswered, missed)
        report.out_of_order += got["repeats"] + result["backwards"]
        report.out_of_order += result["news_wrong"]
        if result["news_last"] != news - 1 and not result["gone"]:
            report.out_of_order += 1  # the last news never came
        report.cuts += result["cuts"]
        report.sessions_lost += result["gone"]
        if result["gone"]:
            why_lost.update([result["why"]])
        report.news += result["news"]
        errors.update(result["errors"])
    report.errors = dict(errors)
    report.why_lost = dict(why_lost)
    report.seconds = results[0]["seconds"] if results else 0.0
    per_client = [r["updates"] / report.settings.objects / r["seconds"] for r in results]
    report.updates_per_second = statistics.fmean(per_client) if per_client else 0.0
    report.resumes = seen.get("peer_resumed", 0)
    report.sessions_lost = max(report.sessions_lost, seen.get("peer_disconnected", 0))
    warm = [(t, rss) for t, rss in report.samples if t >= report.settings.warmup_seconds()]
    if report.samples:
        report.rss_start_kib = report.rss_end_kib = report.samples[-1][1]
    if len(warm) >= 2:
        slope, _ = statistics.linear_regression([t for t, _ in warm], [r for _, r in warm])
        report.slope_kib_per_minute = slope * 60
        report.rss_start_kib, report.rss_end_kib = warm[0][1], warm[-1][1]


def rows(report: Report) -> list[dict[str, Any]]:
    """The rows of ``bench/run.py``'s table."""
    settings = report.settings

    def row(name: str, value: float, unit: str, target: str = "", met: bool | None = None) -> Any:
        return dict(
            benchmark=f"soak {name}", subject="ours", value=value, unit=unit, target=target, met=met
        )

    return [
        row("clients", settings.clients, "clients"),
        row("duration", report.seconds, "s"),
        row("cuts", report.cuts, "cuts"),
        row("calls made", report.calls_made, "calls"),
        row("calls answered", report.calls_answered, "calls"),
        row("calls lost", report.calls_lost, "calls", "0", report.calls_lost == 0),
        row("out of order", report.out_of_order, "deliv", "0", report.out_of_order == 0),
        row("resumes", report.resumes, "resumes"),
        row("sessions lost", report.sessions_lost, "sessions", "0", report.sessions_lost == 0),
        row("sync per client", report.updates_per_second, "Hz"),
        row("server CPU", 100 * report.server_cpu, "% core"),
        row("server memory", report.rss_end_kib / 1024, "MiB"),
        row("server memory slope", report.slope_kib_per_minute, "KiB/min"),
    ]


MUST_HOLD = ("soak calls lost", "soak out of order", "soak sessions lost")
"""The rows whose target must be met: the run fails otherwise."""


def describe(report: Report) -> str:
    s = report.settings
    return "\n".join(
        [
            f"soak: {s.clients} clients in {s.processes} processes, {report.seconds:.0f} s, "
            f"a cut every {s.cut_every:g} s per client on average, a call every "
            f"{s.call_interval:g} s after the last answer, {s.objects} objects at {HZ:g} Hz",
            f"calls made {report.calls_made}, answered {report.calls_answered}, "
            f"lost {report.calls_lost} (errors {report.errors})",
            f"deliveries out of order or twice {report.out_of_order}; news delivered {report.news}",
            f"cuts {report.cuts}, resumes {report.resumes}, sessions lost {report.sessions_lost}",
            *(f"  {count} lost: {why}" for why, count in report.why_lost.items()),
            f"state updates per object per client {report.updates_per_second:.1f}/s",
            f"server CPU {100 * report.server_cpu:.1f} % of a core; "
            f"client processes {100 * report.clients_cpu:.1f} %; load average "
            f"{report.load[0]:.1f} -> {report.load[1]:.1f} on {os.cpu_count()} cores",
            f"server memory {report.rss_start_kib} KiB -> {report.rss_end_kib} KiB after "
            f"{s.warmup_seconds():.0f} s of warm-up: slope "
            f"{report.slope_kib_per_minute:+.1f} KiB/min",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="role")
    serve_args = sub.add_parser("serve", help="(the server process)")
    serve_args.add_argument("--objects", type=int, default=Settings.objects)
    client_args = sub.add_parser("clients", help="(a client process)")
    client_args.add_argument("port", type=int)
    client_args.add_argument("--count", type=int, required=True)
    client_args.add_argument("--seed", type=int, default=0)
    client_args.add_argument("--cut-every", type=float, default=Settings.cut_every)
    client_args.add_argument("--call-interval", type=float, default=Settings.call_interval)
    defaults = Settings()
    parser.add_argument("--clients", type=int, default=defaults.clients)
    parser.add_argument("--seconds", type=float, default=defaults.seconds)
    parser.add_argument("--cut-every", type=float, default=defaults.cut_every)
    parser.add_argument("--call-interval", type=float, default=defaults.call_interval)
    parser.add_argument("--processes", type=int, default=defaults.processes)
    parser.add_argument("--objects", type=int, default=defaults.objects)
    parser.add_argument("--warmup", type=float, default=None)
    parser.add_argument("--samples", type=Path, help="write the memory samples (CSV) here")
    parser.add_argument("--dump", type=Path, help="write what the processes reported (JSON) here")
    args = parser.parse_args()
    if args.role == "serve":
        asyncio.run(serve(args.objects))
        return
    if args.role == "clients":
        asyncio.run(
            drive_clients(args.port, args.count, args.seed, args.cut_every, args.call_interval)
        )
        return
    settings = Settings(
        clients=args.clients,
        seconds=args.seconds,
        cut_every=args.cut_every,
        call_interval=args.call_interval,
        processes=args.processes,
        objects=args.objects,
        warmup=args.warmup,
    )
    report = asyncio.run(run(settings))
    print(describe(report))
    if args.samples is not None:
        lines = [f"{t:.1f},{rss}" for t, rss in report.samples]
        args.samples.write_text("seconds,rss_kib\n" + "\n".join(lines) + "\n")
    if args.dump is not None:
        args.dump.write_text(json.dumps(report.raw, indent=1))
    for failure in report.failures():
        print(f"FAILED: {failure}", file=sys.stderr)
    sys.exit(1 if report.failures() else 0)


if __name__ == "__main__":
    main()
