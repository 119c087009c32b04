"""examples/rooms/lobby.py runs as a user runs it: real processes. Its all-in-one mode
plays three tables at once and ends by itself; the room server alone serves players
that are programs of their own, and shuts down gracefully on a signal, telling
them."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOBBY = "examples/rooms/lobby.py"
ROOM_LINE = re.compile(r"^ {2}([0-9A-Z]{6}) \| (.*)$")  # a room's log: its code, then the line
TURN = re.compile(r"^\w+ (rolled a [1-6]|passed)$")


def test_the_lobby_plays_three_tables_at_once_and_ends() -> None:
    """Ann's private table (Bob and Cy join by its code) and two tables filled by
    join_or_create play at the same time; Kim is refused Ann's full table, with its
    type, and sits at the last free seat; every game ends with every turn; every room
    closes, then the server shuts down; exit status 0, nothing on stderr."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, LOBBY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""  # (no warning, no traceback)
    assert elapsed < 30  # (about 2 s: bots act 0.05-0.2 s after their turn comes)
    lines = result.stdout.splitlines()

    ann = re.search(r"Ann \| created the private table (\w{6})", result.stdout)
    assert ann is not None, result.stdout
    code = ann.group(1)
    assert f"     Bob | joined {code} by its code (typed '{code}'), as peer 3" in lines
    assert f"      Cy | joined {code} by its code (typed '{code.lower()}'), as peer 4" in lines
    seated = dict(re.findall(r"(\w+) \| asked for any table: seated at (\w{6})", result.stdout))
    assert sorted(seated) == ["Dan", "Eve", "Fay", "Gus", "Hal", "Kim"]
    others = sorted(set(seated.values()))
    assert len(others) == 2 and code not in others  # (a private table is not matched)
    assert sorted(seated.values()) == sorted(others * 3)  # three at each
    refused = f"     Kim | cannot join {code}: RoomFull: room {code} is full (3 seats)"
    assert f"{refused}; asking for any table instead" in lines
    assert lines.index(f"{refused}; asking for any table instead") < lines.index(
        f"     Kim | asked for any table: seated at {seated['Kim']}, as peer 4"
    )
    listing = next(line for line in lines if line.startswith("lobby: the public tables are"))
    assert sorted(re.findall(r"(\w{6}) \(3/3\)", listing)) == others  # (Ann's is not listed)

    logs: dict[str, list[tuple[int, str]]] = {}  # each room's lines, with their place
    for index, line in enumerate(lines):
        match = ROOM_LINE.match(line)
        if match:
            logs.setdefault(match.group(1), []).append((index, match.group(2)))
    assert sorted(logs) == sorted([code, *others])
    spans = []
    for room, log in logs.items():
        said = [text for _, text in log]
        turns = [index for index, text in log if TURN.match(text)]
        assert len(turns) == 3 * 3, (room, said)  # three rounds of three: no turn lost
        assert len([text for text in said if text.startswith("Game over: ")]) == 1, said
        assert said[-1] == "room closed", said
        assert not [text for text in said if "cheat" in text or "shutting down" in text]
        spans.append((turns[0], turns[-1]))
    # The three games ran at once: each had played its first turn before any had
    # played its last (interleaved lines of three codes).
    assert max(first for first, _ in spans) < min(last for _, last in spans), spans

    left = re.findall(r"(\w+) \| leaves (\w{6}) after the game, with \d+ points", result.stdout)
    assert len(left) == 9
    assert {name for name, room in left if room == code} == {"Ann", "Bob", "Cy"}
    assert lines[-1] == "lobby: every game is over; the room server has shut down"
    last_room_line = max(index for log in logs.values() for index, _ in log)
    assert last_room_line < len(lines) - 1  # (every room closed before the end)


