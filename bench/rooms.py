"""The ``rooms`` benchmark: a room server with 100 rooms of 4, against one room.

    python bench/rooms.py                    # 3 rounds of every subject, about 3 minutes
    python bench/rooms.py --smoke            # 5 rooms of 2, 0.5 s of calls: seconds
    python bench/rooms.py --rounds 5 --rooms 50 --room-size 8
    python bench/rooms.py --profile rooms.prof   # where the server's CPU goes (100 rooms)

The server is a process of its own (``serve.py rooms``, a ``RoomServer``, or
``serve.py ours``, a plain ``WebSocketMultiplayerPeer`` server), whose CPU time it
reports itself (``serve.py --stats``); every room's tree has the same ``Bench`` node
and settings as the plain server's. The clients (a SceneTree and a
``WebSocketMultiplayerPeer`` each, run event-driven) are spread over
``--processes`` processes (``rooms.py clients``), 200 each for 400 clients.

The subjects, each measured in every round with a fresh server and clients:

* ``100 rooms of 4``: 400 clients ``join_or_create`` rooms of 4 seats;
* ``1 room of 4``: 4 clients, one room (the issue's reference);
* ``1 room of 400``: 400 clients in one room (a type without a seat limit): the same
  load as 100 rooms of 4, in one session;
* ``plain server, 400``: 400 clients of a plain server (relay on, Godot's
  default): the same load without rooms;
* ``plain, relay off, 400``: joining only (with the relay on, a server announces
  each new peer to every other one and those to it: 400 joins send 160,000
  announcements; a room of 4, 12).

What is measured, for each:

* join: from telling the client processes to join until every client is in (it has
  its id and the server peer, so it can call: ``connected_to_server``), ``--window``
  joins at a time per process (more would overflow the listen backlog); the server
  must then have admitted them all, in as many rooms as it should (every room full);
* the server's CPU share idle (everyone joined, no one calling: the frames of every
  room, 60 a second);
* round trips: every client calls ``ping(n)`` on its room's server node (an
  ``any_peer`` RPC) ``--rate`` times a second, on a fixed schedule (open loop,
  each client at its own phase), and the server answers ``pong(n)`` with
  ``rpc_id`` to the caller. After a warm-up, for ``--seconds``: the round trips'
  p50 and p99 (from each client's send to its pong), the server's CPU share, and
  its CPU time per round trip;
* the checks: every call is answered once (none lost), every client joins, the
  rooms are as many as the seats call for, and once the clients have left, every
  room is disposed. Anything wrong is a failure (``bench/run.py`` exits with 1).

Timings on a shared machine are noisy: the subjects take turns, round after round
(in reverse order every other round), and the figures are the medians over the
rounds; a ratio is the median of the ratios measured in each round. Before each
subject the full run waits (``--quiet`` seconds at most) until the machine's other
processes use less than a quarter of a core, and it reports how much they used
while the calls were measured (on two cores, a test run elsewhere makes round trips
ten to a hundred times as long).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serve import Bench
from served import Measurable, raise_file_limit, served
from soak import Process, expect, stdin_reader

from multiplayer import SceneTree, WebSocketMultiplayerPeer, rooms

HERE = Path(__file__).resolve().parent

CLIENT_FPS = 10.0
"""The clients' frames a second: their RPCs run as they arrive (event-driven), so
frames only do the housekeeping, and 200 trees in one process at 60 would measure
the clients."""
DRAIN = 10.0  # seconds the clients wait for the answers still due when they stop
RESULT_LIMIT = 1 << 26  # bytes of a client process's result line
QUIET = 0.25
"""The machine is quiet when the other processes on it use less than this share of
a core (the machine is shared: on two cores, a test run elsewhere makes the round
trips of this one ten times as long)."""
BUSY = 0.5
"""A subject measured while the other processes used more than this share of a core
is measured again (``Settings.retries`` times at most)."""


@dataclass
class Settings:
    """What a run does (the command line's options, and ``bench/run.py``'s)."""

    rooms: int = 100
    room_size: int = 4
    rate: float = 10.0  # calls a second, per client
    seconds: float = 5.0  # of calls measured, per subject and round
    warmup: float = 1.0  # seconds of calls before that
    idle: float = 2.0  # seconds of the idle measurement
    settle: float = 0.5  # seconds after the joins before it: what admission sends is out
    rounds: int = 3
    processes: int = 2  # client processes
    window: int = 25  # joins at a time, per client process
    quiet: float = 60.0  # seconds to wait, at most, before each subject for a quiet machine
    retries: int = 2  # measurements again of a subject disturbed by other processes
    client_fps: float = CLIENT_FPS  # each client tree's frames a second

    @classmethod
    def smoke(cls) -> Settings:
        return cls(
            rooms=5,
            room_size=2,
            seconds=0.5,
            warmup=0.1,
            idle=0.1,
            settle=0.1,
            rounds=1,
            quiet=0.0,
            retries=0,
        )

    @property
    def clients(self) -> int:
        return self.rooms * self.room_size


@dataclass(frozen=True)
class Subject:
    name: str
    kind: str  # serve.py's
    room_type: str | None  # what the clients join_or_create (None: a plain server)
    clients: int
    rooms: int  # that the server should have once every client is in (0: no rooms)
    calls: bool = True  # False: joining only


def subjects(settings: Settings) -> list[Subject]:
    n, size = settings.clients, settings.room_size
    return [
        Subject(f"{settings.rooms} rooms of {size}", "rooms", "room", n, settings.rooms),
        Subject(f"1 room of {size}", "rooms", "room", size, 1),
        Subject(f"1 room of {n}", "rooms", "one", n, 1),
        Subject(f"plain server, {n}", "ours", None, n, 0),
        Subject(f"plain, relay off, {n}", "ours-norelay", None, n, 0, calls=False),
    ]


# The client processes.


class Caller(Bench):
    """The client's ``Bench``: it times each pong against its ping."""

    def __init__(self) -> None:
        super().__init__()
        self.out: dict[int, float] = {}  # calls not answered yet: n -> when sent
        self.times: list[tuple[float, float]] = []  # (when sent, round trip)
        self.unexpected = 0  # pongs of no call in flight (twice, or never called)

    def _answer(self) -> None:
        now = time.monotonic()
        while self.pongs:
            sent = self.out.pop(self.pongs.pop(), None)
            if sent is None:
                self.unexpected += 1
            else:
                self.times.append((sent, now - sent))


