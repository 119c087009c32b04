"""The examples as a user runs them, interrupted, misused, and typed at: each ends
cleanly on Ctrl-C (SIGINT) and SIGTERM, closing its peers, and says what is wrong in
one line rather than with a traceback."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DICE = "examples/websocket_multiplayer/main.py"
CHAT = "examples/websocket_chat/chat.py"
PLAIN = "examples/plain_loop/main.py"
LOBBY = "examples/rooms/lobby.py"
LOST = "without a close frame"  # what a peer logs when the other side just vanished


class Example:
    """An example running as a subprocess; its output read line by line, with deadlines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        assert proc.stderr is not None
        self.stderr = asyncio.ensure_future(proc.stderr.read())

    @classmethod
    async def start(cls, *args: str, typed: bool = False, group: bool = False) -> Example:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE if typed else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=group,  # its own process group, as a terminal's job is
        )
        return cls(proc)

    async def expect(self, text: str, timeout: float = 30) -> str:
        """The next output line that contains ``text``."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.proc.stdout.readline()
                assert raw, f"ended before {text!r}: {self.lines}, {await self.stderr!r}"
                self.lines.append(raw.decode().rstrip("\n"))
                if text in self.lines[-1]:
                    return self.lines[-1]

    def running(self) -> bool:
        """Whether it has not ended yet (looked at without reaping it)."""
        try:
            ended = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # (reaped already)
            return False
        return ended is None

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{line}\n".encode())

    def end_input(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    async def finish(self, timeout: float = 30) -> tuple[int, str]:
        """Wait for it to end by itself: its exit status and stderr; the rest of its
        output joins ``lines``."""
        assert self.proc.stdout is not None
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        async with asyncio.timeout(timeout):
            rest = await self.proc.stdout.read()
            code = await self.proc.wait()
            err = await self.stderr
        self.lines += rest.decode().splitlines()
        return code, err.decode()

    async def stop(self, sig: int) -> tuple[int, str]:
        self.proc.send_signal(sig)
        return await self.finish()

    async def kill(self) -> None:
        """End it if it still runs, and let go of its pipes."""
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        await self.stderr


def assert_clean_end(code: int, err: str, sig: int) -> None:
    assert code in ((0, 130) if sig == signal.SIGINT else (0,)), err
    assert "Traceback" not in err, err
    assert LOST not in err, err


SIGNALS = [signal.SIGINT, signal.SIGTERM]
STOPPED = "stopped"  # what most examples print when a signal stopped them
RUNNING = [  # each example, a line that says it is under way, and one that it was stopped
    ((DICE, "--rounds", "100000"), "chooses to", STOPPED),
    ((DICE, "--host", "--port", "0", "--bot", "--players", "2"), "waiting for 2 players", STOPPED),
    ((CHAT, "--host", "--port", "0"), "chat server on port", STOPPED),
    ((CHAT,), "joined", STOPPED),
    (("examples/multiplayer_bomber/main.py", "--show-every", "1000"), "the game begins", STOPPED),
    (("examples/auth/auth.py",), "must authenticate", STOPPED),
    (("examples/transport/demo.py",), "listening on", STOPPED),
    (("examples/transport/relay_server.py", "0"), "listening on port", STOPPED),
    # (it says nothing as it stops, but it never ends by itself either)
    (("examples/websocket_minimal/server.py", "--port", "0"), "Listening on port", None),
    ((PLAIN, "--host", "--port", "0", "--players", "2"), "waiting for 2 players", STOPPED),
    ((LOBBY, "--rounds", "100000"), "The game begins", STOPPED),
    ((LOBBY, "--serve", "--port", "0"), "room server on port", STOPPED),
]


@pytest.mark.parametrize("sig", SIGNALS, ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize(
    ("args", "ready", "stopped"), RUNNING, ids=[" ".join(a) for a, _, _ in RUNNING]
)
async def test_each_example_ends_cleanly_on_a_signal(
    args: tuple[str, ...], ready: str, stopped: str | None, sig: int
) -> None:
    """Ctrl-C or SIGTERM while it runs: no traceback, exit status 0 (or 130 for Ctrl-C).
    The signal is sent once the example says it is under way, and it must have been
    handled there: a demo that ended by itself first would test nothing."""
    example = await Example.start(*args)
    try:
        await example.expect(ready)
        assert example.running(), f"it ended before the signal: {example.lines}"
        assert_clean_end(*await example.stop(sig), sig)
        if stopped is not None:
            assert stopped in example.lines, f"it ended by itself: {example.lines}"
    finally:
        await example.kill()


@pytest.mark.parametrize("sig", SIGNALS, ids=["SIGINT", "SIGTERM"])
async def test_minimal_client_says_goodbye_on_a_signal(sig: int) -> None:
    """The minimal client, stopped while connected, closes with 1001 (going away)."""
    server = await Example.start(
        "examples/websocket_minimal/server.py", "--port", "0", "--bind", "127.0.0.1"
    )
    client = None
    try:
        port = (await server.expect("Listening on port")).split()[-1]
        client = await Example.start(
            "examples/websocket_minimal/client.py", f"ws://127.0.0.1:{port}", "--delay", "0"
        )
        await client.expect("< Got text data from server")
        code, err = await client.stop(sig)
        assert_clean_end(code, err, sig)
        assert client.lines[-1] == "WebSocket closed with code: 1001. Clean: True"
        await server.expect("- Peer 2 closed with code: 1001")
        assert_clean_end(*await server.stop(sig), sig)
    finally:
        await server.kill()
        if client is not None:
            await client.kill()


@pytest.mark.parametrize("sig", SIGNALS, ids=["SIGINT", "SIGTERM"])
async def test_run_py_demo_ends_cleanly_on_a_signal(sig: int) -> None:
    """`python3 run.py demo`: Ctrl-C (to the whole job, as a terminal sends it) or a
    SIGTERM to run.py ends the demo cleanly, and run.py with it."""
    demo = await Example.start("run.py", "demo", "--rounds", "100000", group=True)
    try:
        await demo.expect("chooses to", timeout=120)
        if sig == signal.SIGINT:
            os.killpg(demo.proc.pid, sig)
            code, err = await demo.finish()
        else:
            code, err = await demo.stop(sig)
        assert_clean_end(code, err, sig)
    finally:
        await demo.kill()


@pytest.mark.parametrize("sig", SIGNALS, ids=["SIGINT", "SIGTERM"])
async def test_plain_loop_player_stopped_by_a_signal_leaves_with_a_close_frame(sig: int) -> None:
    """A plain-loop player stopped while it waits for the race closes its peer before
    it exits: the host sees it leave, with a close frame, and is stopped cleanly in
    turn."""
    host = await Example.start(PLAIN, "--host", "--port", "0", "--players", "3")
    ann = None
    try:
        port = (await host.expect("listening on port")).split()[-1]
        ann = await Example.start(
            PLAIN, "--join", f"ws://127.0.0.1:{port}", "--bot", "--name", "Ann"
        )
        await host.expect("Ann joined")
        await ann.expect("Ann joined")
        assert_clean_end(*await ann.stop(sig), sig)
        assert STOPPED in ann.lines
        await host.expect("Ann left before the end")
        code, err = await host.stop(signal.SIGTERM)
        assert_clean_end(code, err, signal.SIGTERM)  # (nothing "without a close frame")
        assert host.lines[-1] == STOPPED
    finally:
        await host.kill()
        if ann is not None:
            await ann.kill()


# The dice game.


async def dice_host(*args: str, typed: bool = False) -> tuple[Example, str]:
    host = await Example.start(DICE, "--host", "--port", "0", *args, typed=typed)
    port = (await host.expect("hosting on port")).split()[-1]
    return host, f"ws://127.0.0.1:{port}"


async def test_dice_player_who_leaves_by_ctrl_c_is_seen_leaving_cleanly() -> None:
    """A client stopped by Ctrl-C before the game starts: the host sees it leave with
    a close frame, and no turn is handed out (the game has not started)."""
    host, url = await dice_host("--name", "Alice", "--players", "3", typed=True)
    bob = await Example.start(DICE, "--join", url, "--bot", "--name", "Bob")
    try:
        await host.expect("Bob joined")
        assert_clean_end(*await bob.stop(signal.SIGINT), signal.SIGINT)
        await host.expect("Bob left")
        code, err = await host.stop(signal.SIGTERM)
        assert_clean_end(code, err, signal.SIGTERM)
        assert not any("your turn" in line or "players:" in line for line in host.lines)
    finally:
        await host.kill()
        await bob.kill()


async def test_dice_host_stopped_by_sigterm_closes_its_players_cleanly() -> None:
    host, url = await dice_host("--bot", "--players", "3")
    bob = await Example.start(DICE, "--join", url, "--bot", "--name", "Bob")
    try:
        await host.expect("Bob joined")
        assert_clean_end(*await host.stop(signal.SIGTERM), signal.SIGTERM)
        await bob.expect("connection closed")
        code, err = await bob.finish()
        assert code == 0, err
        assert LOST not in err
    finally:
        await host.kill()
        await bob.kill()


async def test_dice_players_are_named_after_their_user_by_default() -> None:
    """As in Godot's demo, not two players both called 'Player'."""
    host, url = await dice_host("--bot", "--players", "3")
    player = await Example.start(DICE, "--join", url, "--bot")
    try:
        await host.expect(f"{getpass.getuser()} joined")
    finally:
        for example in (host, player):
            await example.kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_dice_person_hosts_leaves_and_hosts_again() -> None:
    """As with the Host and Disconnect buttons of Godot's demo: a person hosts and
    plays, types leave (their player gets a close frame), hosts again on another port
    for another player, and quits (exit status 0, every link closed cleanly)."""
    alice, url = await dice_host("--name", "Alice", typed=True)
    bot1 = await Example.start(DICE, "--join", url, "--bot", "--name", "Bot1")
    bot2 = None
    try:
        await alice.expect("your turn:")  # (the game begins as Bot1 connects)
        await alice.expect("Bot1 joined")  # (then its name comes)
        alice.type("roll")
        await alice.expect("Alice rolled a")
        alice.type("leave")
        await alice.expect("type host [PORT]")
        await bot1.expect("connection closed")
        code, err = await bot1.finish()
        assert code == 0, err
        assert LOST not in err

        port = free_port()
        assert not url.endswith(f":{port}")
        alice.type(f"host {port}")
        await alice.expect(f"hosting on port {port}")
        bot2 = await Example.start(
            DICE, "--join", f"ws://127.0.0.1:{port}", "--bot", "--name", "Bot2"
        )
        await alice.expect("The game begins")
        await alice.expect("Bot2 joined")
        alice.type("quit")
        await bot2.expect("connection closed")
        code, err = await bot2.finish()
        assert code == 0, err
        assert LOST not in err
        code, err = await alice.finish()
        assert code == 0, err
        assert "Traceback" not in err
        assert LOST not in err
    finally:
        for example in (alice, bot1, bot2):
            if example is not None:
                await example.kill()