class Program:
    """A run of the example as a subprocess; its output read line by line, with
    deadlines (no fixed sleeps: each step waits for the line that says it is done)."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.lines: list[str] = []
        assert proc.stderr is not None
        self.stderr = asyncio.ensure_future(proc.stderr.read())

    @classmethod
    async def start(cls, name: str, *args: str) -> Program:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            LOBBY,
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc, name)

    async def expect(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """The first match of ``pattern`` in the next output lines."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    err = (await self.stderr).decode()
                    raise AssertionError(
                        f"{self.name} ended before {pattern!r}: {self.lines} {err}"
                    )
                self.lines.append(raw.decode().rstrip("\n"))
                match = re.search(pattern, self.lines[-1])
                if match:
                    return match

    async def finish(self, timeout: float = 20) -> tuple[int, str]:
        """Wait for it to end: its exit status and stderr (the rest of its output
        joins ``lines``)."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            rest = await self.proc.stdout.read()
            code = await self.proc.wait()
            err = (await self.stderr).decode()
        self.lines += rest.decode().splitlines()
        return code, err

    async def kill(self) -> None:
        """End it if it still runs (after a failed test), and let go of its pipes."""
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await self.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_a_room_server_and_players_as_programs_then_a_graceful_shutdown(sig: int) -> None:
    """--serve alone; --list --watch sees the table appear and fill; Ann --create's a
    table, Bob --join's it by its code as he heard it; a wrong code and a wrong
    option are refused with their types; --list shows the table. Then the server
    gets ``sig``: it tells the table, closes the room, ends with status 0, and every
    player and the watcher say the server went away and end with status 0 too."""
    programs: list[Program] = []

    async def start(name: str, *args: str) -> Program:
        program = await Program.start(name, *args)
        programs.append(program)
        return program

    try:
        server = await start("server", "--serve", "--port", "0")
        port = (await server.expect(r"^room server on port (\d+): dice tables of 3$")).group(1)
        url = f"ws://127.0.0.1:{port}"
        watcher = await start("watcher", "--list", url, "--watch")
        await watcher.expect("^0 public tables$")

        ann = await start("Ann", "--create", url, "--name", "Ann", "--bot")
        code = (await ann.expect(r"Ann \| created the public table (\w{6}):")).group(1)
        await ann.expect(rf"Ann \| friends join it with: --join {url} {code}$")
        typed = f"{code[:3]}-{code[3:]}".lower()  # (read out by Ann, typed by Bob)
        bob = await start("Bob", "--join", url, typed, "--name", "Bob", "--bot")
        await bob.expect(rf"Bob \| joined {code} by its code \(typed '{typed}'\), as peer 3$")
        await server.expect(rf"^  {code} \| Bob joined$")
        await watcher.expect(rf"^  {code}  2/3  waiting$")

        eve = await start("Eve", "--join", url, "ZZZZZZ", "--name", "Eve", "--bot")
        assert await eve.finish() == (1, "error: RoomNotFound: no room ZZZZZZ\n")
        cy = await start("Cy", "--create", url, "--rounds", "0", "--name", "Cy", "--bot")
        status, err = await cy.finish()
        assert (status, err) == (
            1,
            "error: JoinRefused: rounds must be a whole number from 1 to 100000, not '0'\n",
        )
        listing = await start("list", "--list", url)
        assert await listing.finish() == (0, "")
        assert listing.lines == ["1 public tables", f"  {code}  2/3  waiting"]

        server.proc.send_signal(sig)
        status, err = await server.finish()
        assert status == 0, err
        assert "Traceback" not in err, err
        assert server.lines[-3:] == [
            f"  {code} | the server is shutting down: the game ends here",
            f"  {code} | room closed",
            "stopped",
        ]
        for player in (ann, bob):
            status, err = await player.finish()
            assert status == 0, err
            assert "Traceback" not in err, err
            name = player.name
            assert player.lines[-2:] == [
                f"{name:>8} | the server is shutting down: the game ends here",
                f"{name:>8} | the room server went away",
            ]
        status, err = await watcher.finish()
        assert (status, err) == (0, "")
        # (1001, going away, as for the players: not 4104, which refuses a join)
        closed = r"the listing closed: 1001 the server is shutting down"
        assert re.fullmatch(rf"the room server went away \({closed}\)", watcher.lines[-1])
    finally:
        for program in programs:
            await program.kill()