class Player:
    """One client: a SceneTree with a Caller, its peer, and its calls."""

    def __init__(self) -> None:
        self.tree = SceneTree()
        self.peer = WebSocketMultiplayerPeer()
        self.node = Caller()
        self.running: asyncio.Task[None] | None = None
        self.code = ""  # its room's
        self.sent = 0
        self.calling = False
        self._next = 0.0
        self._period = 0.0

    async def enter(
        self, url: str, room_type: str | None, timeout: float, fps: float = CLIENT_FPS
    ) -> None:
        """Join (a room of ``room_type``, or the plain server), and return once in:
        the tree has seen the server (``connected_to_server``)."""
        api = self.tree.get_multiplayer()
        api.ping_interval = 0
        loop = asyncio.get_running_loop()
        joined: asyncio.Future[None] = loop.create_future()

        def connected() -> None:
            if not joined.done():
                joined.set_result(None)

        def failed() -> None:
            if not joined.done():
                joined.set_exception(ConnectionError(repr(self.peer.connection_error)))

        api.connected_to_server.connect(connected)
        api.connection_failed.connect(failed)
        api.server_disconnected.connect(failed)
        if room_type is None:
            await self.peer.create_client(url)
        else:
            self.code = (await rooms.join_or_create(self.peer, url, room_type)).code
        api.multiplayer_peer = self.peer
        self.tree.root.add_child(self.node)
        self.running = asyncio.ensure_future(
            self.tree.run(fps=fps, event_driven=True, handle_signals=False)
        )
        await asyncio.wait_for(joined, timeout)

    def start_calls(self, first: float, period: float) -> None:
        """Call at ``first``, then every ``period`` seconds (on the loop's clock,
        ``time.monotonic``), until :meth:`stop_calls`."""
        self.calling = True
        self._next, self._period = first, period
        asyncio.get_running_loop().call_at(first, self._call)

    def _call(self) -> None:
        if not self.calling:
            return
        n = self.sent
        self.sent += 1
        self.node.out[n] = time.monotonic()
        self.node.ping.rpc_id(1, n)
        # The schedule is fixed (a late call does not push the next ones back).
        self._next += self._period
        asyncio.get_running_loop().call_at(self._next, self._call)

    def stop_calls(self) -> None:
        self.calling = False

    async def close(self) -> None:
        if self.running is not None:
            self.tree.quit()
            await self.running
        self.peer.close()
        await self.peer.wait_closed()