async def test_dice_person_joins_leaves_and_joins_again() -> None:
    """A person joins and plays, types leave (the host sees them leave) and join again
    in one go (lines arriving together are both read), plays on, and quits."""
    host, url = await dice_host("--bot", "--name", "Host", "--rounds", "1000")
    bob = await Example.start(DICE, "--join", url, "--name", "Bob", typed=True)
    try:
        await host.expect("Bob joined")
        await bob.expect("your turn:")
        bob.type("pass")
        await host.expect("Bob passed")
        bob.type("leave")
        bob.type(f"join {url}")
        await host.expect("Bob left")
        await host.expect("Bob joined")
        await bob.expect("your turn:")
        bob.type("roll")
        await host.expect("Bob rolled a")
        bob.type("quit")
        await host.expect("Bob left")
        code, err = await bob.finish()
        assert code == 0, err
        assert "Traceback" not in err
        assert LOST not in err
        # (no LOST in the host's log: Bob closed both his links with a close frame)
        assert_clean_end(*await host.stop(signal.SIGTERM), signal.SIGTERM)
    finally:
        await host.kill()
        await bob.kill()


async def test_dice_person_chooses_again_after_the_game_is_over() -> None:
    """At game over a person is offered to host, join or quit; a busy port is one line,
    and they choose again; quit ends the program with status 0."""
    alice, url = await dice_host("--name", "Alice", "--rounds", "1", typed=True)
    bot = await Example.start(DICE, "--join", url, "--bot", "--name", "Bot")
    try:
        await alice.expect("your turn:")
        alice.type("pass")
        await alice.expect("Game over:")
        await alice.expect("type host [PORT]")
        code, err = await bot.finish()
        assert code == 0, err
        with socket.socket() as busy:
            busy.bind(("", 0))
            busy.listen()
            alice.type(f"host {busy.getsockname()[1]}")
            await alice.expect("Address already in use")
        await alice.expect("type host [PORT]")
        alice.type("quit")
        code, err = await alice.finish()
        assert code == 0, err
        assert "Traceback" not in err
    finally:
        await alice.kill()
        await bot.kill()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((DICE, "--join", "http://localhost:8080"), "is not a ws:// or wss:// URL"),
        ((DICE, "--join", "ws://127.0.0.1:1", "--bot"), "could not connect"),
        ((CHAT, "--join", "http://localhost:8081"), "cannot join http://localhost:8081"),
        ((CHAT, "--join", "ws://127.0.0.1:1"), "could not connect"),
        (("examples/websocket_minimal/client.py", "ws://127.0.0.1:1"), "connection failed"),
        ((LOBBY, "--join", "http://localhost:8080", "K3M9QZ"), "is not a ws:// or wss:// URL"),
        ((LOBBY, "--play", "ws://127.0.0.1:1", "--bot"), "could not connect"),
        ((LOBBY, "--list", "ws://127.0.0.1:1"), "could not connect"),
    ],
)
def test_a_failed_connection_is_one_line_and_a_failure(args: tuple[str, ...], says: str) -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert says in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        (DICE, "--host", "--bot", "--port"),
        (CHAT, "--host", "--port"),
        (LOBBY, "--serve", "--port"),
        ("examples/transport/relay_server.py",),
    ],
)
def test_hosting_on_a_busy_port_is_one_line_and_a_failure(args: tuple[str, ...]) -> None:
    import subprocess

    with socket.socket() as busy:
        busy.bind(("", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = subprocess.run(
            [sys.executable, *args, port], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert "Address already in use" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_relay_server_help() -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "examples/transport/relay_server.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


# The chat.


async def chat_host() -> tuple[Example, str]:
    host = await Example.start(CHAT, "--host", "--port", "0", typed=True)
    port = (await host.expect("chat server on port")).split()[-1]
    return host, f"ws://127.0.0.1:{port}"


async def test_chat_a_person_types_at_the_host_and_a_client() -> None:
    """Whisper or ping yourself: told so; the server's operator talks; a client leaves
    and joins again in the same run; the end of input ends a client, cleanly."""
    host, url = await chat_host()
    ann = await Example.start(CHAT, "--join", url, "--name", "Ann", typed=True)
    try:
        ann_id = (await host.expect("* Ann joined")).split()[-1].rstrip(")")
        await ann.expect("* Ann joined")
        ann.type(f"/w {ann_id} psst")
        await ann.expect(f"{ann_id} is you; try /who")
        ann.type(f"/ping {ann_id}")
        await ann.expect(f"{ann_id} is you; try /who")
        host.type("welcome, Ann")
        await ann.expect("server: welcome, Ann")
        ann.type("/leave")
        await host.expect("* Ann left")
        ann.type("hello?")
        await ann.expect("not in a room")
        ann.type(f"/join {url}")
        await ann.expect("* Ann joined")  # (welcomed: now she may talk)
        ann.type("back again")
        await host.expect("Ann: back again")
        ann.end_input()  # Ctrl-D: she quits
        code, err = await ann.finish()
        assert code == 0, err
        assert "Traceback" not in err
        await host.expect("* Ann left")
        host.end_input()
        code, err = await host.finish()
        assert code == 0, err
        assert "Traceback" not in err
        assert LOST not in err
    finally:
        await host.kill()
        await ann.kill()


async def test_chat_line_typed_before_the_connection_is_up() -> None:
    """A server that never answers the handshake: what is typed meanwhile is refused
    with a word, not an exception."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ann = await Example.start(CHAT, "--join", f"ws://127.0.0.1:{port}", typed=True)
    try:
        ann.type("anyone there?")
        await ann.expect("not in the room yet")
        ann.type("/quit")
        code, err = await ann.finish()
        assert code == 0, err  # (she quit: it did not fail)
        assert "Traceback" not in err
    finally:
        await ann.kill()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("sig", SIGNALS, ids=["SIGINT", "SIGTERM"])
async def test_chat_client_without_a_keyboard_watches_and_leaves_cleanly(sig: int) -> None:
    """stdin from /dev/null: the client watches; stopped, the host sees it leave with a
    close frame; the host stopped in turn closes cleanly too."""
    host, url = await chat_host()
    ann = await Example.start(CHAT, "--join", url, "--name", "Ann")
    bob = await Example.start(CHAT, "--join", url, "--name", "Bob")
    try:
        await ann.expect("nothing can be typed here")
        await ann.expect("* Ann joined")
        await bob.expect("* Bob joined")
        assert_clean_end(*await ann.stop(sig), sig)
        await host.expect("* Ann left")
        assert_clean_end(*await host.stop(sig), sig)
        await bob.expect("the server left")
        assert_clean_end(*await bob.stop(sig), sig)
    finally:
        for example in (host, ann, bob):
            await example.kill()
