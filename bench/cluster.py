"""The ``cluster`` benchmark: rooms over 4 worker processes sharing a Redis, against
the same load in one process.

    python bench/cluster.py              # 2,000 clients in 500 rooms of 4; 2 rounds
    python bench/cluster.py --smoke      # 20 clients in rooms of 4, 2 workers: seconds
    python bench/cluster.py --rooms 250 --workers 2 --rounds 3

It needs ``redis-server`` (Debian's package), which it starts on a free port of
127.0.0.1 for the run, keeping nothing on disk.

The subjects, each measured in every round with fresh servers and clients:

* ``1 process``: ``serve.py rooms``, one ``RoomServer`` with its in-process
  directory (what ``bench/rooms.py`` measures);
* ``N workers, redirected``: ``python -m multiplayer.rooms.workers`` with
  ``--workers N`` on one shared port (SO_REUSEPORT), a Redis directory, and
  ``--public-host``: a client that reaches another worker than its room's is sent
  there (a 307) and plays on the owner's own port;
* ``N workers, forwarded``: the same without ``--public-host``: such a client is
  relayed by the worker it reached, for the whole game (what a Godot game or a
  browser gets, since they cannot follow a redirect);
* and, joining only, ``1,000 clients`` (a quarter as many rooms) in one process
  and in the redirected workers: the time for that many players to find and join
  rooms through the directory.

The clients are ``bench/rooms.py``'s (``rooms.py clients``): each
``join_or_create``s a room of 4, then calls ``ping(n)`` on its room's server node
``--rate`` times a second and times the ``pong(n)``. What is measured is
``bench/rooms.py``'s, with the cluster's CPU being every worker's plus Redis's
(Redis's alone is shown too): the join time, the idle share, the round trips' p50
and p99, the server CPU share under the calls, per call and per client; and the
checks: every client joins, the rooms are as many as the seats call for and full,
every call is answered once, and every room is gone once the clients have left.

On one machine the clients, the workers and Redis share its cores: on two cores, 4
workers cannot be faster than one process; what the cluster costs (CPU per call,
the relay's share) is what this shows, and what several machines would add is only
the network's latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parent))  # (after PYTHONPATH: build/compiled wins)

import rooms as rooms_bench  # noqa: E402
from cluster_app import ROOM_SIZE_ENV  # noqa: E402
from served import Measurable, Stats, raise_file_limit, served  # noqa: E402
from soak import Process  # noqa: E402

from multiplayer.rooms.redis_directory import RedisDirectory  # noqa: E402

SECRET = "the secret of the benchmark's cluster"


@dataclass
class Settings:
    rooms: int = 500
    room_size: int = 4
    workers: int = 4
    join_clients: int = 1000  # of the joining-only subjects
    rate: float = 2.0  # calls a second, per client
    seconds: float = 5.0
    warmup: float = 2.0
    rounds: int = 2
    processes: int = 4  # client processes
    client_fps: float = 2.0
    """Each client tree's frames a second: its RPCs run as they arrive (event-driven),
    frames only do the housekeeping; 2,000 trees at bench/rooms.py's 10 would take
    the cores the servers are measured on."""
    window: int = 25  # joins at a time, per client process
    quiet: float = 60.0

    @classmethod
    def smoke(cls) -> Settings:
        return cls(
            rooms=5,
            workers=2,
            join_clients=8,
            seconds=0.5,
            warmup=0.2,
            rounds=1,
            processes=2,
            quiet=0.0,
        )

    def for_rooms(self) -> rooms_bench.Settings:
        """What ``bench/rooms.py``'s measurement is given."""
        return rooms_bench.Settings(
            rooms=self.rooms,
            room_size=self.room_size,
            rate=self.rate,
            seconds=self.seconds,
            warmup=self.warmup,
            idle=1.0,
            settle=0.5,
            processes=self.processes,
            window=self.window,
            quiet=self.quiet,
            client_fps=self.client_fps,
        )


@dataclass(frozen=True)
class Subject:
    name: str
    workers: int  # 0: one process (serve.py rooms)
    redirect: bool
    clients: int
    calls: bool = True