async def drive_clients(
    count: int, room_type: str | None, window: int, seed: int, fps: float = CLIENT_FPS
) -> None:
    """``count`` clients, told what to do on stdin: ``join URL`` (answered
    ``joined {json}``), then ``go RATE`` and ``stop`` (answered ``result {json}``),
    and ``close``."""
    raise_file_limit(count + 256)
    players = [Player() for _ in range(count)]
    rng = random.Random(seed)
    print("ready", flush=True)
    reader = await stdin_reader()
    url = (await expect(reader, "join")).split()[1]
    joining = asyncio.Semaphore(window)

    async def join(player: Player) -> str | None:
        async with joining:
            try:
                await player.enter(url, room_type, timeout=30, fps=fps)
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"
            return None

    errors = [e for e in await asyncio.gather(*(join(p) for p in players)) if e is not None]
    codes = Counter(p.code for p in players if p.code)
    print("joined " + json.dumps({"errors": errors, "rooms": codes}), flush=True)
    while (line := (await reader.readline()).decode().split()) and line[0] != "close":
        if line[0] == "go":
            await calls(players, 1 / float(line[1]), rng, reader)
        else:
            raise RuntimeError(f"a client process was told {line!r}")
    await asyncio.wait_for(asyncio.gather(*(p.close() for p in players)), 30)


async def calls(
    players: list[Player], period: float, rng: random.Random, reader: asyncio.StreamReader
) -> None:
    """Call, each player every ``period`` seconds at a phase of its own, until
    ``stop``; then wait for the answers due and print the ``result``."""
    start = time.monotonic() + 0.01
    for player in players:
        player.start_calls(start + rng.uniform(0, period), period)
    await expect(reader, "stop")
    for player in players:
        player.stop_calls()
    deadline = time.monotonic() + DRAIN
    while any(p.node.out for p in players) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    result = {
        "sent": sum(p.sent for p in players),
        "lost": sorted(t for p in players for t in p.node.out.values()),  # when sent
        "unexpected": sum(p.node.unexpected for p in players),
        "times": [(round(s, 6), round(rtt, 7)) for p in players for s, rtt in p.node.times],
    }
    print("result " + json.dumps(result), flush=True)


# The measurement, from outside.


@dataclass
class Round:
    """One subject, measured once."""

    join: float = 0.0  # seconds until every client was in
    p50: float = 0.0  # round trip, seconds
    p99: float = 0.0
    calls: int = 0  # round trips in the measured window
    cpu: float = 0.0  # the server's CPU share under the calls (1.0: one core)
    per_call: float = 0.0  # its CPU seconds per round trip
    above_idle: float = 0.0  # the same, less the idle share (what the calls add)
    idle: float = 0.0  # its CPU share with every client in, no one calling
    clients_cpu: float = 0.0  # of the client processes together, under the calls
    others: float | None = None  # CPU share of the machine's other processes, meanwhile
    waited: float = 0.0  # seconds, for a quiet machine before it started
    disturbed: int = 0  # measurements of this round thrown away: other processes were busy
    rooms: int = 0  # as the server has them once everyone is in
    not_joined: int = 0  # clients
    made: int = 0  # calls, in all (the warm-up's too)
    lost: int = 0  # calls not answered, or answered twice or uncalled
    failures: list[str] = field(default_factory=list)


