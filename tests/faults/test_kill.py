"""kill -9: a client or a server process dies at once, with no close frame; its OS
closes its sockets, so the other side sees the link lost at once and holds the
session for reconnect_grace, as for a cut. The processes are the helper scripts of
procs/, run with this interpreter; each prints a line when it is ready.

The bounds checked are the documented ones: a server reports a dropped peer's leave
``reconnect_grace`` after the drop; a client gives up within ``reconnect_grace +
handshake_timeout``, or as soon as the server refuses the resume (4001).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from multiplayer import ConnectionStatus, SceneTree, WebSocketMultiplayerPeer
from multiplayer.transport.websocket_reconnect import BACKOFF_CAP, Reconnection
from tests.faults.pair import End, poll_until
from tests.faults.procs.server import Counter

PROCS = Path(__file__).resolve().parent / "procs"
GRACE = 1.0
SETTINGS = {
    # A keepalive would notice a dead link after 1 s at the soonest: a drop reported
    # sooner was the OS closing the socket.
    "heartbeat_interval": 0.5,
    "heartbeat_timeout": 1.0,
    "handshake_timeout": 1.0,
    "reconnect_grace": GRACE,
}
AT_ONCE = 0.5  # seconds: a drop seen this soon after the kill was not a keepalive's


def as_args(settings: dict[str, float]) -> list[str]:
    return [f"{name}={value}" for name, value in settings.items()]


def configured(peer: WebSocketMultiplayerPeer, settings: dict[str, float]) -> None:
    for name, value in settings.items():
        setattr(peer, name, value)


class Process:
    """A script of procs/ running with this interpreter; its output read line by line."""

    def __init__(self, script: str, proc: asyncio.subprocess.Process) -> None:
        self.script = script
        self.proc = proc
        assert proc.stderr is not None
        self.stderr = asyncio.ensure_future(proc.stderr.read())  # (so that it never fills)

    @classmethod
    async def start(cls, script: str, *args: str, stdin: bool = False) -> Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(PROCS / script),
            *args,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(script, proc)

    async def line(self, first_word: str, timeout: float = 15) -> list[str]:
        """The words of its next output line, which must start with ``first_word``."""
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not raw:
            await self.proc.wait()
            pytest.fail(f"{self.script} ended: {(await self.stderr).decode()}")
        words = raw.decode().split()
        assert words[:1] == [first_word], words
        return words

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{line}\n".encode())

    def kill(self) -> float:
        """SIGKILL it; when (``time.monotonic()``)."""
        self.proc.send_signal(signal.SIGKILL)
        return time.monotonic()

    async def reap(self) -> None:
        """Kill it if it still runs, and let go of it and its pipes."""
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        assert self.proc.stdout is not None
        await self.proc.stdout.read()
        await self.stderr


# A client killed.


async def test_a_killed_client_is_dropped_at_once_and_leaves_when_the_grace_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SIGKILL a client process while it streams numbered reliable packets: the server
    reports peer_dropped at once (the OS closed the socket: no keepalive needed), then
    peer_disconnected reconnect_grace after the drop; what arrived of the stream is a
    prefix of it, in order, with no number twice."""
    server = WebSocketMultiplayerPeer()
    configured(server, SETTINGS)
    await server.create_server(0, "127.0.0.1")
    end = End(server, 0)
    url = f"ws://127.0.0.1:{server.get_local_port()}"
    client = await Process.start("client.py", url, *as_args(SETTINGS))
    try:
        peer_id = int((await client.line("ready"))[1])
        await poll_until([end], lambda: len(end.got) >= 500, 10)
        killed_at = client.kill()
        await poll_until([end], lambda: end.saw("dropped") != [], 5)
        dropped_at = time.monotonic()
        await poll_until([end], lambda: end.saw("disconnected") != [], GRACE + 5)
        left_at = time.monotonic()
    finally:
        await client.reap()
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)
    assert end.events == [("connected", peer_id), ("dropped", peer_id), ("disconnected", peer_id)]
    assert dropped_at - killed_at < AT_ONCE
    assert f"peer {peer_id}: connection lost without a close frame; keeping its session" in (
        caplog.text
    )
    assert 0.9 * GRACE <= left_at - dropped_at <= GRACE + 0.5
    assert f"peer {peer_id}: it did not come back within reconnect_grace" in caplog.text
    assert len(end.got) >= 500
    assert end.got == list(range(len(end.got))), "not in order, or a number twice"


# A server killed.


@dataclass
class Client:
    """A SceneTree client of the server process: its Counter, and what it saw when
    (``time.monotonic()``), at the SceneMultiplayer and at the transport."""

    tree: SceneTree
    peer: WebSocketMultiplayerPeer
    counter: Counter = field(default_factory=Counter)
    scene: list[str] = field(default_factory=list)
    transport: list[str] = field(default_factory=list)
    at: dict[str, float] = field(default_factory=dict)
    reconnection: Reconnection | None = None

    def __post_init__(self) -> None:
        self.tree.root.add_child(self.counter)
        api = self.tree.get_multiplayer()
        api.multiplayer_peer = self.peer
        for name in (
            "connected_to_server",
            "connection_lost",
            "reconnected",
            "server_disconnected",
        ):
            getattr(api, name).connect(lambda name=name: self._saw(self.scene, name))
        for name in ("peer_connected", "peer_dropped", "peer_resumed", "peer_disconnected"):
            signal_ = getattr(self.peer, name)
            signal_.connect(
                lambda peer_id, name=name: self._saw(self.transport, f"{name}({peer_id})")
            )

    def _saw(self, record: list[str], what: str) -> None:
        record.append(what)
        self.at.setdefault(what, time.monotonic())
        if what == "connection_lost":  # (the client's reconnection, which runs now)
            self.reconnection = self.peer._side.reconnection  # type: ignore[union-attr]

    def attempts(self) -> int:
        """The attempts of the last reconnection."""
        return 0 if self.reconnection is None else self.reconnection.attempts