def subjects(settings: Settings) -> list[Subject]:
    n, w, joining = settings.rooms * settings.room_size, settings.workers, settings.join_clients
    return [
        Subject("1 process", 0, False, n),
        Subject(f"{w} workers, redirected", w, True, n),
        Subject(f"{w} workers, forwarded", w, False, n),
        Subject(f"1 process, {joining:,} joining", 0, False, joining, calls=False),
        Subject(f"{w} workers, {joining:,} joining", w, True, joining, calls=False),
    ]


# Redis, and the cluster.


class Redis:
    """A ``redis-server`` of the run on a free port of 127.0.0.1, nothing on disk."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-redis-"))
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError(
                "the cluster benchmark needs redis-server (apt install redis-server)"
            )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = await asyncio.create_subprocess_exec(
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
            "--maxclients", "10000", "--loglevel", "warning",
            stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            await asyncio.sleep(0.05)

    def cpu(self) -> float:
        assert self.process is not None
        return cpu_of(self.process.pid)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)


def cpu_of(pid: int) -> float:
    """Seconds of CPU time (user + system) process ``pid`` used so far (0 if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cluster:
    """The worker command and the directory it shares, measured as one server: its
    CPU is every worker's and Redis's (:attr:`redis_cpu` Redis's alone), its peers
    are the seats taken in Redis, its rooms the rooms there."""

    def __init__(self, redis: Redis, directory: RedisDirectory, port: int) -> None:
        self.redis = redis
        self.directory = directory
        self.url = f"ws://127.0.0.1:{port}"
        self.pids: list[int] = []
        self.asked: list[tuple[float, float]] = []  # (wall, Redis's CPU) at each ask()

    async def find_workers(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.pids) < count:
            key = f"{self.directory.namespace}:processes"
            owners = await self.directory.redis.zrange(key, 0, -1)
            self.pids = [int(str(owner).rsplit(":", 1)[1]) for owner in owners]
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(self.pids)} of {count} workers started")
            await asyncio.sleep(0.05)

    async def stats(self, collect: bool = False) -> Stats:
        rooms = await self.directory.listing()
        redis_cpu = self.redis.cpu()
        workers = sum(cpu_of(pid) for pid in self.pids)
        return Stats(
            cpu=workers + redis_cpu,
            wall=time.monotonic(),
            rss_kib=None,
            peers=sum(room.taken for room in rooms),
            rooms=len(rooms),
        )

    async def ask(self, command: str) -> Stats:
        if command != "stats":
            raise ValueError(f"a cluster answers stats only, not {command!r}")
        stats = await self.stats()
        self.asked.append((stats.wall, self.redis.cpu()))
        return stats

    def redis_share(self) -> float:
        """Redis's CPU share between the last two ask()s (the calls' window)."""
        if len(self.asked) < 2:
            return 0.0
        (start, before), (end, after) = self.asked[-2:]
        return (after - before) / (end - start)

    async def wait_for_peers(self, count: int, timeout: float = 60) -> Stats:
        deadline = time.monotonic() + timeout
        while (stats := await self.stats()).peers < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster counts {stats.peers} of {count} players")
            await asyncio.sleep(0.05)
        return stats


@contextlib.asynccontextmanager
async def cluster(redis: Redis, subject: Subject, settings: Settings) -> AsyncIterator[Cluster]:
    """``subject.workers`` workers on a free port, on a namespace of their own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    namespace = f"bench-{os.urandom(4).hex()}"
    command = [
        sys.executable, "-m", "multiplayer.rooms.workers", "cluster_app:setup",
        "--workers", str(subject.workers), "--port", str(port), "--bind", "127.0.0.1",
        "--redis", redis.url, "--namespace", namespace, "--drain-timeout", "2",
    ]  # fmt: skip
    if subject.redirect:
        command += ["--public-host", "127.0.0.1"]
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(HERE.parent)) if p)
    env = {
        **os.environ,
        "PYTHONPATH": path,  # (a build/compiled given first stays first)
        "MULTIPLAYER_CLUSTER_SECRET": SECRET,
        ROOM_SIZE_ENV: str(settings.room_size),
    }
    log = (redis.workdir / f"{namespace}.log").open("wb")
    supervisor = await asyncio.create_subprocess_exec(
        *command, cwd=HERE, env=env, stdout=log, stderr=log, start_new_session=True
    )
    directory = RedisDirectory(redis.url, namespace=namespace)
    try:
        made = Cluster(redis, directory, port)
        await made.find_workers(subject.workers)
        yield made
    finally:
        if supervisor.returncode is None:
            supervisor.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(supervisor.wait(), 20)
            except TimeoutError:
                supervisor.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(supervisor.pid, signal.SIGKILL)
        await supervisor.wait()
        log.close()
        await directory.aclose()


# The measurement.


@dataclass
class Round:
    measured: rooms_bench.Round
    clients: int
    redis_cpu: float = 0.0  # share of a core, under the calls

    @property
    def per_client(self) -> float:
        """The server's CPU share under the calls, per client (seconds a second)."""
        return self.measured.cpu / self.clients