async def start_drivers(subject: Subject, settings: Settings, drivers: list[Process]) -> None:
    """The client processes of ``subject``, added to ``drivers`` as they start; returns
    once each is ready."""
    counts = [len(range(i, subject.clients, settings.processes)) for i in range(settings.processes)]
    for index, count in enumerate(c for c in counts if c):
        args = ["--count", str(count), "--window", str(settings.window)]
        args += ["--fps", str(settings.client_fps)]
        args += ["--seed", str(index)]
        if subject.room_type is not None:
            args += ["--room-type", subject.room_type]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "rooms.py"),
            "clients",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            # A result is one line of every round trip's time, far past the default
            # 64 KiB (an overrun would also pause the pipe, and wait() with it).
            limit=RESULT_LIMIT,
        )
        drivers.append(Process(process))
    for driver in drivers:
        await driver.hear("ready", 60)


async def measure(subject: Subject, settings: Settings, profile: Path | None = None) -> Round:
    """``subject``, once: a server, its client processes, the figures and checks."""
    raise_file_limit(subject.clients + 256)  # (the server inherits it)
    server_args = ["--room-size", str(settings.room_size)] if subject.kind == "rooms" else []
    drivers: list[Process] = []
    starting = asyncio.ensure_future(start_drivers(subject, settings, drivers))  # (meanwhile)
    try:
        async with served(subject.kind, *server_args) as server:
            await starting
            return await _measure(server, drivers, subject, settings, profile)
    finally:
        if not starting.done():
            starting.cancel()
        for driver in drivers:
            if driver.process.returncode is None:
                driver.process.kill()
            await driver.end(10)


async def _measure(
    server: Measurable,
    drivers: list[Process],
    subject: Subject,
    settings: Settings,
    profile: Path | None,
) -> Round:
    result = Round()
    start = time.monotonic()
    for driver in drivers:
        await driver.say(f"join {server.url}")
    codes: Counter[str] = Counter()
    for driver in drivers:
        joined = json.loads(await driver.hear("joined", 180))
        result.not_joined += len(joined["errors"])
        result.failures += [f"a client did not join: {e}" for e in joined["errors"][:5]]
        codes.update(joined["rooms"])
    result.join = time.monotonic() - start
    try:
        stats = await server.wait_for_peers(subject.clients, timeout=30)
    except TimeoutError as exc:
        result.failures.append(f"the server: {exc}")
        stats = await server.stats()
    result.rooms = stats.rooms
    if subject.rooms and stats.rooms != subject.rooms:
        result.failures.append(f"{stats.rooms} rooms for {subject.clients} clients")
    sizes = Counter(codes.values())
    if subject.room_type == "room" and set(sizes) - {settings.room_size}:
        result.failures.append(f"rooms not full: {dict(sizes)} (players in a room: rooms)")
    if subject.calls and not result.failures:
        await _calls(server, drivers, settings, profile, result)
    for driver in drivers:
        await driver.say("close")
    await asyncio.gather(*(driver.end(60) for driver in drivers))
    if subject.rooms:  # every room is disposed once its players left
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (stats := await server.stats()).rooms and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if stats.rooms:
            result.failures.append(f"{stats.rooms} rooms left after every client left")
    return result