async def join(url: str, settings: dict[str, float]) -> Client:
    peer = WebSocketMultiplayerPeer()
    configured(peer, settings)
    await peer.create_client(url)
    return Client(SceneTree(), peer)


async def frames(clients: Iterable[Client], condition: Callable[[], bool], timeout: float) -> None:
    """Run every client's frames until ``condition()`` holds; fail after ``timeout``."""
    clients = list(clients)
    deadline = time.monotonic() + timeout
    while True:
        for client in clients:
            client.tree.process(0.003)
        if condition():
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.003)


async def close(clients: Iterable[Client]) -> None:
    for client in clients:
        client.peer.close()
        await asyncio.wait_for(client.peer.wait_closed(), 5)


def heard_in_order(client: Client) -> bool:
    heard = client.counter.heard
    return heard == list(range(len(heard)))


async def test_clients_of_a_killed_server_give_up_when_the_grace_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SIGKILL the server process while it calls each of two clients every frame:
    each client reports connection_lost (peer_dropped(1)) at once, tries to reconnect
    (refused: nothing listens), and gives up within reconnect_grace +
    handshake_timeout: server_disconnected (peer_disconnected(1)), DISCONNECTED,
    connection_error saying it could not reconnect. What each heard is in order."""
    server = await Process.start("server.py", "0", *as_args(SETTINGS))
    clients: list[Client] = []
    try:
        url = f"ws://127.0.0.1:{(await server.line('listening'))[1]}"
        clients = [await join(url, SETTINGS) for _ in range(2)]
        await frames(clients, lambda: all(len(c.counter.heard) >= 50 for c in clients), 10)
        killed_at = server.kill()
        await frames(clients, lambda: all("server_disconnected" in c.scene for c in clients), 5)
    finally:
        await server.reap()
        await close(clients)
    bound = GRACE + SETTINGS["handshake_timeout"]
    for client in clients:
        assert client.scene == ["connected_to_server", "connection_lost", "server_disconnected"]
        assert client.transport == [
            "peer_connected(1)",
            "peer_dropped(1)",
            "peer_disconnected(1)",
        ]
        lost_at, gone_at = client.at["connection_lost"], client.at["server_disconnected"]
        assert lost_at - killed_at < AT_ONCE
        assert 0.9 * GRACE <= gone_at - lost_at <= bound + 0.5
        assert client.attempts() >= 2  # (it tried, and tried again)
        assert client.peer.get_connection_status() is ConnectionStatus.DISCONNECTED
        assert f"could not reconnect within {GRACE} s" in str(client.peer.connection_error)
        assert heard_in_order(client), "not in order, or a number twice"
    lost = f"connection to {url} lost (connection lost without a close frame)"
    assert caplog.text.count(lost) == 2


async def test_a_server_restarted_on_its_port_refuses_the_resume_and_the_client_gives_up_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server process is killed and another takes its port during the grace (a
    restart): the new server has no such session, so it refuses the resume (4001),
    and the client gives up at its next attempt, not when the grace ends. The client
    can then join the new server, as a new peer."""
    grace = 10.0  # (long, so that giving up at once is plain)
    settings = {**SETTINGS, "reconnect_grace": grace}
    first = await Process.start("server.py", "0", *as_args(settings))
    spare = await Process.start("server.py", "-", *as_args(settings), stdin=True)
    clients: list[Client] = []
    try:
        port = (await first.line("listening"))[1]
        await spare.line("ready")
        url = f"ws://127.0.0.1:{port}"
        clients = [await join(url, settings) for _ in range(2)]
        await frames(clients, lambda: all(len(c.counter.heard) >= 50 for c in clients), 10)
        first.kill()
        await frames(clients, lambda: all("connection_lost" in c.scene for c in clients), 5)
        spare.type(port)
        assert (await spare.line("listening"))[1] == port
        restarted_at = time.monotonic()
        # (each client's next attempt comes within BACKOFF_CAP; one handshake more)
        limit = BACKOFF_CAP + SETTINGS["handshake_timeout"]
        await frames(clients, lambda: all("server_disconnected" in c.scene for c in clients), limit)
        for client in clients:
            assert client.scene == ["connected_to_server", "connection_lost", "server_disconnected"]
            assert client.transport[-2:] == ["peer_dropped(1)", "peer_disconnected(1)"]
            assert client.at["server_disconnected"] - restarted_at <= limit
            assert client.at["server_disconnected"] - client.at["connection_lost"] < grace / 2
            error = str(client.peer.connection_error)
            assert "the server refused to resume the session: 4001" in error
            assert heard_in_order(client)
        assert caplog.text.count("refused to resume the session: 4001") == 2

        again = clients[0]
        await again.peer.create_client(url)
        again.counter.heard.clear()
        await frames([again], lambda: len(again.counter.heard) >= 10, 10)
        assert again.scene[-1] == "connected_to_server"
        assert heard_in_order(again)
    finally:
        for server in (first, spare):
            await server.reap()
        await close(clients)