async def measure(redis: Redis, subject: Subject, settings: Settings) -> Round:
    """``subject`` once: its server (one process, or a cluster), its client
    processes, ``bench/rooms.py``'s figures and checks."""
    room_settings = settings.for_rooms()
    rooms_subject = rooms_bench.Subject(
        subject.name,
        "rooms",
        "room",
        subject.clients,
        subject.clients // settings.room_size,
        calls=subject.calls,
    )
    raise_file_limit(subject.clients + 1024)  # (the servers inherit it)
    drivers: list[Process] = []
    starting = asyncio.ensure_future(
        rooms_bench.start_drivers(rooms_subject, room_settings, drivers)
    )
    result = Round(rooms_bench.Round(), subject.clients)
    try:
        async with _server(redis, subject, settings) as server:
            await starting
            result.measured = await rooms_bench._measure(
                server, drivers, rooms_subject, room_settings, None
            )
            if isinstance(server, Cluster):
                result.redis_cpu = server.redis_share()
    finally:
        if not starting.done():
            starting.cancel()
        for driver in drivers:
            if driver.process.returncode is None:
                driver.process.kill()
            await driver.end(10)
    return result


@contextlib.asynccontextmanager
async def _server(redis: Redis, subject: Subject, settings: Settings) -> AsyncIterator[Measurable]:
    if subject.workers:
        async with cluster(redis, subject, settings) as made:
            yield made
    else:
        async with served("rooms", "--room-size", str(settings.room_size)) as one:
            yield one


@dataclass
class Report:
    settings: Settings
    subjects: list[Subject]
    rounds: dict[str, list[Round]]
    load: tuple[float, float] = (0.0, 0.0)

    def failures(self) -> list[str]:
        return [
            f"{name}, round {i + 1}: {failure}"
            for name, rounds in self.rounds.items()
            for i, r in enumerate(rounds)
            for failure in r.measured.failures
        ]


async def run(settings: Settings) -> Report:
    """Every subject, ``settings.rounds`` times, taking turns (in reverse order
    every other round), each after a wait for a quiet machine."""
    chosen = subjects(settings)
    report = Report(settings, chosen, {s.name: [] for s in chosen}, (os.getloadavg()[0], 0.0))
    redis = Redis()
    await redis.start()
    try:
        for index in range(settings.rounds):
            for subject in chosen if index % 2 == 0 else chosen[::-1]:
                if settings.quiet:
                    await rooms_bench.wait_until_quiet(settings.quiet)
                report.rounds[subject.name].append(await measure(redis, subject, settings))
    finally:
        await redis.stop()
    report.load = (report.load[0], os.getloadavg()[0])
    return report


MEASURES: dict[str, tuple[str, str, float]] = {
    # attribute of rooms_bench.Round (or of Round): (row name, unit, scale)
    "join": ("join", "ms", 1e3),
    "p50": ("rtt p50", "us", 1e6),
    "p99": ("rtt p99", "us", 1e6),
    "cpu": ("server CPU", "% core", 100),
    "per_client": ("server CPU per client", "us/s", 1e6),
    "per_call": ("server CPU per call", "us/call", 1e6),
    "idle": ("server CPU idle", "% core", 100),
    "redis_cpu": ("Redis CPU", "% core", 100),
    "clients_cpu": ("client processes' CPU", "% core", 100),
}