async def _calls(
    server: Measurable,
    drivers: list[Process],
    settings: Settings,
    profile: Path | None,
    result: Round,
) -> None:
    await asyncio.sleep(settings.settle)
    before = await server.stats()
    await asyncio.sleep(settings.idle)
    after = await server.stats()
    result.idle = (after.cpu - before.cpu) / (after.wall - before.wall)
    for driver in drivers:
        await driver.say(f"go {settings.rate}")
    await asyncio.sleep(settings.warmup)
    before = await server.ask("profile start" if profile else "stats")
    clients_before = sum(driver.cpu() for driver in drivers)
    busy_before, own_before = machine_busy(), time.process_time()
    await asyncio.sleep(settings.seconds)
    after = await server.ask(f"profile {profile}" if profile else "stats")
    clients = sum(d.cpu() for d in drivers) - clients_before
    busy_after, own = machine_busy(), time.process_time() - own_before
    window = after.wall - before.wall
    result.clients_cpu = clients / window
    if busy_before is not None and busy_after is not None:
        ours = after.cpu - before.cpu + clients + own
        result.others = max(0.0, busy_after - busy_before - ours) / window
    for driver in drivers:
        await driver.say("stop")
    times: list[float] = []
    for driver in drivers:
        report = json.loads(await driver.hear("result", DRAIN + 60))
        times += [rtt for sent, rtt in report["times"] if before.wall <= sent < after.wall]
        result.made += report["sent"]
        result.lost += len(report["lost"]) + report["unexpected"]
        if report["lost"]:
            result.failures.append(f"{len(report['lost'])} of {report['sent']} calls lost")
        if report["unexpected"]:
            result.failures.append(f"{report['unexpected']} answers twice or uncalled")
    result.calls = len(times)
    if len(times) < 2:
        result.failures.append(f"{len(times)} round trips measured")
        return
    result.p50 = statistics.median(times)
    result.p99 = statistics.quantiles(times, n=100)[98]
    result.cpu = (after.cpu - before.cpu) / window
    result.per_call = (after.cpu - before.cpu) / len(times)
    result.above_idle = (result.cpu - result.idle) * window / len(times)


