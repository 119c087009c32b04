"""Real Godot 4.6 clients (the web export in headless Chromium) join a Python server
that speaks the godot profile: ids, peers, RPCs of every type both ways, call_local,
the relay, authority, raw bytes, authentication, leaving.

The Godot side is tests/godot/projects/rpc_peer: the server drives it with
``command`` RPCs, and it prints one ``TEST: ...`` line per thing it sees.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from multiplayer import (
    Color,
    Node,
    Quaternion,
    Rect2,
    Rect2i,
    SceneMultiplayer,
    SceneTree,
    Vector2,
    Vector2i,
    Vector3,
    Vector3i,
    Vector4,
    Vector4i,
    WebSocketMultiplayerPeer,
    rpc,
)
from tools.webgodot import TunnelBridge

pytestmark = pytest.mark.timeout(120)

PROJECT = Path(__file__).parent / "projects" / "rpc_peer"


# What the Godot client's sample_values() arrive as (its order).
GODOT_SAMPLES: list[Any] = [
    None, True, False, 0, -1, 127, 128, -32768, 65536, -5000000000, 1.5, 0.1, -0.0,
    "héllo ✓", "a_name", "Board/Cell:position",
    Vector2(1.5, -2.25), Vector2i(3, -4), Vector3(0.5, 1, -2), Vector3i(1, 2, 3),
    Vector4(1, 2, 3, 4.5), Vector4i(-1, 0, 1, 2), Rect2(1, 2, 3.5, 4), Rect2i(1, 2, 3, 4),
    Color(0.25, 0.5, 0.75, 1), Quaternion(0, 0.5, 0, 0.5),
    [1, "two", [3.5, None]], {"a": 1, 2: "b", "nested": {"x": [True]}}, [7, 8],
    b"\x00\x01\xff", [1, -2, 2147483647],
    [5000000000, -1], [0.5, -1.25],
    [0.1, 2.5], ["x", "yz"],
    [Vector2(1, 2)], [Vector3(1, 2, 3)],
    [Color(1, 0, 0, 0.5)], [Vector4(1, 2, 3, 4)],
]


def python_samples() -> list[Any]:
    """The same values made in Python: packed numeric arrays as ``array.array``."""
    values = list(GODOT_SAMPLES)
    values[30] = array.array("i", [1, -2, 2147483647])
    values[31] = array.array("q", [5000000000, -1])
    values[32] = array.array("f", [0.5, -1.25])
    values[33] = array.array("d", [0.1, 2.5])
    return values


class Main(Node):
    """The Python server's node: the client's RPC names, so ids and checksums agree."""

    def __init__(self) -> None:
        super().__init__("Main")
        self.got: list[tuple[str, int, tuple[Any, ...]]] = []
        self.arrived = asyncio.Event()

    def _record(self, method: str, *args: Any) -> None:
        self.got.append((method, self.multiplayer.get_remote_sender_id(), args))
        self.arrived.set()

    @rpc
    def command(self, step: str, arg: Any) -> None:
        self._record("command", step, arg)

    @rpc("any_peer")
    def types_to_server(self, b: bool, i: int, f: float, s: str, values: list[Any]) -> None:
        self._record("types_to_server", b, i, f, s, values)

    @rpc
    def types_to_client(self, b: bool, i: int, f: float, s: str, values: list[Any]) -> None:
        self._record("types_to_client", b, i, f, s, values)

    @rpc("call_local")
    def announce(self, text: str) -> None:
        self._record("announce", text)

    @rpc("any_peer")
    def peer_msg(self, text: str) -> None:
        self._record("peer_msg", text)

    @rpc
    def server_only(self) -> None:
        self._record("server_only")

    @rpc("any_peer")
    def report(self, step: str, result: Any) -> None:
        self._record("report", step, result)

    async def wait_got(self, method: str, timeout: float = 20) -> tuple[Any, ...]:
        async with asyncio.timeout(timeout):
            while True:
                for name, sender, args in self.got:
                    if name == method:
                        return (sender, *args)
                self.arrived.clear()
                await self.arrived.wait()


class Server:
    """A Python server in the godot profile, its tree running as a task."""

    def __init__(self, tree: SceneTree, main: Main, peer: WebSocketMultiplayerPeer) -> None:
        self.tree, self.main, self.peer = tree, main, peer
        self.api: SceneMultiplayer = tree.get_multiplayer()
        self.events: list[tuple[str, int]] = []
        self.auth: list[tuple[int, bytes]] = []
        self.packets: list[tuple[int, bytes]] = []
        self.api.peer_connected.connect(lambda i: self.events.append(("connected", i)))
        self.api.peer_disconnected.connect(lambda i: self.events.append(("disconnected", i)))
        self.api.peer_packet.connect(lambda i, d: self.packets.append((i, d)))

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.peer.get_local_port()}"

    def require_token(self, good: bytes) -> None:
        """Admit peers whose auth data is ``good``; drop the others."""
        api = self.api

        def on_auth(peer_id: int, data: bytes) -> None:
            self.auth.append((peer_id, data))
            if data == good:
                api.send_auth(peer_id, b"welcome")
                api.complete_auth(peer_id)
            else:
                api.disconnect_peer(peer_id)

        api.auth_callback = on_auth
        api.peer_authentication_failed.connect(lambda i: self.events.append(("auth failed", i)))

    async def until(self, condition: Any, timeout: float = 20) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def python_server() -> AsyncIterator[Server]:
    tree = SceneTree()
    main = Main()
    tree.root.add_child(main)
    peer = WebSocketMultiplayerPeer(protocol="godot")
    await peer.create_server(0, "127.0.0.1")
    tree.get_multiplayer().multiplayer_peer = peer
    task = asyncio.create_task(tree.run(fps=120))
    try:
        yield Server(tree, main, peer)
    finally:
        tree.quit()
        await asyncio.wait_for(task, 5)
        peer.close()
        await peer.wait_closed()  # (its closing handshakes end before the loop does)


def client_ids(server: Server) -> list[int]:
    return [i for kind, i in server.events if kind == "connected"]


async def test_two_godot_clients_play_with_a_python_server(browser: Any) -> None:
    async with python_server() as server:
        server.require_token(b"good")
        args = [f"--port={server.peer.get_local_port()}", "--token=good"]
        async with browser.godot(PROJECT, user_args=args) as alice:
            await alice.wait_for("TEST: connected")
            async with browser.godot(PROJECT, user_args=args) as bob:
                await bob.wait_for("TEST: connected")
                await server.until(lambda: len(client_ids(server)) == 2)
                a_id, b_id = client_ids(server)
                # Ids: random in [2, 2^31 - 1], as Godot's own server draws them.
                assert all(2 <= i <= 2**31 - 1 for i in (a_id, b_id))
                line = await alice.wait_for("TEST: connected ")
                assert line.endswith(f"connected {a_id}")
                await bob.wait_for(f"TEST: connected {b_id}")
                # Authentication: each client got our auth data; we got theirs.
                assert sorted(server.auth) == sorted([(a_id, b"good"), (b_id, b"good")])
                await alice.wait_for("TEST: auth_data 1 welcome")
                # Every side sees every peer: the clients see each other (SYS ADD_PEER).
                await alice.wait_for(f"TEST: peer_connected {b_id}")
                await bob.wait_for(f"TEST: peer_connected {a_id}")
                await alice.wait_for("TEST: peer_connected 1")

                # Every type, Godot to Python: exact values.
                server.main.rpc_id(a_id, "command", "send_types", None)
                sender, b, i, f, s, values = await server.main.wait_got("types_to_server")
                assert (sender, b, i, f, s) == (a_id, True, -100000, 0.5, "text")
                assert len(values) == len(GODOT_SAMPLES)
                for k, (got, want) in enumerate(zip(values, GODOT_SAMPLES, strict=True)):
                    assert (type(got), got) == (type(want), want), f"sample {k}"
                assert str(values[12]) == "-0.0"
                # Every type, Python to Godot: the client checks each.
                server.main.rpc_id(
                    b_id, "types_to_client", False, 123456789012, 2.75, "from python",
                    python_samples(),
                )
                line = await bob.wait_for("TEST: types ")
                assert line == "TEST: types ok"

                # call_local: the server's broadcast runs here too, sender 1 everywhere.
                server.main.rpc("announce", "round 1")
                assert ("announce", 1, ("round 1",)) in server.main.got
                await alice.wait_for("TEST: announce from 1: round 1")
                await bob.wait_for("TEST: announce from 1: round 1")

                # The relay: alice calls bob through the server; bob sees alice's id.
                server.main.rpc_id(a_id, "command", "message_peer", b_id)
                await bob.wait_for(f"TEST: peer_msg from {a_id}: hello from {a_id}")

                # Raw bytes both ways.
                server.main.rpc_id(a_id, "command", "send_bytes", None)
                await server.until(lambda: server.packets)
                assert server.packets == [(a_id, f"raw from {a_id}".encode())]
                server.api.send_bytes(b"raw from server")
                await alice.wait_for("TEST: peer_packet 1 raw from server")
                await bob.wait_for("TEST: peer_packet 1 raw from server")

                assert alice.errors() == [] and bob.errors() == []

                # Bob leaves: the server and alice see it.
                server.main.rpc_id(b_id, "command", "leave", None)
                await server.until(lambda: ("disconnected", b_id) in server.events)
                await alice.wait_for(f"TEST: peer_disconnected {b_id}")


async def test_a_call_the_server_marks_authority_is_refused(
    browser: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Only the node's authority (the server) may call server_only: a Godot client's
    call is refused with one log line naming it, and nothing runs."""
    caplog.set_level(logging.WARNING, "multiplayer")
    async with python_server() as server:
        args = [f"--port={server.peer.get_local_port()}"]
        async with browser.godot(PROJECT, user_args=args) as alice:
            await alice.wait_for("TEST: connected")
            await server.until(lambda: client_ids(server))
            (a_id,) = client_ids(server)
            server.main.rpc_id(a_id, "command", "server_only", None)
            server.main.rpc_id(a_id, "command", "send_bytes", None)  # a marker after it
            await server.until(lambda: server.packets)
    assert not [g for g in server.main.got if g[0] == "server_only"]
    lines = [r.getMessage() for r in caplog.records if "server_only" in r.getMessage()]
    assert lines == [
        f"refused from peer {a_id}: RPC 'server_only' is not allowed on node 'Main': "
        "mode is AUTHORITY, authority is 1"
    ]