def value(result: Round, measure: str) -> float:
    found = getattr(result, measure, None)
    return float(found if found is not None else getattr(result.measured, measure))


def rows(report: Report) -> list[dict[str, Any]]:
    """The table's rows: each measure of each subject (the median over the rounds),
    with its ratio to one process under the same load (the median of each round's
    ratio); then the checks."""
    out: list[dict[str, Any]] = []
    one, _, _, one_joining, _ = report.subjects
    for measure, (name, unit, scale) in MEASURES.items():
        for subject in report.subjects:
            if (measure != "join" and not subject.calls) or (
                measure == "redis_cpu" and not subject.workers
            ):
                continue
            reference = one_joining if not subject.calls else one
            ours = report.rounds[subject.name]
            pairs = zip(ours, report.rounds[reference.name], strict=True)
            ratios = [value(a, measure) / value(b, measure) for a, b in pairs if value(b, measure)]
            out.append(
                dict(
                    benchmark=f"cluster {name}",
                    subject=subject.name,
                    value=statistics.median(value(r, measure) for r in ours) * scale,
                    unit=unit,
                    ratio=statistics.median(ratios)
                    if ratios and subject is not reference
                    else None,
                )
            )
    everything = [r.measured for rounds in report.rounds.values() for r in rounds]
    joined = sum(s.clients for s in report.subjects) * report.settings.rounds
    not_joined = sum(r.not_joined for r in everything)
    for name, count, unit, checked in (
        ("clients joined", joined - not_joined, "clients", False),
        ("clients not joined", not_joined, "clients", True),
        ("calls made", sum(r.made for r in everything), "calls", False),
        ("calls lost", sum(r.lost for r in everything), "calls", True),
    ):
        out.append(
            dict(
                benchmark=f"cluster {name}",
                subject="all",
                value=count,
                unit=unit,
                target="0" if checked else "",
                met=count == 0 if checked else None,
            )
        )
    return out


def describe(report: Report) -> str:
    s = report.settings
    lines = [
        f"cluster: {s.rooms} rooms of {s.room_size} ({s.rooms * s.room_size:,} clients), "
        f"{s.workers} workers, {s.rate:g} calls/s per client, {s.seconds:g} s measured, "
        f"{s.rounds} rounds, clients in {s.processes} processes; load average "
        f"{report.load[0]:.2f} -> {report.load[1]:.2f} on {os.cpu_count()} cores"
    ]
    for row in rows(report):
        ratio = f"  {row['ratio']:.2f}x" if row.get("ratio") is not None else ""
        lines.append(
            f"  {row['benchmark'][8:]:<24} {row['subject']:<28} {row['value']:>12,.1f} "
            f"{row['unit']:<8}{ratio}"
        )
    for subject in report.subjects:
        by_round = ", ".join(
            f"join {r.measured.join:.1f} s p50 {r.measured.p50 * 1e6:.0f} us"
            f" others {'?' if r.measured.others is None else f'{100 * r.measured.others:.0f} %'}"
            for r in report.rounds[subject.name]
        )
        lines.append(f"  by round, {subject.name}: {by_round}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    defaults = Settings()
    parser.add_argument("--smoke", action="store_true", help="a few clients, 2 workers: seconds")
    for name in ("rooms", "workers", "join_clients", "rounds", "processes"):
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=int, default=getattr(defaults, name))
    for name in ("rate", "seconds", "quiet"):
        parser.add_argument("--" + name, type=float, default=getattr(defaults, name))
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args(argv)
    if args.smoke:
        settings = Settings.smoke()
    else:
        chosen = {
            f.name: getattr(args, f.name)
            for f in dataclasses.fields(Settings)
            if hasattr(args, f.name)
        }
        settings = Settings(**chosen)
    report = asyncio.run(run(settings))
    print(describe(report))
    if args.json is not None:
        args.json.write_text(json.dumps(rows(report), indent=1))
    for failure in report.failures():
        print(f"FAILED: {failure}", file=sys.stderr)
    sys.exit(1 if report.failures() else 0)


if __name__ == "__main__":
    main()