def machine_busy() -> float | None:
    """Seconds of CPU time that every process of the machine has used (``/proc/stat``;
    None without it)."""
    try:
        with open("/proc/stat") as stat:
            times = [int(field) for field in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = times[3] + times[4]  # (idle and iowait)
    return (sum(times) - idle) / os.sysconf("SC_CLK_TCK")


async def wait_until_quiet(limit: float) -> float:
    """Wait, ``limit`` seconds at most, until the other processes of the machine used
    less than ``QUIET`` of a core over a second; the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        busy, own = machine_busy(), time.process_time()
        await asyncio.sleep(1.0)
        later = machine_busy()
        if busy is None or later is None:
            break
        if later - busy - (time.process_time() - own) < QUIET:
            break
    return time.monotonic() - start


async def measure_quietly(subject: Subject, settings: Settings) -> Round:
    """``subject`` measured on a quiet machine if it can be: after a wait for one, and
    again if other processes were busy while the calls were measured."""
    disturbed = 0
    while True:
        waited = await wait_until_quiet(settings.quiet) if settings.quiet else 0.0
        result = await measure(subject, settings)
        result.waited, result.disturbed = waited, disturbed
        busy = result.others is not None and result.others > BUSY
        if not busy or result.failures or disturbed >= settings.retries:
            return result
        disturbed += 1


@dataclass
class Report:
    settings: Settings
    subjects: list[Subject]
    rounds: dict[str, list[Round]]  # by subject
    load: tuple[float, float] = (0.0, 0.0)  # the machine's load average, start and end

    def failures(self) -> list[str]:
        return [
            f"{name}, round {i + 1}: {failure}"
            for name, rounds in self.rounds.items()
            for i, r in enumerate(rounds)
            for failure in r.failures
        ]


async def run(settings: Settings) -> Report:
    """Every subject, ``settings.rounds`` times, taking turns."""
    chosen = subjects(settings)
    report = Report(settings, chosen, {s.name: [] for s in chosen}, (os.getloadavg()[0], 0.0))
    for index in range(settings.rounds):
        for subject in chosen if index % 2 == 0 else chosen[::-1]:
            report.rounds[subject.name].append(await measure_quietly(subject, settings))
    report.load = (report.load[0], os.getloadavg()[0])
    return report


MEASURES: dict[str, tuple[str, str, float]] = {
    # attribute: (row name, unit, scale)
    "join": ("join", "ms", 1e3),
    "p50": ("rtt p50", "us", 1e6),
    "p99": ("rtt p99", "us", 1e6),
    "cpu": ("server CPU", "% core", 100),
    "per_call": ("server CPU per call", "us/call", 1e6),
    "above_idle": ("server CPU per call above idle", "us/call", 1e6),
    "idle": ("server CPU idle", "% core", 100),
}


def paired_ratio(report: Report, measure: str, subject: str, reference: str) -> float | None:
    """The median over the rounds of ``subject``'s ``measure`` over ``reference``'s
    in the same round."""
    pairs = zip(report.rounds[subject], report.rounds[reference], strict=True)
    ratios = [getattr(a, measure) / getattr(b, measure) for a, b in pairs if getattr(b, measure)]
    return statistics.median(ratios) if ratios else None


def rows(report: Report) -> list[dict[str, Any]]:
    """The rows of ``bench/run.py``'s table: each measure of each subject (the median
    over the rounds), with its ratio to ``1 room of 4`` (joins: to the plain server
    of as many clients); then the ratios of the rooms to one room of as many clients."""
    many, one_small, one_big, plain, _ = report.subjects
    out: list[dict[str, Any]] = []
    for measure, (name, unit, scale) in MEASURES.items():
        for subject in report.subjects:
            if measure != "join" and not subject.calls:
                continue
            values = [getattr(r, measure) for r in report.rounds[subject.name]]
            if measure == "join":
                same = subject.clients == plain.clients
                ratio = paired_ratio(report, measure, subject.name, plain.name) if same else None
            else:
                ratio = paired_ratio(report, measure, subject.name, one_small.name)
            out.append(
                dict(
                    benchmark=f"rooms {name}",
                    subject=subject.name,
                    value=statistics.median(values) * scale,
                    unit=unit,
                    ratio=ratio,
                )
            )
    for measure, (name, _, _) in MEASURES.items():
        ratio = paired_ratio(report, measure, many.name, one_big.name)
        if ratio is not None:
            benchmark = f"rooms {name}: {many.name} / {one_big.name}"
            out.append(dict(benchmark=benchmark, subject="ratio", value=ratio, unit="x"))
    everything = [r for rounds in report.rounds.values() for r in rounds]
    made = sum(r.made for r in everything)
    lost = sum(r.lost for r in everything)
    not_joined = sum(r.not_joined for r in everything)
    joined = sum(s.clients for s in report.subjects) * report.settings.rounds - not_joined
    for name, value, unit, target in (
        ("clients joined", joined, "clients", ""),
        ("clients not joined", not_joined, "clients", "0"),
        ("calls made", made, "calls", ""),
        ("calls lost", lost, "calls", "0"),
    ):
        met = value == 0 if target else None
        out.append(
            dict(
                benchmark=f"rooms {name}",
                subject="all",
                value=value,
                unit=unit,
                target=target,
                met=met,
            )
        )
    return out


def describe(report: Report) -> str:
    """Every measure: the median and, over the rounds, the lowest and highest."""
    s = report.settings
    lines = [
        f"rooms: {s.rooms} rooms of {s.room_size}, {s.rate:g} calls/s per client, "
        f"{s.seconds:g} s measured after {s.warmup:g} s, {s.rounds} rounds, "
        f"clients in {s.processes} processes; load average {report.load[0]:.2f} -> "
        f"{report.load[1]:.2f} on {os.cpu_count()} cores"
    ]
    for subject in report.subjects:
        rounds = report.rounds[subject.name]
        lines.append(f"{subject.name}:")
        for measure, (name, unit, scale) in MEASURES.items():
            if measure != "join" and not subject.calls:
                continue
            values = [getattr(r, measure) * scale for r in rounds]
            lines.append(
                f"  {name:<31} {statistics.median(values):>10.1f} {unit:<8} "
                f"[{min(values):.1f} .. {max(values):.1f}]"
            )
        if subject.calls:
            clients = [100 * r.clients_cpu for r in rounds]
            calls = [r.calls for r in rounds]
            lines.append(
                f"  {'round trips':<31} {statistics.median(calls):>10.0f} "
                f"in each round; client processes {statistics.median(clients):.0f} % core"
            )
            others = " ".join("?" if r.others is None else f"{100 * r.others:.0f}" for r in rounds)
            lines.append(
                f"  {'by round':<31} p50 {' '.join(f'{r.p50 * 1e6:.0f}' for r in rounds)} us; "
                f"others' CPU {others} % core"
            )
        waits = " ".join(f"{r.waited:.0f}" for r in rounds)
        again = " ".join(str(r.disturbed) for r in rounds)
        lines.append(f"  {'':<31} waited for quiet {waits} s; measured again {again} times")
    many, small, big, plain, no_relay = report.subjects
    lines.append(f"ratios of {many.name}, the median of each round's (join: to the plain servers):")
    for measure, (name, _, _) in MEASURES.items():
        against = (plain, no_relay) if measure == "join" else (small, big)
        ratios = [paired_ratio(report, measure, many.name, other.name) for other in against]
        lines.append(
            f"  {name:<31} "
            + ", ".join(
                f"{'-' if r is None else f'{r:.2f}'} to {other.name}"
                for r, other in zip(ratios, against, strict=True)
            )
        )
    return "\n".join(lines)


async def profile_rooms(settings: Settings, path: Path, top: int) -> None:
    """One round of the rooms subject, the server's calls window under cProfile."""
    subject = subjects(settings)[0]
    await wait_until_quiet(settings.quiet)
    result = await measure(subject, settings, profile=path)
    for failure in result.failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    print(
        f"{subject.name}: rtt p50 {result.p50 * 1e6:.0f} us, server CPU "
        f"{100 * result.cpu:.0f} % (under cProfile), {result.calls} round trips"
    )
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="role")
    clients = sub.add_parser("clients", help="(a client process)")
    clients.add_argument("--count", type=int, required=True)
    clients.add_argument("--room-type", help="join_or_create this (default: a plain server)")
    clients.add_argument("--window", type=int, default=Settings.window)
    clients.add_argument("--fps", type=float, default=CLIENT_FPS, help="the clients' frames")
    clients.add_argument("--seed", type=int, default=0)
    defaults = Settings()
    parser.add_argument("--smoke", action="store_true", help="5 rooms of 2, 0.5 s: seconds")
    parser.add_argument("--rooms", type=int, default=defaults.rooms)
    parser.add_argument("--room-size", type=int, default=defaults.room_size)
    parser.add_argument("--rate", type=float, default=defaults.rate)
    parser.add_argument("--seconds", type=float, default=defaults.seconds)
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    parser.add_argument("--processes", type=int, default=defaults.processes)
    parser.add_argument(
        "--quiet",
        type=float,
        default=defaults.quiet,
        help="seconds to wait at most, before each subject, for the machine to be quiet",
    )
    parser.add_argument("--profile", type=Path, help="profile the server of the rooms here")
    parser.add_argument("--top", type=int, default=15, help="--profile: functions shown")
    args = parser.parse_args(argv)
    if args.role == "clients":
        asyncio.run(drive_clients(args.count, args.room_type, args.window, args.seed, args.fps))
        return
    if args.smoke:
        settings = Settings.smoke()
    else:
        settings = Settings(
            rooms=args.rooms,
            room_size=args.room_size,
            rate=args.rate,
            seconds=args.seconds,
            rounds=args.rounds,
            processes=args.processes,
            quiet=args.quiet,
        )
    if args.profile is not None:
        asyncio.run(profile_rooms(settings, args.profile, args.top))
        return
    report = asyncio.run(run(settings))
    print(describe(report))
    for failure in report.failures():
        print(f"FAILED: {failure}", file=sys.stderr)
    sys.exit(1 if report.failures() else 0)


if __name__ == "__main__":
    main()
