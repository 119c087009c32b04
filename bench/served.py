"""A ``bench/serve.py`` process that can be measured from outside.

``run.py``'s ``server()`` only needs the port; the ``sync`` and ``connections``
benchmarks also read the server's CPU time, resident memory and admitted peers,
which ``serve.py --stats`` reports on request over its stdin and stdout.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Stats:
    cpu: float  # seconds of CPU time (user + system) the server process used so far
    wall: float  # the server's time.monotonic() when it answered
    rss_kib: int | None  # its resident memory
    peers: int  # the peers it has admitted (-1: its kind does not say)
    rooms: int = -1  # the rooms alive in it (-1: not a room server)


class Measurable(Protocol):
    """A server the benchmarks measure from outside: a :class:`Served` process, or
    a cluster of them (``bench/cluster.py``)."""

    url: str

    async def stats(self, collect: bool = False) -> Stats: ...

    async def ask(self, command: str) -> Stats: ...

    async def wait_for_peers(self, count: int, timeout: float = 60) -> Stats: ...


class Served:
    """A running server process."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"ws://127.0.0.1:{port}"
        self._asking = asyncio.Lock()  # one question at a time: answers come in order

    async def stats(self, collect: bool = False) -> Stats:
        """The server's numbers now; ``collect``: after a garbage collection."""
        return await self.ask("gc" if collect else "stats")

    async def ask(self, command: str) -> Stats:
        """Send one of ``serve.py --stats``'s commands; the numbers after it."""
        assert self.process.stdin is not None and self.process.stdout is not None
        async with self._asking:
            self.process.stdin.write(command.encode() + b"\n")
            await self.process.stdin.drain()
            line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        kind, _, body = line.decode().partition(" ")
        if kind != "stats":
            raise RuntimeError(f"the server answered {line!r}")
        return Stats(**json.loads(body))

    async def wait_for_peers(self, count: int, timeout: float = 60) -> Stats:
        """Stats once the server has admitted ``count`` peers."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            stats = await self.stats()
            if stats.peers >= count:
                return stats
            if loop.time() > deadline:
                raise TimeoutError(f"the server admitted {stats.peers} of {count} peers")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def served(kind: str, *args: str) -> AsyncIterator[Served]:
    """``serve.py KIND --stats ARGS`` in its own process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "serve.py"),
        kind,
        "--stats",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        if not line.startswith(b"port "):
            raise RuntimeError(f"serve.py {kind} did not start: {line!r}")
        yield Served(process, int(line.split()[-1]))
    finally:
        if process.stdin is not None and process.returncode is None:
            process.stdin.write(b"quit\n")  # it closes its connections and exits
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                pass
        if process.returncode is None:
            process.terminate()
        await process.wait()


def raise_file_limit(needed: int) -> None:
    """Let this process (and the servers it starts, which inherit the limit) open
    ``needed`` descriptors: one socket per client on each side. The soft limit is
    often 1024; it may be raised up to the hard limit without privileges."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(f"need {needed} file descriptors; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