async def test_a_godot_client_with_a_wrong_token_is_refused(browser: Any) -> None:
    async with python_server() as server:
        server.require_token(b"good")
        args = [f"--port={server.peer.get_local_port()}", "--token=bad"]
        async with browser.godot(PROJECT, user_args=args) as mallory:
            await mallory.wait_for("TEST: server_disconnected")
            await server.until(lambda: any(kind == "auth failed" for kind, _ in server.events))
            assert not client_ids(server)
            assert [data for _, data in server.auth] == [b"bad"]


# A Godot server (through the harness's tunnel: a browser cannot listen), Python clients.


class Client:
    """A Python client in the godot profile, its tree running as a task."""

    def __init__(self, tree: SceneTree, main: Main, peer: WebSocketMultiplayerPeer) -> None:
        self.tree, self.main, self.peer = tree, main, peer
        self.api: SceneMultiplayer = tree.get_multiplayer()
        self.events: list[tuple[str, int]] = []
        self.api.peer_connected.connect(lambda i: self.events.append(("connected", i)))
        self.api.peer_disconnected.connect(lambda i: self.events.append(("disconnected", i)))

    async def until(self, condition: Any, timeout: float = 20) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def python_client(url: str) -> AsyncIterator[Client]:
    tree = SceneTree()
    main = Main()
    tree.root.add_child(main)
    peer = WebSocketMultiplayerPeer(protocol="godot")
    await peer.create_client(url)
    tree.get_multiplayer().multiplayer_peer = peer
    task = asyncio.create_task(tree.run(fps=120))
    client = Client(tree, main, peer)
    try:
        await client.until(lambda: ("connected", 1) in client.events)
        yield client
    finally:
        tree.quit()
        await asyncio.wait_for(task, 5)
        peer.close()
        await peer.wait_closed()  # (its closing handshakes end before the loop does)


async def test_python_clients_play_with_a_godot_server(browser: Any) -> None:
    async with (
        TunnelBridge() as bridge,
        browser.godot(PROJECT, user_args=[bridge.user_arg, "--server"]) as godot,
    ):
        await godot.wait_for("TEST: serving 1")
        await bridge.wait_tunnel()
        async with python_client(bridge.client_url) as alice:
            a_id = alice.api.get_unique_id()
            await godot.wait_for(f"TEST: peer_connected {a_id}")
            # Every type, Godot to Python, from the server's greeting.
            sender, b, i, f, s, values = await alice.main.wait_got("types_to_client")
            assert (sender, b, i, f, s) == (1, False, 123456789012, 2.75, "from godot")
            for k, (got, want) in enumerate(zip(values, GODOT_SAMPLES, strict=True)):
                assert (type(got), got) == (type(want), want), f"sample {k}"
            # Every type, Python to Godot: the server checks, and announces to all.
            alice.main.rpc_id(1, "types_to_server", True, -100000, 0.5, "text", python_samples())
            assert await godot.wait_for(f"TEST: types from {a_id} ") == (
                f"TEST: types from {a_id} ok"
            )
            assert await alice.main.wait_got("announce") == (1, f"types checked for {a_id}")

            async with python_client(bridge.client_url) as bob:
                b_id = bob.api.get_unique_id()
                # Godot's server tells each client of the other (SYS ADD_PEER).
                await alice.until(lambda: ("connected", b_id) in alice.events)
                await bob.until(lambda: ("connected", a_id) in bob.events)
                # Client to client through Godot's relay: bob sees alice's id.
                alice.main.rpc_id(b_id, "peer_msg", "via godot")
                assert await bob.main.wait_got("peer_msg") == (a_id, "via godot")
                alice.api.send_bytes(b"raw to godot", 1)
                await godot.wait_for(f"TEST: peer_packet {a_id} raw to godot")
            # Bob left: Godot's server tells alice (SYS DEL_PEER).
            await alice.until(lambda: ("disconnected", b_id) in alice.events)
    assert godot.errors() == []
    assert bridge.errors == []
